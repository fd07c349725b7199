package import Ledger

/// Organisations (participant ids) and their functional addresses, folded from the
/// `addressbook.*` events.
package struct AddressBook: Sendable, Equatable {
    package struct Organization: Sendable, Equatable {
        package var participant: String
        package var name: String
        /// Function → display name.
        package var functions: [String: String]
    }

    package private(set) var organizations: [String: Organization] = [:]

    package init() {}

    /// The organisation of `participant`, if it is in the book.
    package func organization(_ participant: String) -> Organization? { organizations[participant] }

    /// Whether `address` is a known functional address.
    package func contains(_ address: FunctionalAddress) -> Bool {
        organizations[address.participant]?.functions[address.function] != nil
    }

    /// Every functional address, sorted.
    package var addresses: [FunctionalAddress] {
        organizations.values.flatMap { o in o.functions.keys.map { FunctionalAddress(participant: o.participant, function: $0) } }.sorted()
    }

    package mutating func apply(_ event: Event) {
        guard let participant = event.payload["participant"]?.stringValue else { return }
        Self.apply(event, to: &organizations[participant])
    }

    /// Applies an `addressbook.*` event to the organization it names (nil: not in the book).
    package static func apply(_ event: Event, to organization: inout Organization?) {
        let p = event.payload
        guard let participant = p["participant"]?.stringValue else { return }
        switch event.type {
        case NodeEventType.organizationAdded, NodeEventType.organizationUpdated:
            let name = p["name"]?.stringValue ?? participant
            if organization == nil { organization = Organization(participant: participant, name: name, functions: [:]) }
            organization?.name = name
        case NodeEventType.organizationRemoved:
            organization = nil
        case NodeEventType.functionAdded, NodeEventType.functionUpdated:
            guard let function = p["function"]?.stringValue else { return }
            let name = p["name"]?.stringValue ?? function
            if organization == nil { organization = Organization(participant: participant, name: participant, functions: [:]) }
            organization?.functions[function] = name
        case NodeEventType.functionRemoved:
            guard let function = p["function"]?.stringValue else { return }
            organization?.functions[function] = nil
        default:
            break
        }
    }

    /// The `addressbook.*` event of `type` (one of ``NodeEventType``'s address-book types) about
    /// `participant`, or one of its functions when `function` is given; `name` is the display
    /// name an added or updated entry gets.
    package static func draft(_ type: String, participant: String, function: String? = nil, name: String? = nil,
                              actor: String) -> EventDraft {
        var payload: [String: JSONValue] = ["participant": .string(participant)]
        if let function { payload["function"] = .string(function) }
        if let name { payload["name"] = .string(name) }
        let subject = function.map { "mailbox:" + FunctionalAddress(participant: participant, function: $0).description }
            ?? "organization:" + participant
        return EventDraft(type: type, subject: subject, actor: actor, payload: .object(payload))
    }

    /// A book of these organizations (for loading persisted rows).
    init(organizations: [String: Organization]) { self.organizations = organizations }
}
