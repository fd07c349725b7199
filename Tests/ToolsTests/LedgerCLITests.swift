import Foundation
import XCTest
@testable import Ledger

/// The `kvitto ledger` commands, run as a user would.
final class LedgerCLITests: XCTestCase {
    func testAppendShowVerifyProofAndConsistency() throws {
        let dir = ScratchDir("cli")
        defer { dir.remove() }
        let ledger = dir.sub("ledger")
        let lines = (0..<30).map { draftLine("message:\($0)") }.joined(separator: "\n") + "\n"
        let appended = try KvittoProcess.run(["ledger", "append", "--ledger", ledger, "--checkpoint-every", "8"], stdin: lines)
        XCTAssertEqual(appended.status, 0, appended.stderr)
        let seqs = appended.stdout.split(separator: "\n").compactMap { UInt64($0) }
        XCTAssertEqual(seqs.count, 30)
        XCTAssertEqual(seqs, seqs.sorted())
        XCTAssertEqual(Set(seqs).count, 30)

        let show = try KvittoProcess.run(["ledger", "show", "--ledger", ledger, "--from", "2", "--limit", "3", "--json"])
        XCTAssertEqual(show.status, 0, show.stderr)
        let shown = show.stdout.split(separator: "\n")
        XCTAssertEqual(shown.count, 3)
        let first = try Event.fromJSON(JSONParser.parse(String(shown[0])))
        XCTAssertEqual(first.seq, 2)

        let verify = try KvittoProcess.run(["ledger", "verify", "--ledger", ledger, "--json"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        let report = try JSONParser.parse(verify.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(report["ok"], .bool(true))

        let cp = try KvittoProcess.run(["ledger", "checkpoint", "--ledger", ledger])
        XCTAssertEqual(cp.status, 0, cp.stderr)
        let proof = try KvittoProcess.run(["ledger", "proof", "--ledger", ledger, "--seq", "\(seqs[5])"])
        XCTAssertEqual(proof.status, 0, proof.stderr)
        let p = try JSONParser.parse(proof.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(p["valid"], .bool(true))
        guard case .array(let pathValues)? = p["path"] else { return XCTFail("no path") }
        let path = pathValues.compactMap { $0.stringValue.flatMap(Digest32.init(hex:)) }
        let eventHash = try XCTUnwrap(p["event_hash"]?.stringValue.flatMap(Digest32.init(hex:)))
        let root = try XCTUnwrap(p["root"]?.stringValue.flatMap(Digest32.init(hex:)))
        let size = try XCTUnwrap(p["tree_size"]?.intValue)
        XCTAssertTrue(MerkleProofs.verifyInclusion(leafHash: MerkleHash.leaf(eventHash.bytes), index: seqs[5] - 1,
            size: UInt64(size), proof: path, root: root))

        let consistency = try KvittoProcess.run(["ledger", "consistency", "--ledger", ledger, "--old", "9"])
        XCTAssertEqual(consistency.status, 0, consistency.stderr)
        XCTAssertEqual(try JSONParser.parse(consistency.stdout.trimmingCharacters(in: .whitespacesAndNewlines))["valid"], .bool(true))

        let rotate = try KvittoProcess.run(["ledger", "rotate-key", "--ledger", ledger])
        XCTAssertEqual(rotate.status, 0, rotate.stderr)
        let again = try KvittoProcess.run(["ledger", "verify", "--ledger", ledger])
        XCTAssertEqual(again.status, 0, again.stdout)
        XCTAssertTrue(again.stdout.hasPrefix("OK:"), again.stdout)
    }

    func testTailFollowsAnotherProcessesAppends() throws {
        let dir = ScratchDir("tail")
        defer { dir.remove() }
        let ledger = dir.sub("ledger")
        XCTAssertEqual(try KvittoProcess.run(["ledger", "append", "--ledger", ledger], stdin: draftLine("m:0") + "\n").status, 0)
        let tail = Process()
        tail.executableURL = URL(fileURLWithPath: KvittoProcess.binary)
        tail.arguments = ["ledger", "tail", "--ledger", ledger, "--from", "1", "--count", "12"]
        let out = Pipe()
        tail.standardOutput = out
        try tail.run()
        for i in 1...5 {
            let r = try KvittoProcess.run(["ledger", "append", "--ledger", ledger],
                stdin: draftLine("m:\(2 * i - 1)") + "\n" + draftLine("m:\(2 * i)") + "\n")
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let deadline = Date().addingTimeInterval(20)
        while tail.isRunning && Date() < deadline { usleep(20_000) }
        if tail.isRunning { tail.terminate(); XCTFail("tail did not see 12 events") }
        let lines = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.compactMap { UInt64($0.split(separator: "\t").first ?? "") }, Array(1...12))
    }

    /// A reader that opened the ledger while its map was small goes on reading after another
    /// process's appends grew it beyond that map (LMDB answers `MDB_MAP_RESIZED` to its next
    /// transaction, and the environment adopts the new size and begins again), and sees every
    /// event.
    func testAReaderFollowsAMapAnotherProcessGrew() async throws {
        let dir = ScratchDir("resized")
        defer { dir.remove() }
        let path = dir.sub("ledger")
        var small = LedgerOptions()
        small.create = true
        small.initialMapSize = 1 << 20
        // Closed and released before the reader opens: one LMDB environment per file and process.
        do {
            let writer = try Ledger.open(at: path, options: small)
            _ = try await writer.append(EventDraft(type: "message.submitted", subject: "m:0", actor: "cli-test"))
            writer.close()
        }
        var readOnly = LedgerOptions()
        readOnly.readOnly = true
        readOnly.initialMapSize = 1 << 20
        let reader = try Ledger.open(at: path, options: readOnly)
        defer { reader.close() }
        let before = try reader.head().seq
        XCTAssertGreaterThan(before, 0)
        // About 4 MB of events from another process, whose map (256 MiB) holds them.
        let lines = (1...1600).map { draftLine("m:\($0)", filler: 2_500) }.joined(separator: "\n") + "\n"
        let appended = try KvittoProcess.run(["ledger", "append", "--ledger", path], stdin: lines)
        XCTAssertEqual(appended.status, 0, appended.stderr)
        XCTAssertEqual(try reader.head().seq, before + 1600)
        XCTAssertEqual(try reader.event(before + 1600)?.subject, "m:1600")
        XCTAssertEqual(try reader.events(from: 1, limit: 2000).count, Int(before) + 1600)
    }

    func testBadInputGivesOneLineErrorsAndNonZeroExit() throws {
        let dir = ScratchDir("bad")
        defer { dir.remove() }
        let ledger = dir.sub("ledger")
        // A malformed line: the lines before it are appended, the error names the line.
        let r = try KvittoProcess.run(["ledger", "append", "--ledger", ledger],
            stdin: draftLine("ok") + "\n" + draftLine("ok2") + "\n{\"type\":\"message.submitted\",\"subject\":1}\n" + draftLine("never") + "\n")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("line 3"), r.stderr)
        XCTAssertEqual(r.stdout, "2\n3\n")
        let unknown = try KvittoProcess.run(["ledger", "append", "--ledger", ledger],
            stdin: draftLine("x", type: "message.levitated") + "\n")
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("ledger.unknown_event_type"), unknown.stderr)
        let float = try KvittoProcess.run(["ledger", "append", "--ledger", ledger],
            stdin: "{\"type\":\"message.submitted\",\"subject\":\"s\",\"actor\":\"a\",\"payload\":{\"amount\":1.5}}\n")
        XCTAssertNotEqual(float.status, 0)
        XCTAssertTrue(float.stderr.contains("not an integer"), float.stderr)
        let missing = try KvittoProcess.run(["ledger", "verify", "--ledger", dir.sub("nothing")])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.hasPrefix("kvitto: ledger.not_found"), missing.stderr)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1)
        // The ledger is intact after all that, and holds exactly the acknowledged events.
        XCTAssertEqual(try KvittoProcess.run(["ledger", "verify", "--ledger", ledger]).status, 0)
        let shown = try KvittoProcess.run(["ledger", "show", "--ledger", ledger])
        XCTAssertEqual(shown.stdout.split(separator: "\n").count, 3)
    }
}
