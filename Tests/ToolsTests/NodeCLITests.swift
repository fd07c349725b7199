import Foundation
import XCTest

/// The node commands through the binary, without a running node: init, route add, address book,
/// grants, send (queued in the ledger), mailbox, trace and audited reads as the OS user, and their errors.
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
        _ = try ok(["route", "add", "--node", a, "--peer", b])
        XCTAssertTrue(try ok(["addressbook", "list", "--node", a]).contains("registrator@0203:b.example.se"))
        let file = dir.sub("bilaga.txt")
        try "bilaga".write(toFile: file, atomically: true, encoding: .utf8)
        let send = ["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:b.example.se",
                    "--label", "Kallelse", "--text", "Hej", "--attach", file]
        // `kvitto init` made the OS user node administrator: it manages grants, but may not send or read until granted.
        let me = "os:\(NSUserName())"
        try fails(send, code: "node.forbidden")
        XCTAssertTrue(try ok(["grants", "--node", a]).contains("\(me) manage on node"))
        try fails(["grant", "--node", a, "--grantee", "user@0203:a.example.se", "--scope", "participant:0203:a.example.se",
                   "--rights", "read", "--reason", "x"], code: "node.invalid_request")
        try fails(["grant", "--node", a, "--grantee", me, "--scope", "node", "--rights", "read", "--reason", "x"], code: "node.unprocessable")
        let granted = try ok(["grant", "--node", a, "--grantee", me, "--scope", "participant:0203:a.example.se", "--rights", "read,send",
                              "--reason", "handläggare", "--json"])
        XCTAssertTrue(granted.contains("\"rights\":[\"read\",\"send\"]"), granted)
        let grantID = try XCTUnwrap(granted.split(separator: ",").first { $0.hasPrefix("\"id\":") }.flatMap { UInt64($0.dropFirst(5)) })
        try fails(["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:x.example.se", "--text", "Hej"],
                  code: "node.unknown_address")
        let id = try ok(send).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(id.count, 36, id)
        try fails(["send", "--node", a, "--from", "kansli@0203:b.example.se", "--to", "registrator@0203:b.example.se", "--text", "Hej"],
                  code: "node.forbidden")
        try fails(["send", "--node", a, "--from", "kansli", "--to", "registrator@0203:b.example.se"], code: "--from")
        // The grantee's mailbox and trace show it queued; on another node it is not found.
        let mailbox = try ok(["mailbox", "--node", a])
        XCTAssertTrue(mailbox.contains(id) && mailbox.contains("submitted") && mailbox.contains("\"Kallelse\""), mailbox)
        let trace = try ok(["trace", "--node", a, id])
        XCTAssertTrue(trace.contains("message.submitted") && trace.contains("1 attachment(s)"), trace)
        let json = try ok(["trace", "--node", a, "--json", id])
        XCTAssertTrue(json.contains("\"type\":\"message.submitted\""), json)
        // The submitter is the operating-system user running `kvitto send`, never a name the caller types.
        XCTAssertTrue(json.contains("\"actor\":\"\(me)\""), json)
        let typed = try KvittoProcess.run(["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:b.example.se",
                                           "--text", "Hej", "--actor", "mallory"])
        XCTAssertNotEqual(typed.status, 0, "a self-declared actor was accepted: \(typed.stdout)")
        XCTAssertNotEqual(try KvittoProcess.run(["trace", "--node", a, "--identity", "user@0203:a.example.se", id]).status, 0,
                          "a typed identity is no longer an option")
        try fails(["trace", "--node", b, id], code: "node.not_found")
        // Content is read audit-first: the read is in the trace afterwards.
        let out = dir.sub("read.txt")
        let read = try KvittoProcess.run(["read", "--node", a, id, "--attachment", "0", "--purpose", "KS 2026/1", "--out", out])
        XCTAssertEqual(read.status, 0, read.stderr)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "bilaga")
        XCTAssertTrue(try ok(["trace", "--node", a, id]).contains("attachment 0 read by \(me) through the cli, purpose: KS 2026/1"))
        // Revoked: the message is gone for this user, and the refusal is recorded.
        _ = try ok(["revoke", "--node", a, String(grantID), "--reason", "slutat"])
        try fails(["read", "--node", a, id], code: "node.not_found")
        XCTAssertTrue(try ok(["mailbox", "--node", a]).isEmpty)
        XCTAssertTrue(try ok(["grants", "--node", a, "--as-of", String(grantID)]).contains("read,send on participant:0203:a.example.se"))
        XCTAssertTrue(try ok(["grants", "--node", a, "--right", "read"]).contains("REVOKED at seq"))
        let tail = try ok(["ledger", "show", "--ledger", a + "/ledger", "--json"])
        XCTAssertTrue(tail.contains("\"type\":\"access.denied\""), tail)
        try fails(["serve", "--node", dir.sub("missing")], code: "node.config_missing")
        // The ledger records it all and verifies.
        XCTAssertEqual(try KvittoProcess.run(["ledger", "verify", "--ledger", a + "/ledger"]).status, 0)
    }
}
