import Projections

/// Which functional mailbox of a participant an inbound message is filed under. A function is
/// known when the participant's configuration (`kvitto.json`) or the address book lists it; an
/// unknown or missing function goes to the participant's configured catch-all mailbox
/// (`catch_all_function`) when there is one, and is otherwise refused with a reason the sender
/// reads in the Meddelandekvittens (BV).
struct MailboxResolution: Sendable {
    let participant: String
    let functions: Set<String>
    let catchAll: String?

    enum Result: Equatable {
        case mailbox(FunctionalAddress)
        /// Refused, with the reason for the sender.
        case unknown(String)
    }

    init(participant: NodeConfig.Participant, addressBook: AddressBook) {
        self.participant = participant.id
        functions = Set(participant.functions.map(\.function))
            .union(addressBook.organizations[participant.id]?.functions.keys.map { $0 } ?? [])
        catchAll = participant.catchAllFunction
    }

    func resolve(function: String?) -> Result {
        if let function, functions.contains(function) {
            return .mailbox(FunctionalAddress(participant: participant, function: function))
        }
        if let catchAll { return .mailbox(FunctionalAddress(participant: participant, function: catchAll)) }
        guard let function else {
            return .unknown("The XHE names no HandlingServiceID (functional address), and \(participant) has no catch-all mailbox.")
        }
        return .unknown("\(participant) has no functional address \(function).")
    }
}
