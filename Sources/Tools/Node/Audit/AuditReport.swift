import Foundation
package import Ledger
package import Projections

/// An audit report (Schemas/audit-report.md): every event an audit query finds up to one signed
/// checkpoint, computed under the requester's grants. It holds no time of its own: the same
/// query by the same requester at the same checkpoint gives the same bytes, so a report can be
/// recomputed later and compared byte for byte; a later report states its newer checkpoint and
/// differs by the events after the older one.
package struct AuditReport: Sendable {
    /// The report format this build writes.
    package static let format = "kvitto-audit-report/1"
    /// The most events one report holds; narrow the period or the query beyond it.
    package static let maxEvents = 1_000_000

    /// One event as the requester may see it.
    package struct Row: Sendable {
        package let event: VisibleEvent
        /// The event's hash, when the requester sees it whole (a redacted event's hash would let
        /// a reader confirm guesses of what was removed).
        package var hash: Digest32? { event.redacted.isEmpty ? event.event.hash : nil }
        package var summary: String { MessageTimeline.summary(event.event, payload: event.payload) }
    }

    package let node: String
    /// The requester's recorded name.
    package let requester: String
    package let query: AuditLog.Query
    /// The checkpoint the report was computed at; its tree covers events 1…`position`.
    package let checkpoint: Checkpoint
    package var position: UInt64 { checkpoint.treeSize }
    package let rows: [Row]

    /// Events per type.
    package var counts: [String: Int] { rows.reduce(into: [:]) { $0[$1.event.event.type, default: 0] += 1 } }
}

/// Computes audit reports through ``AuditLog`` (so the grants and the audit-scope indexes apply
/// exactly as for the paged API).
package struct AuditReporter: Sendable {
    package let log: AuditLog
    package let node: String
    /// Whether this process may write a checkpoint when the newest one is behind the head.
    package let writesCheckpoints: Bool

    package init(log: AuditLog, node: String, writesCheckpoints: Bool) {
        self.log = log
        self.node = node
        self.writesCheckpoints = writesCheckpoints
    }

    /// The report of `query` at the checkpoint event `checkpointSeq`, or — without one — at the
    /// newest checkpoint (written now when this process may write and events came after it).
    package func report(_ query: AuditLog.Query, checkpoint checkpointSeq: UInt64? = nil, as principal: Principal) async throws(NodeError) -> AuditReport {
        let ledger = log.access.ledger
        let checkpoint: Checkpoint
        do {
            if let checkpointSeq {
                guard let e = try ledger.event(checkpointSeq), e.type == EventType.checkpoint, let cp = try? Checkpoint(json: e.json) else {
                    throw NodeError(.notFound, "event \(checkpointSeq) is not a checkpoint; name one from a report or `kvitto ledger checkpoint`")
                }
                checkpoint = cp
            } else {
                let head = try ledger.head()
                if let cp = head.checkpoint, !(writesCheckpoints && cp.event.seq < head.seq) {
                    checkpoint = cp
                } else if writesCheckpoints {
                    checkpoint = try await ledger.checkpoint()
                } else {
                    throw NodeError(.noCheckpoint, "the ledger has no checkpoint yet; the running node writes one within its checkpoint interval — ask again then")
                }
            }
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.storage, "choosing the checkpoint: \(error)")
        }
        var q = query
        q.asOf = checkpoint.treeSize
        q.limit = 1000
        q.after = 0
        var rows: [AuditReport.Row] = []
        while true {
            let page = try await log.events(q, as: principal)
            rows += page.events.map(AuditReport.Row.init)
            guard rows.count <= AuditReport.maxEvents else {
                throw NodeError(.unprocessable, "the report would hold more than \(AuditReport.maxEvents) events; narrow the period or the query")
            }
            guard let next = page.next else { break }
            q.after = next
        }
        var normalized = query
        normalized.asOf = nil
        normalized.after = 0
        return AuditReport(node: node, requester: principal.actor, query: normalized, checkpoint: checkpoint, rows: rows)
    }
}
