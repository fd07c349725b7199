import Foundation
import XCTest

/// Runs the built `kvitto` executable.
enum KvittoProcess {
    /// The `kvitto` binary next to the test bundle (SwiftPM builds it, since the tests depend on it).
    static var binary: String {
        if let env = ProcessInfo.processInfo.environment["KVITTO_BIN"] { return env }
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let p = candidate.appendingPathComponent("kvitto").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return dir.appendingPathComponent("kvitto").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `kvitto args`, which must succeed; its standard output.
    static func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try run(args)
        XCTAssertEqual(r.status, 0, "kvitto \(args.joined(separator: " ")): \(r.stdout) \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    /// Runs `kvitto args`, which must fail with exit status 2 and the error `code`.
    static func fails(_ args: [String], code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(args)
        XCTAssertEqual(r.status, 2, r.stdout, file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("kvitto: \(code)"), r.stderr, file: file, line: line)
    }

    /// Runs `kvitto args…` to completion (bounded by `timeout` seconds).
    static func run(_ args: [String], stdin: String = "", timeout: Double = 120) throws -> Result {
        try runTool(binary, args, stdin: stdin, timeout: timeout)
    }

    /// Runs `executable args…` to completion (bounded by `timeout` seconds).
    static func runTool(_ executable: String, _ args: [String], stdin: String = "", timeout: Double = 120) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = errors
        try p.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        let out = DataBox()
        let err = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            out.append(output.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            err.append(errors.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { p.terminate(); XCTFail("\(executable) \(args.joined(separator: " ")) timed out") }
        p.waitUntilExit()
        _ = group.wait(timeout: .now() + 10)
        return Result(status: p.terminationStatus, stdout: String(decoding: out.data, as: UTF8.self),
            stderr: String(decoding: err.data, as: UTF8.self))
    }
}

/// A fresh temporary directory.
struct ScratchDir {
    let path: String
    init(_ label: String) {
        path = NSTemporaryDirectory() + "kvitto-cli-\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func sub(_ name: String) -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

func draftLine(_ subject: String, type: String = "message.submitted", filler: Int = 20) -> String {
    "{\"type\":\"\(type)\",\"subject\":\"\(subject)\",\"actor\":\"cli-test\",\"payload\":{\"text\":\"\(String(repeating: "z", count: filler))\"}}"
}

/// Bytes collected by a reader thread.
final class DataBox: @unchecked Sendable {
    // Sendable: `stored` is only touched while holding `lock`.
    private let lock = NSLock()
    private var stored = Data()

    func append(_ d: Data) {
        lock.lock(); stored.append(d); lock.unlock()
    }

    var data: Data {
        lock.lock(); defer { lock.unlock() }
        return stored
    }
}
