package import Ledger

/// One webhook subscription as its ledger events made it: who owns it (the names of the
/// principal that created it, whose grants decide what it is sent), where deliveries go, which
/// mailboxes and public event types it asked for, its secrets' fingerprints, and whether it is
/// active. Its id is the seq of its `webhook.created` event. Secrets themselves never enter the
/// ledger (only their SHA-256).
package struct Webhook: Sendable, Equatable {
    /// One signing secret, by fingerprint; `validUntil` nil while it is the current one.
    package struct Secret: Sendable, Equatable {
        package var sha256: String
        package var validUntil: Timestamp?
    }

    package enum State: Sendable, Equatable {
        case active
        /// Stopped at event `seq` for `reason` (`failing`: no success for the configured time).
        case disabled(seq: UInt64, reason: String)
        case deleted(seq: UInt64)
    }

    package var id: UInt64
    /// The creator's names, the first one its actor.
    package var owner: [PrincipalName]
    package var url: String
    /// Empty: every mailbox the owner may see.
    package var mailboxes: [FunctionalAddress]
    /// Public event type names; empty: every type.
    package var types: [String]
    package var description: String
    package var createdAt: Timestamp
    /// The ledger position deliveries start after (the creation's own seq).
    package var startAfter: UInt64
    /// Current secret first.
    package var secrets: [Secret]
    package var state: State
    /// When it was last resumed (a failure period that began before does not count any more).
    package var resumedAt: Timestamp?

    /// The secrets to sign with at `time`: the current one and those still in their overlap.
    package func signingSecrets(at time: Timestamp) -> [Secret] {
        secrets.filter { s in s.validUntil.map { time < $0 } ?? true }
    }

    // MARK: Events

    /// What a creator asks for.
    package struct Request: Sendable, Equatable {
        package var url: String
        package var mailboxes: [FunctionalAddress]
        package var types: [String]
        package var description: String

        package init(url: String, mailboxes: [FunctionalAddress], types: [String], description: String) {
            self.url = url
            self.mailboxes = mailboxes
            self.types = types
            self.description = description
        }
    }

    /// The `webhook.created` draft.
    package static func draft(_ r: Request, owner: [PrincipalName], secretSHA256: String) -> EventDraft {
        EventDraft(type: WebhookEventType.created, subject: "webhook:new", actor: owner[0].description, payload: [
            "url": .string(r.url), "mailboxes": .array(r.mailboxes.map { .string($0.description) }),
            "types": .array(r.types.map { .string($0) }), "description": .string(r.description),
            "owner": .array(owner.map { .string($0.description) }), "secret_sha256": .string(secretSHA256),
        ])
    }

    /// The `webhook.secret.rotated` draft: `sha256` becomes current, the others stay valid until `previousValidUntil`.
    package func rotationDraft(actor: String, sha256: String, previousValidUntil: Timestamp) -> EventDraft {
        EventDraft(type: WebhookEventType.secretRotated, subject: WebhookEventType.subject(id), actor: actor, payload: [
            "webhook": .int(Int64(id)), "secret_sha256": .string(sha256), "previous_valid_until": .string(previousValidUntil.rfc3339),
        ])
    }

    /// A `webhook.disabled`, `webhook.resumed` or `webhook.deleted` draft; `details` are added to the payload.
    package func draft(_ type: String, actor: String, details: [String: JSONValue] = [:]) -> EventDraft {
        var p = details
        p["webhook"] = .int(Int64(id))
        return EventDraft(type: type, subject: WebhookEventType.subject(id), actor: actor, payload: .object(p))
    }

    /// The subscription `webhook.created` made; nil when its payload is not one (projections ignore it).
    package init?(created e: Event) {
        let p = e.payload
        guard e.type == WebhookEventType.created, let url = p["url"]?.stringValue, let sha = p["secret_sha256"]?.stringValue,
              let ownerNames = p["owner"]?.arrayElements, !ownerNames.isEmpty else { return nil }
        var owner: [PrincipalName] = []
        for n in ownerNames {
            guard let name = n.stringValue.flatMap(PrincipalName.init) else { return nil }
            owner.append(name)
        }
        var mailboxes: [FunctionalAddress] = []
        for m in p["mailboxes"]?.arrayElements ?? [] {
            guard let a = m.stringValue.flatMap(FunctionalAddress.init) else { return nil }
            mailboxes.append(a)
        }
        self.init(id: e.seq, owner: owner, url: url, mailboxes: mailboxes,
                  types: (p["types"]?.arrayElements ?? []).compactMap(\.stringValue), description: p["description"]?.stringValue ?? "",
                  createdAt: e.time, startAfter: e.seq, secrets: [Secret(sha256: sha, validUntil: nil)], state: .active, resumedAt: nil)
    }

    package init(id: UInt64, owner: [PrincipalName], url: String, mailboxes: [FunctionalAddress], types: [String], description: String,
                 createdAt: Timestamp, startAfter: UInt64, secrets: [Secret], state: State, resumedAt: Timestamp?) {
        self.id = id
        self.owner = owner
        self.url = url
        self.mailboxes = mailboxes
        self.types = types
        self.description = description
        self.createdAt = createdAt
        self.startAfter = startAfter
        self.secrets = secrets
        self.state = state
        self.resumedAt = resumedAt
    }

    /// Folds a later event about this webhook (rotation, disabling, resumption, deletion).
    package mutating func apply(_ e: Event) {
        if case .deleted = state { return }
        switch e.type {
        case WebhookEventType.secretRotated:
            guard let sha = e.payload["secret_sha256"]?.stringValue,
                  let until = e.payload["previous_valid_until"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) else { return }
            secrets = [Secret(sha256: sha, validUntil: nil)] + secrets.compactMap { s -> Secret? in
                let end = s.validUntil.map { min($0, until) } ?? until
                return end > e.time ? Secret(sha256: s.sha256, validUntil: end) : nil
            }
        case WebhookEventType.disabled:
            if case .active = state { state = .disabled(seq: e.seq, reason: e.payload["reason"]?.stringValue ?? "failing") }
        case WebhookEventType.resumed:
            if case .disabled = state {
                state = .active
                resumedAt = e.time
            }
        case WebhookEventType.deleted:
            state = .deleted(seq: e.seq)
        default:
            return
        }
    }

    // MARK: Rows

    package var json: JSONValue {
        var o: [String: JSONValue] = [
            "id": .int(Int64(id)), "owner": .array(owner.map { .string($0.description) }), "url": .string(url),
            "mailboxes": .array(mailboxes.map { .string($0.description) }), "types": .array(types.map { .string($0) }),
            "description": .string(description), "created_at": .string(createdAt.rfc3339), "start_after": .int(Int64(startAfter)),
            "secrets": .array(secrets.map { s in ["sha256": .string(s.sha256), "valid_until": s.validUntil.map { .string($0.rfc3339) } ?? .null] }),
            "resumed_at": resumedAt.map { .string($0.rfc3339) } ?? .null,
        ]
        switch state {
        case .active: o["state"] = "active"
        case .disabled(let seq, let reason): o["state"] = ["disabled": .int(Int64(seq)), "reason": .string(reason)]
        case .deleted(let seq): o["state"] = ["deleted": .int(Int64(seq))]
        }
        return .object(o)
    }

    init(row v: JSONValue) throws {
        guard let id = v["id"]?.intValue, let url = v["url"]?.stringValue, let at = RecordCoding.timestamp(v["created_at"]),
              let start = v["start_after"]?.intValue, let state = v["state"] else { throw RecordCoding.corrupt("webhook") }
        let owner = (v["owner"]?.arrayElements ?? []).compactMap { $0.stringValue.flatMap(PrincipalName.init) }
        guard !owner.isEmpty else { throw RecordCoding.corrupt("webhook owner") }
        let secrets = (v["secrets"]?.arrayElements ?? []).compactMap { s -> Secret? in
            guard let sha = s["sha256"]?.stringValue else { return nil }
            return Secret(sha256: sha, validUntil: RecordCoding.timestamp(s["valid_until"]))
        }
        let parsed: State
        if state.stringValue == "active" {
            parsed = .active
        } else if let seq = state["disabled"]?.intValue {
            parsed = .disabled(seq: UInt64(seq), reason: state["reason"]?.stringValue ?? "")
        } else if let seq = state["deleted"]?.intValue {
            parsed = .deleted(seq: UInt64(seq))
        } else {
            throw RecordCoding.corrupt("webhook state")
        }
        self.init(id: UInt64(id), owner: owner, url: url,
                  mailboxes: (v["mailboxes"]?.arrayElements ?? []).compactMap { $0.stringValue.flatMap(FunctionalAddress.init) },
                  types: (v["types"]?.arrayElements ?? []).compactMap(\.stringValue), description: v["description"]?.stringValue ?? "",
                  createdAt: at, startAfter: UInt64(start), secrets: secrets, state: parsed, resumedAt: RecordCoding.timestamp(v["resumed_at"]))
    }
}
