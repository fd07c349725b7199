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

    /// `grants`: every grant to the principal's names (revoked ones included); `seq`, `time`:
    /// the position to evaluate them at.
    package init(principal: Principal, grants: [Grant], seq: UInt64, time: Timestamp) {
        self.principal = principal
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
    }

    package func visibility(of mailbox: FunctionalAddress) -> Visibility {
        let r = rights(on: .mailbox(mailbox))
        if r.contains(.read) { return .full }
        if r.contains(.audit) { return .audit }
        if rights(on: .node).contains(.operate) { return .transport }
        return .none
    }

    /// Why content may not be read, or nil when it may.
    package func contentRefusal(mailbox: FunctionalAddress) -> AccessDenial.Reason? {
        switch visibility(of: mailbox) {
        case .none: return .notVisible
        case .transport, .audit: return .noReadGrant
        case .full: return principal.strongAuthentication ? nil : .weakAuthentication
        }
    }

    /// Whether the principal may send from `mailbox`.
    package func maySend(from mailbox: FunctionalAddress) -> Bool { rights(on: .mailbox(mailbox)).contains(.send) }

    /// Whether the principal may grant (or revoke) rights on `scope`: it manages a scope that
    /// contains it.
    package func mayManage(_ scope: AccessScope) -> Bool { rights(on: scope).contains(.manage) }

    /// Whether the principal may see the grants on `scope` (it manages or audits it, or they are its own).
    package func maySeeGrants(on scope: AccessScope) -> Bool {
        let r = rights(on: scope)
        return r.contains(.manage) || r.contains(.audit)
    }

    /// Whether the principal may read the events and access log of `participant`.
    package func mayAudit(participant: String) -> Bool { rights(on: .participant(participant)).contains(.audit) }
}
