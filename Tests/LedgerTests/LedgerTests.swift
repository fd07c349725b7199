import Foundation
import XCTest
@testable import Ledger

final class LedgerTests: XCTestCase {
    func testAppendsReadsAndReopensWithDenseSeqs() async throws {
        let dir = TempDir("basic")
        defer { dir.remove() }
        var firstKey: String?
        do {
            let ledger = try openLedger(dir.path)
            let head0 = try ledger.head()
            XCTAssertTrue(head0.seq == 1)  // ledger.created
            let genesis = try XCTUnwrap(try ledger.event(1))
            XCTAssertTrue(genesis.type == EventType.ledgerCreated)
            firstKey = genesis.key
            let events = try await ledger.append((0..<10).map { draft($0) })
            XCTAssertTrue(events.map(\.seq) == Array(2...11))
            XCTAssertTrue(events[0].prev == genesis.hash)
            for (a, b) in zip(events, events.dropFirst()) { XCTAssertTrue(b.prev == a.hash && b.time >= a.time) }
            let stored = try ledger.events(from: 2, limit: 100)
            XCTAssertTrue(stored == events)
            XCTAssertTrue(try ledger.head().seq == 11)
            ledger.close()
        }
        // Reopen: the chain continues from the stored head with the same key.
        let ledger = try openLedger(dir.path, create: false)
        let more = try await ledger.append(draft(99))
        XCTAssertTrue(more.seq == 12)
        XCTAssertTrue(more.prev == (try ledger.event(11))?.hash)
        XCTAssertTrue(more.key == firstKey)
        ledger.close()
        let report = try verify(dir.path)
        XCTAssertTrue(report.ok, "\(String(describing: report.failure))")
        XCTAssertTrue(report.events == 12)
    }

    func testEventHashIsSHA256OfCanonicalEnvelopeWithoutHashAndSig() async throws {
        let dir = TempDir("canon")
        defer { dir.remove() }
        let ledger = try openLedger(dir.path)
        defer { ledger.close() }
        let e = try await ledger.append(EventDraft(type: "access.granted", subject: "grant:1", actor: "admin",
            payload: ["mailbox": "socialtjansten@malmo.se", "åäö": "\"quoted\"\n"]))
        guard case .object(var o) = e.json else { XCTFail("not an object"); return }
        o["hash"] = nil
        o["sig"] = nil
        XCTAssertTrue(Digest32.sha256(CanonicalJSON.encode(.object(o))) == e.hash)
        XCTAssertTrue(try Event.fromJSON(e.json) == e)
        let key = try LedgerPublicKey(raw: Array(Data(base64Encoded: (try ledger.event(1))!.payload["public_key"]!.stringValue!)!))
        XCTAssertTrue(key.isValidSignature(e.signature, for: e.hash))
    }

    func testCheckpointsEveryNEventsAndProofsVerify() async throws {
        let dir = TempDir("cp")
        defer { dir.remove() }
        let ledger = try openLedger(dir.path) { $0.checkpointEvery = 10; $0.checkpointInterval = 0 }
        defer { ledger.close() }
        for i in 0..<5 { _ = try await ledger.append((0..<7).map { draft(i * 7 + $0) }) }
        let events = try ledger.events(from: 1, limit: 1000)
        let checkpoints = events.filter { $0.type == EventType.checkpoint }
        XCTAssertTrue(checkpoints.count >= 2)
        for cp in checkpoints {
            let c = try XCTUnwrap(Checkpoint(event: cp))
            XCTAssertTrue(c.treeSize == cp.seq - 1)
            XCTAssertTrue(try ledger.merkleRoot(size: c.treeSize) == c.root)
        }
        let head = try ledger.head()
        let latest = try XCTUnwrap(head.checkpoint)
        for seq in 1...latest.treeSize {
            let proof = try ledger.inclusionProof(seq: seq)
            XCTAssertTrue(proof.isValid)
            XCTAssertTrue(proof.checkpoint == latest)
        }
        // On-demand checkpoint covers everything; consistency from the first checkpoint verifies.
        let now = try await ledger.checkpoint()
        XCTAssertTrue(now.treeSize == now.event.seq - 1)
        let first = try XCTUnwrap(Checkpoint(event: checkpoints[0]))
        let proof = try ledger.consistencyProof(oldSize: first.treeSize, newSize: now.treeSize)
        XCTAssertTrue(MerkleProofs.verifyConsistency(oldSize: first.treeSize, newSize: now.treeSize, oldRoot: first.root,
            newRoot: now.root, proof: proof))
        // A proof for an event past the newest checkpoint is refused with a clear error.
        let late = try await ledger.append(draft(1000))
        XCTAssertThrowsError(try ledger.inclusionProof(seq: late.seq))
    }

