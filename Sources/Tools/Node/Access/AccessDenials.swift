package import Ledger
package import Projections

/// Records refusals as `access.denied` without letting anyone flood the ledger through them.
///
/// The rule (documented in `Schemas/access.md`): per actor and reason, the first refusal is
/// recorded at once; further refusals of the same actor and reason within ``window`` after a
/// recorded one are only counted, and the count goes into the next recorded refusal of that actor
/// and reason (`coalesced`, with `coalesced_since`), or into the one ``flush()`` writes at
/// shutdown. So one actor adds at most one event per reason per window in one process (the node;
/// each CLI run is a process of its own and records its refusal). Only authenticated
/// callers are principals: a request without valid credentials is answered 401 and logged, never
/// written to the ledger.
///
/// A refusal stands whether or not its recording succeeds (security fails closed); a failed
/// append is reported to the caller of ``record(_:by:)``.
package actor AccessDenials {
    private struct Key: Hashable {
        var actor: String
        var reason: AccessDenial.Reason
    }

    private struct Entry {
        var recordedAt: Timestamp
        var pending: Int
        var pendingSince: Timestamp?
        var last: AccessDenial
        var principal: Principal
    }

    package let window: Duration
    private let append: @Sendable ([EventDraft]) async throws -> Void
    private let clock: @Sendable () -> Timestamp
    private var entries: [Key: Entry] = [:]
    /// Entries kept at most; expired ones without pending counts are dropped first.
    private let capacity = 10_000

    /// `append` writes events durably (the ledger's append); `clock` is injected for tests.
    package init(window: Duration = .seconds(60), clock: @escaping @Sendable () -> Timestamp = { .now() },
                 append: @escaping @Sendable ([EventDraft]) async throws -> Void) {
        self.window = window
        self.clock = clock
        self.append = append
    }

    /// Records (or counts) a refusal. Returns whether an event was appended; throws when the
    /// append failed.
    @discardableResult
    package func record(_ denial: AccessDenial, by principal: Principal) async throws -> Bool {
        let now = clock()
        let key = Key(actor: principal.actor, reason: denial.reason)
        if var e = entries[key], now.nanoseconds < e.recordedAt.nanoseconds + Self.nanoseconds(window) {
            e.pending += 1
            e.pendingSince = e.pendingSince ?? now
            e.last = denial
            entries[key] = e
            return false
        }
        let previous = entries[key]
        entries[key] = Entry(recordedAt: now, pending: 0, pendingSince: nil, last: denial, principal: principal)
        prune(now)
        do {
            try await append([denial.draft(principal: principal, coalesced: previous?.pending ?? 0, since: previous?.pendingSince)])
        } catch {
            // Not recorded: keep the count (with refusals counted while the append waited) so the
            // next recording carries it.
            let during = entries[key].map { $0.recordedAt == now ? $0.pending : 0 } ?? 0
            entries[key] = Entry(recordedAt: previous?.recordedAt ?? Timestamp(nanoseconds: 0),
                                 pending: (previous?.pending ?? 0) + 1 + during, pendingSince: previous?.pendingSince ?? now,
                                 last: denial, principal: principal)
            throw error
        }
        return true
    }

    /// Writes one event for every actor and reason with counted, unrecorded refusals (at shutdown).
    package func flush() async throws {
        let waiting = entries.filter { $0.value.pending > 0 }
        guard !waiting.isEmpty else { return }
        let drafts = waiting.sorted { ($0.key.actor, $0.key.reason.rawValue) < ($1.key.actor, $1.key.reason.rawValue) }.map {
            $0.value.last.draft(principal: $0.value.principal, coalesced: $0.value.pending - 1,
                                since: $0.value.pending > 1 ? $0.value.pendingSince : nil)
        }
        try await append(drafts)
        let now = clock()
        for k in waiting.keys { entries[k]?.pending = 0; entries[k]?.pendingSince = nil; entries[k]?.recordedAt = now }
    }

    private func prune(_ now: Timestamp) {
        guard entries.count > capacity else { return }
        let expiry = Self.nanoseconds(window)
        entries = entries.filter { $0.value.pending > 0 || now.nanoseconds < $0.value.recordedAt.nanoseconds + expiry }
    }

    private static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }
}
