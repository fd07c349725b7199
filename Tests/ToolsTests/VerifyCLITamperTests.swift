import Foundation
import XCTest
@testable import Ledger

/// Acceptance 1 through the command line: `kvitto ledger verify` exits non-zero and names the
/// first bad seq for each kind of tampering; the untouched ledger verifies.
final class VerifyCLITamperTests: XCTestCase {
    func makeLedger(_ dir: ScratchDir) throws -> String {
        let path = dir.sub("original")
        let lines = (0..<40).map { draftLine("message:\($0)") }.joined(separator: "\n") + "\n"
        XCTAssertEqual(try KvittoProcess.run(["ledger", "append", "--ledger", path, "--checkpoint-every", "10"], stdin: lines).status, 0)
        XCTAssertEqual(try KvittoProcess.run(["ledger", "checkpoint", "--ledger", path]).status, 0)
        return path
    }

    func tampered(_ dir: ScratchDir, _ name: String, _ body: (LedgerStore) throws -> Void) throws -> String {
        let path = dir.sub(name)
        try FileManager.default.copyItem(atPath: dir.sub("original"), toPath: path)
        let store = try LedgerStore(path: path, options: LedgerOptions(), create: false)
        try body(store)
        return path
    }

    func assertVerifyNames(_ path: String, seq: UInt64, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try KvittoProcess.run(["ledger", "verify", "--ledger", path])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr, file: file, line: line)
        XCTAssertTrue(r.stdout.hasPrefix("FAILED at seq \(seq):"), r.stdout, file: file, line: line)
        let j = try KvittoProcess.run(["ledger", "verify", "--ledger", path, "--json"])
        XCTAssertEqual(try JSONParser.parse(j.stdout.trimmingCharacters(in: .whitespacesAndNewlines))["failure"]?["seq"],
            .int(Int64(seq)), file: file, line: line)
    }

    func testEveryTamperingIsNamedByVerify() throws {
        let dir = ScratchDir("tamper")
        defer { dir.remove() }
        let original = try makeLedger(dir)
        XCTAssertEqual(try KvittoProcess.run(["ledger", "verify", "--ledger", original]).status, 0)
        func key(_ s: UInt64) -> [UInt8] { LedgerStore.seqKey(s) }

        let flipped = try tampered(dir, "flip") { store in
            try store.env.write { txn in
                var r = try txn.get(store.events, key(12))!
                r[r.count - 20] ^= 0x20
                try txn.put(store.events, key(12), r)
            }
        }
        try assertVerifyNames(flipped, seq: 12)

        let deleted = try tampered(dir, "delete") { store in
            _ = try store.env.write { try $0.delete(store.events, key(7)) }
        }
        try assertVerifyNames(deleted, seq: 7)

        let swapped = try tampered(dir, "swap") { store in
            try store.env.write { txn in
                let a = try txn.get(store.events, key(20))!
                let b = try txn.get(store.events, key(21))!
                try txn.put(store.events, key(20), b)
                try txn.put(store.events, key(21), a)
            }
        }
        try assertVerifyNames(swapped, seq: 20)

        var checkpointSeq: UInt64 = 0
        let otherKey = try tampered(dir, "checkpoint") { store in
            let cp = try store.env.read { try store.latestCheckpoint($0) }!
            checkpointSeq = cp.event.seq
            let forged = Event.make(seq: cp.event.seq, time: cp.event.time,
                draft: EventDraft(type: cp.event.type, subject: cp.event.subject, actor: cp.event.actor, payload: cp.event.payload),
                prev: cp.event.prev, signer: LedgerSigningKey())
            try store.env.write { try $0.put(store.events, key(cp.event.seq), forged.record) }
        }
        try assertVerifyNames(otherKey, seq: checkpointSeq)

        var firstRemoved: UInt64 = 0
        let truncated = try tampered(dir, "truncate") { store in
            let head = try store.env.read { try store.storedHead($0) }!.seq
            firstRemoved = head - 2
            try store.env.write { txn in for s in firstRemoved...head { try txn.delete(store.events, key(s)) } }
        }
        try assertVerifyNames(truncated, seq: firstRemoved)
    }
}

