import AsyncHTTPClient
import Foundation
import Ledger
import Logging
import NIOCore
import NIOHTTP1
import Projections

/// Delivers one webhook's events, in ledger order, one at a time, each until it succeeds (2xx):
/// at least once, with the same `webhook-id` on every attempt (`kvitto-<webhook>-<seq>`). What
/// the webhook is sent is what its owner's grants show (``EventSubscription``). Failures are
/// retried on the ``WebhookRetry`` schedule, persisted in the ``WebhookStore`` so a restarted node
/// keeps the schedule and the failing period; failing for longer than the settings allow, the
/// webhook is disabled (`webhook.disabled`, by the node) and the worker ends. Cancellation ends it
/// too, after writing its position.
struct WebhookWorker: Sendable {
    let webhook: Webhook
    let feed: EventFeed
    let access: MessageAccess
    let store: WebhookStore
    let settings: NodeConfig.Webhooks
    let client: HTTPClient
    let logger: Logger
    /// Seconds since 1970 (injected by tests of the schedule).
    var now: @Sendable () -> Double = { Date().timeIntervalSince1970 }

    /// Positions are written this often while deliveries succeed (and whenever idle).
    static let saveInterval = 0.25

    private enum Stop: Error { case disabled }

    private enum Outcome {
        case delivered
        case failed(String)
    }

    func run() async {
        var progress = WebhookProgress(position: webhook.startAfter)
        // Storage errors are retried: the worker ends only when cancelled or disabled.
        while !Task.isCancelled {
            do {
                progress = try store.progress(webhook.id) ?? WebhookProgress(position: webhook.startAfter)
                if let since = progress.failingSince, let resumed = webhook.resumedAt,
                   since < Double(resumed.nanoseconds) / 1e9 {
                    // Resumed by a person after it was disabled: a new failing period starts.
                    var r = progress.retry
                    r.succeeded()
                    progress.retry = r
                }
                try await follow(&progress)
            } catch is Stop {
                return
            } catch {
                if Task.isCancelled { break }
                logger.error("webhook deliveries paused by a local error; retrying in 5 s",
                             metadata: ["webhook": .stringConvertible(webhook.id), "error": .string("\(error)")])
                try? store.save(progress, for: webhook.id)
                try? await Task.sleep(nanoseconds: 5_000_000_000)
            }
        }
        try? store.save(progress, for: webhook.id)
    }

    private func follow(_ progress: inout WebhookProgress) async throws {
        let owner = Principal(name: webhook.owner[0], otherNames: Array(webhook.owner.dropFirst()), assurance: .strongFor([]), interface: .api)
        let filter = EventSubscription.Filter(mailboxes: Set(webhook.mailboxes), types: Set(webhook.types.compactMap(PublicEventType.init(rawValue:))))
        var subscription = EventSubscription(resuming: feed, access: access, principal: owner, filter: filter, after: progress.position)
        var secrets: [String: WebhookSecret] = [:]
        var saved = progress
        var savedAt = now()
        do {
            while true {
                try Task.checkCancellation()
                let before = subscription.position
                let batch = try subscription.next()
                for d in batch.deliveries {
                    try await deliver(d, secrets: &secrets, &progress)
                    progress.position = d.event.seq
                    if now() - savedAt >= Self.saveInterval {
                        try store.save(progress, for: webhook.id)
                        (saved, savedAt) = (progress, now())
                    }
                }
                progress.position = batch.position
                if batch.deliveries.isEmpty && batch.position == before {
                    if progress != saved {
                        try store.save(progress, for: webhook.id)
                        (saved, savedAt) = (progress, now())
                    }
                    try await subscription.waitForEvents()
                }
            }
        } catch {
            try? store.save(progress, for: webhook.id)
            throw error
        }
    }

