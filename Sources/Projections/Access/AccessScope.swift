/// Where a grant applies: the whole node, one participant (organisation), or one functional
/// mailbox of a participant. Written `node`, `participant:<id>` or `mailbox:<function@participant>`.
package enum AccessScope: Sendable, Hashable, CustomStringConvertible {
    case node
    case participant(String)
    case mailbox(FunctionalAddress)

    /// Parses the written form; nil when it is none of the three.
    package init?(_ text: String) {
        if text == "node" {
            self = .node
        } else if text.hasPrefix("participant:"), text.count > 12 {
            let id = String(text.dropFirst(12))
            guard !id.contains(where: \.isWhitespace) else { return nil }
            self = .participant(id)
        } else if text.hasPrefix("mailbox:"), let a = FunctionalAddress(String(text.dropFirst(8))) {
            self = .mailbox(a)
        } else {
            return nil
        }
    }

    package var description: String {
        switch self {
        case .node: "node"
        case .participant(let p): "participant:" + p
        case .mailbox(let a): "mailbox:" + a.description
        }
    }

    /// The participant the scope lies in (nil for the node).
    package var participant: String? {
        switch self {
        case .node: nil
        case .participant(let p): p
        case .mailbox(let a): a.participant
        }
    }

    /// Whether everything in `other` is inside this scope.
    package func contains(_ other: AccessScope) -> Bool {
        switch (self, other) {
        case (.node, _): true
        case (.participant(let p), .participant(let q)): p == q
        case (.participant(let p), .mailbox(let a)): a.participant == p
        case (.mailbox(let a), .mailbox(let b)): a == b
        default: false
        }
    }

    /// The rights a grant on this scope may carry: content rights (`read`, `send`) belong to a
    /// participant or a mailbox, never to the whole node; `operate` only to the node; `audit`
    /// to a participant or the node.
    package var allowedRights: Set<AccessRight> {
        switch self {
        case .node: [.manage, .audit, .operate]
        case .participant: [.read, .send, .manage, .audit]
        case .mailbox: [.read, .send, .manage]
        }
    }
}
