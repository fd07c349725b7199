/// The webhook event types (`Schemas/webhooks.md` has their payloads): a webhook subscription's
/// life is recorded in the ledger; its secrets and delivery position are not (see `WebhookStore`).
/// The subject of every one is `webhook:<id>`, the id being the seq of `webhook.created` (the
/// creation's own subject is `webhook:new`: its id is known only once appended).
package enum WebhookEventType {
    /// A subscription: owner, URL, mailboxes, types, and the fingerprint of its first secret.
    package static let created = "webhook.created"
    /// A new secret; the previous ones stay valid until `previous_valid_until`.
    package static let secretRotated = "webhook.secret.rotated"
    /// Deliveries stopped: failures for longer than the node allows, or by a person.
    package static let disabled = "webhook.disabled"
    /// Deliveries go on from the position they stopped at.
    package static let resumed = "webhook.resumed"
    /// The subscription ended for good.
    package static let deleted = "webhook.deleted"

    package static let all = [created, secretRotated, disabled, resumed, deleted]

    /// The subject of the events about webhook `id`.
    package static func subject(_ id: UInt64) -> String { "webhook:\(id)" }
}
