import Foundation
import XCTest
@testable import Ledger

/// Issue 15, acceptance 2 and 4: an audit report computed twice at the same checkpoint is the
/// same bytes (JSON, CSV, HTML); one computed after more events states its newer position and
/// differs only by those events; the printable report renders to PDF with the message id, the
/// position and every event type findable by `pdftotext`.
final class AuditReportCLITests: XCTestCase {
    @discardableResult
    private func ok(_ args: [String], timeout: Double = 120, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try KvittoProcess.run(args, timeout: timeout)
        XCTAssertEqual(r.status, 0, "kvitto \(args.joined(separator: " ")): \(r.stdout)\(r.stderr)", file: file, line: line)
        return r.stdout
    }

    private func json(_ text: String) throws -> JSONValue { try JSONParser.parse(text.trimmingCharacters(in: .whitespacesAndNewlines)) }

    func testReportsRecomputeByteForByteAndAPDFNamesWhatItHolds() throws {
        let dir = ScratchDir("audit-report")
        defer { dir.remove() }
        let out = try ok(["demo", "--dir", dir.sub("demo")], timeout: 300)
        let marker = "Timeline of message "
        let id = try String(XCTUnwrap(out.split(separator: "\n").first { $0.hasPrefix(marker) }).dropFirst(marker.count).split(separator: " ")[0])
        let a = dir.sub("demo") + "/node-a"
        let mailbox = "socialtjansten@0203:a.example.se"
        try ok(["grant", "--node", a, "--grantee", "os:root", "--scope", "participant:0203:a.example.se", "--rights", "audit", "--reason", "tillsyn"])
        let query = ["audit", "report", "--node", a, "--mailbox", mailbox]

        // Without a grant: refused.
        let stranger = try KvittoProcess.run(["audit", "report", "--node", a, "--participant", "0203:nobody.example.se"])
        XCTAssertNotEqual(stranger.status, 0)

        let first = try ok(query)
        let report1 = try json(first)
        let checkpoint = try XCTUnwrap(report1["checkpoint"]?["seq"]?.intValue)
        let position1 = try XCTUnwrap(report1["position"]?.intValue)
        XCTAssertEqual(report1["format"], "kvitto-audit-report/1")
        XCTAssertTrue(first.contains("message:\(id)"))
        // Recomputed at the same checkpoint, in every format: the same bytes.
        for format in ["json", "csv", "html"] {
            let once = try ok(query + ["--checkpoint", "\(checkpoint)", "--format", format])
            let twice = try ok(query + ["--checkpoint", "\(checkpoint)", "--format", format])
            XCTAssertEqual(once, twice, format)
            XCTAssertTrue(once.contains("\(position1)"), format)
            if format == "json" { XCTAssertEqual(once, first) }
        }

        // More events: a grant and a read of the message, then a newer report.
        try ok(["grant", "--node", a, "--grantee", "os:root", "--scope", "mailbox:" + mailbox, "--rights", "read", "--reason", "granskning"])
        try ok(["read", "--node", a, id, "--out", dir.sub("m.xml"), "--purpose", "tillsyn"])
        try ok(["ledger", "checkpoint", "--ledger", a + "/ledger"])
        let report2 = try json(ok(query))
        let position2 = try XCTUnwrap(report2["position"]?.intValue)
        XCTAssertGreaterThan(position2, position1)
        let (old, new) = (report1["events"]?.arrayElements ?? [], report2["events"]?.arrayElements ?? [])
        XCTAssertEqual(Array(new.prefix(old.count)), old, "the older report's events are the newer one's first events, unchanged")
        let added = new.dropFirst(old.count)
        XCTAssertFalse(added.isEmpty)
        XCTAssertTrue(added.allSatisfy { ($0["seq"]?.intValue ?? 0) > position1 }, "only events after the older position were added")
        XCTAssertTrue(added.contains { $0["type"] == "message.accessed" })
        for member in ["format", "node", "requester", "query"] { XCTAssertEqual(report1[member], report2[member], member) }

        // PDF: the message id, the position and every event type, as pdftotext reads them.
        let pdf = dir.sub("report.pdf")
        try ok(query + ["--format", "pdf", "--out", pdf, "--checkpoint", "\(report2["checkpoint"]!["seq"]!.intValue!)"], timeout: 180)
        let text = try KvittoProcess.runTool("/usr/bin/pdftotext", [pdf, "-"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains(id), "message id")
        let lines = text.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let label = try XCTUnwrap(lines.firstIndex(of: "Liggarens position"), text.stdout)
        XCTAssertEqual(lines[label + 1], "\(position2)", "the position follows its label")
        for type in (report2["counts"]?.objectValue ?? [:]).keys { XCTAssertTrue(text.stdout.contains(type), type) }
    }
}