    func testTimedCheckpointIsWrittenWhenIdle() async throws {
        let dir = TempDir("timed")
        defer { dir.remove() }
        let ledger = try openLedger(dir.path) { $0.checkpointInterval = 0.2 }
        defer { ledger.close() }
        _ = try await ledger.append(draft(1))
        var found = false
        for _ in 0..<50 where !found {  // bounded: at most 5 s
            try await Task.sleep(nanoseconds: 100_000_000)
            found = try ledger.head().checkpoint != nil
        }
        XCTAssertTrue(found)
    }

    func testKeyRotationKeepsOldEventsVerifiable() async throws {
        let dir = TempDir("rotate")
        defer { dir.remove() }
        let oldKey: String
        let newKey: String
        do {
            let ledger = try openLedger(dir.path)
            _ = try await ledger.append((0..<5).map { draft($0) })
            let rotation = try await ledger.rotateKey()
            oldKey = rotation.key
            newKey = try XCTUnwrap(rotation.payload["key"]?.stringValue)
            XCTAssertTrue(oldKey != newKey)
            let after = try await ledger.append(draft(6))
            XCTAssertTrue(after.key == newKey)
            ledger.close()
        }
        // Reopen continues with the new key.
        do {
            let ledger = try openLedger(dir.path, create: false)
            let e = try await ledger.append(draft(7))
            XCTAssertEqual(e.key, newKey)
            ledger.close()
        }
        let report = try verify(dir.path)
        XCTAssertTrue(report.ok)
        XCTAssertTrue(report.keys == [oldKey, newKey])
    }

    func testVerificationCanBePinnedToATrustedGenesisKey() async throws {
        let dir = TempDir("pin")
        defer { dir.remove() }
        do {
            let ledger = try openLedger(dir.path)
            _ = try await ledger.append(draft(1))
            ledger.close()
        }
        let genesis = try XCTUnwrap(try verify(dir.path).keys.first)
        let key = try KeyStore(directory: dir.sub("keys")).load(genesis)
        XCTAssertTrue(try verify(dir.path, trusted: key.publicKey).ok)
        let other = LedgerSigningKey().publicKey
        let report = try verify(dir.path, trusted: other)
        XCTAssertTrue(report.failure?.seq == 1)
        XCTAssertTrue(report.failure?.code == .untrustedKey)
    }

    func testSubscriptionReplaysThenFollowsLive() async throws {
        let dir = TempDir("sub")
        defer { dir.remove() }
        let ledger = try openLedger(dir.path)
        defer { ledger.close() }
        _ = try await ledger.append((0..<20).map { draft($0) })
        let collector = Task {
            var seqs: [UInt64] = []
            for try await e in ledger.subscribe(from: 5, pageSize: 7) {
                seqs.append(e.seq)
                if seqs.count == 47 { break }
            }
            return seqs
        }
        for i in 0..<30 { _ = try await ledger.append(draft(100 + i)) }
        let seqs = try await collector.value
        XCTAssertTrue(seqs == Array(5...51))
    }

    func testBlobStoreStreamsVerifiesAndErases() throws {
        let dir = TempDir("blob")
        defer { dir.remove() }
        let blobs = BlobStore(directory: dir.sub("blobs"))
        let small = try blobs.put(Array("hej".utf8))
        XCTAssertTrue(small.sha256 == Digest32.sha256(Array("hej".utf8)) && small.size == 3)
        XCTAssertTrue(try blobs.read(small.sha256) == Array("hej".utf8))
        // A 5 MiB blob written in 64 KiB chunks, read back in 1 MiB chunks.
        let writer = try blobs.makeWriter()
        var all: [UInt8] = []
        for i in 0..<80 {
            let chunk = [UInt8](repeating: UInt8(i), count: 65536)
            all += chunk
            try writer.write(chunk)
        }
        let big = try writer.finish()
        XCTAssertTrue(big.size == Int64(all.count))
        XCTAssertTrue(big.sha256 == Digest32.sha256(all))
        let reader = try blobs.open(big.sha256)
        var chunks = 0
        var back: [UInt8] = []
        while let c = try reader.next() { chunks += 1; back += c }
        XCTAssertTrue(back == all && chunks == 5)
        // Tampered content is detected when read.
        let path = blobs.path(small.sha256)
        try Data("hey".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try blobs.read(small.sha256))
        // Erasure leaves a marker, not a hole.
        try blobs.erase(big.sha256, reason: "gallring: rule 7, by arkivarie@malmo.se")
        XCTAssertTrue(blobs.state(of: big.sha256) == .erased(reason: "gallring: rule 7, by arkivarie@malmo.se"))
        XCTAssertThrowsError(try blobs.open(big.sha256))
    }
}
