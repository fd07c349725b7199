package import Ledger
package import Projections

extension MessageAccess {
    /// What ``eraseContent(_:rule:reason:as:)`` did.
    package struct Erasure: Sendable {
        /// The `blob.erased` events, in order: the content key first when the content was
        /// encrypted at rest, then the content and its attachments.
        package var events: [Event] = []
        /// True when the message's data key was destroyed (crypto-shredding).
        package var shredded = false
    }

    /// Erases the content of message `id` under a retention or legal rule (gallring, GDPR): the
    /// principal needs `manage` on the message's mailbox or participant. Content encrypted at
    /// rest is crypto-shredded first — its wrapped data key is erased, so no copy of the
    /// ciphertext (in this store or in a backup made since) can be decrypted any more — and then
    /// its ciphertext is removed; content stored as it is is removed. A received message's XHE and
    /// the AS4 message that carried it go too (they are encrypted to our own O2O key, so they hold
    /// the content); an outbound message's XHE, encrypted to the recipient, stays. Each removal is
    /// a `blob.erased` event, durable before the bytes go. Parts already erased are skipped; the
    /// metadata, the events and the receipts stay (they are evidence).
    package func eraseContent(_ id: String, rule: String, reason: String, as principal: Principal) async throws(NodeError) -> Erasure {
        let (v, policy) = try await visible(id, principal, action: "erase_content")
        let scopes: [AccessScope] = (v.record.mailbox.map { [.mailbox($0)] } ?? []) + [.participant(v.record.participant)]
        guard scopes.contains(where: policy.mayManage) else {
            await refuse(AccessDenial(reason: .noManageGrant, resource: "message:\(id)", action: "erase_content"), principal)
            throw NodeError(.forbidden, "erasing content needs the manage right on the message's mailbox or participant; the refusal was recorded")
        }
        var blobs: [BlobRef] = []
        if let key = v.record.contentKey { blobs.append(key.blob) }
        if let m = v.record.sdkMessage { blobs.append(m) }
        blobs += v.record.attachments.map(\.blob)
        if v.record.direction == .inbound {
            // A received message's XHE, and the AS4 message that carried it, are encrypted to our
            // participant's O2O key, which is on this node: they hold the content too.
            guard v.record.status != .received else {
                throw NodeError(.conflict, "message \(id) is still being answered (its Meddelandekvittens is not sent yet); erase it once it is")
            }
            if let xhe = v.record.xhe { blobs.append(xhe) }
            do {
                for seq in v.record.eventSeqs {
                    if let e = try ledger.event(seq), e.type == NodeEventType.received, let soap = BlobField.parse(e.payload["soap"]) { blobs.append(soap) }
                }
            } catch { throw NodeError(.storage, "reading the events of \(id): \(error)") }
        }
        var out = Erasure()
        var seen: Set<Digest32> = []
        for (n, blob) in blobs.enumerated() where seen.insert(blob.sha256).inserted {
            let erasedBefore: UInt64?
            do { erasedBefore = try NodeStateProjection.erasure(of: blob.sha256, in: projections.storage) } catch {
                throw NodeError(.storage, "reading erasures: \(error)")
            }
            if erasedBefore != nil, ledger.blobs.state(of: blob.sha256) != .present(size: blob.size) {
                if n == 0 && v.record.contentKey != nil { out.shredded = true }
                continue
            }
            do {
                out.events.append(try await ledger.eraseBlob(blob.sha256, actor: principal.actor, rule: rule, reason: reason))
            } catch where error.code == .blobAlreadyErased {
                continue
            } catch {
                throw NodeError(error.code == .invalidDraft ? .invalidRequest : .storage, error.message)
            }
            if n == 0 && v.record.contentKey != nil { out.shredded = true }
        }
        guard !out.events.isEmpty else {
            throw NodeError(.erased, "message \(id) has no stored content left to erase; its blob.erased events say when and why")
        }
        return out
    }
}
