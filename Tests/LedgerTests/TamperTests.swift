import Foundation
import XCTest
@testable import Ledger

/// Acceptance: every kind of tampering with the LMDB file is caught by `verify`, which names the
/// first bad seq; an untouched ledger verifies.
final class TamperTests: XCTestCase {
    /// A ledger of 80 events with checkpoints every 10 and a key rotation in the middle.
    static func makeFixture() async throws -> TempDir {
        let dir = TempDir("tamper")
        let ledger = try openLedger(dir.sub("original")) { $0.checkpointEvery = 10; $0.checkpointInterval = 0 }
        for i in 0..<6 { _ = try await ledger.append((0..<6).map { draft(i * 6 + $0) }) }
        _ = try await ledger.rotateKey()
        for i in 6..<12 { _ = try await ledger.append((0..<6).map { draft(i * 6 + $0) }) }
        _ = try await ledger.checkpoint()
        ledger.close()
        return dir
    }

    static func copy(_ dir: TempDir, _ name: String) throws -> String {
        let target = dir.sub(name)
        try FileManager.default.copyItem(atPath: dir.sub("original"), toPath: target)
        return target
    }

    static func record(_ store: LedgerStore, _ seq: UInt64) throws -> [UInt8] {
        try XCTUnwrap(try store.env.read { try $0.get(store.events, LedgerStore.seqKey(seq)) })
    }

    static func put(_ store: LedgerStore, _ seq: UInt64, _ record: [UInt8]) throws {
        try store.env.write { try $0.put(store.events, LedgerStore.seqKey(seq), record) }
    }

