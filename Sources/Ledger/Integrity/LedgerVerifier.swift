import Dispatch
import Foundation

/// Checks a whole ledger: every event's canonical bytes and hash, the `prev` chain, dense seqs,
/// the Ed25519 signature with the key active at that point (genesis key, then each rotation),
/// every checkpoint's Merkle root, the stored Merkle nodes used for proofs, and the head record.
/// Stops at the first bad seq. Hashing and signature checks run on all cores.
public struct LedgerVerifier {
    let ledger: Ledger
    /// When set, the genesis key must be this key (an anchor the auditor holds outside the ledger).
    public var trustedGenesisKey: LedgerPublicKey?
    /// Records per read transaction.
    public var chunkSize = 8192

    public init(ledger: Ledger, trustedGenesisKey: LedgerPublicKey? = nil) {
        self.ledger = ledger
        self.trustedGenesisKey = trustedGenesisKey
    }

    private struct Checked {
        var event: Event?
        var error: String?
        var signatureValid: Bool?
        var leaf: Digest32?
    }

    private struct Chunk {
        var first: UInt64
        var records: [(UInt64?, [UInt8])] = []
        var nodes: [UInt64: Digest32] = [:]
    }

    /// The state carried from event to event by the sequential checks.
    private struct Walk {
        var report = VerificationReport()
        var prevHash = Digest32.zero
        var prevTime = Timestamp(nanoseconds: Int64.min)
        var activeKey: LedgerPublicKey?
        var knownKeys: [String: LedgerPublicKey] = [:]
        var frontier = MerkleFrontier()
        var checkpointRows: [UInt64: [UInt8]] = [:]
        let trusted: LedgerPublicKey?

        func failure(_ seq: UInt64, _ code: VerificationFailure.Code, _ message: String) -> VerificationFailure {
            VerificationFailure(seq: seq, code: code, message: message)
        }

