import Foundation
import XCTest

/// Content encrypted at rest through the binary: `kvitto content-key create|list` turns it on for a
/// node set up without it, `kvitto check` warns while it is off or a key is unusable, a confidential
/// message sent with `kvitto send` lies encrypted under the node directory and reads back exactly,
/// a missing key refuses content (metadata still listed), and `kvitto erase` crypto-shreds it so
/// that `kvitto ledger verify` counts the erased key.
final class ContentKeyCLITests: XCTestCase {
    private func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try KvittoProcess.ok(args, file: file, line: line)
    }

    private func fails(_ args: [String], code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try KvittoProcess.fails(args, code: code, file: file, line: line)
    }

    /// Every regular file under `root` whose bytes contain `needle`.
    private func files(under root: String, containing needle: String) -> [String] {
        let data = Data(needle.utf8)
        var hits: [String] = []
        let e = FileManager.default.enumerator(atPath: root)
        while let relative = e?.nextObject() as? String {
            let path = root + "/" + relative
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
                  let bytes = FileManager.default.contents(atPath: path) else { continue }
            if bytes.range(of: data) != nil { hits.append(relative) }
        }
        return hits
    }

    /// The payloads of the node's `content.key.created` events, in order.
    private func keyEvents(_ node: String) throws -> [[String: Any]] {
        try ok(["ledger", "show", "--ledger", node + "/ledger", "--json"]).split(separator: "\n").compactMap {
            let e = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            return e["type"] as? String == "content.key.created" ? e["payload"] as? [String: Any] : nil
        }
    }

    func testContentKeyCreateSendReadEraseThroughTheBinary() throws {
        let dir = ScratchDir("content-key-cli")
        defer { dir.remove() }
        let a = dir.sub("a"), b = dir.sub("b")
        _ = try ok(["init", a, "--name", "a", "--participant", "0203:a.example.se=Kommun A", "--function", "kansli@0203:a.example.se=Kansliet",
                    "--port", "18551", "--content-encryption", "none"])
        _ = try ok(["init", b, "--name", "b", "--participant", "0203:b.example.se=Region B", "--function", "registrator@0203:b.example.se",
                    "--port", "18556", "--ca", a])
        _ = try ok(["route", "add", "--node", a, "--peer", b])

        // Off: listed as off, and `check` warns (a warning, not an error: exit 0).
        XCTAssertTrue(try ok(["content-key", "list", "--node", a]).contains("content encryption is off"))
        let off = try KvittoProcess.run(["check", "--node", a, "--json"])
        XCTAssertEqual(off.status, 0, off.stdout + off.stderr)
        XCTAssertTrue(off.stdout.contains("\"code\":\"check.content_not_encrypted\""), off.stdout)

        // On: one key per participant, mode 0600, kept (never replaced) by a second create.
        let created = try ok(["content-key", "create", "--node", a])
        XCTAssertTrue(created.contains("0203:a.example.se:") && created.contains("(new, key "), created)
        let keyFile = try XCTUnwrap(created.split(separator: " ").dropFirst().first.map(String.init))
        let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int)
        XCTAssertEqual(mode & 0o777, 0o600)
        XCTAssertFalse(keyFile.hasPrefix(a + "/ledger"), keyFile)
        let again = try ok(["content-key", "create", "--node", a])
        XCTAssertTrue(again.contains("(kept, key "), again)
        let keyID = { (s: String) in s.components(separatedBy: "key ").last?.trimmingCharacters(in: CharacterSet(charactersIn: ")\n")) }
        XCTAssertEqual(keyID(created), keyID(again))
        let listed = try ok(["content-key", "list", "--node", a])
        XCTAssertTrue(listed.contains("scope: confidential") && listed.contains("key \(keyID(created) ?? "?")"), listed)
        // On record once (the kept key adds nothing): the key's id, never the key, and that it turned encryption on.
        let recorded = try keyEvents(a)
        XCTAssertEqual(recorded.count, 1, "\(recorded)")
        XCTAssertEqual(recorded.first?["key_id"] as? String, keyID(created))
        XCTAssertEqual(recorded.first?["participant"] as? String, "0203:a.example.se")
        XCTAssertEqual(recorded.first?["encryption_turned_on"] as? Bool, true)
        XCTAssertEqual(recorded.first?["replaces_lost_key"] as? Bool, false)
        XCTAssertEqual(recorded.first?["command"] as? String, "content-key create")
        let keyHex = String(try String(contentsOfFile: keyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines).suffix(64))
        XCTAssertEqual(keyHex.count, 64)
        XCTAssertFalse(try ok(["ledger", "show", "--ledger", a + "/ledger", "--json"]).contains(keyHex), "the key itself is in the ledger")
        let on = try ok(["check", "--node", a, "--json"])
        XCTAssertFalse(on.contains("check.content_not_encrypted") || on.contains("check.content_key_unusable"), on)

        // A confidential message through the binary lies encrypted; an audited read returns it exactly.
        let me = "os:\(NSUserName())"
        _ = try ok(["grant", "--node", a, "--grantee", me, "--scope", "participant:0203:a.example.se", "--rights", "read,send,manage",
                    "--reason", "registrator"])
        let text = "Skyddad-uppgift-7Q2Z-kallelse"
        let attachment = dir.sub("bilaga.txt")
        let secret = "Sekretessbelagd-bilaga-K4W9-" + String(repeating: "x", count: 70_000)
        try secret.write(toFile: attachment, atomically: true, encoding: .utf8)
        let id = try ok(["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:b.example.se",
                         "--label", "Sekretess", "--text", text, "--attach", attachment, "--confidential"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(id.count, 36, id)
        try FileManager.default.removeItem(atPath: attachment)
        XCTAssertEqual(files(under: a, containing: text), [])
        XCTAssertEqual(files(under: a, containing: "Sekretessbelagd-bilaga-K4W9"), [])
        let out = dir.sub("read.txt")
        _ = try ok(["read", "--node", a, id, "--attachment", "0", "--purpose", "KS 2026/9", "--out", out])
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), secret)

        // Without the key: metadata still listed, content refused with the key named.
        try FileManager.default.moveItem(atPath: keyFile, toPath: dir.sub("kek-away"))
        XCTAssertTrue(try ok(["mailbox", "--node", a]).contains(id))
        let refused = try KvittoProcess.run(["read", "--node", a, id, "--attachment", "0", "--out", dir.sub("none.txt")])
        XCTAssertEqual(refused.status, 2, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("content_key_unavailable") && refused.stderr.contains("kvitto content-key create"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.sub("none.txt")))
        let missing = try KvittoProcess.run(["content-key", "list", "--node", a])
        XCTAssertEqual(missing.status, 1, missing.stdout)
        XCTAssertTrue(missing.stdout.contains("unusable"), missing.stdout)
        // A lost key is not replaced by a new one behind the operator's back: content needs the old one.
        try fails(["content-key", "create", "--node", a], code: "node.conflict")
        XCTAssertFalse(FileManager.default.fileExists(atPath: keyFile), "a new key was made in place of a lost one")
        try FileManager.default.moveItem(atPath: dir.sub("kek-away"), toPath: keyFile)

        // A key readable by others is refused, and `check` says so.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyFile)
        let loose = try KvittoProcess.run(["check", "--node", a, "--json"])
        XCTAssertTrue(loose.stdout.contains("\"code\":\"check.content_key_unusable\""), loose.stdout)
        XCTAssertNotEqual(try KvittoProcess.run(["read", "--node", a, id, "--out", dir.sub("none.txt")]).status, 0)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile)

        // Crypto-shredding: the key goes first; the content is gone for good and `verify` counts it.
        let erased = try ok(["erase", "--node", a, id, "--rule", "Gallringsbeslut 2026:4", "--reason", "gallring"])
        XCTAssertTrue(erased.contains("crypto-shredded"), erased)
        try fails(["read", "--node", a, id], code: "node.erased")
        try fails(["erase", "--node", a, id, "--rule", "Gallringsbeslut 2026:4"], code: "node.erased")
        let verified = try ok(["ledger", "verify", "--ledger", a + "/ledger"])
        XCTAssertTrue(verified.contains("content keys erased: 1"), verified)
        // Only when told that the key is lost for good is a new one made.
        try FileManager.default.removeItem(atPath: keyFile)
        try fails(["content-key", "create", "--node", a], code: "node.conflict")
        let replaced = try ok(["content-key", "create", "--node", a, "--replace-lost-key", "0203:a.example.se"])
        XCTAssertTrue(replaced.contains("(new, key ") && keyID(replaced) != keyID(created), replaced)
        let replacement = try XCTUnwrap(try keyEvents(a).last)
        XCTAssertEqual(replacement["key_id"] as? String, keyID(replaced))
        XCTAssertEqual(replacement["replaces_lost_key"] as? Bool, true)
        XCTAssertEqual(replacement["encryption_turned_on"] as? Bool, false)
        XCTAssertEqual(try keyEvents(a).count, 2, "the refused attempt recorded nothing")
    }

    /// Turned on while the node runs: the next confidential message is sealed, with no restart.
    func testTurnedOnWhileTheNodeRuns() throws {
        let dir = ScratchDir("content-key-live")
        defer { dir.remove() }
        let a = dir.sub("a"), me = "os:\(NSUserName())"
        _ = try ok(["init", a, "--name", "a", "--participant", "0203:a.example.se=Kommun A", "--function", "kansli@0203:a.example.se=Kansliet",
                    "--participant", "0203:c.example.se=Kommun C", "--function", "registrator@0203:c.example.se=Registraturen",
                    "--port", "18651", "--content-encryption", "none"])
        _ = try ok(["grant", "--node", a, "--grantee", me, "--scope", "participant:0203:a.example.se", "--rights", "read,send", "--reason", "t"])
        let server = try NodeCrashTests.Server(node: a, log: dir.sub("serve.log"))
        defer { server.kill() }
        let before = "Okrypterat-före-nyckeln-\(UUID().uuidString)"
        _ = try ok(["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:c.example.se", "--text", before, "--confidential"])
        XCTAssertFalse(files(under: a, containing: before).isEmpty, "the test cannot tell: content before the key was not found in clear")
        let created = try ok(["content-key", "create", "--node", a, "--scope", "confidential"])
        XCTAssertTrue(created.contains("0203:c.example.se:") && created.contains("(new, key "), created)
        let secret = "Sekretess-efter-nyckeln-\(UUID().uuidString)"
        let id = try ok(["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:c.example.se", "--text", secret,
                         "--confidential"]).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(files(under: a, containing: secret), [], "sealed without a restart")
        XCTAssertTrue(try ok(["read", "--node", a, id]).contains(secret))
        XCTAssertTrue(server.stop())
    }
}
