import Foundation
import Node
import Ledger
import XCTest

/// `kvitto participant add|update|retire|list`: an organisation onboarded, changed and retired
/// while the node runs (no restart, no file edited by hand), each step a ledger event by the OS
/// user; and, on a node with a federation's certificates, every identity checked before anything
/// is written.
final class ParticipantCLITests: XCTestCase {
    private func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try KvittoProcess.ok(args, file: file, line: line)
    }

    private func fails(_ args: [String], code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try KvittoProcess.fails(args, code: code, file: file, line: line)
    }

    /// The mailbox listing once it shows `needle` (polled every 200 ms, at most 30 s).
    private func mailbox(_ node: String, showing needle: String) throws -> String {
        var listing = ""
        for _ in 0..<150 {
            listing = try ok(["mailbox", "--node", node])
            if listing.contains(needle) { return listing }
            usleep(200_000)
        }
        XCTFail("the mailbox never showed \(needle): \(listing)")
        return listing
    }

    private func events(_ node: String) throws -> [[String: Any]] {
        try ok(["ledger", "show", "--ledger", node + "/ledger", "--json"]).split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func testOnboardChangeAndRetireWhileTheNodeRuns() throws {
        let dir = ScratchDir("participant-live")
        defer { dir.remove() }
        let node = dir.sub("n")
        let me = "os:\(NSUserName())"
        let a = "0203:a.example.se", c = "0203:c.example.se"
        _ = try ok(["init", node, "--name", "n", "--participant", "\(a)=Kommun A", "--function", "kansli@\(a)=Kansliet", "--port", "18631"])
        _ = try ok(["grant", "--node", node, "--grantee", me, "--scope", "participant:\(a)", "--rights", "read,send", "--reason", "handläggare"])
        let server = try NodeCrashTests.Server(node: node, log: dir.sub("serve.log"))
        defer { server.kill() }

        // Onboarded while running: the node serves it at once (its O2O key is in use for the
        // internal delivery and the Meddelandekvittens), with its administrator's grant.
        try fails(["participant", "add", "--node", node, "--participant", c, "--name", "Kommun C"], code: "node.invalid_request")
        let added = try ok(["participant", "add", "--node", node, "--participant", c, "--name", "Kommun C", "--function", "registrator=Registraturen",
                            "--administrator", me])
        XCTAssertTrue(added.contains("participant \(c) added") && added.contains("throwaway CA"), added)
        try fails(["participant", "add", "--node", node, "--participant", c, "--name", "Kommun C", "--function", "x=X"], code: "node.exists")
        // An id that folds to the same key file names is refused (it would share C's key-encryption key).
        try fails(["participant", "add", "--node", node, "--participant", "0203:C-example.se", "--name", "Kommun C2", "--function", "x=X"],
                  code: "node.conflict")
        XCTAssertTrue(try ok(["participant", "list", "--node", node]).contains("\(c)  Kommun C  — registrator (Registraturen)"))
        XCTAssertTrue(try ok(["grants", "--node", node]).contains("\(me) manage on participant:\(c)"))
        // Its administrator grants its mailbox; a message from A is delivered inside the node and accepted.
        _ = try ok(["grant", "--node", node, "--grantee", me, "--scope", "participant:\(c)", "--rights", "read", "--reason", "registrator"])
        let id = try ok(["send", "--node", node, "--from", "kansli@\(a)", "--to", "registrator@\(c)", "--label", "Till C",
                         "--text", "Välkommen, Kommun C", "--confidential"]).trimmingCharacters(in: .whitespacesAndNewlines)
        var listing = try mailbox(node, showing: "\(id).in  in   accepted")
        XCTAssertTrue(listing.contains("\(id)  out  accepted"), listing)
        let copy = id + ".in"
        XCTAssertTrue(try ok(["read", "--node", node, copy]).contains("Välkommen, Kommun C"))
        // No plaintext of the confidential message under the node directory: C's key-encryption key was made for it.
        XCTAssertTrue(FileManager.default.fileExists(atPath: node + "/pki/content/0203-c-example-se.kek"))

        // Changed while running: a new functional address takes mail at once.
        let updated = try ok(["participant", "update", "--node", node, "--participant", c, "--name", "Kommun Cé", "--function", "ekonomi=Ekonomi"])
        XCTAssertTrue(updated.contains("participant \(c) updated"), updated)
        XCTAssertTrue(try ok(["participant", "update", "--node", node, "--participant", c, "--name", "Kommun Cé"]).contains("unchanged"))
        XCTAssertTrue(try ok(["addressbook", "list", "--node", node, "--search", "kommun ce"]).contains("ekonomi@\(c)"))
        let second = try ok(["send", "--node", node, "--from", "kansli@\(a)", "--to", "ekonomi@\(c)", "--label", "Faktura",
                             "--text", "Till ekonomi"]).trimmingCharacters(in: .whitespacesAndNewlines)
        listing = try mailbox(node, showing: "\(second).in  in   accepted")

        // Retired while running: nothing more is sent to or from it; its history stays readable.
        let retired = try ok(["participant", "retire", "--node", node, "--participant", c, "--reason", "verksamheten flyttad"])
        XCTAssertTrue(retired.contains("participant \(c) retired"), retired)
        try fails(["send", "--node", node, "--from", "kansli@\(a)", "--to", "registrator@\(c)", "--text", "x"], code: "node.unknown_address")
        _ = try ok(["grant", "--node", node, "--grantee", me, "--scope", "participant:\(c)", "--rights", "send", "--reason", "prov"])
        try fails(["send", "--node", node, "--from", "registrator@\(c)", "--to", "kansli@\(a)", "--text", "x"], code: "node.not_a_participant")
        XCTAssertTrue(try ok(["read", "--node", node, copy]).contains("Välkommen, Kommun C"))
        try fails(["participant", "retire", "--node", node, "--participant", a, "--reason", "x"], code: "node.conflict")
        XCTAssertTrue(try ok(["participant", "list", "--node", node]).contains("\(c)  Kommun Cé  — retired "))
        // A witness of the running node's ledger: the node writes the checkpoint.
        let witness = try ok(["ledger", "checkpoint", "--ledger", node + "/ledger"])
        XCTAssertTrue(witness.contains("\"type\":\"ledger.checkpoint\""), witness)
        try witness.write(toFile: dir.sub("witness.json"), atomically: true, encoding: .utf8)
        XCTAssertTrue(try ok(["ledger", "rotate-key", "--ledger", node + "/ledger"]).contains("\"type\":\"node.key.rotated\""))
        // Back again: its key-encryption key from before is its own again, so its history stays readable.
        let back = try ok(["participant", "add", "--node", node, "--participant", c, "--name", "Kommun C", "--function", "registrator=Registraturen"])
        XCTAssertTrue(back.contains("from before its retirement"), back)
        _ = try ok(["participant", "retire", "--node", node, "--participant", c, "--reason", "åter flyttad"])

        // Without the manage right on the node, onboarding is refused and the refusal recorded;
        // a participant's own administrator may still rename it, but not replace its identity.
        _ = try ok(["grant", "--node", node, "--grantee", me, "--scope", "participant:\(a)", "--rights", "manage", "--reason", "administratör"])
        let nodeGrant = try XCTUnwrap(try ok(["grants", "--node", node, "--json"]).split(separator: "\n")
            .first { $0.contains("\"scope\":\"node\"") && $0.contains("\"manage\"") }
            .flatMap { $0.split(separator: ",").first { $0.hasPrefix("\"id\":") } }.flatMap { UInt64($0.dropFirst(5)) })
        _ = try ok(["revoke", "--node", node, String(nodeGrant), "--reason", "överlämnat"])
        try fails(["participant", "add", "--node", node, "--participant", "0203:d.example.se", "--name", "Kommun D", "--function", "x=X"],
                  code: "node.forbidden")
        try fails(["participant", "update", "--node", node, "--participant", a, "--end-overlap"], code: "node.forbidden")
        XCTAssertTrue(try ok(["participant", "update", "--node", node, "--participant", a, "--name", "Kommun Å"]).contains("updated"))
        XCTAssertTrue(server.stop(), "kvitto serve did not stop cleanly: \(NodeCrashTests.tail(dir.sub("serve.log")))")

        // Every change is on record by the OS user; a restart finds nothing to catch up.
        var all = try events(node)
        func count(_ type: String, actor: String = me) -> Int {
            all.filter { $0["type"] as? String == type && $0["actor"] as? String == actor }.count
        }
        XCTAssertEqual(count("participant.added"), 3, "init's participant, the onboarded one, and the same back again")
        XCTAssertEqual(count("participant.updated"), 2, "C renamed with a new function, A renamed by its administrator")
        XCTAssertEqual(count("participant.retired"), 2)
        // Content encryption is on (init's default): init's key and the onboarded participant's
        // are on record; the participant back again uses its key from before, so none is made.
        let keys = all.filter { $0["type"] as? String == "content.key.created" }.compactMap { $0["payload"] as? [String: Any] }
        XCTAssertEqual(keys.compactMap { $0["command"] as? String }, ["init", "participant add"])
        XCTAssertEqual(keys.compactMap { $0["participant"] as? String }, [a, c])
        for k in keys {
            // Each id is its key file's (the retired participant's file is kept with its content).
            let file = ContentVault.keyFile(participant: k["participant"] as? String ?? "?", in: node + "/pki/content")
            XCTAssertEqual(k["key_id"] as? String, try KeyEncryptionKey.load(path: file).id)
        }
        XCTAssertTrue(all.contains { $0["type"] as? String == "access.denied" && $0["actor"] as? String == me
                && (($0["payload"] as? [String: Any])?["action"] as? String) == "participant_add" })
        XCTAssertFalse(all.contains { ($0["type"] as? String)?.hasPrefix("addressbook.") == true
                && (($0["payload"] as? [String: Any])?["participant"] as? String) == "0203:d.example.se" }, "a refused change was recorded")
        let certificates = all.filter { $0["type"] as? String == "node.certificate.changed"
            && (($0["payload"] as? [String: Any])?["certificate"] as? String) == "o2o:\(c)" }
            .compactMap { ($0["payload"] as? [String: Any])?["change"] as? String }
        XCTAssertEqual(certificates, ["recorded", "removed", "recorded", "removed"])

        let before = all.count
        var restarted = try NodeCrashTests.Server(node: node, log: dir.sub("serve.log"))
        XCTAssertTrue(restarted.stop())
        all = try events(node)
        XCTAssertFalse(all.dropFirst(before).contains { ($0["type"] as? String)?.hasPrefix("participant.") == true },
                       "the restart recorded participant changes that were on record already")

        // An edit of kvitto.json by hand is recorded at the next start, by the node.
        var config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: node + "/kvitto.json"))) as? [String: Any])
        var participants = try XCTUnwrap(config["participants"] as? [[String: Any]])
        participants[0]["name"] = "Kommun A (omdöpt för hand)"
        config["participants"] = participants
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: node + "/kvitto.json"))
        restarted = try NodeCrashTests.Server(node: node, log: dir.sub("serve.log"))
        XCTAssertTrue(restarted.stop())
        all = try events(node)
        let caughtUp = try XCTUnwrap(all.last { $0["type"] as? String == "participant.updated" })
        XCTAssertEqual(caughtUp["actor"] as? String, "node")
        let payload = try XCTUnwrap(caughtUp["payload"] as? [String: Any])
        XCTAssertEqual(payload["source"] as? String, "configuration")
        XCTAssertEqual(payload["changed"] as? [String], ["name"])
        XCTAssertEqual(try KvittoProcess.run(["ledger", "verify", "--ledger", node + "/ledger"]).status, 0)
        XCTAssertEqual(try KvittoProcess.run(["ledger", "consistency", "--ledger", node + "/ledger", "--witness", dir.sub("witness.json")]).status, 0)
    }

    func testOnboardingWithTheFederationsCertificates() throws {
        let dir = ScratchDir("participant-real")
        defer { dir.remove() }
        let ca = dir.sub("ca")
        let made = try KvittoProcess.runTool("/bin/sh", [InitRealCertificatesCLITests.script, ca])
        XCTAssertEqual(made.status, 0, made.stdout + made.stderr)
        let node = dir.sub("node"), m = "0203:m.example.se"
        _ = try ok(["init", node, "--name", "real", "--participant", "0203:k.example.se=Myndighet K",
                    "--function", "registrator@0203:k.example.se=Registraturen", "--port", "0", "--api-port", "0",
                    "--as4-p12", ca + "/as4.p12", "--tls-p12", ca + "/tls.p12", "--o2o-p12", "0203:k.example.se=" + ca + "/o2o.p12",
                    "--p12-password-file", ca + "/password", "--trust-as4", ca + "/ca.crt", "--trust-o2o", ca + "/ca.crt", "--trust-tls", ca + "/ca.crt"])
        let pki = try FileManager.default.contentsOfDirectory(atPath: node + "/pki").sorted()
        let config = try String(contentsOfFile: node + "/kvitto.json", encoding: .utf8)
        let add = ["participant", "add", "--node", node, "--participant", m, "--name", "Myndighet M", "--function", "registrator=Registraturen"]
        let password = ["--p12-password-file", ca + "/password"]
        // Each mistake refused with what to do, and nothing written.
        let mistakes: [([String], String)] = [
            (add, "needs its O2O identity from the federation's CA"),
            (add + ["--o2o-p12", ca + "/foreign-o2o.p12"] + password, "check.wrong_organisation"),
            (add + ["--o2o-p12", ca + "/rogue-m.p12"] + password, "check.untrusted_certificate"),
            (add + ["--o2o-p12", ca + "/o2o-m.p12", "--p12-password-file", ca + "/ca.crt"], "the password does not open the PKCS#12 file"),
            (add + ["--o2o-p12", ca + "/o2o-m.p12", "--catch-all", "ekonomi"] + password, "is not one of the participant's functions"),
        ]
        for (args, expected) in mistakes {
            let r = try KvittoProcess.run(args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(expected), "\(args.suffix(4)): \(r.stderr)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: node + "/pki").sorted(), pki, "a refused identity left files")
        XCTAssertEqual(try String(contentsOfFile: node + "/kvitto.json", encoding: .utf8), config, "a refusal changed kvitto.json")

        // The organisation's own identity from the federation's CA: onboarded, and the node passes its checks.
        XCTAssertTrue(try ok(add + ["--o2o-p12", ca + "/o2o-m.p12"] + password).contains("participant \(m) added"))
        let checked = try KvittoProcess.run(["check", "--node", node])
        XCTAssertEqual(checked.status, 0, checked.stdout + checked.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: node + "/pki/o2o-0203-m-example-se.key"))
        // Its renewed certificate: the old one decrypts during the overlap, until it is ended.
        XCTAssertTrue(try ok(["participant", "update", "--node", node, "--participant", m, "--o2o-p12", ca + "/o2o-m-renewed.p12"] + password)
            .contains("end the overlap"))
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: node + "/kvitto.json"))) as? [String: Any])
        var entry = try XCTUnwrap((json["participants"] as? [[String: Any]])?.first { $0["id"] as? String == m })
        XCTAssertEqual((entry["o2o_previous"] as? [[String: Any]])?.first?["certificate"] as? String, "pki/o2o-0203-m-example-se.crt")
        XCTAssertNotEqual(entry["o2o_certificate"] as? String, "pki/o2o-0203-m-example-se.crt")
        XCTAssertEqual(try KvittoProcess.run(["check", "--node", node]).status, 0)
        _ = try ok(["participant", "update", "--node", node, "--participant", m, "--end-overlap"])
        json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: node + "/kvitto.json"))) as? [String: Any])
        entry = try XCTUnwrap((json["participants"] as? [[String: Any]])?.first { $0["id"] as? String == m })
        XCTAssertNil(entry["o2o_previous"])
        let changes = try ok(["ledger", "show", "--ledger", node + "/ledger", "--json"]).split(separator: "\n")
            .filter { $0.contains("\"certificate\":\"o2o:\(m)\"") }
        XCTAssertEqual(changes.count, 2, "recorded, then replaced")
        XCTAssertTrue(changes.last?.contains("\"change\":\"replaced\"") == true)
        // Given again, the identity in use changes nothing.
        XCTAssertTrue(try ok(["participant", "update", "--node", node, "--participant", m, "--o2o-p12", ca + "/o2o-m-renewed.p12"] + password)
            .contains("unchanged"))

        // A message to M not yet answered (the node is stopped): M is not retired under it.
        let me = "os:\(NSUserName())"
        _ = try ok(["grant", "--node", node, "--grantee", me, "--scope", "participant:0203:k.example.se", "--rights", "send", "--reason", "t"])
        _ = try ok(["send", "--node", node, "--from", "registrator@0203:k.example.se", "--to", "registrator@\(m)", "--text", "Hej M"])
        let refused = try KvittoProcess.run(["participant", "retire", "--node", node, "--participant", m, "--reason", "x"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("node.conflict") && refused.stderr.contains("1 received message(s) not yet answered"), refused.stderr)
    }
}
