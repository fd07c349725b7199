import Foundation
import NIOCore
import Ledger
import Node
import OpenAPIRuntime
import Projections
import Synchronization

extension NodeAPI {
    /// `GET /v1/events`: the caller's Server-Sent Events (``EventSubscription`` over the node's
    /// ``EventFeed``), from `Last-Event-ID`, `after`, or the ledger's head.
    func streamEvents(_ input: Operations.StreamEvents.Input) async throws -> Operations.StreamEvents.Output {
        do throws(NodeError) {
            let principal = try caller()
            guard let feed else { throw NodeError(.storage, "this API does not stream events") }
            var mailboxes = Set<FunctionalAddress>()
            for m in input.query.mailbox ?? [] { mailboxes.insert(try Parameters.address(m)) }
            var types = Set<PublicEventType>()
            for t in input.query._type ?? [] {
                guard let type = PublicEventType(rawValue: t.rawValue) else { throw NodeError(.invalidRequest, "unknown event type \(t.rawValue)") }
                types.insert(type)
            }
            let after: UInt64
            if let last = input.headers.lastEventID {
                guard last.utf8.count <= 16, let n = UInt64(last) else { throw NodeError(.invalidRequest, "Last-Event-ID must be a ledger seq") }
                after = n
            } else if let a = input.query.after {
                guard a >= 0 else { throw NodeError(.invalidRequest, "after must be 0 or more") }
                after = UInt64(a)
            } else {
                do { after = try access.ledger.durableHead() } catch { throw NodeError(.storage, "reading the ledger head: \(error)") }
            }
            let heartbeat = input.query.heartbeat ?? 15
            guard (1...60).contains(heartbeat) else { throw NodeError(.invalidRequest, "heartbeat must be 1 to 60 seconds") }
            let subscription = try await EventSubscription(feed: feed, access: access, principal: principal,
                                                           filter: .init(mailboxes: mailboxes, types: types), after: after)
            guard let slot = streams.take(principal.actor) else {
                throw NodeError(.tooManyStreams, "you hold \(streams.perCaller) event streams open (or the node holds as many as it allows); close one and ask again")
            }
            let stream = ServerSentEvents(subscription, heartbeatSeconds: heartbeat, slot: slot,
                                          connectionClosed: CurrentCaller.call.map { ConnectionClosed($0.channel) })
            let chunks = AsyncThrowingStream<ArraySlice<UInt8>, any Error>(unfolding: { try await stream.next() })
            return .ok(.init(headers: .init(cacheControl: "no-store"),
                             body: .textEventStream(HTTPBody(chunks, length: .unknown, iterationBehavior: .single))))
        } catch {
            return Problem(error).answer()
        }
    }
}

/// One subscriber's `text/event-stream`, pulled by the HTTP writer one chunk at a time (so a
/// consumer that stops reading stops the pulling: nothing accumulates for it). A chunk is either
/// the frames of the events it may see from one page of the feed, or a heartbeat comment after
/// `heartbeatSeconds` without one. The opening comment and every heartbeat carry `id:` with the
/// position reached (no `data:`, so no event is dispatched): a client that reconnects resumes
/// there, past the events it could not see. Ends (nil) when the caller's token expires or the
/// caller's connection closes (so a client gone frees its stream's place at once, not at the
/// next event or heartbeat).
actor ServerSentEvents {
    private var subscription: EventSubscription
    private let heartbeat: UInt64
    private var started = false
    /// When the last chunk left (uptime nanoseconds).
    private var lastSent: UInt64 = 0
    /// The stream's place among the open ones, given back when the stream is released.
    private let slot: StreamSlots.Slot
    private let connectionClosed: ConnectionClosed?

    init(_ subscription: EventSubscription, heartbeatSeconds: Int, slot: StreamSlots.Slot, connectionClosed: ConnectionClosed?) {
        self.subscription = subscription
        self.slot = slot
        self.connectionClosed = connectionClosed
        heartbeat = UInt64(heartbeatSeconds) * 1_000_000_000
    }

    func next() async throws -> ArraySlice<UInt8>? {
        if !started {
            started = true
            let at = subscription.position
            return sent(": kvitto events after seq \(at)\nretry: 2000\nid: \(at)\n\n")
        }
        while true {
            try Task.checkCancellation()
            if connectionClosed?.isClosed == true { return nil }
            let left = subscription.principal.credentialExpiry.map { $0 - Date().timeIntervalSince1970 }
            if let left, left <= 0 { return nil }
            let before = subscription.position
            let batch = try subscription.next()
            if !batch.deliveries.isEmpty {
                var frames: [UInt8] = []
                frames.reserveCapacity(batch.deliveries.reduce(0) { $0 + $1.event.frameLength(for: $1.visibility) })
                for d in batch.deliveries { d.event.appendFrame(for: d.visibility, to: &frames) }
                return sent(frames)
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if now - lastSent >= heartbeat { return sent(": heartbeat\nid: \(subscription.position)\n\n") }
            if batch.position > before {
                // Catching up through events it may not see: let other tasks run between pages.
                await Task.yield()
                continue
            }
            // Nothing new: let other tasks run before waiting (the wait may return at once while
            // the projections catch up).
            await Task.yield()
            let sub = subscription
            let closed = connectionClosed
            let untilHeartbeat = heartbeat - (now - lastSent)
            // In Double first: a token valid for centuries must not overflow the conversion.
            let remaining = left.map { $0 * 1e9 >= Double(untilHeartbeat) ? untilHeartbeat : UInt64($0 * 1e9) + 1 } ?? untilHeartbeat
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await sub.waitForEvents() }
                group.addTask { try await Task.sleep(nanoseconds: remaining) }
                if let closed { group.addTask { await closed.wait() } }
                _ = try await group.next()
                group.cancelAll()
            }
        }
    }

    private func sent(_ text: String) -> ArraySlice<UInt8> { sent(Array(text.utf8)) }

    private func sent(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        lastSent = DispatchTime.now().uptimeNanoseconds
        return ArraySlice(bytes)
    }
}

