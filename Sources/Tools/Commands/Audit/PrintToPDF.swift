import Foundation

/// Prints an HTML page to PDF with headless Chromium (Debian's `chromium`), the page's own
/// print styles deciding the layout. Chromium is only needed for PDF output.
enum PrintToPDF {
    static let candidates = ["chromium", "chromium-browser", "google-chrome"]

    static func print(html: [UInt8], to path: String, timeout: Double = 120) throws {
        let search = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        guard let browser = candidates.lazy.flatMap({ name in search.map { $0 + "/" + name } }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw CLI.fail("PDF needs Chromium (Debian: apt install chromium); or write --format html and print it")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvitto-pdf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: dir) }
        let page = dir.appendingPathComponent("report.html")
        try Data(html).write(to: page)
        let target = URL(fileURLWithPath: path).standardizedFileURL.path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        // A private profile and no network: the page is self-contained.
        p.arguments = ["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--user-data-dir=" + dir.appendingPathComponent("profile").path,
                       "--no-pdf-header-footer", "--print-to-pdf=" + target, page.absoluteString]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if p.isRunning { p.terminate(); throw CLI.fail("Chromium did not finish the PDF within \(Int(timeout)) s") }
        guard p.terminationStatus == 0, FileManager.default.fileExists(atPath: target) else {
            throw CLI.fail("Chromium could not print the PDF (exit status \(p.terminationStatus))")
        }
    }
}
