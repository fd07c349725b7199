import AsyncHTTPClient
import Foundation
import Ledger
package import Logging
import NIOCore
import NIOSSL
import Projections

/// Runs one ``WebhookWorker`` per active webhook, each its own task with its own position and
/// retry state, so a slow or failing endpoint never delays another's deliveries. It looks at the
/// webhooks projection twice a second: a new or resumed webhook gets a worker, a disabled or
/// deleted one loses it (a resumed one starts again from its saved position). Secrets no longer used (a deleted webhook's, those whose overlap ended) are
/// removed from the store.
package final class WebhookDispatcher: Sendable {
    private let access: MessageAccess
    private let feed: EventFeed
    private let store: WebhookStore
    private let settings: NodeConfig.Webhooks
    private let client: HTTPClient
    private let logger: Logger

    /// `settings.trust_roots` (resolved by the caller) replaces the system's trust store when given.
    package init(access: MessageAccess, feed: EventFeed, store: WebhookStore, settings: NodeConfig.Webhooks,
                 trustRoots: String?, logger: Logger) throws(NodeError) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if let trustRoots {
            guard FileManager.default.isReadableFile(atPath: trustRoots) else {
                throw NodeError(.configInvalid, "api.webhooks.trust_roots: \(trustRoots) cannot be read")
            }
            tls.trustRoots = .file(trustRoots)
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                                     timeout: .init(connect: .seconds(Int64(min(settings.timeout, 10))), read: .seconds(Int64(settings.timeout))),
                                                     decompression: .disabled)
        configuration.httpVersion = .http1Only
        // One connection per webhook at most (each sends one request at a time): webhooks to the
        // same host never queue behind one another's slow answers.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 100_000)
        self.access = access
        self.feed = feed
        self.store = store
        self.settings = settings
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.logger = logger
    }

    /// Delivers until the task is cancelled; then stops every worker (each writes its position)
    /// and the HTTP client.
    package func run() async {
        var workers: [UInt64: (resumedAt: Timestamp?, task: Task<Void, Never>)] = [:]
        var forgotten: Set<String> = []
        while !Task.isCancelled {
            let hooks: [Webhook]
            do { hooks = try WebhooksProjection.all(in: access.projections.storage) } catch {
                // Fails closed: without the list no worker can tell it should stop, so all stop.
                logger.error("reading the webhooks failed; deliveries pause until it reads again", metadata: ["error": .string("\(error)")])
                for (_, running) in workers { running.task.cancel() }
                for (_, running) in workers { await running.task.value }
                workers = [:]
                try? await Task.sleep(nanoseconds: 500_000_000)
                continue
            }
            var active: Set<UInt64> = []
            for w in hooks {
                guard case .active = w.state else { continue }
                active.insert(w.id)
                // A running worker goes on: what changes while it runs (a rotated secret) it
                // reads for each attempt. One that stopped when the webhook was disabled is
                // replaced once it is resumed (even if this loop never saw it disabled).
                if let running = workers[w.id] {
                    if running.resumedAt == w.resumedAt { continue }
                    running.task.cancel()
                    await running.task.value
                }
                let worker = WebhookWorker(webhook: w, feed: feed, access: access, store: store, settings: settings, client: client, logger: logger)
                workers[w.id] = (w.resumedAt, Task { await worker.run() })
            }
            for (id, running) in workers where !active.contains(id) {
                running.task.cancel()
                await running.task.value
                workers[id] = nil
            }
            // Secrets no delivery will be signed with any more: a deleted webhook's, and those
            // whose overlap ended.
            let now = Timestamp.now()
            let unused = hooks.flatMap { w in w.isDeleted ? w.secrets : w.secrets.filter { s in s.validUntil.map { $0 <= now } ?? false } }
                .map(\.sha256).filter { !forgotten.contains($0) }
            if !unused.isEmpty {
                do {
                    try store.removeSecrets(unused)
                    forgotten.formUnion(unused)
                } catch {
                    logger.error("removing unused webhook secrets failed; retrying", metadata: ["error": .string("\(error)")])
                }
            }
            try? await Task.sleep(nanoseconds: 500_000_000)
        }
        for (_, running) in workers { running.task.cancel() }
        for (_, running) in workers { await running.task.value }
        try? await client.shutdown()
    }
}
