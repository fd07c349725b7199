extension Ledger {
    /// Erases the content of a blob (gallring, GDPR) the audit-first way: a `blob.erased` event
    /// naming the blob, who erased it, under which rule and why is appended and durable first;
    /// only then are the bytes removed, leaving a marker that names the event. Events that
    /// reference the blob keep its hash, and verification reports it as erased, not as tampering.
    ///
    /// A blob kept inline in the ledger's file goes with the event's own commit (its row deleted
    /// and its bytes overwritten, see ``InlineBlobs``). For a blob file, if the process stops
    /// between the event and the removal, the content is still there and verification counts it
    /// as a pending erasure; erasing again finishes it.
    ///
    /// - Parameters:
    ///   - actor: who erases (a user identity or `node` for an automatic retention rule).
    ///   - rule: the retention or legal rule applied, e.g. a gallringsbeslut reference.
    ///   - reason: free text for the auditor.
    /// - Returns: the `blob.erased` event.
    public func eraseBlob(_ hash: Digest32, actor: String, rule: String, reason: String) async throws(LedgerError) -> Event {
        guard !rule.isEmpty, rule.utf8.count <= 1024 else {
            throw LedgerError(.invalidDraft, "name the rule the erasure applies (1–1024 bytes), e.g. the retention decision")
        }
        guard reason.utf8.count <= 4096 else { throw LedgerError(.invalidDraft, "the reason is limited to 4096 bytes") }
        let size: Int64
        switch blobs.state(of: hash) {
        case .present(let s):
            size = s
        case .erased(let marker):
            throw LedgerError(.blobAlreadyErased, "blob \(hash) is already erased (\(marker)); nothing to do")
        case .absent:
            throw LedgerError(.blobNotFound, "blob \(hash) is not in this ledger's blob store; check the hash")
        }
        let event = try await append(EventDraft(type: "blob.erased", subject: "blob:\(hash.hex)", actor: actor, payload: [
            "blob": .string(hash.hex), "size": .int(size), "rule": .string(rule), "reason": .string(reason),
        ]))
        try blobs.erase(hash, reason: "erased by event \(event.seq) (\(actor), rule \(rule)): \(reason)")
        return event
    }
}
