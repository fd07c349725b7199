package import Ledger
package import Projections

/// The stable public event types of the streams (SSE and webhooks), as CloudEvents `type`
/// values. Each is one ledger event type (and, for transport events, the kind of dispatch); the
/// ledger's own vocabulary stays internal and may grow without changing these.
/// `Schemas/events.md` documents them and their `data`.
package enum PublicEventType: String, Sendable, CaseIterable, Comparable {
    /// An outbound message was accepted by the node (`message.submitted`).
    case messageSubmitted = "se.sdk.message.submitted"
    /// The recipient's access point returned a signed AS4 receipt for an outbound message, or
    /// the node handed it to a participant it serves (`message.delivered.internally`).
    case messageDelivered = "se.sdk.message.delivered"
    /// An inbound message was stored in a functional mailbox (`message.received`).
    case messageReceived = "se.sdk.message.received"
    /// A Meddelandekvittens came back for an outbound message (accepted or rejected).
    case receiptReceived = "se.sdk.receipt.received"
    /// The node issued a Meddelandekvittens for an inbound message.
    case receiptSent = "se.sdk.receipt.sent"
    /// An outbound message, or our Meddelandekvittens, could not be delivered (retries exhausted
    /// or refused by the other access point).
    case deliveryFailed = "se.sdk.delivery.failed"
    /// A person or system read a message's content or an attachment (`message.accessed`).
    case messageAccessed = "se.sdk.message.accessed"

    /// The version of every type's `data` (its `dataschema` names it).
    package static let dataVersion = 1

    package static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// The public type of a ledger event, or nil when it is not published.
    package init?(_ event: Event) {
        switch event.type {
        case NodeEventType.submitted: self = .messageSubmitted
        case NodeEventType.transportReceiptReceived:
            guard event.payload["kind"]?.stringValue == "message" else { return nil }
            self = .messageDelivered
        case NodeEventType.deliveredInternally: self = .messageDelivered
        case NodeEventType.received: self = .messageReceived
        case NodeEventType.receiptReceived: self = .receiptReceived
        case NodeEventType.receiptSent: self = .receiptSent
        case NodeEventType.deliveryFailed: self = .deliveryFailed
        case AccessEventType.accessed: self = .messageAccessed
        default: return nil
        }
    }

    /// The least a subscriber must see of the message's mailbox to receive this type: who read
    /// what is audit information, not transport.
    package var needs: AccessPolicy.Visibility {
        self == .messageAccessed ? .audit : .transport
    }

    /// The mailbox status the message has after this event.
    func status(_ event: Event) -> String? {
        switch self {
        case .messageSubmitted: "submitted"
        case .messageDelivered: "delivered"
        case .messageReceived: "received"
        case .receiptReceived, .receiptSent: event.payload["status"]?.stringValue == "ACCEPTED" ? "accepted" : "rejected"
        case .deliveryFailed: event.payload["kind"]?.stringValue == "receipt" ? nil : "failed"
        case .messageAccessed: nil
        }
    }
}