    /// Delivers one event, retrying until it is accepted; throws ``Stop/disabled`` or on cancellation.
    private func deliver(_ d: EventSubscription.Delivery, secrets: inout [String: WebhookSecret], _ progress: inout WebhookProgress) async throws {
        let body = d.event.cloudEvent(for: d.visibility)
        let id = "kvitto-\(webhook.id)-\(d.event.seq)"
        let policy = WebhookRetry.Policy(first: settings.retryFirst, max: settings.retryMax, disableAfter: settings.disableAfter)
        while true {
            if let next = progress.nextAttempt {
                let wait = next - now()
                if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
            }
            let outcome = await post(id: id, body: body, secrets: &secrets)
            try Task.checkCancellation()
            switch outcome {
            case .delivered:
                var r = progress.retry
                r.succeeded()
                progress.retry = r
                progress.delivered += 1
                progress.lastSuccess = now()
                return
            case .failed(let reason):
                var r = progress.retry
                let decision = r.failed(at: now(), error: reason, policy: policy, jitter: Double.random(in: 0..<1))
                progress.retry = r
                try store.save(progress, for: webhook.id)
                logger.warning("webhook delivery failed", metadata: ["webhook": .stringConvertible(webhook.id), "webhook_id": .string(id),
                                                                     "attempts": .stringConvertible(r.attempts), "error": .string(reason)])
                if decision == .disable {
                    try await disable(progress)
                    throw Stop.disabled
                }
            }
        }
    }

    private func disable(_ progress: WebhookProgress) async throws {
        var details: [String: JSONValue] = [
            "reason": "failing", "attempts": .int(Int64(progress.attempts)), "position": .int(Int64(progress.position)),
            "last_error": .string(progress.lastError ?? ""),
        ]
        if let since = progress.failingSince { details["failing_since"] = .string(Timestamp(nanoseconds: Int64(since * 1e9)).rfc3339) }
        _ = try await access.ledger.append(webhook.draft(WebhookEventType.disabled, actor: "node", details: details))
        logger.error("webhook disabled after failing for too long; an administrator resumes it",
                     metadata: ["webhook": .stringConvertible(webhook.id), "url": .string(webhook.url)])
    }

    /// One attempt, signed with every secret valid now (the webhook's row is read again for each,
    /// so a rotation counts from the moment it is recorded). Never sent unsigned: without a
    /// usable secret it fails.
    private func post(id: String, body: [UInt8], secrets: inout [String: WebhookSecret]) async -> Outcome {
        let time = now()
        let timestamp = Int64(time)
        let current = (try? WebhooksProjection.webhook(webhook.id, in: access.projections.storage)) ?? webhook
        var signing: [WebhookSecret] = []
        for s in current.signingSecrets(at: Timestamp(nanoseconds: Int64(time * 1e9))) {
            if secrets[s.sha256] == nil, let loaded = try? store.secret(s.sha256) { secrets[s.sha256] = loaded }
            if let secret = secrets[s.sha256] { signing.append(secret) }
        }
        guard !signing.isEmpty else { return .failed("no signing secret in the webhook store (rotate the secret)") }
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/cloudevents+json")
        request.headers.add(name: "User-Agent", value: "Kvitto-Webhooks/1")
        request.headers.add(name: "webhook-id", value: id)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: signing.map { $0.signature(id: id, timestamp: timestamp, body: body) }.joined(separator: " "))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, deadline: .now() + .milliseconds(Int64(settings.timeout * 1000)), logger: nil)
            // The answer's body is read and dropped (at most 64 KiB are waited for).
            var read = 0
            for try await chunk in response.body {
                read += chunk.readableBytes
                if read > 65_536 { break }
            }
            let code = response.status.code
            return (200..<300).contains(code) ? .delivered : .failed("HTTP \(code)")
        } catch {
            return .failed(Self.describe(error))
        }
    }

    /// A short description of a transport failure (no response bodies, no secrets).
    private static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        return text.count > 200 ? String(text.prefix(200)) : text
    }
}
