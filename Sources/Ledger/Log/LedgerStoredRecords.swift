/// Passes over the stored event records as they lie in the events table, without decoding them:
/// what `kvitto bench` measures the machine's limits with (the fastest possible read of a ledger,
/// and its signatures verified with nothing else done). The record layout stays the ledger's;
/// anything that wants events reads ``Event``s.
extension Ledger {
    /// Calls `body` with each stored event record in seq order, in one read transaction and in
    /// place in the map (the buffer is valid only during the call; nothing is copied), until
    /// `body` returns false.
    package func scanStoredRecords(_ body: (UnsafeRawBufferPointer) -> Bool) throws(LedgerError) {
        let events = store.events
        try read { txn in try txn.scanInPlace(events, body) }
    }

    /// The event hash and signature of up to `limit` stored records from `seq` on, in seq order,
    /// copied out of one read transaction; records too short to hold both are reported as nil.
    package func storedSignatures(from seq: UInt64, limit: Int) throws(LedgerError) -> [(hash: Digest32, signature: [UInt8])?] {
        var out: [(hash: Digest32, signature: [UInt8])?] = []
        let store = self.store
        try read { txn in
            try txn.scan(store.events, from: LedgerStore.seqKey(seq)) { _, v in
                out.append(v.count > 96 ? (Digest32(unchecked: Array(v[0..<32])), Array(v[32..<96])) : nil)
                return out.count < limit
            }
        }
        return out
    }
}
