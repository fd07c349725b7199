import Foundation
import Ledger
import Logging
import Projections
package import Transport

extension Node {
    /// The AS4 endpoint of this node: verifies, decrypts, checks the AS4 header against the XHE,
    /// stores in the ledger, answers from the ledger on resends.
    package func endpoint() -> AS4Endpoint {
        let admission = AdmissionControl(maxRequests: config.as4.maxConcurrentRequests ?? 32,
                                         maxRequestsPerPeer: config.as4.maxConcurrentRequestsPerPeer ?? 16)
        let inbound = NodeInbound(node: self)
        var opener = AS4Opener(identity: keys.as4, trustStore: keys.as4TrustStore, pmode: pmode)
        opener.previousIdentities = keys.as4Previous
        return AS4Endpoint(opener: opener,
                           sealer: AS4Sealer(pmode: pmode, signer: keys.as4), delivery: inbound, duplicates: inbound,
                           maxMessageBytes: config.as4.maxMessageBytes ?? (200 << 20), checkSDKEnvelope: true,
                           admission: admission, processing: processing)
    }

    /// The HTTP(S) server for ``endpoint()`` on the configured address (`port` overrides it; 0
    /// picks a free one).
    package func server(port: Int? = nil) -> AS4Server {
        let tls = config.as4.tls.flatMap { t in
            keys.tls.map { AS4TLS(identity: $0, trustAnchors: keys.tlsTrust.anchors, requireClientCertificate: t.requireClientCertificate) }
        }
        return AS4Server(host: config.as4.host, port: port ?? config.as4.port, path: config.as4.path, tls: tls, endpoint: endpoint())
    }

    /// Records certificate changes (``recordCertificateChanges()``), then runs the AS4 endpoint, the
    /// workers (dispatches with retries, Meddelandekvittens) and the trust-folder watch
    /// (``watchTrust()``) until the task is cancelled. `onListening` receives the bound port.
    package func run(port: Int? = nil, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        // What the node runs with is on record before it sends or receives anything.
        try await recordParticipantChanges()
        try await recordCertificateChanges()
        let server = server(port: port)
        let logger = self.logger
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await server.run { port in
                    logger.info("AS4 endpoint listening", metadata: ["port": .stringConvertible(port), "path": .string(server.path),
                                                                     "tls": .stringConvertible(server.tls != nil)])
                    await onListening(port)
                }
            }
            group.addTask { await self.runWorkers() }
            group.addTask { await self.watchTrust() }
            group.addTask { await self.followProjections() }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The scheduler: starts due dispatches (the retry schedule read from the ledger) and answers
    /// stored inbound messages, at most ``maxConcurrentWork`` at a time, until cancelled.
    package func runWorkers(poll: Duration = .milliseconds(250)) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.wakeup.tick(every: poll) }
            while !Task.isCancelled {
                await processSubmissions()
                let work = nextWork()
                for w in work {
                    group.addTask { await self.perform(w) }
                }
                // Woken by every append and every finished item; the poll catches retries that
                // come due and submissions handed over through the spool folder.
                await wakeup.wait()
            }
        }
    }

    enum Work: Sendable {
        case dispatch(DispatchRecord)
        case answer(MessageRecord)

        /// The seq of the event that created the item.
        var order: UInt64 {
            switch self {
            case .dispatch(let d): d.createdSeq
            case .answer(let r): r.eventSeqs.first ?? 0
            }
        }

        var key: String {
            switch self {
            case .dispatch(let d): Self.key(dispatch: d.as4MessageId)
            case .answer(let r): Self.key(answer: r.id)
            }
        }

        static func key(dispatch as4MessageId: String) -> String { "dispatch:" + as4MessageId }
        static func key(answer messageId: String) -> String { "answer:" + messageId }
    }

    /// What is due now and not already being worked on, up to the free capacity; claims it.
    func nextWork(now: Date = Date()) -> [Work] {
        let working = busy.withLock { $0 }
        let free = maxConcurrentWork - working.count
        guard free > 0 else { return [] }
        let stamp = Timestamp(nanoseconds: Int64(now.timeIntervalSince1970 * 1e9))
        let candidates: [Work]
        do {
            // Oldest first across both kinds, so neither starves the other under load. Items being
            // worked on (or cooling down) are passed over before their rows are decoded: under load
            // most of what is due is already under way.
            let skip = { (key: String) in working.contains(key) || self.cooling(key, now: now) }
            let skipAnswer = { (id: String) in skip(Work.key(answer: id)) }
            let skipDispatch = { (id: String) in skip(Work.key(dispatch: id)) }
            candidates = try read { s in
                (try s.unanswered(skipping: skipAnswer).map(Work.answer) + s.dueDispatches(at: stamp, skipping: skipDispatch).map(Work.dispatch))
                    .sorted { $0.order < $1.order }
            }
        } catch {
            logger.error("cannot read the ledger", metadata: ["error": .string("\(error)")])
            return []
        }
        var out: [Work] = []
        for w in candidates where out.count < free {
            if cooling(w.key, now: now) { continue }
            guard claim(w.key) else { continue }
            // The candidate was read before the claim: a worker may have finished it in between
            // (recording an outcome and a later retry time). Take it only if it is still due.
            let current: Work?
            do {
                current = try read { s -> Work? in
                    switch w {
                    case .dispatch(let d): try s.dispatch(d.as4MessageId).flatMap { $0.isDue(at: stamp) ? .dispatch($0) : nil }
                    case .answer(let r): try s.message(r.id).flatMap { $0.status == .received ? .answer($0) : nil }
                    }
                }
            } catch { current = nil }
            if let current { out.append(current) } else { release(w.key) }
        }
        return out
    }

    func perform(_ w: Work) async {
        defer { release(w.key) }
        do {
            switch w {
            case .dispatch(let d): try await attempt(d)
            case .answer(let r):
                // The stored XHE's size is what answering it parses, decrypts and validates.
                let units = try await processing.acquire(AsyncLimiter.mebibytes(Int(r.xhe?.size ?? 0)))
                defer { processing.release(units) }
                try await answer(r)
            }
        } catch is CancellationError {
            return  // shutting down while it waited for the processing budget; it stays due
        } catch {
            // Storage or key trouble: keep the item, try again later (it stays due in the ledger).
            logger.error("work item failed; retrying in 5 s", metadata: ["item": .string(w.key), "error": .string("\(error)")])
            cooldown.withLock { $0[w.key] = Date().addingTimeInterval(5) }
        }
    }

    private func cooling(_ key: String, now: Date) -> Bool {
        cooldown.withLock { c in
            guard let until = c[key] else { return false }
            if until <= now { c[key] = nil; return false }
            return true
        }
    }
}
