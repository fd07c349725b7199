package import Ledger

/// The rights of one principal at one ledger position, from its grants: verdicts as values,
/// computed, never stored. The API, the console and the CLI ask it before every answer.
///
/// Reads are authorised at the current head, whatever position (`asOf`) they read data at: a
/// revoked grant does not come back by asking about the past.
package struct AccessPolicy: Sendable {
    package let principal: Principal
    /// The principal's grants in force at `seq`.
    package let effective: [Grant]
    /// The ledger position the grants were evaluated at.
    package let seq: UInt64

    /// `grants`: every grant to the principal's names (revoked ones included); `seq`, `time`:
    /// the position to evaluate them at.
    package init(principal: Principal, grants: [Grant], seq: UInt64, time: Timestamp) {
        self.principal = principal
        self.seq = seq
        let names = Set(principal.names)
        effective = grants.filter { names.contains($0.grantee) && $0.isEffective(atSeq: seq, time: time) }
    }

    /// The rights the principal holds on `scope` (through grants on it or on a scope containing it).
    package func rights(on scope: AccessScope) -> Set<AccessRight> {
        effective.reduce(into: Set<AccessRight>()) { out, g in
            if g.scope.contains(scope) { out.formUnion(g.rights) }
        }
    }

    /// How much of a message in `mailbox` the principal may see.
    package enum Visibility: Int, Sendable, Comparable {
        /// Nothing: the message is reported as not found, exactly like a missing id.
        case none
        /// Transport metadata only (ids, status, attempts, errors): no subject, no content.
        case transport
        /// Metadata, subject and every event; no content.
        case audit
        /// Everything, content included (content also needs strong authentication).
        case full

        package static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

        /// What `read` or `audit` on the scope, or `operate` on the node, show.
        @inline(__always)
        init(read: Bool, audit: Bool, operate: Bool) {
            self = read ? .full : audit ? .audit : operate ? .transport : .none
        }
    }

    package func visibility(of mailbox: FunctionalAddress) -> Visibility { visibility(on: .mailbox(mailbox)) }

    /// How much of a message of `participant` filed under no mailbox (refused on arrival) the
    /// principal may see: participant-wide rights and the operator's decide.
    package func visibility(participant: String) -> Visibility { visibility(on: .participant(participant)) }

    /// How much of a message the principal may see: by its mailbox, or by its participant when
    /// it has none.
    package func visibility(of record: MessageRecord) -> Visibility {
        record.mailbox.map { visibility(of: $0) } ?? visibility(participant: record.participant)
    }

    private func visibility(on scope: AccessScope) -> Visibility { Self.visibility(on: scope, granting: effective) }

    /// How much of what lies in `scope` the grants `effective` (those in force, to the
    /// principal's names) show: `read` there shows everything, `audit` all but content, `operate`
    /// on the node transport metadata. Allocates nothing (event streams ask it per event).
    package static func visibility(on scope: AccessScope, granting effective: some Sequence<Grant>) -> Visibility {
        var read = false, audit = false, operate = false
        for g in effective {
            if g.scope.contains(scope) {
                if g.rights.contains(.read) { read = true }
                if g.rights.contains(.audit) { audit = true }
            }
            if g.scope.contains(.node), g.rights.contains(.operate) { operate = true }
        }
        return Visibility(read: read, audit: audit, operate: operate)
    }

    /// Why content may not be read, or nil when it may.
    package func contentRefusal(mailbox: FunctionalAddress) -> AccessDenial.Reason? {
        contentRefusal(visibility(of: mailbox), participant: mailbox.participant)
    }

    /// Why content of `record` may not be read, or nil when it may.
    package func contentRefusal(_ record: MessageRecord) -> AccessDenial.Reason? {
        contentRefusal(visibility(of: record), participant: record.participant)
    }

    private func contentRefusal(_ visibility: Visibility, participant: String) -> AccessDenial.Reason? {
        switch visibility {
        case .none: return .notVisible
        case .transport, .audit: return .noReadGrant
        case .full: return principal.assurance.isStrong(for: participant) ? nil : .weakAuthentication
        }
    }

    /// Whether the principal may send from `mailbox`.
    package func maySend(from mailbox: FunctionalAddress) -> Bool { rights(on: .mailbox(mailbox)).contains(.send) }

    /// Whether the principal may grant (or revoke) rights on `scope`: it manages a scope that
    /// contains it.
    package func mayManage(_ scope: AccessScope) -> Bool { rights(on: scope).contains(.manage) }

    /// The latest end of the principal's `manage` grants on `scope`: nil when one of them has no
    /// end. A grant it makes may not outlast its own right to make it.
    package func manageEnds(on scope: AccessScope) -> Timestamp?? {
        let managing = effective.filter { $0.scope.contains(scope) && $0.rights.contains(.manage) }
        guard !managing.isEmpty else { return .none }
        if managing.contains(where: { $0.validUntil == nil }) { return .some(nil) }
        return .some(managing.compactMap(\.validUntil).max())
    }

    /// Whether the principal may see the grants on `scope` (it manages or audits it, or they are its own).
    package func maySeeGrants(on scope: AccessScope) -> Bool {
        let r = rights(on: scope)
        return r.contains(.manage) || r.contains(.audit)
    }
}
