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
    }

    /// Runs the verification. `progress` is called after each chunk with the events checked so far.
    public func run(progress: ((UInt64) -> Void)? = nil) -> VerificationReport {
        let started = DispatchTime.now().uptimeNanoseconds
        var report = VerificationReport()
        report.genesisPinned = trustedGenesisKey != nil
        let store = ledger.store
        var next: UInt64 = 1
        var prevHash = Digest32.zero
        var prevTime = Timestamp(nanoseconds: Int64.min)
        var activeKey: LedgerPublicKey?
        var knownKeys: [String: LedgerPublicKey] = [:]
        var frontier = MerkleFrontier()
        var checkpointRows: [UInt64: [UInt8]] = [:]

        func fail(_ seq: UInt64, _ code: VerificationFailure.Code, _ message: String) -> VerificationReport {
            report.failure = VerificationFailure(seq: seq, code: code, message: message)
            report.root = frontier.root
            report.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            return report
        }

        let head: LedgerStore.StoredHead?
        do {
            head = try store.env.read { txn in
                try txn.scan(store.checkpoints, from: nil) { k, v in
                    if let s = LedgerStore.seq(fromKey: k) { checkpointRows[s] = v }
                    return true
                }
                return try store.storedHead(txn)
            }
        } catch {
            return fail(1, .unreadable, "cannot read the ledger: \(error)")
        }

        while true {
            // 1. Read a chunk of raw records and the Merkle nodes they complete.
            var records: [(UInt64?, [UInt8])] = []
            var nodes: [UInt64: [UInt8]] = [:]
            do {
                try store.env.read { txn in
                    try txn.scan(store.events, from: LedgerStore.seqKey(next)) { k, v in
                        records.append((LedgerStore.seq(fromKey: k), v))
                        return records.count < chunkSize
                    }
                    guard !records.isEmpty else { return }
                    let firstPos = MerkleHash.postOrderPosition(level: 0, index: next - 1)
                    let end = next - 1 + UInt64(records.count)
                    let lastPos = 2 * end - UInt64(end.nonzeroBitCount) - 1
                    try txn.scan(store.merkle, from: LedgerStore.seqKey(firstPos)) { k, v in
                        guard let p = LedgerStore.seq(fromKey: k), p <= lastPos else { return false }
                        nodes[p] = v
                        return true
                    }
                }
            } catch {
                return fail(next, .unreadable, "cannot read events from \(next): \(error)")
            }
            if records.isEmpty { break }

            // 2. Decode, hash and check signatures in parallel (keys known before this chunk).
            var checked = [Checked](repeating: Checked(), count: records.count)
            let keys = knownKeys
            let raw = records
            let workers = min(Cores.available, max(1, records.count / 64))
            checked.withUnsafeMutableBufferPointer { buffer in
                // Each worker writes disjoint indices; concurrentPerform returns after all finish.
                nonisolated(unsafe) let out = buffer
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    var i = w
                    while i < raw.count {
                        do {
                            let e = try Event.decode(record: raw[i].1)
                            out[i].event = e
                            if let k = keys[e.key] { out[i].signatureValid = k.isValidSignature(e.signature, for: e.hash) }
                        } catch {
                            out[i].error = "\(error)"
                        }
                        i += workers
                    }
                }
            }

            // 3. Sequential checks: seq, chain, key, signature, event-type rules, Merkle.
            for (i, c) in checked.enumerated() {
                let expected = next + UInt64(i)
                guard let storedSeq = records[i].0, storedSeq == expected else {
                    if let s = records[i].0, s > expected {
                        return fail(expected, .missing, "event \(expected) is missing: the log jumps to \(s)")
                    }
                    return fail(expected, .malformed, "a record with an invalid key follows event \(expected - 1)")
                }
                guard let e = c.event else {
                    let message = c.error ?? "undecodable record"
                    return fail(expected, message.hasPrefix("hash") ? .hashMismatch : .malformed, message)
                }
                guard e.seq == expected else {
                    return fail(expected, .wrongSeq, "the event stored as \(expected) says it is \(e.seq) (events moved or swapped)")
                }
                guard e.prev == prevHash else {
                    return fail(expected, .chainBroken, "prev is \(e.prev) but event \(expected - 1) hashes to \(prevHash)")
                }
                guard e.time >= prevTime else {
                    return fail(expected, .timeReversed, "time \(e.time) is before the previous event's \(prevTime)")
                }
                if expected == 1 {
                    guard e.type == EventType.ledgerCreated, let pubText = e.payload["public_key"]?.stringValue,
                        let pub = LedgerPublicKey(base64: pubText), pub.keyID == e.key,
                        e.payload["key"]?.stringValue == e.key
                    else {
                        return fail(1, .badGenesis, "event 1 must be ledger.created naming the key that signs it")
                    }
                    if let trusted = trustedGenesisKey, trusted != pub {
                        return fail(1, .untrustedKey, "the ledger's genesis key \(pub.keyID) is not the trusted key \(trusted.keyID)")
                    }
                    activeKey = pub
                    knownKeys[pub.keyID] = pub
                    report.keys.append(pub.keyID)
                    report.ledgerID = e.payload["ledger_id"]?.stringValue
                }
                guard let active = activeKey, e.key == active.keyID else {
                    return fail(expected, .wrongKey,
                        "signed by key \(e.key), but the key active at this point is \(activeKey?.keyID ?? "none")")
                }
                let valid = c.signatureValid ?? active.isValidSignature(e.signature, for: e.hash)
                guard valid else {
                    return fail(expected, .badSignature, "the Ed25519 signature does not verify with key \(active.keyID)")
                }
                switch e.type {
                case EventType.keyRotated:
                    guard let pubText = e.payload["public_key"]?.stringValue, let pub = LedgerPublicKey(base64: pubText),
                        e.payload["key"]?.stringValue == pub.keyID, e.payload["previous_key"]?.stringValue == active.keyID
                    else {
                        return fail(expected, .badKeyRotation, "node.key.rotated must name the new key and its public key")
                    }
                    activeKey = pub
                    knownKeys[pub.keyID] = pub
                    report.keys.append(pub.keyID)
                case EventType.checkpoint:
                    let root = frontier.root
                    guard e.payload["tree_size"]?.intValue == Int64(expected - 1),
                        e.payload["root"]?.stringValue == root.hex
                    else {
                        return fail(expected, .checkpointMismatch,
                            "the checkpoint's root does not match the \(expected - 1) events before it (recomputed \(root))")
                    }
                    guard checkpointRows.removeValue(forKey: expected) == LedgerStore.seqKey(expected - 1) + root.bytes else {
                        return fail(expected, .checkpointMismatch, "the checkpoint index does not match checkpoint event \(expected)")
                    }
                    report.checkpoints += 1
                    report.lastCheckpoint = (expected - 1, root)
                case EventType.ledgerCreated where expected != 1:
                    return fail(expected, .badGenesis, "ledger.created may only be event 1")
                default:
                    break
                }
                for node in frontier.append(leafHash: MerkleHash.leaf(e.hash.bytes)) {
                    let pos = MerkleHash.postOrderPosition(level: node.level, index: node.index)
                    guard nodes[pos] == node.hash.bytes else {
                        return fail(expected, .merkleMismatch,
                            "the stored Merkle node (level \(node.level), index \(node.index)) differs from the recomputed one; proofs would be wrong")
                    }
                }
                prevHash = e.hash
                prevTime = e.time
                report.events += 1
            }
            next += UInt64(records.count)
            progress?(report.events)
        }

        let last = next - 1
        guard let head else {
            return fail(max(last, 1), .headMismatch, "the head record is missing")
        }
        if head.seq > last {
            return fail(last + 1, .truncated,
                "the log ends at \(last) but its head record says \(head.seq): events \(last + 1)…\(head.seq) were removed")
        }
        if head.seq < last || head.hash != prevHash {
            return fail(head.seq + 1, .headMismatch, "the head record (seq \(head.seq)) does not match the log, which ends at \(last)")
        }
        if let orphan = checkpointRows.keys.min() {
            return fail(orphan, .truncated, "the checkpoint index names event \(orphan), which is not a checkpoint in the log")
        }
        report.root = frontier.root
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return report
    }
}
