package import Ledger
package import Projections

/// One subscriber's stream: a position in the ledger, the mailboxes and types it asked for, and
/// the principal whose grants decide whether it may see an event and how much of it — those in
/// force at the event's seq and time, bounded by those in force now. An event it may not see is
/// skipped without a trace (the position moves past it): a revocation ends delivery at the
/// revocation's seq, a grant starts it at the grant's, and replaying the past after a revocation
/// shows nothing the revoked grant showed. The grants are read again for every page of events.
package struct EventSubscription: Sendable {
    /// What a subscriber asks for. Empty sets mean everything it may see.
    package struct Filter: Sendable {
        package var mailboxes: Set<FunctionalAddress>
        package var types: Set<PublicEventType>

        package init(mailboxes: Set<FunctionalAddress> = [], types: Set<PublicEventType> = []) {
            self.mailboxes = mailboxes
            self.types = types
        }

        func admits(_ e: StreamEvent, _ type: PublicEventType) -> Bool {
            (types.isEmpty || types.contains(type)) && (mailboxes.isEmpty || e.mailbox.map(mailboxes.contains) == true)
        }
    }

    /// One event the subscriber may see, and how much of it.
    package struct Delivery: Sendable {
        package let event: StreamEvent
        package let visibility: AccessPolicy.Visibility
    }

    /// One step's result: the events to deliver (possibly none), and the position they bring the
    /// subscriber to.
    package struct Batch: Sendable {
        package var deliveries: [Delivery]
        package var position: UInt64
    }

    private let feed: EventFeed
    private let access: MessageAccess
    package let principal: Principal
    package let filter: Filter
    /// The last seq delivered or skipped.
    package private(set) var position: UInt64

    /// Starts after `position`; refuses (and records) a mailbox in `filter` the principal cannot
    /// see now, and a principal holding no grant that shows anything (read, audit or operate).
    /// A position beyond the ledger's head is refused.
    package init(feed: EventFeed, access: MessageAccess, principal: Principal, filter: Filter, after position: UInt64) async throws(NodeError) {
        let policy = try access.policy(for: principal)
        guard policy.effective.contains(where: { !$0.rights.isDisjoint(with: [.read, .audit, .operate]) }) else {
            await access.refuse(AccessDenial(reason: .noGrant, resource: "events", action: "subscribe"), principal)
            throw NodeError(.forbidden, "you hold no grant that shows a mailbox's events (read, audit or operate); the refusal was recorded")
        }
        for m in filter.mailboxes.sorted(by: { $0.description < $1.description }) where policy.visibility(of: m) == .none {
            await access.refuse(AccessDenial(reason: .notVisible, resource: "mailbox:\(m)", action: "subscribe"), principal)
            throw NodeError(.notFound, "no mailbox \(m)")
        }
        guard position <= policy.seq else {
            throw NodeError(.positionNotReached, "the stream position (after or Last-Event-ID) is ahead of the ledger; ask again later")
        }
        self.feed = feed
        self.access = access
        self.principal = principal
        self.filter = filter
        self.position = position
    }

    /// A subscription made earlier on the principal's behalf and checked then (a webhook): what
    /// it may see is decided per event, as for every subscription; nothing is refused here.
    package init(resuming feed: EventFeed, access: MessageAccess, principal: Principal, filter: Filter, after position: UInt64) {
        self.feed = feed
        self.access = access
        self.principal = principal
        self.filter = filter
        self.position = position
    }

    /// The next events after ``position`` that the principal may see (at most a page of ledger
    /// events is looked at): empty when the feed has nothing new yet.
    package mutating func next() throws(NodeError) -> Batch {
        let page: (entries: ArraySlice<StreamEvent>, through: UInt64)
        do { page = try feed.events(after: position) } catch { throw NodeError(.storage, "reading the event stream: \(error)") }
        var out = Batch(deliveries: [], position: page.through)
        guard !page.entries.isEmpty else {
            position = page.through
            return out
        }
        // Read for every page, after the projections applied it (the feed prepares only applied
        // events): the grants of every event in the page are known, and a revocation ahead of the
        // page counts at once — the grants in force now also bound what is shown, so a revoked
        // grant does not come back by replaying the past (AccessPolicy's rule for every read).
        let grants = try Self.readGrants(principal, access)
        let then = GrantTable(grants), now = then.inForce(atSeq: .max, time: Timestamp.now())
        out.deliveries.reserveCapacity(page.entries.count)
        for e in page.entries {
            guard let type = e.type, filter.admits(e, type) else { continue }
            if let d = Self.delivery(e, type, then: then, now: now) { out.deliveries.append(d) }
        }
        position = page.through
        return out
    }

    /// `d` as the principal may see it now, its grants read again (a delivery that waited — for a
    /// slow or failing receiver — is judged at the moment it is sent); nil when it may not any more.
    package func recheck(_ d: Delivery) throws(NodeError) -> Delivery? {
        guard let type = d.event.type else { return nil }
        let then = GrantTable(try Self.readGrants(principal, access))
        return Self.delivery(d.event, type, then: then, now: then.inForce(atSeq: .max, time: Timestamp.now()))
    }

    /// The rule: grants in force at the event's seq and time (of `then`, every grant) show it,
    /// bounded by those in force now (`now`).
    private static func delivery(_ e: StreamEvent, _ type: PublicEventType, then: GrantTable, now: GrantTable.InForce) -> Delivery? {
        let scope: AccessScope = e.mailbox.map { .mailbox($0) } ?? .participant(e.participant)
        let shown = then.visibility(on: scope, atSeq: e.seq, time: e.time)
        guard shown >= type.needs else { return nil }
        let visibility = min(shown, now.visibility(on: scope))
        return visibility >= type.needs ? Delivery(event: e, visibility: visibility) : nil
    }

    /// Returns once the feed holds events after ``position``.
    package func waitForEvents() async throws {
        _ = try await feed.wait(after: position)
    }

    /// Every grant to the principal's names (revoked and expired ones too: they answer for the past).
    private static func readGrants(_ principal: Principal, _ access: MessageAccess) throws(NodeError) -> [Grant] {
        let names = Set(principal.names)
        do { return try GrantsProjection.grants(to: principal.names, in: access.projections.storage).filter { names.contains($0.grantee) } } catch {
            throw NodeError(.storage, "reading the grants: \(error)")
        }
    }
}