    func expectFailure(_ path: String, seq: UInt64, _ codes: Set<VerificationFailure.Code>,
        file: StaticString = #filePath, line: UInt = #line) throws
    {
        let report = try verify(path)
        XCTAssertTrue(report.failure?.seq == seq, "failure: \(String(describing: report.failure))", file: file, line: line)
        XCTAssertTrue(report.failure.map { codes.contains($0.code) } == true, "failure: \(String(describing: report.failure))", file: file, line: line)
    }

    func testUntouchedLedgerVerifies() async throws {
        let dir = try await Self.makeFixture()
        defer { dir.remove() }
        let report = try verify(dir.sub("original"))
        XCTAssertTrue(report.ok, "\(String(describing: report.failure))")
        XCTAssertTrue(report.keys.count == 2)
        XCTAssertTrue(report.checkpoints >= 7)
    }

    func testFlippedByteInBodyHashOrSignatureIsNamed() async throws {
        let dir = try await Self.makeFixture()
        defer { dir.remove() }
        // One byte at a time in the body (payload text), the stored hash, and the signature.
        for (name, offset, codes) in [
            ("body", 96 + 60, Set<VerificationFailure.Code>([.hashMismatch, .malformed])),
            ("hash", 5, [.hashMismatch]),
            ("sig", 40, [.badSignature]),
        ] {
            let path = try Self.copy(dir, "flip-\(name)")
            try withRawStore(path) { store in
                var r = try Self.record(store, 23)
                r[offset] ^= 0x01
                try Self.put(store, 23, r)
            }
            try expectFailure(path, seq: 23, codes)
        }
    }

    func testDamagedLastEventIsNamedAndAppendingIsRefused() async throws {
        let dir = try await Self.makeFixture()
        defer { dir.remove() }
        let path = try Self.copy(dir, "flip-last")
        let head: UInt64 = try withRawStore(path) { store in
            let head = try XCTUnwrap(try store.env.read { try store.storedHead($0) }).seq
            var r = try Self.record(store, head)
            r[r.count - 3] ^= 0x01
            try Self.put(store, head, r)
            return head
        }
        try expectFailure(path, seq: head, [.hashMismatch, .malformed])
        XCTAssertThrowsError(try openLedger(path, create: false))
    }

    func testDeletedEventIsNamed() async throws {
        let dir = try await Self.makeFixture()
        defer { dir.remove() }
        let path = try Self.copy(dir, "delete")
        try withRawStore(path) { store in
            _ = try store.env.write { try $0.delete(store.events, LedgerStore.seqKey(17)) }
        }
        try expectFailure(path, seq: 17, [.missing])
    }

    func testSwappedEventsAreNamed() async throws {
        let dir = try await Self.makeFixture()
        defer { dir.remove() }
        let path = try Self.copy(dir, "swap")
        try withRawStore(path) { store in
            let a = try Self.record(store, 30)
            let b = try Self.record(store, 31)
            try Self.put(store, 30, b)
            try Self.put(store, 31, a)
        }
        try expectFailure(path, seq: 30, [.wrongSeq])
    }

    func testCheckpointSignedByAnotherKeyIsNamed() async throws {
        let dir = try await Self.makeFixture()
        defer { dir.remove() }
        let attacker = LedgerSigningKey()
        let cpSeq: UInt64 = try withRawStore(dir.sub("original")) { store in
            try XCTUnwrap(try store.env.read { try store.latestCheckpoint($0) }).event.seq
        }
        // 1. Re-signed by another key, naming that key.
        let path1 = try Self.copy(dir, "cp-other-key")
        try withRawStore(path1) { store in
            let original = try XCTUnwrap(try store.env.read { try store.event($0, seq: cpSeq) })
            let forged = Event.make(seq: original.seq, time: original.time,
                draft: EventDraft(type: original.type, subject: original.subject, actor: original.actor, payload: original.payload),
                prev: original.prev, signer: attacker)
            try Self.put(store, cpSeq, forged.record)
        }
        try expectFailure(path1, seq: cpSeq, [.wrongKey])
        // 2. Re-signed by another key but still naming the ledger's key id.
        let path2 = try Self.copy(dir, "cp-other-sig")
        try withRawStore(path2) { store in
            let original = try XCTUnwrap(try store.env.read { try store.event($0, seq: cpSeq) })
            let forged = Event.unsigned(seq: original.seq, time: original.time,
                draft: EventDraft(type: original.type, subject: original.subject, actor: original.actor, payload: original.payload),
                prev: original.prev, key: original.key)
            forged.sign(with: attacker)
            try Self.put(store, cpSeq, forged.record)
        }
        try expectFailure(path2, seq: cpSeq, [.badSignature])
    }

    func testForgedCheckpointRootIsNamed() async throws {
        let dir = try await Self.makeFixture()
        defer { dir.remove() }
        let path = try Self.copy(dir, "cp-root")
        // Even with the real key (an insider), a checkpoint whose root is wrong is caught.
        let cpSeq: UInt64 = try withRawStore(path) { store in
            let cp = try XCTUnwrap(try store.env.read { try store.latestCheckpoint($0) })
            let key = try KeyStore(directory: path + "/keys").load(cp.event.key)
            var payload = cp.event.payload.objectValue!
            payload["root"] = .string(Digest32.sha256([1]).hex)
            let forged = Event.make(seq: cp.event.seq, time: cp.event.time,
                draft: EventDraft(type: cp.event.type, subject: cp.event.subject, actor: cp.event.actor, payload: .object(payload)),
                prev: cp.event.prev, signer: key)
            try Self.put(store, cp.event.seq, forged.record)
            return cp.event.seq
        }
        try expectFailure(path, seq: cpSeq, [.checkpointMismatch])
    }

    func testTruncatedLogIsNamed() async throws {
        let dir = try await Self.makeFixture()
        defer { dir.remove() }
        let path = try Self.copy(dir, "truncate")
        let head: UInt64 = try withRawStore(path) { store in
            let head = try XCTUnwrap(try store.env.read { try store.storedHead($0) }).seq
            try store.env.write { txn in
                for seq in (head - 4)...head { _ = try txn.delete(store.events, LedgerStore.seqKey(seq)) }
            }
            return head
        }
        try expectFailure(path, seq: head - 4, [.truncated])
        // Appending to a truncated ledger is refused rather than building on the damage.
        XCTAssertThrowsError(try openLedger(path, create: false))
    }

    func testTruncatedDataFileIsRefusedWithoutCrashing() async throws {
        let dir = try await Self.makeFixture()
        defer { dir.remove() }
        let path = try Self.copy(dir, "short-file")
        let file = path + "/data.mdb"
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        XCTAssertTrue(truncate(file, off_t(size / 2)) == 0)
        do {
            _ = try verify(path)
            XCTFail("a truncated data file was opened")
        } catch let e as LedgerError {
            XCTAssertTrue(e.code == .fileTruncated)
        }
    }
}
