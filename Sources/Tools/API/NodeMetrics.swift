import Foundation
import Ledger
import Node
import Projections
import Prometheus

/// The node's Prometheus metrics, computed from the ledger and the projections at each scrape, so
/// that they agree with the ledger by construction and survive restarts.
struct NodeMetrics: Sendable {
    let access: MessageAccess
    /// Commits of this process so far: appends, events, seconds spent waiting for durability.
    let statistics: @Sendable () -> (appends: Int, events: Int, waitSeconds: Double)
    /// The configured certificates' expiries.
    var certificates: @Sendable () -> [CertificateExpiry] = { [] }
    /// Event streams open now (nil: this API does not stream events).
    var openStreams: Int? = nil

    func render() throws -> String {
        let registry = PrometheusCollectorRegistry()
        let head = try access.ledger.durableHead()
        registry.makeGauge(name: "kvitto_ledger_head_seq", help: "The ledger's durable head (last committed seq).").set(Double(head))
        for (type, count) in try EventIndex.counts(in: access.projections.storage).sorted(by: { $0.key < $1.key }) {
            registry.makeCounter(name: "kvitto_ledger_events_total", labels: [("type", type)],
                                 help: "Ledger events by type: sends, AS4 receipts and failures, receptions and refusals, reads, refused access.")
                .increment(by: Int64(count))
        }
        let s = statistics()
        registry.makeCounter(name: "kvitto_ledger_commits_total", help: "Durable ledger commits made by this process.").increment(by: Int64(s.appends))
        registry.makeCounter(name: "kvitto_ledger_committed_events_total", help: "Events in those commits.").increment(by: Int64(s.events))
        registry.makeCounter(name: "kvitto_ledger_commit_wait_seconds_total", help: "Time spent waiting for those commits to be durable.")
            .increment(by: s.waitSeconds)
        for p in try access.projections.status() {
            registry.makeGauge(name: "kvitto_projection_lag_events", labels: [("projection", p.name)],
                               help: "Events committed to the ledger and not yet applied to the projection.")
                .set(Double(head - min(head, p.appliedSeq)))
            if p.name == "node" {
                registry.makeGauge(name: "kvitto_retry_queue_depth", help: "Outbound AS4 dispatches waiting for an attempt or a receipt.")
                    .set(Double(p.rows["pending"] ?? 0))
                registry.makeGauge(name: "kvitto_inbound_unanswered", help: "Inbound messages waiting for their Meddelandekvittens.")
                    .set(Double(p.rows["unanswered"] ?? 0))
            }
        }
        if let openStreams {
            registry.makeGauge(name: "kvitto_event_streams_open", help: "Event streams (GET /v1/events) open now; each holds a connection.")
                .set(Double(openStreams))
        }
        let now = Date()
        for c in certificates() {
            registry.makeGauge(name: "kvitto_certificate_expiry_seconds", labels: [("certificate", c.name)],
                               help: "Seconds until a configured certificate expires (negative: expired); the node warns 30 days ahead.")
                .set(c.notAfter.timeIntervalSince(now))
        }
        return registry.emitToString()
    }
}
