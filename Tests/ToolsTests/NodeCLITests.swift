import Foundation
import Ledger
import XCTest

/// The node commands through the binary, without a running node: init, route add, address book,
/// grants, send (queued in the ledger), mailbox, trace and audited reads as the OS user, and their errors.
final class NodeCLITests: XCTestCase {
    /// Runs `kvitto args`, which must succeed; its standard output.
    private func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try KvittoProcess.ok(args, file: file, line: line)
    }

    private func fails(_ args: [String], code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try KvittoProcess.fails(args, code: code, file: file, line: line)
    }

    /// Node a (Kommun A, kansli) with its AS4 endpoint on `port` and its API on `port + 1`, node b
    /// (Region B, registrator) on `port + 5` with a's CA, and a route from a to b.
    private func twoNodes(in dir: ScratchDir, port: Int) throws -> (a: String, b: String) {
        let a = dir.sub("a"), b = dir.sub("b")
        _ = try ok(["init", a, "--name", "a", "--participant", "0203:a.example.se=Kommun A", "--function", "kansli@0203:a.example.se=Kansliet",
                    "--port", "\(port)"])
        _ = try ok(["init", b, "--name", "b", "--participant", "0203:b.example.se=Region B", "--function", "registrator@0203:b.example.se",
                    "--port", "\(port + 5)", "--ca", a])
        _ = try ok(["route", "add", "--node", a, "--peer", b])
        return (a, b)
    }

    func testInitRouteSendMailboxTraceWithoutARunningNode() throws {
        let dir = ScratchDir("node-cli")
        defer { dir.remove() }
        let (a, b) = try twoNodes(in: dir, port: 18501)
        try fails(["init", a, "--participant", "0203:x.se"], code: "node.exists")
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

    /// While `kvitto serve` holds the ledger, `kvitto read` goes through the node's control socket:
    /// the node records the read (actor from the kernel, interface cli, purpose) before sending the
    /// bytes; a refusal is recorded by the node too; `--out` gets nothing when the read is refused.
    func testReadWhileTheNodeRuns() throws {
        let dir = ScratchDir("node-read-socket")
        defer { dir.remove() }
        let (a, _) = try twoNodes(in: dir, port: 18511)
        let me = "os:\(NSUserName())"
        _ = try ok(["grant", "--node", a, "--grantee", me, "--scope", "participant:0203:a.example.se", "--rights", "read,send", "--reason", "x"])
        let file = dir.sub("bilaga.bin")
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let id = try ok(["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:b.example.se",
                         "--label", "Beslut", "--text", "Hej", "--attach", file]).trimmingCharacters(in: .whitespacesAndNewlines)

        let server = try NodeCrashTests.Server(node: a, log: dir.sub("serve.log"))
        defer { server.kill() }
        let out = dir.sub("read.bin")
        let read = try KvittoProcess.run(["read", "--node", a, id, "--attachment", "0", "--purpose", "KS 2026/7", "--out", out])
        XCTAssertEqual(read.status, 0, read.stderr)
        XCTAssertTrue(read.stderr.contains("read recorded by the running node"), read.stderr)
        XCTAssertTrue(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(bytes), "the attachment arrived altered")
        let refused = try KvittoProcess.run(["read", "--node", a, "00000000-0000-4000-8000-000000000000", "--out", dir.sub("none.bin")])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.hasPrefix("kvitto: node.not_found"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.sub("none.bin")), "a refused read left a file")
        // The attachment altered on disk (same size): the read is cut off, nothing is kept.
        let hex = Digest32.sha256(bytes).hex
        let blob = a + "/ledger/blobs/\(hex.prefix(2))/\(hex.dropFirst(2).prefix(2))/\(hex)"
        var altered = bytes
        altered[1000] ^= 0x01
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: blob)
        try Data(altered).write(to: URL(fileURLWithPath: blob))
        for target in [["--out", dir.sub("altered.bin")], []] {
            let cut = try KvittoProcess.run(["read", "--node", a, id, "--attachment", "0"] + target)
            XCTAssertEqual(cut.status, 2, "an altered attachment was read: \(cut.stderr)")
            XCTAssertTrue(cut.stdout.isEmpty, "bytes of an altered attachment reached standard output")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.sub("altered.bin")), "an altered read left its file")
        XCTAssertTrue(server.stop(), "kvitto serve did not stop cleanly: \(NodeCrashTests.tail(dir.sub("serve.log")))")
        // The node recorded both, with the kernel's user as the actor.
        XCTAssertTrue(try ok(["trace", "--node", a, id]).contains("attachment 0 read by \(me) through the cli, purpose: KS 2026/7"))
        let events = try ok(["ledger", "show", "--ledger", a + "/ledger", "--json"])
        XCTAssertTrue(events.split(separator: "\n").contains { $0.contains("\"type\":\"access.denied\"") && $0.contains("\"actor\":\"\(me)\"") },
                      "the refused read is not recorded")
        XCTAssertFalse(FileManager.default.fileExists(atPath: a + "/run/control.sock"), "the socket outlived the node")
    }

    /// While `kvitto serve` holds the ledger, the writing commands (address book, grant, revoke,
    /// erase) are done by the running node through its control socket, as the user the kernel
    /// reports, authorised by the grants; a refusal is recorded by the node. Stopped, the same
    /// commands write the ledger themselves.
    func testAdministrationWhileTheNodeRuns() throws {
        let dir = ScratchDir("node-admin-socket")
        defer { dir.remove() }
        let (a, _) = try twoNodes(in: dir, port: 18521)
        let me = "os:\(NSUserName())"
        // Stopped: the CLI writes the ledger itself.
        XCTAssertTrue(try ok(["grant", "--node", a, "--grantee", me, "--scope", "participant:0203:a.example.se", "--rights", "read,send",
                              "--reason", "handläggare"]).hasPrefix("grant "))
        let id = try ok(["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:b.example.se",
                         "--label", "Beslut", "--text", "Hemligt beslut", "--confidential"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let nodeGrant = try XCTUnwrap(try ok(["grants", "--node", a, "--json"]).split(separator: "\n")
            .first { $0.contains("\"scope\":\"node\"") && $0.contains("\"manage\"") }
            .flatMap { $0.split(separator: ",").first { $0.hasPrefix("\"id\":") } }.flatMap { UInt64($0.dropFirst(5)) },
            "no node manage grant from init")

        let server = try NodeCrashTests.Server(node: a, log: dir.sub("serve.log"))
        defer { server.kill() }
        // Running: each writing command is done by the node.
        let added = try ok(["addressbook", "add", "--node", a, "--participant", "0203:c.example.se", "--name", "Kommun C",
                            "--function", "registrator", "--function-name", "Registratorn"])
        XCTAssertTrue(added.contains("organisation 0203:c.example.se: added") && added.contains("registrator@0203:c.example.se: added"), added)
        XCTAssertTrue(try ok(["addressbook", "list", "--node", a, "--search", "kommun c"]).contains("registrator@0203:c.example.se  Registratorn"))
        XCTAssertTrue(try ok(["addressbook", "remove", "--node", a, "--participant", "0203:c.example.se", "--function", "registrator"])
            .contains("removed"))
        try fails(["addressbook", "remove", "--node", a, "--participant", "0203:c.example.se", "--function", "registrator"], code: "node.not_found")
        let granted = try ok(["grant", "--node", a, "--grantee", "pnr:197001011234", "--scope", "mailbox:kansli@0203:a.example.se",
                              "--rights", "read", "--reason", "vikarie", "--json"])
        let grantID = try XCTUnwrap(granted.split(separator: ",").first { $0.hasPrefix("\"id\":") }.flatMap { UInt64($0.dropFirst(5)) }, granted)
        XCTAssertTrue(try ok(["revoke", "--node", a, String(grantID), "--reason", "slutat"]).contains("grant \(grantID) revoked at seq"))
        try fails(["grant", "--node", a, "--grantee", me, "--scope", "node", "--rights", "read", "--reason", "x"], code: "node.unprocessable")
        let erased = try ok(["erase", "--node", a, id, "--rule", "Gallringsbeslut 2026:4", "--reason", "gallring"])
        XCTAssertTrue(erased.contains("crypto-shredded"), erased)
        // A message handed to the running node through the socket: the spool folder, made
        // unwritable, is not needed.
        try FileManager.default.createDirectory(atPath: a + "/submissions", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o500])
        let queued = try ok(["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:b.example.se",
                             "--label", "Genom noden", "--text", "Sekretess", "--confidential"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: a + "/submissions")
        XCTAssertEqual(queued.count, 36, queued)
        XCTAssertTrue(try ok(["mailbox", "--node", a]).contains(queued))
        // What the socket refuses, asked directly: an unknown operation or member, a body that is no request.
        let raw = """
            import socket, sys
            def ask(data):
                s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(data); s.shutdown(socket.SHUT_WR)
                out = b""
                while True:
                    b = s.recv(65536)
                    if not b: break
                    out += b
                print(out.decode().strip())
            ask(b'{"operation":"format"}\\n')
            ask(b'{"operation":"revoke","grant":1,"reason":"x","actor":"mallory"}\\n')
            ask(b'{"operation":"send","request":"r-1","size":5}\\nhello')
            """
        let answers = try KvittoProcess.runTool("/usr/bin/python3", ["-c", raw, a + "/run/control.sock"])
        let lines = answers.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, answers.stdout + answers.stderr)
        XCTAssertTrue(lines.first?.contains("node.invalid_request") == true && lines.first?.contains("unknown operation") == true, answers.stdout)
        XCTAssertTrue(lines.dropFirst().first?.contains("unknown member actor") == true, answers.stdout)
        XCTAssertTrue(lines.last?.contains("node.invalid_message") == true, answers.stdout)
        // Keys too: the running node keeps the key it has.
        XCTAssertTrue(try ok(["content-key", "create", "--node", a]).contains("(kept, key "))
        // Without the manage right (revoked while running), the node refuses and records it.
        _ = try ok(["revoke", "--node", a, String(nodeGrant), "--reason", "överlämnat"])
        try fails(["addressbook", "add", "--node", a, "--participant", "0203:d.example.se", "--name", "Kommun D"], code: "node.forbidden")
        XCTAssertTrue(server.stop(), "kvitto serve did not stop cleanly: \(NodeCrashTests.tail(dir.sub("serve.log")))")

        // The node recorded every change and the refusal, with the kernel's user as the actor.
        let events = try ok(["ledger", "show", "--ledger", a + "/ledger", "--json"]).split(separator: "\n")
        for type in ["addressbook.organization.added", "addressbook.function.added", "addressbook.function.removed", "access.granted",
                     "access.revoked", "blob.erased", "access.denied"] {
            XCTAssertTrue(events.contains { $0.contains("\"type\":\"\(type)\"") && $0.contains("\"actor\":\"\(me)\"") }, "no \(type) by \(me)")
        }
        XCTAssertFalse(events.contains { $0.contains("0203:d.example.se") && $0.contains("addressbook.") }, "a refused change was recorded")
        XCTAssertEqual(try KvittoProcess.run(["ledger", "verify", "--ledger", a + "/ledger"]).status, 0)
    }
}