/// The blob store through the command line: `verify` checks every referenced blob, `erase-blob`
/// records the erasure before removing the bytes, and removal or change without it is named.
final class BlobCLITests: XCTestCase {
    func testVerifyChecksBlobsAndEraseBlobRecordsTheErasure() throws {
        let dir = ScratchDir("blob-cli")
        defer { dir.remove() }
        let path = dir.sub("ledger")
        XCTAssertEqual(try KvittoProcess.run(["ledger", "append", "--ledger", path], stdin: draftLine("message:0") + "\n").status, 0)
        // Two blobs referenced by one event (the ledger is closed between the processes).
        let (a, b): (BlobRef, BlobRef) = try {
            let store = BlobStore(directory: path + "/blobs")
            return (try store.put(Array("Kallelse".utf8)), try store.put(Array("Bilaga".utf8)))
        }()
        let line = #"{"type":"message.received","subject":"message:1","actor":"ap","payload":{"xhe":{"sha256":"\#(a.sha256.hex)","size":\#(a.size)},"attachments":[{"sha256":"\#(b.sha256.hex)","size":\#(b.size)}]}}"#
        XCTAssertEqual(try KvittoProcess.run(["ledger", "append", "--ledger", path], stdin: line + "\n").status, 0)

        let ok = try KvittoProcess.run(["ledger", "verify", "--ledger", path])
        XCTAssertEqual(ok.status, 0, ok.stdout + ok.stderr)
        XCTAssertTrue(ok.stdout.contains("blobs: 2 referenced, 2 present"), ok.stdout)

        let erase = try KvittoProcess.run(["ledger", "erase-blob", "--ledger", path, "--sha256", b.sha256.hex,
            "--rule", "Gallringsbeslut 2026:14", "--reason", "bevarandetid ute"])
        XCTAssertEqual(erase.status, 0, erase.stderr)
        XCTAssertTrue(erase.stdout.contains(#""type":"blob.erased""#), erase.stdout)
        // Recorded as the user running it; a name typed on the command line is no identity.
        XCTAssertTrue(erase.stdout.contains("\"actor\":\"os:\(NSUserName())\""), erase.stdout)
        let typed = try KvittoProcess.run(["ledger", "erase-blob", "--ledger", path, "--sha256", b.sha256.hex, "--actor", "arkivarie",
                                           "--rule", "r"])
        XCTAssertNotEqual(typed.status, 0, "a typed actor was accepted")
        let afterErase = try KvittoProcess.run(["ledger", "verify", "--ledger", path, "--json"])
        XCTAssertEqual(afterErase.status, 0, afterErase.stdout)
        XCTAssertEqual(try JSONParser.parse(afterErase.stdout.trimmingCharacters(in: .whitespacesAndNewlines))["blobs"]?["erased"], .int(1))
        let again = try KvittoProcess.run(["ledger", "erase-blob", "--ledger", path, "--sha256", b.sha256.hex,
            "--rule", "r"])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("blob.already_erased"), again.stderr)

        // Changed content: named at the event that references it (seq 3: genesis, message:0, message:1).
        try Data("Kallelsf".utf8).write(to: URL(fileURLWithPath: BlobStore(directory: path + "/blobs").path(a.sha256)))
        let changed = try KvittoProcess.run(["ledger", "verify", "--ledger", path])
        XCTAssertEqual(changed.status, 1)
        XCTAssertTrue(changed.stdout.hasPrefix("FAILED at seq 3: blob_altered"), changed.stdout)
        XCTAssertEqual(try KvittoProcess.run(["ledger", "verify", "--ledger", path, "--skip-blobs"]).status, 0)
    }
}
