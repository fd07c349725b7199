/// The messaging and address-book event types the node writes and the projections read
/// (`Schemas/ledger-events.md` lists the whole vocabulary; `Schemas/node-events.md` their payloads).
package enum NodeEventType {
    package static let submitted = "message.submitted"
    package static let dispatched = "message.dispatched"
    package static let transportReceiptReceived = "transport.receipt.received"
    package static let transportErrorReceived = "transport.error.received"
    package static let attemptFailed = "transport.attempt.failed"
    package static let deliveryFailed = "message.delivery.failed"
    /// An operator asked for a waiting delivery's next attempt now (the console's "retry now").
    package static let retryRequested = "message.retry.requested"
    /// A queued message sealed again, with the same AS4 MessageId and XHE ID, because the
    /// recipient's certificates (or endpoint) were replaced since it was sealed.
    package static let resealed = "message.resealed"
    package static let received = "message.received"
    /// An outbound message handed to a participant of this node (no AS4 hop): the sender's side
    /// of the recipient's `message.received`, appended with it.
    package static let deliveredInternally = "message.delivered.internally"
    package static let transportReceiptSent = "transport.receipt.sent"
    package static let rejected = "message.rejected"
    package static let receiptSent = "message.receipt.sent"
    package static let receiptReceived = "message.receipt.received"
    /// Content removed from the blob store under a retention rule (written by `Ledger.eraseBlob`).
    package static let blobErased = "blob.erased"
    /// A configured certificate (ours or a route's) first recorded, replaced or removed, as the
    /// node found it at start (`Schemas/node-events.md`).
    package static let certificateChanged = "node.certificate.changed"
    /// A participant the node serves from now on, with its name, functions and O2O certificate.
    package static let participantAdded = "participant.added"
    /// A participant's name, functions, catch-all mailbox or O2O certificate changed.
    package static let participantUpdated = "participant.updated"
    /// A participant the node no longer serves.
    package static let participantRetired = "participant.retired"
    /// A route to another access point added or replaced (`kvitto route add`).
    package static let routeChanged = "route.changed"
    /// A participant's key-encryption key written (content encryption at rest).
    package static let contentKeyCreated = "content.key.created"
    /// The three participant events.
    package static let participantLifecycle = [participantAdded, participantUpdated, participantRetired]
    package static let organizationAdded = "addressbook.organization.added"
    package static let organizationUpdated = "addressbook.organization.updated"
    package static let organizationRemoved = "addressbook.organization.removed"
    package static let functionAdded = "addressbook.function.added"
    package static let functionUpdated = "addressbook.function.updated"
    package static let functionRemoved = "addressbook.function.removed"
    /// Every address-book type.
    package static let addressBook = [organizationAdded, organizationUpdated, organizationRemoved, functionAdded, functionUpdated, functionRemoved]

    /// The subject of every event about message `id`.
    package static func subject(message id: String) -> String { "message:" + id }

    /// The id of the recipient's record of message `id` when the node delivered it to one of its
    /// own participants: the sender's record keeps the message id (= XHE ID), so the recipient's
    /// copy, in the same ledger, needs another one. Its events carry the XHE ID in `xhe_id`.
    package static func internalCopy(of id: String) -> String { id + ".in" }

    /// The `transport` payload member of the events of a delivery inside the node.
    package static let internalTransport = "internal"
}