        /// Seq, chain, key, signature, event-type rules and Merkle nodes of one decoded chunk.
        mutating func check(_ chunk: Chunk, _ checked: [Checked]) -> VerificationFailure? {
            for (i, c) in checked.enumerated() {
                let expected = chunk.first + UInt64(i)
                guard let storedSeq = chunk.records[i].0, storedSeq == expected else {
                    if let s = chunk.records[i].0, s > expected {
                        return failure(expected, .missing, "event \(expected) is missing: the log jumps to \(s)")
                    }
                    return failure(expected, .malformed, "a record with an invalid key follows event \(expected - 1)")
                }
                guard let e = c.event else {
                    let message = c.error ?? "undecodable record"
                    return failure(expected, message.hasPrefix("hash") ? .hashMismatch : .malformed, message)
                }
                guard e.seq == expected else {
                    return failure(expected, .wrongSeq, "the event stored as \(expected) says it is \(e.seq) (events moved or swapped)")
                }
                guard e.prev == prevHash else {
                    return failure(expected, .chainBroken, "prev is \(e.prev) but event \(expected - 1) hashes to \(prevHash)")
                }
                guard e.time >= prevTime else {
                    return failure(expected, .timeReversed, "time \(e.time) is before the previous event's \(prevTime)")
                }
                if expected == 1 {
                    guard e.type == EventType.ledgerCreated, let pubText = e.payload["public_key"]?.stringValue,
                        let pub = LedgerPublicKey(base64: pubText), pub.keyID == e.key,
                        e.payload["key"]?.stringValue == e.key
                    else {
                        return failure(1, .badGenesis, "event 1 must be ledger.created naming the key that signs it")
                    }
                    if let trusted, trusted != pub {
                        return failure(1, .untrustedKey, "the ledger's genesis key \(pub.keyID) is not the trusted key \(trusted.keyID)")
                    }
                    activeKey = pub
                    knownKeys[pub.keyID] = pub
                    report.keys.append(pub.keyID)
                    report.ledgerID = e.payload["ledger_id"]?.stringValue
                }
                guard let active = activeKey, e.key == active.keyID else {
                    return failure(expected, .wrongKey,
                        "signed by key \(e.key), but the key active at this point is \(activeKey?.keyID ?? "none")")
                }
                let valid = c.signatureValid ?? active.isValidSignature(e.signature, for: e.hash)
                guard valid else {
                    return failure(expected, .badSignature, "the Ed25519 signature does not verify with key \(active.keyID)")
                }
                switch e.type {
                case EventType.keyRotated:
                    guard let pubText = e.payload["public_key"]?.stringValue, let pub = LedgerPublicKey(base64: pubText),
                        e.payload["key"]?.stringValue == pub.keyID, e.payload["previous_key"]?.stringValue == active.keyID
                    else {
                        return failure(expected, .badKeyRotation, "node.key.rotated must name the new key and its public key")
                    }
                    activeKey = pub
                    knownKeys[pub.keyID] = pub
                    report.keys.append(pub.keyID)
                case EventType.checkpoint:
                    let root = frontier.root
                    guard e.payload["tree_size"]?.intValue == Int64(expected - 1),
                        e.payload["root"]?.stringValue == root.hex
                    else {
                        return failure(expected, .checkpointMismatch,
                            "the checkpoint's root does not match the \(expected - 1) events before it (recomputed \(root))")
                    }
                    guard checkpointRows.removeValue(forKey: expected) == LedgerStore.seqKey(expected - 1) + root.bytes else {
                        return failure(expected, .checkpointMismatch, "the checkpoint index does not match checkpoint event \(expected)")
                    }
                    report.checkpoints += 1
                    report.lastCheckpoint = (expected - 1, root)
                case EventType.ledgerCreated where expected != 1:
                    return failure(expected, .badGenesis, "ledger.created may only be event 1")
                default:
                    break
                }
                for node in frontier.append(leafHash: c.leaf ?? MerkleHash.leaf(e.hash)) {
                    let pos = MerkleHash.postOrderPosition(level: node.level, index: node.index)
                    guard chunk.nodes[pos] == node.hash else {
                        return failure(expected, .merkleMismatch,
                            "the stored Merkle node (level \(node.level), index \(node.index)) differs from the recomputed one; proofs would be wrong")
                    }
                }
                prevHash = e.hash
                prevTime = e.time
                report.events += 1
            }
            return nil
        }
    }

    /// Reads up to `chunkSize` raw records from `first` and the Merkle nodes they complete.
    private func read(from first: UInt64) throws -> Chunk {
        let store = ledger.store
        var chunk = Chunk(first: first)
        try store.env.read { txn in
            try txn.scan(store.events, from: LedgerStore.seqKey(first)) { k, v in
                chunk.records.append((LedgerStore.seq(fromKey: k), v))
                return chunk.records.count < chunkSize
            }
            guard !chunk.records.isEmpty else { return }
            let firstPos = MerkleHash.postOrderPosition(level: 0, index: first - 1)
            let end = first - 1 + UInt64(chunk.records.count)
            let lastPos = 2 * end - UInt64(end.nonzeroBitCount) - 1
            try txn.scan(store.merkle, from: LedgerStore.seqKey(firstPos)) { k, v in
                guard let p = LedgerStore.seq(fromKey: k), p <= lastPos else { return false }
                chunk.nodes[p] = Digest32(bytes: v)
                return true
            }
        }
        return chunk
    }

    /// Decodes, hashes and checks signatures of a chunk on all cores (with the keys known so far;
    /// events of a key announced later are checked in the sequential pass).
    private static func decode(_ chunk: Chunk, keys: [String: LedgerPublicKey]) -> [Checked] {
        let raw = chunk.records
        var checked = [Checked](repeating: Checked(), count: raw.count)
        Parallel.map(into: &checked, block: 16) { i in
            var c = Checked()
            do {
                let e = try Event.decode(record: raw[i].1)
                c.event = e
                c.leaf = MerkleHash.leaf(e.hash)
                if let k = keys[e.key] { c.signatureValid = k.isValidSignature(e.signature, for: e.hash) }
            } catch {
                c.error = "\(error)"
            }
            return c
        }
        return checked
    }

