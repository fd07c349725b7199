import Foundation
@testable import Ledger
import Node
import Projections
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `kvitto backup` / `kvitto restore`: a backup taken under load restores to a node that verifies,
/// resumes and delivers every message exactly once; a damaged backup is refused with the first bad
/// seq or the missing blob named, and nothing is restored; keys are copied only when asked.
final class NodeBackupTests: XCTestCase {
    private typealias Server = NodeCrashTests.Server

    func testBackupUnderLoadRestoresAndDeliversEveryMessageOnce() async throws {
        let dir = ScratchDir("backup-load")
        defer { if (testRun?.totalFailureCount ?? 1) == 0 { dir.remove() } else { print("kept: \(dir.path)") } }
        let (a, b, from, to) = try await TwoNodes.initialise(dir)
        let grant = try KvittoProcess.run(["grant", "--node", a, "--grantee", "os:\(NSUserName())", "--scope", "mailbox:\(from)",
                                           "--rights", "send", "--reason", "the test sends"])
        XCTAssertEqual(grant.status, 0, grant.stderr)
        var ids = try await NodeCrashTests.queue(100, node: a, from: from, to: to)
        let backup = dir.sub("backup"), restored = dir.sub("node-a-restored")
        let receiver = try Server(node: b, log: dir.sub("b.log"))
        var sender = try Server(node: a, log: dir.sub("a.log"))
        defer { receiver.kill(); sender.kill() }
        // Five more through the running node's submission spool, as `kvitto send` hands them over.
        for i in 100..<105 {
            let sent = try KvittoProcess.run(["send", "--node", a, "--from", from.description, "--to", to.description, "--text", "Meddelande \(i)"])
            XCTAssertEqual(sent.status, 0, sent.stderr)
            ids.insert(sent.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try await Task.sleep(for: .milliseconds(Int.random(in: 100...400)))
        let r = try KvittoProcess.run(["backup", "--node", a, "--to", backup, "--include-keys", "--json"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        // The node went on meanwhile; it dies now, with messages in flight.
        sender.kill()
        let atBackup = try NodeCrashTests.snapshot(backup)
        let unfinished = ids.filter { atBackup.messages[$0]?.status != .accepted }
        XCTAssertGreaterThan(unfinished.count, 0, "every message was done before the backup: the test did not catch the load")
        XCTAssertEqual(Set(atBackup.messages.keys).intersection(ids).count, 105, "a submitted message is missing from the backup")

        let restore = try KvittoProcess.run(["restore", "--from", backup, "--node", restored, "--json"])
        XCTAssertEqual(restore.status, 0, restore.stdout + restore.stderr)
        XCTAssertTrue(restore.stdout.contains("\"missing_keys\":[]"), restore.stdout)
        sender = try Server(node: restored, log: dir.sub("a2.log"))
        let deadline = Date().addingTimeInterval(240)
        var state: (a: NodeProjection, b: NodeProjection)
        repeat {
            try await Task.sleep(for: .milliseconds(500))
            state = (try NodeCrashTests.snapshot(restored), try NodeCrashTests.snapshot(b))
            let done = ids.allSatisfy { [.delivered, .accepted].contains(state.a.messages[$0]?.status) && state.b.messages[$0] != nil }
            if done { break }
        } while Date() < deadline
        XCTAssertTrue(sender.stop(), "the restored node did not stop cleanly")
        XCTAssertTrue(receiver.stop(), "the receiver did not stop cleanly")
        state = (try NodeCrashTests.snapshot(restored), try NodeCrashTests.snapshot(b))
        let eventsA = try NodeCrashTests.events(restored), eventsB = try NodeCrashTests.events(b)
        func count(_ events: [Event], _ type: String, _ id: String) -> Int { events.filter { $0.type == type && $0.subject == "message:" + id }.count }
        for id in ids {
            XCTAssertTrue([.delivered, .accepted].contains(state.a.messages[id]?.status), "\(id): \(String(describing: state.a.messages[id]?.status))\n\(NodeCrashTests.tail(dir.sub("a2.log")))")
            XCTAssertEqual(count(eventsA, "message.submitted", id), 1, id)
            XCTAssertEqual(count(eventsB, "message.received", id), 1, "delivered \(count(eventsB, "message.received", id)) times: \(id)")
        }
        for n in [restored, b] {
            let v = try KvittoProcess.run(["ledger", "verify", "--ledger", n + "/ledger"])
            XCTAssertEqual(v.status, 0, v.stdout + v.stderr)
        }
    }

    func testDamagedBackupsAreRefusedAndNothingIsRestored() async throws {
        let dir = ScratchDir("backup-damaged")
        defer { if (testRun?.totalFailureCount ?? 1) == 0 { dir.remove() } else { print("kept: \(dir.path)") } }
        let (a, b, from, to) = try await TwoNodes.initialise(dir)
        _ = try await NodeCrashTests.queue(2, node: a, from: from, to: to)
        try await Self.submitLarge(node: a, from: from, to: to)
        let early = try Self.checkpoint(a, dir.sub("witness-early.json"))
        _ = try await NodeCrashTests.queue(1, node: a, from: from, to: to)
        let good = dir.sub("good")
        let r = try KvittoProcess.run(["backup", "--node", a, "--to", good])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        // Keys stay out unless asked for.
        XCTAssertTrue(r.stdout.contains("keys not included"), r.stdout)
        for path in try Self.files(good) {
            let data = try Data(contentsOf: URL(fileURLWithPath: good + "/" + path))
            XCTAssertNil(data.range(of: Data("PRIVATE KEY".utf8)), "\(path) holds a private key")
            XCTAssertFalse(path.hasSuffix(".ed25519") || path.hasSuffix(".key"), path)
        }
        let restoredOK = dir.sub("restored-ok")
        XCTAssertEqual(try KvittoProcess.run(["restore", "--from", good, "--node", restoredOK]).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: restoredOK + "/ledger/data.mdb"))

        // A flipped byte inside an event: refused at that event's seq.
        let flipped = try Self.copyOf(good, in: dir, "flipped")
        let ledgerFile = flipped + "/ledger/data.mdb"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: ledgerFile))
        // (The label is in the event's JSON and in the SDK message kept inline in the same file.)
        let label = try XCTUnwrap(bytes.range(of: Data(#""label":"Last 1""#.utf8)), "the event text is not in the ledger file")
        bytes[label.lowerBound + 9] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: ledgerFile))
        try Self.refused(flipped, dir.sub("restored-flipped"), naming: "fails at seq ")

        // Small blobs are rows of the copied ledger file, not files of the backup; the large
        // attachment's blobs are files.
        let blobFiles = try Self.files(good).filter { $0.hasPrefix("ledger/blobs/") }
        let manifest = try BackupManifest.load(backup: good)
        XCTAssertEqual(blobFiles.count, manifest.blobs.copied, "\(blobFiles)")
        XCTAssertGreaterThan(try XCTUnwrap(manifest.blobs.inline), blobFiles.count)
        XCTAssertTrue(manifest.blobs.copied >= 1)

        // A missing blob file: refused, naming it.
        let missing = try Self.copyOf(good, in: dir, "missing")
        let blob = try XCTUnwrap(blobFiles.first)
        try FileManager.default.removeItem(atPath: missing + "/" + blob)
        try Self.refused(missing, dir.sub("restored-missing"), naming: String(blob.split(separator: "/").last!))

        // A small blob gone from the ledger file (its row deleted): refused, naming it.
        let rowless = try Self.copyOf(good, in: dir, "rowless")
        let removed = try Self.deleteBlobRow(ledger: rowless + "/ledger")
        try Self.refused(rowless, dir.sub("restored-rowless"), naming: removed.hex)

        // A changed configuration file: refused, naming it.
        let edited = try Self.copyOf(good, in: dir, "edited")
        try Data("{}".utf8).write(to: URL(fileURLWithPath: edited + "/kvitto.json"))
        try Self.refused(edited, dir.sub("restored-edited"), naming: "kvitto.json does not match the manifest")

        // Witnesses: a checkpoint kept before the backup is extended by it; one written after it
        // (the backup does not reach it) and one of another ledger are refused.
        try Self.refused(good, dir.sub("restored-witness-b"), naming: "does not extend the witness",
                         extra: ["--witness", try Self.checkpoint(b, dir.sub("witness-b.json"))])
        let late = try Self.checkpoint(a, dir.sub("witness-late.json"))
        try Self.refused(good, dir.sub("restored-witness-late"), naming: "does not extend the witness", extra: ["--witness", late])
        let withEarly = try KvittoProcess.run(["restore", "--from", good, "--node", dir.sub("restored-witness-early"), "--witness", early])
        XCTAssertEqual(withEarly.status, 0, withEarly.stdout + withEarly.stderr)
        XCTAssertTrue(withEarly.stdout.contains("extends the witness"), withEarly.stdout)

        // A restore without keys lists those the node needs.
        let listed = try KvittoProcess.run(["restore", "--from", good, "--node", dir.sub("restored-list"), "--json"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        for key in ["pki/as4.key", "pki/tls.key", "pki/o2o-0203-a-example-se.key"] { XCTAssertTrue(listed.stdout.contains(key), listed.stdout) }
        XCTAssertTrue(listed.stdout.contains("ledger/keys/"), listed.stdout)

        // Crafted manifests: what restore installs is what it verified.
        func crafted(_ name: String, _ change: (inout [String: Any]) throws -> Void) throws -> String {
            let copy = try Self.copyOf(good, in: dir, name)
            let url = URL(fileURLWithPath: copy + "/manifest.json")
            var m = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            try change(&m)
            try JSONSerialization.data(withJSONObject: m).write(to: url)
            return copy
        }
        func files(_ m: [String: Any]) -> [[String: Any]] { m["files"] as? [[String: Any]] ?? [] }
        // A second, forged ledger listed as a key that would land on ledger/data.mdb.
        let overwrite = try crafted("crafted-overwrite") { m in
            let ledger = try XCTUnwrap(files(m).first { $0["path"] as? String == "ledger/data.mdb" })
            var forged = ledger
            forged["path"] = "keys/ledger/data.mdb"
            forged["role"] = "key"
            m["files"] = files(m) + [forged]
        }
        try Self.refused(overwrite, dir.sub("restored-overwrite"), naming: "two files go to \"ledger/data.mdb\"")
        // A key role outside keys/, and a path that leaves the node.
        let misfiled = try crafted("crafted-role") { m in
            m["files"] = files(m).map { f in var f = f; if f["path"] as? String == "kvitto.json" { f["role"] = "key" }; return f }
        }
        try Self.refused(misfiled, dir.sub("restored-role"), naming: "keys, and only keys, are under keys/")
        let escaping = try crafted("crafted-escape") { m in
            m["files"] = files(m).map { f in var f = f; if f["path"] as? String == "kvitto.json" { f["path"] = "../kvitto.json" }; return f }
        }
        try Self.refused(escaping, dir.sub("restored-escape"), naming: "outside the backup")
        // The ledger verified elsewhere than where the node keeps it.
        let redirected = try crafted("crafted-redirect") { m in
            var ledger = try XCTUnwrap(m["ledger"] as? [String: Any])
            ledger["path"] = "v"
            m["ledger"] = ledger
        }
        try Self.refused(redirected, dir.sub("restored-redirect"), naming: "lists no v/data.mdb")
        // The format before small blobs stayed only in the ledger file is still read; an unknown one
        // is refused by name.
        XCTAssertEqual(manifest.format, "kvitto-backup/2")
        let older = try crafted("crafted-v1") { m in m["format"] = "kvitto-backup/1" }
        let olderRestore = try KvittoProcess.run(["restore", "--from", older, "--node", dir.sub("restored-v1")])
        XCTAssertEqual(olderRestore.status, 0, olderRestore.stderr)
        let unknown = try crafted("crafted-v9") { m in m["format"] = "kvitto-backup/9" }
        try Self.refused(unknown, dir.sub("restored-v9"), naming: "\"kvitto-backup/9\" is not one this version reads")

        // With --include-keys, the keys are under keys/ and restore puts them back.
        let withKeys = dir.sub("with-keys")
        XCTAssertEqual(try KvittoProcess.run(["backup", "--node", a, "--to", withKeys, "--include-keys"]).status, 0)
        let keyFiles = try Self.files(withKeys).filter { $0.hasPrefix("keys/") }
        XCTAssertTrue(keyFiles.contains("keys/pki/as4.key"), "\(keyFiles)")
        XCTAssertTrue(keyFiles.contains { $0.hasPrefix("keys/ledger/keys/") && $0.hasSuffix(".ed25519") }, "\(keyFiles)")
        let restoredKeys = dir.sub("restored-keys")
        let rk = try KvittoProcess.run(["restore", "--from", withKeys, "--node", restoredKeys])
        XCTAssertEqual(rk.status, 0, rk.stderr)
        for key in keyFiles {
            XCTAssertEqual(FileManager.default.contents(atPath: restoredKeys + "/" + key.dropFirst("keys/".count)),
                           FileManager.default.contents(atPath: a + "/" + key.dropFirst("keys/".count)), key)
        }
        // Never over an existing node.
        let again = try KvittoProcess.run(["restore", "--from", withKeys, "--node", restoredKeys])
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stderr.contains("node.exists"), again.stderr)
    }

    /// Submits one message whose attachment is too large to be a row of the ledger file.
    static func submitLarge(node directory: String, from: FunctionalAddress, to: FunctionalAddress) async throws {
        let node = try Node.open(directory: directory)
        let content = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 9) }
        _ = try await node.submit(OutboundMessage(from: from, to: to, label: "Stor", texts: ["Stor bilaga"],
                                                  attachments: [.init(fileName: "stor.bin", contentType: "application/octet-stream", content: content)]),
                                  actor: "test")
        await node.close()
    }

    /// Deletes one row of the blob table in the ledger file at `path`, as damage to the file could;
    /// returns the blob's hash.
    static func deleteBlobRow(ledger path: String) throws -> Digest32 {
        defer { unlink(path + "/lock.mdb") }
        let env = try LMDBEnvironment(path: path, initialMapSize: 1 << 30, mapSizeLimit: 1 << 34, maxDatabases: 8, readOnly: false)
        let db = try env.openDatabase(InlineBlobs.databaseName, create: false)
        return try env.write { txn in
            var first: [UInt8]?
            try txn.scanInPlace(db, from: nil) { k, _ in first = Array(k); return false }
            let key = try XCTUnwrap(first, "the ledger file holds no blob rows")
            XCTAssertTrue(try txn.delete(db, key))
            return try XCTUnwrap(Digest32(bytes: key))
        }
    }

    func testLedgerExportHoldsEveryEventAndItsBlobs() async throws {
        let dir = ScratchDir("export")
        defer { if (testRun?.totalFailureCount ?? 1) == 0 { dir.remove() } else { print("kept: \(dir.path)") } }
        let (a, _, from, to) = try await TwoNodes.initialise(dir)
        _ = try await NodeCrashTests.queue(3, node: a, from: from, to: to)
        let out = dir.sub("export")
        let r = try KvittoProcess.run(["ledger", "export", "--ledger", a + "/ledger", "--to", out, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // The events, exactly as `ledger show --json` prints them.
        let shown = try KvittoProcess.run(["ledger", "show", "--ledger", a + "/ledger", "--json", "--limit", "100000"])
        let exported = try String(contentsOfFile: out + "/events.jsonl", encoding: .utf8)
        XCTAssertEqual(exported, shown.stdout)
        let manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/export.json"))) as? [String: Any])
        XCTAssertEqual(manifest["format"] as? String, "kvitto-ledger-export/1")
        XCTAssertEqual(manifest["events_sha256"] as? String, Digest32.sha256(Array(exported.utf8)).hex)
        XCTAssertEqual(manifest["events"] as? Int, exported.split(separator: "\n").count)
        // Every referenced blob, with its hash, where the blob store would keep it.
        let refs = try exported.split(separator: "\n").flatMap { line in
            BlobReferences.find(in: try JSONParser.parse(String(line))["payload"] ?? .null)
        }
        XCTAssertGreaterThan(refs.count, 5)
        for ref in refs {
            let h = ref.sha256.hex
            let path = out + "/blobs/\(h.prefix(2))/\(h.dropFirst(2).prefix(2))/\(h)"
            let bytes = try XCTUnwrap(FileManager.default.contents(atPath: path), "blob \(h) not exported")
            XCTAssertEqual(Digest32.sha256(Array(bytes)), ref.sha256)
        }
        // Never into a folder that holds something.
        let again = try KvittoProcess.run(["ledger", "export", "--ledger", a + "/ledger", "--to", out])
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stderr.contains("not an empty folder"), again.stderr)
    }

    // MARK: - Helpers

    /// Writes a checkpoint into the (stopped) node's ledger and keeps it in `file`, as an auditor would.
    static func checkpoint(_ node: String, _ file: String) throws -> String {
        let r = try KvittoProcess.run(["ledger", "checkpoint", "--ledger", node + "/ledger"])
        XCTAssertEqual(r.status, 0, r.stderr)
        try r.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Regular files under `root`, relative to it.
    static func files(_ root: String) throws -> [String] {
        var out: [String] = []
        let walker = try XCTUnwrap(FileManager.default.enumerator(atPath: root))
        while let p = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + p, isDirectory: &isDirectory), !isDirectory.boolValue { out.append(p) }
        }
        return out.sorted()
    }

    static func copyOf(_ backup: String, in dir: ScratchDir, _ name: String) throws -> String {
        let copy = dir.sub(name)
        try FileManager.default.copyItem(atPath: backup, toPath: copy)
        return copy
    }

    /// `kvitto restore` exits 2 naming `text`, and leaves no node (nor a staging folder) behind.
    static func refused(_ backup: String, _ node: String, naming text: String, extra: [String] = [],
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try KvittoProcess.run(["restore", "--from", backup, "--node", node] + extra)
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains("node.backup_invalid") && r.stderr.contains(text), r.stderr, file: file, line: line)
        let parent = (node as NSString).deletingLastPathComponent
        let name = (node as NSString).lastPathComponent
        let left = try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.hasPrefix(name) || $0.hasPrefix("." + name) }
        XCTAssertEqual(left, [], "a refused restore left \(left)", file: file, line: line)
    }
}
