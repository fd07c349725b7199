package import Ledger

/// A principal's grants compiled for asking, many times over, how much of a scope they showed at
/// one ledger position: an event stream asks for every event it may deliver. The answer is
/// ``AccessPolicy/visibility(on:granting:)`` over the grants in force at that position and time
/// (``Grant/isEffective(atSeq:time:)``); the table keeps only what those two rules read — the
/// grant's seq, its revocation's, its validity, its scope and three rights as flags — so an
/// answer copies no grant, hashes no set and allocates nothing.
package struct GrantTable: Sendable {
    fileprivate struct Entry: Sendable {
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
        entries = grants.map {
            Entry(from: $0.id, revokedAt: $0.revocation?.seq, validFrom: $0.validFrom, validUntil: $0.validUntil, scope: $0.scope,
                  read: $0.rights.contains(.read), audit: $0.rights.contains(.audit),
                  operatesNode: $0.scope.contains(.node) && $0.rights.contains(.operate))
        }
    }

    /// The grants of the table in force at `seq` and `time` (those in force now: `.max` and now).
    package func inForce(atSeq seq: UInt64, time: Timestamp) -> InForce {
        InForce(entries: entries.filter { $0.isInForce(atSeq: seq, time: time) })
    }

    /// How much of `scope` the grants in force at `seq` and `time` show.
    package func visibility(on scope: AccessScope, atSeq seq: UInt64, time: Timestamp) -> AccessPolicy.Visibility {
        Self.visibility(on: scope, entries.lazy.filter { $0.isInForce(atSeq: seq, time: time) })
    }

    /// The rule of ``AccessPolicy/visibility(on:granting:)`` over `entries`.
    private static func visibility(on scope: AccessScope, _ entries: some Sequence<Entry>) -> AccessPolicy.Visibility {
        var read = false, audit = false, operate = false
        for e in entries {
            if e.scope.contains(scope) {
                read = read || e.read
                audit = audit || e.audit
            }
            operate = operate || e.operatesNode
        }
        return AccessPolicy.Visibility(read: read, audit: audit, operate: operate)
    }

    /// The grants of a table that were in force at one position (``GrantTable/inForce(atSeq:time:)``),
    /// asked without a position.
    package struct InForce: Sendable {
        fileprivate let entries: [Entry]

        /// How much of `scope` these grants show.
        package func visibility(on scope: AccessScope) -> AccessPolicy.Visibility {
            GrantTable.visibility(on: scope, entries)
        }
    }
}

private extension GrantTable.Entry {
    func isInForce(atSeq seq: UInt64, time: Timestamp) -> Bool {
        Grant.inForce(from: from, revokedAt: revokedAt, validFrom: validFrom, validUntil: validUntil, atSeq: seq, time: time)
    }
}
