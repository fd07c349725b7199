import Ledger
package import Projections

/// Creating, listing, rotating, resuming and deleting webhooks, for every interface. A webhook
/// belongs to the principal that created it: it is sent the events that principal's grants show
/// (as of each event, bounded by those in force when it is sent — as a stream would be), so
/// creating one needs the same grants as subscribing to `GET /v1/events`. Its owner and the
/// node's operators (operate right on the node) see it, resume it and delete it; only its owner
/// rotates its secret. Every change is a ledger event by the caller; a refusal is recorded.
package struct WebhookAdministration: Sendable {
    package let access: MessageAccess
    package let store: WebhookStore
    package let settings: NodeConfig.Webhooks
    /// Creations one at a time, so that two cannot both pass the per-owner limit.
    private let creating = SerialGate()

    package init(access: MessageAccess, store: WebhookStore, settings: NodeConfig.Webhooks) {
        self.access = access
        self.store = store
        self.settings = settings
    }

    /// The names a webhook keeps of its creator: every name of the credential but affiliations
    /// (`aff:`), which state a role the identity provider vouches for at sign-in only, and client
    /// certificates (`cert:`), which a CRL can withdraw without the ledger knowing — a webhook
    /// outlives the connection, so grants to such a name must not keep feeding it after the
    /// person left the role or the certificate was revoked.
    package static func ownerNames(_ principal: Principal) -> [PrincipalName] {
        principal.names.filter { $0.kind != .aff && $0.kind != .cert }
    }

    /// A new webhook and its secret (shown this once).
    package func create(_ request: Webhook.Request, by principal: Principal) async throws(NodeError) -> (Webhook, WebhookSecret) {
        let names = Self.ownerNames(principal)
        // What the webhook will be sent is decided by the grants to the names it keeps.
        let owner = names.first.map { Principal(name: $0, otherNames: Array(names.dropFirst()), assurance: principal.assurance, interface: principal.interface) }
        let policy = try access.policy(for: owner ?? principal)
        guard owner != nil, policy.effective.contains(where: { !$0.rights.isDisjoint(with: [.read, .audit, .operate]) }) else {
            await access.refuse(AccessDenial(reason: .noGrant, resource: "webhooks", action: "create"), principal)
            throw NodeError(.forbidden, "you hold no grant that shows a mailbox's events (read, audit or operate; grants to an affiliation or a client certificate do not count for webhooks: use a token); the refusal was recorded")
        }
        for m in request.mailboxes where policy.visibility(of: m) == .none {
            await access.refuse(AccessDenial(reason: .notVisible, resource: "mailbox:\(m)", action: "create_webhook"), principal)
            throw NodeError(.notFound, "no mailbox \(m)")
        }
        let endpoint = try WebhookEndpoint(request.url, settings: settings)
        if request.description.unicodeScalars.count > 200 { throw NodeError(.invalidRequest, "description is at most 200 characters") }
        if let bad = request.types.first(where: { PublicEventType(rawValue: $0) == nil }) {
            throw NodeError(.invalidRequest, "\(bad) is not a public event type (Schemas/events.md lists them)")
        }
        // Counted and recorded under the gate, from projections caught up with the ledger: two
        // creations at once cannot both pass the limit.
        return try await creating.serially { () async throws(NodeError) -> (Webhook, WebhookSecret) in
            do { _ = try access.projections.catchUp() } catch {
                throw NodeError(.storage, "catching up the webhooks projection: \(error)")
            }
            let owned = try all().filter { w in
                if case .deleted = w.state { return false }
                return w.owner[0] == names[0]
            }
            guard owned.count < settings.perOwner else {
                throw NodeError(.unprocessable, "you have \(owned.count) webhooks, as many as this node allows one owner; delete one first")
            }
            var clean = request
            clean.url = endpoint.url
            clean.mailboxes = Array(Set(request.mailboxes)).sorted { $0.description < $1.description }
            clean.types = Array(Set(request.types)).sorted()
            let secret = WebhookSecret.generate()
            do {
                try store.put(secret)
                let event = try await access.ledger.append(Webhook.draft(clean, owner: names, secretSHA256: secret.sha256))
                guard let w = Webhook(created: event) else { throw NodeError(.storage, "the recorded webhook \(event.seq) does not read back") }
                return (w, secret)
            } catch let e as NodeError {
                throw e
            } catch {
                throw NodeError(.storage, "recording the webhook: \(error)")
            }
        }
    }

    /// The webhooks the principal may see (its own; every one for an operator), oldest first.
    package func list(by principal: Principal) throws(NodeError) -> [Webhook] {
        let policy = try access.policy(for: principal)
        let operates = policy.rights(on: .node).contains(.operate)
        let names = Set(principal.names)
        return try all().filter { w in
            if case .deleted = w.state { return false }
            return operates || names.contains(w.owner[0])
        }
    }

    /// Webhook `id` and its progress, when the principal may see it (otherwise not found, recorded).
    package func webhook(_ id: UInt64, by principal: Principal, action: String = "read") async throws(NodeError) -> (Webhook, WebhookProgress?) {
        let policy = try access.policy(for: principal)
        let w: Webhook?
        let progress: WebhookProgress?
        do {
            w = try WebhooksProjection.webhook(id, in: access.projections.storage)
            progress = try store.progress(id)
        } catch {
            throw NodeError(.storage, "reading webhook \(id): \(error)")
        }
        let mine = w.map { principal.names.contains($0.owner[0]) } ?? false
        guard let w, !w.isDeleted, mine || policy.rights(on: .node).contains(.operate) else {
            // Asking about one's own deleted webhook is no refusal worth recording.
            if !mine { await access.refuse(AccessDenial(reason: .notVisible, resource: "webhook:\(id)", action: action), principal) }
            throw NodeError(.notFound, "no webhook \(id)")
        }
        return (w, progress)
    }

    /// A new secret for webhook `id` (its owner only); the current ones stay valid for `overlap` seconds.
    package func rotateSecret(_ id: UInt64, overlap: Double, by principal: Principal) async throws(NodeError) -> (Webhook, WebhookSecret) {
        guard overlap.isFinite, (0...(7 * 86_400)).contains(overlap) else {
            throw NodeError(.invalidRequest, "overlap_seconds must be from 0 to 604800 (7 days)")
        }
        let (w, _) = try await webhook(id, by: principal, action: "rotate_secret")
        guard principal.names.contains(w.owner[0]) else {
            await access.refuse(AccessDenial(reason: .noManageGrant, resource: "webhook:\(id)", action: "rotate_secret"), principal)
            throw NodeError(.forbidden, "only the webhook's owner rotates its secret; the refusal was recorded")
        }
        let secret = WebhookSecret.generate()
        do {
            try store.put(secret)
            let until = Timestamp(nanoseconds: Timestamp.now().nanoseconds + Int64(overlap * 1e9))
            let event = try await access.ledger.append(w.rotationDraft(actor: principal.actor, sha256: secret.sha256, previousValidUntil: until))
            // The projection holds the rotation before the caller hears of it: the next delivery
            // is signed with the new secret too, so the receiver may switch at once.
            _ = try access.projections.catchUp()
            var rotated = w
            rotated.apply(event)
            return (rotated, secret)
        } catch {
            throw NodeError(.storage, "recording the rotation: \(error)")
        }
    }

    /// Resumes a disabled webhook: deliveries go on from where they stopped.
    package func resume(_ id: UInt64, by principal: Principal) async throws(NodeError) -> Webhook {
        let (w, _) = try await webhook(id, by: principal, action: "resume")
        guard case .disabled = w.state else { throw NodeError(.conflict, "webhook \(id) is not disabled") }
        return try await record(w, WebhookEventType.resumed, by: principal)
    }

    /// Ends webhook `id` for good (its secrets are forgotten).
    package func delete(_ id: UInt64, by principal: Principal) async throws(NodeError) -> Webhook {
        let (w, _) = try await webhook(id, by: principal, action: "delete")
        let deleted = try await record(w, WebhookEventType.deleted, by: principal)
        try? store.removeSecrets(w.secrets.map(\.sha256))
        return deleted
    }

    private func record(_ w: Webhook, _ type: String, by principal: Principal) async throws(NodeError) -> Webhook {
        do {
            let event = try await access.ledger.append(w.draft(type, actor: principal.actor))
            var changed = w
            changed.apply(event)
            return changed
        } catch {
            throw NodeError(.storage, "recording \(type): \(error)")
        }
    }

    private func all() throws(NodeError) -> [Webhook] {
        do { return try WebhooksProjection.all(in: access.projections.storage) } catch {
            throw NodeError(.storage, "reading the webhooks: \(error)")
        }
    }
}

extension Webhook {
    package var isDeleted: Bool {
        if case .deleted = state { return true }
        return false
    }
}