    /// Runs the verification. `progress` is called after each chunk with the events checked so far.
    ///
    /// Chunks flow through a two-stage pipeline: while chunk k is decoded and its signatures
    /// checked on all cores, chunk k − 1 goes through the sequential checks.
    public func run(progress: ((UInt64) -> Void)? = nil) -> VerificationReport {
        let started = DispatchTime.now().uptimeNanoseconds
        var walk = Walk(trusted: trustedGenesisKey)
        walk.report.genesisPinned = trustedGenesisKey != nil
        let store = ledger.store

        func finish(_ failure: VerificationFailure?) -> VerificationReport {
            var report = walk.report
            report.failure = failure
            report.root = walk.frontier.root
            report.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            return report
        }

        let head: LedgerStore.StoredHead?
        do {
            var rows: [UInt64: [UInt8]] = [:]
            head = try store.env.read { txn in
                try txn.scan(store.checkpoints, from: nil) { k, v in
                    if let s = LedgerStore.seq(fromKey: k) { rows[s] = v }
                    return true
                }
                return try store.storedHead(txn)
            }
            walk.checkpointRows = rows
        } catch {
            return finish(VerificationFailure(seq: 1, code: .unreadable, message: "cannot read the ledger: \(error)"))
        }

        // While chunk k is decoded on all cores, this thread checks chunk k − 1 and reads k + 1.
        var next: UInt64 = 1
        var pending: (Chunk, [Checked])?
        var chunk: Chunk
        do { chunk = try read(from: 1) } catch {
            return finish(VerificationFailure(seq: 1, code: .unreadable, message: "cannot read events from 1: \(error)"))
        }
        while true {
            let decoded = DecodeSlot()
            let group = DispatchGroup()
            if !chunk.records.isEmpty {
                let keys = walk.knownKeys
                let current = chunk
                DispatchQueue.global().async(group: group) { decoded.value = Self.decode(current, keys: keys) }
            }
            if let (c, d) = pending {
                if let f = walk.check(c, d) {
                    group.wait()
                    return finish(f)
                }
                progress?(walk.report.events)
            }
            if chunk.records.isEmpty { break }
            let following = next + UInt64(chunk.records.count)
            let upcoming: Chunk
            do { upcoming = try read(from: following) } catch {
                group.wait()
                if let f = walk.check(chunk, decoded.value) { return finish(f) }
                return finish(VerificationFailure(seq: following, code: .unreadable,
                    message: "cannot read events from \(following): \(error)"))
            }
            group.wait()
            pending = (chunk, decoded.value)
            chunk = upcoming
            next = following
        }

        let last = next - 1
        guard let head else {
            return finish(VerificationFailure(seq: max(last, 1), code: .headMismatch, message: "the head record is missing"))
        }
        if head.seq > last {
            return finish(VerificationFailure(seq: last + 1, code: .truncated,
                message: "the log ends at \(last) but its head record says \(head.seq): events \(last + 1)…\(head.seq) were removed"))
        }
        if head.seq < last || head.hash != walk.prevHash {
            return finish(VerificationFailure(seq: head.seq + 1, code: .headMismatch,
                message: "the head record (seq \(head.seq)) does not match the log, which ends at \(last)"))
        }
        if let orphan = walk.checkpointRows.keys.min() {
            return finish(VerificationFailure(seq: orphan, code: .truncated,
                message: "the checkpoint index names event \(orphan), which is not a checkpoint in the log"))
        }
        return finish(nil)
    }

    /// Hands a decoded chunk from the decoding thread to the verifier.
    private final class DecodeSlot: @unchecked Sendable {
        // Sendable: written once on the decoding thread before `group.leave()`, read only after
        // `group.wait()` returned, so the DispatchGroup orders the two accesses.
        var value: [Checked] = []
    }
}
