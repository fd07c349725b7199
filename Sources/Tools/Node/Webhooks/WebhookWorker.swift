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

    /// Positions are written after this many deliveries or this many seconds, whichever comes
    /// first (and whenever idle): what a crash makes the node send again.
    static let saveEvery = 64
    static let saveInterval = 0.25

    /// The webhook is no longer active (disabled or deleted): the worker ends.
    private enum Stop: Error { case disabled }

    private enum Outcome {
        case delivered
        /// `retryAfter`: seconds the endpoint asked to wait (`Retry-After` on 429 or 503).
        case failed(String, retryAfter: Double? = nil)
        /// 410 Gone: the endpoint asks for no more deliveries (Standard Webhooks).
        case gone
    }

    func run() async {
        var progress = WebhookProgress(position: webhook.startAfter)
        // Storage errors are retried: the worker ends only when cancelled or disabled.
        while !Task.isCancelled {
            do {
                progress = try store.progress(webhook.id) ?? WebhookProgress(position: webhook.startAfter)
                if let since = progress.retry.failingSince, let resumed = webhook.resumedAt,
                   since < Double(resumed.nanoseconds) / 1e9 {
                    // Resumed by a person after it was disabled: a new failing period starts.
                    progress.retry.succeeded()
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
        let types = webhook.types.compactMap(PublicEventType.init(rawValue:))
        guard types.count == webhook.types.count else {
            // Fails closed: a type this build does not know must not widen the filter to every type.
            logger.error("the webhook names an event type this build does not know; nothing is delivered to it",
                         metadata: ["webhook": .stringConvertible(webhook.id), "types": .string(webhook.types.joined(separator: ","))])
            while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
        }
        let filter = EventSubscription.Filter(mailboxes: Set(webhook.mailboxes), types: Set(types))
        var secrets: [String: WebhookSecret] = [:]
        var saved = progress
        var savedAt = now()
        var unsaved = 0
        do {
            while true {
                try Task.checkCancellation()
                // After a failure, the next attempt's time comes before its page is read.
                if let next = progress.retry.nextAttempt {
                    let wait = next - now()
                    if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
                }
                // A page from the position, the owner's grants read for it: a page is given up after
                // a failure and after a second of deliveries, so what a revocation ends is never
                // sent from an old page, and a retried event is rendered as the grants show it now.
                var subscription = EventSubscription(resuming: feed, access: access, principal: owner, filter: filter, after: progress.position)
                let before = progress.position
                let pageAt = now()
                let batch = try subscription.next()
                var whole = true
                for page in batch.deliveries {
                    // Judged again just before it is sent: a revocation since the page was read counts.
                    guard let d = try subscription.recheck(page) else {
                        progress.position = page.event.seq
                        continue
                    }
                    guard try await attempt(d, secrets: &secrets, &progress) else {
                        whole = false
                        break
                    }
                    progress.position = d.event.seq
                    unsaved += 1
                    if unsaved >= Self.saveEvery || now() - savedAt >= Self.saveInterval {
                        try store.save(progress, for: webhook.id)
                        (saved, savedAt, unsaved) = (progress, now(), 0)
                    }
                    if now() - pageAt >= 1 {
                        whole = false
                        break
                    }
                }
                guard whole else { continue }
                progress.position = batch.position
                if batch.deliveries.isEmpty && batch.position == before {
                    if progress != saved {
                        try store.save(progress, for: webhook.id)
                        (saved, savedAt, unsaved) = (progress, now(), 0)
                    }
                    try await subscription.waitForEvents()
                }
            }
        } catch {
            try? store.save(progress, for: webhook.id)
            throw error
        }
    }

    /// One attempt to deliver `d`: true when it was accepted; false after a failure (recorded,
    /// the next attempt scheduled). Throws ``Stop`` when the webhook was disabled (by this failure,
    /// or by someone) or deleted, and on cancellation.
    private func attempt(_ d: EventSubscription.Delivery, secrets: inout [String: WebhookSecret], _ progress: inout WebhookProgress) async throws -> Bool {
        let id = "kvitto-\(webhook.id)-\(d.event.seq)"
        let outcome = try await post(id: id, body: d.event.cloudEvent(for: d.visibility), secrets: &secrets)
        try Task.checkCancellation()
        let policy = WebhookRetry.Policy(first: settings.retryFirst, max: settings.retryMax, disableAfter: settings.disableAfter)
        switch outcome {
        case .delivered:
            progress.retry.succeeded()
            progress.delivered += 1
            progress.lastSuccess = now()
            return true
        case .gone:
            _ = progress.retry.failed(at: now(), error: "HTTP 410", policy: policy, jitter: 0)
            progress.retry.nextAttempt = nil
            try store.save(progress, for: webhook.id)
            try await disable(progress, reason: "gone")
            throw Stop.disabled
        case .failed(let reason, let retryAfter):
            let decision = progress.retry.failed(at: now(), error: reason, policy: policy, jitter: Double.random(in: 0..<1),
                                                 retryAfter: retryAfter)
            try store.save(progress, for: webhook.id)
            logger.warning("webhook delivery failed", metadata: ["webhook": .stringConvertible(webhook.id), "webhook_id": .string(id),
                                                                 "attempts": .stringConvertible(progress.retry.attempts), "error": .string(reason)])
            if decision == .disable {
                try await disable(progress, reason: "failing")
                throw Stop.disabled
            }
            return false
        }
    }

    /// Records `webhook.disabled` by the node: `failing` for too long, or `gone` (the endpoint
    /// answered 410).
    private func disable(_ progress: WebhookProgress, reason: String) async throws {
        var details: [String: JSONValue] = [
            "reason": .string(reason), "attempts": .int(Int64(progress.retry.attempts)), "position": .int(Int64(progress.position)),
            "last_error": .string(progress.retry.lastError ?? ""),
        ]
        if let since = progress.retry.failingSince { details["failing_since"] = .string(Timestamp(nanoseconds: Int64(since * 1e9)).rfc3339) }
        _ = try await access.ledger.append(webhook.draft(WebhookEventType.disabled, actor: "node", details: details))
        logger.error(reason == "gone" ? "webhook disabled: its endpoint answered 410 Gone; its owner or an operator resumes it"
                                      : "webhook disabled after failing for too long; its owner or an operator resumes it",
                     metadata: ["webhook": .stringConvertible(webhook.id)])
    }

    /// One attempt, signed with every secret valid now (the webhook's row is read again for each,
    /// so a rotation counts from the moment it is recorded). Never sent unsigned: without a
    /// usable secret it fails.
    private func post(id: String, body: [UInt8], secrets: inout [String: WebhookSecret]) async throws -> Outcome {
        let time = now()
        let timestamp = Int64(time)
        // Fails closed: an unreadable record is a failed attempt, never a stale secret.
        let read: Webhook??
        do { read = .some(try WebhooksProjection.webhook(webhook.id, in: access.projections.storage)) } catch { read = nil }
        guard let found = read else { return .failed("the webhook's record cannot be read") }
        guard let current = found, case .active = current.state else { throw Stop.disabled }
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
            if (200..<300).contains(code) { return .delivered }
            if code == 410 { return .gone }
            let retryAfter = [429, 503].contains(code) ? response.headers.first(name: "Retry-After").flatMap(Self.retryAfter) : nil
            return .failed("HTTP \(code)", retryAfter: retryAfter)
        } catch {
            return .failed(Self.describe(error))
        }
    }

    /// `Retry-After` as seconds from now: delta-seconds, or an HTTP date; nil when it is neither
    /// or lies in the past.
    static func retryAfter(_ value: String) -> Double? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(text) { return seconds > 0 ? Double(seconds) : nil }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "GMT")
        format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = format.date(from: text) else { return nil }
        let seconds = date.timeIntervalSinceNow
        return seconds > 0 ? seconds : nil
    }

    /// A short description of a transport failure (no response bodies, no secrets).
    private static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        return text.count > 200 ? String(text.prefix(200)) : text
    }
}
