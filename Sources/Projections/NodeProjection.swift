package import Ledger

/// The node's working state, folded from its ledger in seq order: mailboxes (message records per
/// participant), the outbound retry schedule (dispatch records), inbound duplicate detection and
/// receipt correlation, and the address book. The fold is deterministic, so dropping it and
/// replaying the ledger gives the same state; ``appliedSeq`` says how far it has read.
package struct NodeProjection: Sendable, Equatable {
    /// What the node knows about an inbound AS4 MessageId.
    package struct Inbound: Sendable, Equatable {
        package var messageId: String
        /// The signed AS4 receipt we answered with (a resend gets the same bytes).
        package var receipt: BlobRef?
    }

    /// An inbound message refused at the AS4 layer (`message.rejected`).
    package struct Rejection: Sendable, Equatable {
        package var seq: UInt64
        package var participant: String?
        package var as4MessageId: String?
        package var code: String
        package var detail: String
    }

    package private(set) var appliedSeq: UInt64 = 0
    package private(set) var messages: [String: MessageRecord] = [:]
    package private(set) var dispatches: [String: DispatchRecord] = [:]
    package private(set) var inbound: [String: Inbound] = [:]
    package private(set) var rejections: [Rejection] = []
    package private(set) var addressBook = AddressBook()
    /// Erased blobs → the seq of the first `blob.erased` event naming them.
    package private(set) var erasures: [Digest32: UInt64] = [:]
    /// AS4 MessageIds of dispatches still pending (the retry schedule's working set).
    package private(set) var pending: Set<String> = []
    /// Inbound messages stored but not yet answered with a Meddelandekvittens.
    package private(set) var unansweredIDs: Set<String> = []
    /// Submission requests (from `kvitto send` while the node runs) already turned into messages.
    package private(set) var submissions: [String: String] = [:]

    package init() {}

    /// A state made of rows read back from storage (see ``NodeStateProjection/load(from:seq:)``).
    init(appliedSeq: UInt64, messages: [String: MessageRecord], dispatches: [String: DispatchRecord], inbound: [String: Inbound],
         rejections: [Rejection], addressBook: AddressBook, erasures: [Digest32: UInt64], pending: Set<String>,
         unansweredIDs: Set<String>, submissions: [String: String]) {
        self.appliedSeq = appliedSeq
        self.messages = messages
        self.dispatches = dispatches
        self.inbound = inbound
        self.rejections = rejections
        self.addressBook = addressBook
        self.erasures = erasures
        self.pending = pending
        self.unansweredIDs = unansweredIDs
        self.submissions = submissions
    }

    /// Dispatches whose next attempt is due at `now`, oldest first.
    package func dueDispatches(at now: Timestamp) -> [DispatchRecord] {
        pending.compactMap { dispatches[$0] }.filter { $0.isDue(at: now) }.sorted { $0.createdSeq < $1.createdSeq }
    }

    /// The earliest future retry time, for the scheduler's sleep.
    package var nextRetryAt: Timestamp? {
        pending.compactMap { dispatches[$0] }.filter { $0.attemptsStarted == $0.attemptsFinished }
            .compactMap(\.nextAttemptAt).min()
    }

    /// Inbound messages stored but not yet answered with a Meddelandekvittens.
    package var unanswered: [MessageRecord] {
        unansweredIDs.compactMap { messages[$0] }.sorted { $0.eventSeqs.first ?? 0 < $1.eventSeqs.first ?? 0 }
    }

    package mutating func apply(_ event: Event) {
        precondition(event.seq == appliedSeq + 1, "projection fold out of order")
        appliedSeq = event.seq
        NodeFold.apply(event, to: &self)
    }
}

/// The in-memory rows: dictionaries and sets, never failing.
extension NodeProjection: NodeStateRows {
    package typealias Failure = Never

    package func message(_ id: String) -> MessageRecord? { messages[id] }
    package mutating func putMessage(_ r: MessageRecord) { messages[r.id] = r }
    package func dispatch(_ as4MessageId: String) -> DispatchRecord? { dispatches[as4MessageId] }
    package mutating func putDispatch(_ d: DispatchRecord) { dispatches[d.as4MessageId] = d }
    package func inbound(_ as4MessageId: String) -> Inbound? { inbound[as4MessageId] }
    package mutating func putInbound(_ as4MessageId: String, _ i: Inbound) { inbound[as4MessageId] = i }
    package mutating func setPending(_ as4MessageId: String, _ on: Bool) {
        if on { pending.insert(as4MessageId) } else { pending.remove(as4MessageId) }
    }
    package mutating func setUnanswered(_ messageId: String, _ on: Bool) {
        if on { unansweredIDs.insert(messageId) } else { unansweredIDs.remove(messageId) }
    }
    package mutating func addRejection(_ r: Rejection) { rejections.append(r) }
    package mutating func putSubmission(_ submissionID: String, message: String) { submissions[submissionID] = message }
    package func erasure(_ blob: Digest32) -> UInt64? { erasures[blob] }
    package mutating func putErasure(_ blob: Digest32, seq: UInt64) { erasures[blob] = seq }
    package mutating func applyToAddressBook(_ event: Event) { addressBook.apply(event) }
}
