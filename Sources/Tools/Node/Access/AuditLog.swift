package import Ledger
package import Projections

/// Audit queries for every interface: the events of a participant or a functional mailbox, or
/// by one actor (an identity's access log), or of one type, within a period — for principals
/// holding the `audit` right, and only the events that belong to what they audit
/// (``AuditOwner``, decided when the event was indexed). Auditors see every event whole except what a confidential message hides
/// from them (``VisibleEvent``); content is never part of an event.
///
/// A participant or mailbox the principal may not see at all is "not found" (recorded, like a
/// missing one); one it sees without auditing it is refused (recorded).
package struct AuditLog: Sendable {
    package let access: MessageAccess

    package init(access: MessageAccess) { self.access = access }

    /// What to look for. At least one of `participant`, `mailbox`, `actor` or `type`.
    package struct Query: Sendable, Equatable {
        package var participant: String?
        package var mailbox: FunctionalAddress?
        package var actor: String?
        package var type: String?
        /// Events at or after this time.
        package var since: Timestamp?
        /// Events before this time.
        package var until: Timestamp?
        /// Events after this seq (the previous answer's `next`).
        package var after: UInt64 = 0
        package var limit = 100
        /// Answer as of this ledger position.
        package var asOf: UInt64?

        package init(participant: String? = nil, mailbox: FunctionalAddress? = nil, actor: String? = nil, type: String? = nil) {
            self.participant = participant
            self.mailbox = mailbox
            self.actor = actor
            self.type = type
        }
    }

    /// One answer: the events found, in seq order; `next` to continue after (nil when the
    /// search reached its end); the position it was computed at.
    package struct Page: Sendable {
        package var events: [VisibleEvent]
        package var next: UInt64?
        package var seq: UInt64
    }

    /// Candidates examined per answer at most: a query whose matches are sparse (an actor's
    /// events in a participant the auditor does not audit) answers fewer events and a `next`.
    package static let maxExamined = 5000

    package func events(_ q: Query, as principal: Principal) async throws(NodeError) -> Page {
        guard q.participant != nil || q.mailbox != nil || q.actor != nil || q.type != nil else {
            throw NodeError(.unprocessable, "an audit query names a participant, a mailbox, an actor or an event type")
        }
        guard (1...1000).contains(q.limit) else { throw NodeError(.invalidRequest, "limit must be 1–1000") }
        let policy = try access.policy(for: principal)
        let head: UInt64
        do { head = try access.ledger.durableHead() } catch { throw NodeError(.storage, "reading the ledger head: \(error)") }
        if let asOf = q.asOf {
            guard asOf >= 1 else { throw NodeError(.invalidRequest, "asOf must be 1 or more") }
            guard asOf <= head else { throw NodeError(.positionNotReached, "asOf is ahead of the ledger; ask again later") }
        }
        let upTo = min(q.asOf ?? policy.seq, policy.seq)
        func audits(_ participant: String?) -> Bool {
            policy.rights(on: participant.map(AccessScope.participant) ?? .node).contains(.audit)
        }
        // What to scan: rows of audited owners only (``AuditIndex``), so that neither the events
        // nor where a scan stopped say anything about what the principal does not audit.
        let sources: [AuditIndex.Key]?  // nil: the node-wide index (the principal audits the node)
        if let mailbox = q.mailbox {
            if let p = q.participant, p != mailbox.participant { throw NodeError(.unprocessable, "the mailbox is not the participant's") }
            try await require(audits(mailbox.participant), visible: policy.visibility(of: mailbox) > .none, "mailbox:\(mailbox)", principal)
            sources = [.mailbox(mailbox)]
        } else if let p = q.participant {
            // Visible when any grant of the principal lies on it, in it, or above it.
            let visible = policy.effective.contains { $0.scope.contains(.participant(p)) || AccessScope.participant(p).contains($0.scope) }
            try await require(audits(p), visible: visible, "participant:\(p)", principal)
            sources = [q.actor.map { AuditIndex.Key.actor($0, owner: p) } ?? q.type.map { AuditIndex.Key.type($0, owner: p) } ?? .all(owner: p)]
        } else if audits(nil) {
            sources = nil
        } else {
            let owners = Set(policy.effective.compactMap { g -> String? in
                guard g.rights.contains(.audit), case .participant(let p) = g.scope else { return nil }
                return p
            }).sorted()
            sources = owners.map { o in q.actor.map { AuditIndex.Key.actor($0, owner: o) } ?? AuditIndex.Key.type(q.type ?? "", owner: o) }
        }
        var after = q.after
        if let since = q.since, since.nanoseconds > 0 {
            after = max(after, try LedgerPosition.seq(atOrBefore: Timestamp(nanoseconds: since.nanoseconds - 1), in: access.ledger))
        }
        let storage = access.projections.storage
        /// The next `n` candidates after `last` (the smallest `n` of the union of the sources).
        func candidates(after last: UInt64, _ n: Int) throws -> [UInt64] {
            guard let sources else {
                let lookup = q.actor.map { EventIndex.Lookup.actor($0) } ?? EventIndex.Lookup.type(q.type ?? "")
                return try EventIndex.seqs(lookup, after: last, upTo: upTo, limit: n, in: storage)
            }
            var union: [UInt64] = []
            for key in sources { union += try AuditIndex.seqs(key, after: last, upTo: upTo, limit: n, in: storage) }
            return Array(Set(union).sorted().prefix(n))
        }
        var found: [VisibleEvent] = []
        var examined = 0, last = after, exhausted = false
        do {
            while found.count < q.limit, examined < Self.maxExamined {
                let seqs = try candidates(after: last, min(Self.maxExamined - examined, 500))
                if seqs.isEmpty { exhausted = true; break }
                for seq in seqs {
                    examined += 1
                    last = seq
                    guard let e = try access.ledger.event(seq) else { continue }
                    if let until = q.until, e.time >= until { exhausted = true; break }
                    if let t = q.type, e.type != t { continue }
                    if let a = q.actor, e.actor != a { continue }
                    let record = e.subject.hasPrefix("message:")
                        ? try NodeStateProjection.message(String(e.subject.dropFirst("message:".count)), in: storage) : nil
                    found.append(VisibleEvent(e, visibility: .audit, confidential: record?.confidential ?? false))
                    if found.count == q.limit { break }
                }
                if exhausted { break }
            }
        } catch {
            throw NodeError(.storage, "reading the audit log: \(error)")
        }
        return Page(events: found, next: exhausted ? nil : last, seq: upTo)
    }

    private func require(_ audits: Bool, visible: Bool, _ resource: String, _ principal: Principal) async throws(NodeError) {
        guard !audits else { return }
        guard visible else {
            await access.refuse(AccessDenial(reason: .notVisible, resource: resource, action: "audit"), principal)
            throw NodeError(.notFound, "no \(resource)")
        }
        await access.refuse(AccessDenial(reason: .noAuditGrant, resource: resource, action: "audit"), principal)
        throw NodeError(.forbidden, "you hold no audit right on \(resource); the refusal was recorded")
    }
}
