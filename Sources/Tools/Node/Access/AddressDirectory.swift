package import Ledger
package import Projections
import Foundation
import Synchronization

/// The address book for every interface: searching it (any identity holding a grant on the node)
/// and changing it (the `manage` right on the organisation's participant, or on the node). Every
/// change is an `addressbook.*` event by the principal; a refusal is recorded as `access.denied`.
package struct AddressDirectory: Sendable {
    package let access: MessageAccess

    package init(access: MessageAccess) { self.access = access }

    /// A search: `text` is matched word by word, case- and diacritic-insensitively
    /// (``SearchText``); `after` is the previous page's last participant id.
    package struct Query: Sendable {
        package var text: String?
        package var after: String?
        package var limit = 100
        package var asOf: UInt64?

        package init(text: String? = nil, after: String? = nil, limit: Int = 100, asOf: UInt64? = nil) {
            self.text = text
            self.after = after
            self.limit = limit
            self.asOf = asOf
        }
    }

    /// A page of organisations in participant-id order, each with the functions that matched.
    package struct Page: Sendable {
        package var organizations: [AddressBook.Organization]
        /// The last participant id of this page when more may follow.
        package var next: String?
        /// The ledger position the answer reflects.
        package var seq: UInt64
    }

    /// What a change did.
    package enum Outcome: Sendable, Equatable {
        case added, updated, unchanged, removed
    }

    // MARK: search

    /// Organisations matching `query`, as the principal may see them.
    package func search(_ query: Query, as principal: Principal) async throws(NodeError) -> Page {
        let policy = try access.policy(for: principal)
        guard !policy.effective.isEmpty else {
            await access.refuse(AccessDenial(reason: .noGrant, resource: "addressbook", action: "search"), principal)
            throw NodeError(.forbidden, "the address book is for identities holding a grant on this node; you hold none (the refusal was recorded)")
        }
        guard (1...500).contains(query.limit) else { throw NodeError(.invalidRequest, "limit must be 1–500") }
        let (book, seq) = try self.book(asOf: query.asOf)
        let words = query.text.map(SearchText.words) ?? []
        // A text with no words (punctuation only) finds nothing, as a mailbox search does.
        if query.text != nil, words.isEmpty { return Page(organizations: [], next: nil, seq: seq) }
        var out: [AddressBook.Organization] = []
        var next: String?
        for o in book.organizations.values.sorted(by: { $0.participant < $1.participant }) {
            if let after = query.after, o.participant <= after { continue }
            guard let matched = Self.match(o, words) else { continue }
            if out.count == query.limit {
                next = out.last?.participant
                break
            }
            out.append(matched)
        }
        return Page(organizations: out, next: next, seq: seq)
    }

    /// `organization` with the functions that match `words` (all of them when the organisation's
    /// own name or id does); nil when nothing matches.
    package static func match(_ organization: AddressBook.Organization, _ words: [String]) -> AddressBook.Organization? {
        if words.isEmpty { return organization }
        let own = SearchText.words(organization.name + " " + organization.participant)
        func covered(_ haystack: [String]) -> Bool {
            words.allSatisfy { w in haystack.contains { $0.hasPrefix(w) } }
        }
        if covered(own) { return organization }
        var o = organization
        o.functions = organization.functions.filter { covered(own + SearchText.words($0.value + " " + $0.key)) }
        return o.functions.isEmpty ? nil : o
    }

    /// The book now (and the position it reflects), or as it stood at `asOf`.
    private func book(asOf: UInt64?) throws(NodeError) -> (AddressBook, UInt64) {
        try access.checkPosition(asOf)
        do {
            // The event index must have reached the position (a later append may not be folded yet).
            if let asOf, try access.projections.catchUp() < asOf {
                throw NodeError(.positionNotReached, "the projections have not reached seq \(asOf) yet; ask again later")
            }
            guard let asOf else {
                return try access.projections.currentNodeState { reader, seq in (try reader.addressBook(), seq) }
            }
            // The book's events up to that position, folded again (an address book changes rarely).
            var book = AddressBook()
            for seq in try EventIndex.allSeqs(ofTypes: NodeEventType.addressBook, upTo: asOf, in: access.projections.storage) {
                if let e = try access.ledger.event(seq) { book.apply(e) }
            }
            return (book, asOf)
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.storage, "reading the address book: \(error)")
        }
    }

    // MARK: changes

    /// Adds the organisation `participant` named `name`, or renames it.
    package func setOrganization(_ participant: String, name: String, by principal: Principal) async throws(NodeError)
        -> (AddressBook.Organization, Outcome)
    {
        try Self.check(participant: participant)
        try Self.check(name: name)
        try await authorize(participant, action: "addressbook_put", principal)
        return try await exclusively(participant) { () async throws(NodeError) in
            let current = try organization(participant)
            if current?.name == name, let current { return (current, .unchanged) }
            let type = current == nil ? NodeEventType.organizationAdded : NodeEventType.organizationUpdated
            let after = try await record(AddressBook.draft(type, participant: participant, name: name, actor: principal.actor), to: current)
            return (after, current == nil ? .added : .updated)
        }
    }

    /// Adds the functional address `function@participant` named `name`, or renames it. The
    /// organisation must be in the book.
    package func setFunction(_ participant: String, function: String, name: String, by principal: Principal) async throws(NodeError)
        -> (AddressBook.Organization, Outcome)
    {
        try Self.check(participant: participant)
        try Self.check(function: function)
        try Self.check(name: name)
        try await authorize(participant, action: "addressbook_put", principal)
        return try await exclusively(participant) { () async throws(NodeError) in
            guard let current = try organization(participant) else {
                throw NodeError(.notFound, "no organisation \(participant) in the address book; add it first")
            }
            let existing = current.functions[function]
            if existing == name { return (current, .unchanged) }
            let type = existing == nil ? NodeEventType.functionAdded : NodeEventType.functionUpdated
            let after = try await record(AddressBook.draft(type, participant: participant, function: function, name: name, actor: principal.actor),
                                         to: current)
            return (after, existing == nil ? .added : .updated)
        }
    }

    /// Removes the functional address `function@participant`; returns the organisation after.
    package func removeFunction(_ participant: String, function: String, by principal: Principal) async throws(NodeError)
        -> AddressBook.Organization
    {
        try Self.check(participant: participant)
        try Self.check(function: function)
        try await authorize(participant, action: "addressbook_delete", principal)
        return try await exclusively(participant) { () async throws(NodeError) in
            guard let current = try organization(participant), current.functions[function] != nil else {
                throw NodeError(.notFound, "no functional address \(function)@\(participant) in the address book")
            }
            return try await record(AddressBook.draft(NodeEventType.functionRemoved, participant: participant, function: function,
                                                      actor: principal.actor), to: current)
        }
    }

    /// Removes the organisation `participant` and all its functional addresses.
    package func removeOrganization(_ participant: String, by principal: Principal) async throws(NodeError) {
        try Self.check(participant: participant)
        try await authorize(participant, action: "addressbook_delete", principal)
        return try await exclusively(participant) { () async throws(NodeError) in
            guard let current = try organization(participant) else {
                throw NodeError(.notFound, "no organisation \(participant) in the address book")
            }
            _ = try await record(AddressBook.draft(NodeEventType.organizationRemoved, participant: participant, actor: principal.actor),
                                 to: current)
        }
    }

    /// Entries being changed, by ledger and participant: a change reads the entry and appends
    /// its event as one step, so two changes of one entry never interleave (a function added
    /// after its organisation was removed would bring the organisation back). Only the one
    /// process that holds a ledger for writing appends to it, so a process-wide set suffices.
    private static let changing = Mutex<Set<String>>([])

    /// Runs `change` while no other change of `participant`'s entry runs; a concurrent one is
    /// refused (`node.conflict`: ask again).
    private func exclusively<T>(_ participant: String, _ change: () async throws(NodeError) -> T) async throws(NodeError) -> T {
        let key = access.ledger.path + "\u{0}" + participant
        guard Self.changing.withLock({ $0.insert(key).inserted }) else {
            throw NodeError(.conflict, "the address book entry of \(participant) is being changed by another request; ask again")
        }
        defer { _ = Self.changing.withLock { $0.remove(key) } }
        return try await change()
    }

    /// Refuses (and records the refusal) unless the principal manages `participant`.
    private func authorize(_ participant: String, action: String, _ principal: Principal) async throws(NodeError) {
        let policy = try access.policy(for: principal)
        guard policy.mayManage(.participant(participant)) else {
            await access.refuse(AccessDenial(reason: .noManageGrant, resource: "addressbook:" + participant, action: action), principal)
            throw NodeError(.forbidden, "changing the address book entry of \(participant) needs the manage right on participant:\(participant) or on the node; the refusal was recorded")
        }
    }

    private func organization(_ participant: String) throws(NodeError) -> AddressBook.Organization? {
        do {
            return try access.projections.currentNodeState { try $0.addressBook(participants: [participant]) }.organization(participant)
        } catch {
            throw NodeError(.storage, "reading the address book: \(error)")
        }
    }

    /// Appends `draft`; returns the organisation as the event leaves it (nil only after a removal).
    private func record(_ draft: EventDraft, to current: AddressBook.Organization?) async throws(NodeError) -> AddressBook.Organization {
        let event: Event
        do { event = try await access.ledger.append(draft) } catch {
            throw NodeError(.storage, "recording the address book change: \(error)")
        }
        var organization = current
        AddressBook.apply(event, to: &organization)
        guard let result = organization ?? current else {
            throw NodeError(.storage, "the address book change \(event.seq) does not read back")
        }
        return result
    }

    // MARK: the document's rules

    /// A participant id: 1–190 characters, no whitespace, `@` or `/`.
    static func check(participant: String) throws(NodeError) {
        guard identifier(participant, 190) else {
            throw NodeError(.invalidRequest, "a participant id is 1–190 characters in Unicode NFC without whitespace, control characters, @ or /, e.g. 0203:b.example.se")
        }
    }

    /// A function: 1–200 characters, no whitespace, `@` or `/`.
    static func check(function: String) throws(NodeError) {
        guard identifier(function, 200) else {
            throw NodeError(.invalidRequest, "a function is 1–200 characters in Unicode NFC without whitespace, control characters, @ or /, e.g. registrator")
        }
    }

    /// A display name: 1–200 characters, no control characters.
    static func check(name: String) throws(NodeError) {
        let scalars = name.unicodeScalars
        guard (1...200).contains(scalars.count), !scalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw NodeError(.invalidRequest, "a name is 1–200 characters without control characters")
        }
    }

    /// 1 to `max` code points, none of them `@`, `/`, a control character, whitespace or U+FEFF
    /// (what the document's `[^@/\s\x00-\x1f\x7f\u0085\ufeff]` excludes in every regex dialect),
    /// and already in Unicode NFC, so that no two ids that Swift compares equal are stored apart.
    private static func identifier(_ text: String, _ max: Int) -> Bool {
        let scalars = text.unicodeScalars
        return (1...max).contains(scalars.count)
            && !scalars.contains { FunctionalAddress.refusedInIdentifiers($0) }
            && text.utf8.elementsEqual(text.precomposedStringWithCanonicalMapping.utf8)
    }
}
