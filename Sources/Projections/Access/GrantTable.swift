package import Ledger

/// A principal's grants compiled for asking, many times over, how much of a scope they showed at
/// one ledger position: an event stream asks for every event it may deliver. The answer is
/// ``AccessPolicy/visibility(on:granting:)`` over the grants in force at that position and time
/// (``Grant/isEffective(atSeq:time:)``); the table keeps only what those two rules read — the
/// grant's seq, its revocation's, its validity, its scope and three rights as flags — so an
/// answer copies no grant, hashes no set and allocates nothing.
package struct GrantTable: Sendable {
    private struct Entry: Sendable {
        let from: UInt64
        let revokedAt: UInt64?
        let validFrom: Timestamp?
        let validUntil: Timestamp?
        let scope: AccessScope
        let read: Bool
        let audit: Bool
        /// `operate` on a scope containing the node.
        let operatesNode: Bool
    }

    private let entries: [Entry]

    /// The table of `grants` (revoked and expired ones too: they answer for the past).
    package init(_ grants: [Grant]) {
        entries = grants.map { Self.entry($0, from: $0.id, revokedAt: $0.revocation?.seq, validFrom: $0.validFrom, validUntil: $0.validUntil) }
    }

    /// The grants in force at `seq` and `time`, each then in force at every position (ask
    /// ``visibility(on:)``).
    package init(_ grants: [Grant], inForceAtSeq seq: UInt64, time: Timestamp) {
        entries = grants.filter { $0.isEffective(atSeq: seq, time: time) }
            .map { Self.entry($0, from: 0, revokedAt: nil, validFrom: nil, validUntil: nil) }
    }

    private static func entry(_ g: Grant, from: UInt64, revokedAt: UInt64?, validFrom: Timestamp?, validUntil: Timestamp?) -> Entry {
        Entry(from: from, revokedAt: revokedAt, validFrom: validFrom, validUntil: validUntil, scope: g.scope,
              read: g.rights.contains(.read), audit: g.rights.contains(.audit),
              operatesNode: g.scope.contains(.node) && g.rights.contains(.operate))
    }

    /// How much of `scope` the grants in force at `seq` and `time` show.
    package func visibility(on scope: AccessScope, atSeq seq: UInt64, time: Timestamp) -> AccessPolicy.Visibility {
        var read = false, audit = false, operate = false
        for e in entries where Grant.inForce(from: e.from, revokedAt: e.revokedAt, validFrom: e.validFrom, validUntil: e.validUntil,
                                            atSeq: seq, time: time) {
            if e.scope.contains(scope) {
                read = read || e.read
                audit = audit || e.audit
            }
            operate = operate || e.operatesNode
        }
        return AccessPolicy.Visibility(read: read, audit: audit, operate: operate)
    }

    /// How much of `scope` the table's grants show at any position (for a table of the grants in
    /// force at one position).
    package func visibility(on scope: AccessScope) -> AccessPolicy.Visibility {
        visibility(on: scope, atSeq: .max, time: Timestamp(nanoseconds: 0))
    }
}
