import Foundation
import XCTest

/// The node commands through the binary, without a running node: init, route add, address book,
/// send (queued in the ledger), mailbox and trace per identity, and their errors.
final class NodeCLITests: XCTestCase {
    func testInitRouteSendMailboxTraceWithoutARunningNode() throws {
        let dir = ScratchDir("node-cli")
        defer { dir.remove() }
        let a = dir.sub("a"), b = dir.sub("b")
        func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
            let r = try KvittoProcess.run(args)
            XCTAssertEqual(r.status, 0, "kvitto \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
            return r.stdout
        }
        func fails(_ args: [String], code: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try KvittoProcess.run(args)
            XCTAssertEqual(r.status, 2, r.stdout, file: file, line: line)
            XCTAssertTrue(r.stderr.hasPrefix("kvitto: \(code)"), r.stderr, file: file, line: line)
        }
        _ = try ok(["init", a, "--name", "a", "--participant", "0203:a.example.se=Kommun A", "--function", "kansli@0203:a.example.se=Kansliet",
                    "--port", "18501"])
        _ = try ok(["init", b, "--name", "b", "--participant", "0203:b.example.se=Region B", "--function", "registrator@0203:b.example.se",
                    "--port", "18502", "--ca", a])
        try fails(["init", a, "--participant", "0203:x.se"], code: "node.exists")
        // Before the route, B's address is unknown.
        try fails(["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:b.example.se", "--text", "Hej"],
                  code: "node.unknown_address")
        _ = try ok(["route", "add", "--node", a, "--peer", b])
        XCTAssertTrue(try ok(["addressbook", "list", "--node", a]).contains("registrator@0203:b.example.se"))
        let file = dir.sub("bilaga.txt")
        try "bilaga".write(toFile: file, atomically: true, encoding: .utf8)
        let id = try ok(["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:b.example.se",
                         "--label", "Kallelse", "--text", "Hej", "--attach", file]).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(id.count, 36, id)
        try fails(["send", "--node", a, "--from", "kansli@0203:b.example.se", "--to", "registrator@0203:b.example.se", "--text", "Hej"],
                  code: "node.not_a_participant")
        try fails(["send", "--node", a, "--from", "kansli", "--to", "registrator@0203:b.example.se"], code: "--from")
        // The sender's mailbox and trace show it queued; another node's identity does not see it.
        let mailbox = try ok(["mailbox", "--node", a, "--identity", "user@0203:a.example.se"])
        XCTAssertTrue(mailbox.contains(id) && mailbox.contains("submitted") && mailbox.contains("\"Kallelse\""), mailbox)
        let trace = try ok(["trace", "--node", a, "--identity", "auditor@0203:a.example.se", id])
        XCTAssertTrue(trace.contains("message.submitted") && trace.contains("1 attachment(s)"), trace)
        let json = try ok(["trace", "--node", a, "--identity", "user@0203:a.example.se", "--json", id])
        XCTAssertTrue(json.contains("\"type\":\"message.submitted\""), json)
        // The submitter is the operating-system user running `kvitto send`, never a name the caller types.
        XCTAssertTrue(json.contains("\"actor\":\"os:\(NSUserName())\""), json)
        let typed = try KvittoProcess.run(["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:b.example.se",
                                           "--text", "Hej", "--actor", "mallory"])
        XCTAssertNotEqual(typed.status, 0, "a self-declared actor was accepted: \(typed.stdout)")
        try fails(["trace", "--node", a, "--identity", "nobody", id], code: "node.unknown_identity")
        try fails(["trace", "--node", b, "--identity", "user@0203:b.example.se", id], code: "node.not_found")
        try fails(["serve", "--node", dir.sub("missing")], code: "node.config_missing")
        // The ledger records it all and verifies.
        XCTAssertEqual(try KvittoProcess.run(["ledger", "verify", "--ledger", a + "/ledger"]).status, 0)
    }
}
