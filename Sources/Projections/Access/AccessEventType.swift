/// The access event types (`Schemas/node-events.md` has their payloads, `Schemas/access.md`
/// the model).
package enum AccessEventType {
    /// A grant: subject `principal:<grantee>`.
    package static let granted = "access.granted"
    /// A grant ended: subject `principal:<grantee>`, payload `grant` = the grant's id.
    package static let revoked = "access.revoked"
    /// Content or an attachment of a message was read: subject `message:<id>`; appended and
    /// durable before the first byte is returned.
    package static let accessed = "message.accessed"
    /// A refused request (coalesced per actor and reason, see `Schemas/access.md`).
    package static let denied = "access.denied"
}
