import Foundation
package import Ledger
package import Logging
package import Projections
package import Transport
import Synchronization
import X509
import NIOSSL

/// A running Kvitto node: the ledger (system of record), the projections folded from it, the SDK
/// content layer and the AS4 MSH, for one or more participants.
///
/// Every step of a message is a ledger event, appended before the step is acknowledged to anyone;
/// the retry schedule, in-flight dispatches, duplicate detection and receipt correlation are read
/// by key from the persisted projections, never kept only in memory (so neither start-up time nor
/// memory grows with the history). Open with ``open(directory:logger:)``, run
/// the endpoint and the workers with ``run(onListening:)``, and ``close()`` when done.
package final class Node: Sendable {
    package let directory: String
    package let config: NodeConfig
    package let ledger: Ledger
    /// The persisted projections (`<node>/projections`), kept up with the ledger by ``run(onListening:)``.
    package let projections: ProjectionEngine
    /// Webhook secrets and delivery positions (`<node>/webhooks`), kept outside the ledger.
    package let webhooks: WebhookStore
    package let keys: NodeKeys
    package let router: any Router
    package let validator: SDKValidator
    package let pmode: PMode
    let client: AS4HTTPClient
    package let logger: Logger
    /// AS4 MessageIds / message ids being worked on by this process (never two workers on one).
    let busy = Mutex<Set<String>>([])
    /// Inbound AS4 MessageIds being stored right now.
    let receiving = Mutex<Set<String>>([])
    /// Work items that failed for a local reason (storage, keys) and wait before the next try.
    let cooldown = Mutex<[String: Date]>([:])
    /// Spooled submission requests that failed on our side, with their next try.
    let spoolRetries = Mutex<SpoolRetries>(SpoolRetries())
    /// Refusals of authenticated callers, recorded as `access.denied` (coalesced).
    package let denials: AccessDenials
    /// Content encrypted at rest: sealing as it is stored, opening for audited reads.
    package let vault: ContentVault
    /// Which refused inbound requests become ledger events (see ``RefusalPolicy``).
    let refusals = RefusalPolicy()
    /// Wakes the scheduler when work may have appeared.
    let wakeup = Wakeup()
    /// Ledger appends made by this node and the time callers waited for them to be durable.
    let appendStatistics = Mutex<(appends: Int, events: Int, waitNanoseconds: UInt64)>((0, 0, 0))
    /// When each trust role last warned about a CRL nextUpdate (at most one warning an hour).
    let trustWarned = Mutex<[CertificateTrust.Role: Date]>([:])
    /// When each configured certificate last warned about its expiry (at most once a day).
    let certificateWarned = Mutex<[String: Date]>([:])
    /// The most dispatches and answers in progress at once.
    package let maxConcurrentWork = 16
    /// The processing budget in MiB of payload (`as4.processing_budget_mib`), shared by the AS4
    /// endpoint and the Meddelandekvittens worker: what bounds the node's peak memory whatever
    /// peers send (see ``AsyncLimiter``).
    package let processing: AsyncLimiter
    /// The default processing budget: one maximal SDK message (an XHE of about 41 MB) at a time
    /// beside small ones, which keeps a node under 300 MB resident.
    package static let defaultProcessingBudgetMiB = 48

    private init(directory: String, config: NodeConfig, ledger: Ledger, projections: ProjectionEngine, webhooks: WebhookStore, keys: NodeKeys,
                 router: any Router, validator: SDKValidator, client: AS4HTTPClient, logger: Logger) {
        self.directory = directory
        self.projections = projections
        self.webhooks = webhooks
        self.config = config
        self.ledger = ledger
        self.keys = keys
        self.router = router
        self.validator = validator
        self.client = client
        self.logger = logger
        self.denials = AccessDenials { drafts in _ = try await ledger.append(drafts) }
        self.vault = ContentVault(config: config, directory: directory, blobs: ledger.blobs)
        self.processing = AsyncLimiter(config.as4.processingBudgetMib ?? Self.defaultProcessingBudgetMiB)
        var pmode = PMode.sdk()
        let ra = config.receptionAwareness
        pmode.receptionAwareness = .init(retries: ra.retries, interval: ra.intervalSeconds,
                                         strategy: .init(rawValue: ra.strategy) ?? .constant)
        if let max = config.as4.maxMessageBytes { pmode.maxMessageBytes = max }
        self.pmode = pmode
    }

    /// How long a ledger commit may wait for other message steps' appends to join it, once the
    /// node is busy (``LedgerOptions/commitDelay``), unless `kvitto.json` sets
    /// `ledger_commit_delay_ms`: a business message takes three or four appends on each node, one
    /// or two events each, and without the wait nearly every append was a commit of its own, two
    /// disk flushes each. (`kvitto bench node`: 6 ms took the end-to-end rate from about 0.32 to
    /// 0.34 of the RSA limit, and lowered p50 and p99.) Appends arriving one at a time do not
    /// wait, except the first right after a burst.
    package static let defaultLedgerCommitDelayMs = 6.0

    /// Opens the node in `directory` (its `kvitto.json`, keys, trust and ledger).
    package static func open(directory: String, logger: Logger = Logger(label: "kvitto.node"), router: (any Router)? = nil)
        throws(NodeError) -> Node
    {
        // The ledger first: while this process holds it, no command changes the configuration
        // or the keys (they run in this node, or wait for it), so what is read next stays current.
        let first = try NodeConfig.load(directory: directory)
        let ledgerPath = NodeConfig.resolve(first.ledger, in: directory)
        let ledger: Ledger
        var ledgerOptions = LedgerOptions()
        ledgerOptions.commitDelay = (first.ledgerCommitDelayMs ?? Self.defaultLedgerCommitDelayMs) / 1000
        do { ledger = try Ledger.open(at: ledgerPath, options: ledgerOptions) } catch {
            throw NodeError(error.code == .locked ? .running : .storage, "\(error)")
        }
        let config: NodeConfig, keys: NodeKeys, routes: any Router, validator: SDKValidator
        do throws(NodeError) {
            config = try NodeConfig.load(directory: directory)
            guard NodeConfig.resolve(config.ledger, in: directory) == ledgerPath else {
                throw NodeError(.configInvalid, "\(NodeConfig.fileName) changed its ledger while the node started; start again")
            }
            keys = try NodeKeys.load(config, directory: directory)
            if let router { routes = router } else { routes = try StaticRoutingTable.load(config, directory: directory) }
            do {
                validator = SDKValidator(schemas: try SDKSchemas(directory: config.schemas.map { NodeConfig.resolve($0, in: directory) }))
            } catch { throw NodeError(.configInvalid, "the SDK schemas cannot be loaded: \(error)") }
        } catch {
            ledger.close()
            throw error
        }
        let projections: ProjectionEngine
        do { projections = try NodeProjectionStore.open(node: directory, ledger: ledger) } catch {
            ledger.close()
            throw NodeError(.storage, "the projection store in \(directory)/\(NodeProjectionStore.folder) cannot be opened: \(error)")
        }
        let webhooks: WebhookStore
        do { webhooks = try WebhookStore(node: directory) } catch {
            ledger.close()
            throw NodeError(.storage, "the webhook store in \(directory)/\(WebhookStore.folder) cannot be opened: \(error)")
        }
        let client: AS4HTTPClient
        do {
            var currentTLS: (@Sendable () throws -> TLSConfiguration)?
            if let identity = keys.tls {
                let settings = ClientTLS(identity: identity, store: keys.tlsTrustStore)
                currentTLS = { try settings.configuration() }
            }
            client = try AS4HTTPClient(tls: keys.tls.map { AS4TLS(identity: $0, trustAnchors: keys.tlsTrust.anchors) },
                                       currentTLS: currentTLS,
                                       timeout: config.as4.sendTimeoutSeconds ?? 300,
                                       connectTimeout: config.as4.connectTimeoutSeconds ?? 15)
        } catch {
            ledger.close()
            throw NodeError(.configInvalid, "the HTTPS client cannot be set up: \(error)")
        }
        var l = logger
        l[metadataKey: "node"] = .string(config.name)
        if (projections.storage as? KeyValueStore)?.discardedAfterMachineStop == true {
            l.warning("the projections may have been damaged (the machine stopped, or a flush failed, while they held changes not yet on the disk); they were started empty and are refolded from the ledger (reads wait until they have caught up)")
        }
        return Node(directory: directory, config: config, ledger: ledger, projections: projections, webhooks: webhooks, keys: keys, router: routes,
                    validator: validator,
                    client: client, logger: l)
    }

    /// Stops the HTTP client and closes the ledger (queued appends are written first).
    package func close() async {
        // Refusals counted but not yet written (see ``AccessDenials``) are recorded first.
        do { try await denials.flush() } catch {
            logger.error("counted refusals could not be recorded at shutdown", metadata: ["error": .string("\(error)")])
        }
        try? await client.shutdown()
        ledger.close()
        do { try (projections.storage as? KeyValueStore)?.settle() } catch {
            logger.warning("the projections could not be flushed at shutdown; the next start refolds them", metadata: ["error": .string("\(error)")])
        }
    }

    /// Whether this node serves `participant` now (participants may be added or retired while it runs).
    package func serves(_ participant: String) -> Bool { keys.participants.serves(participant) }

    /// `participant`'s messages without authorisation or audit (the node's own checks and tests;
    /// people and systems read through ``access``).
    package func view(participant: String) throws(NodeError) -> ParticipantView {
        guard serves(participant) else { throw NodeError(.notAParticipant, "this node does not serve \(participant)") }
        return ParticipantView(projections: projections, participant: participant)
    }

    /// Reads of messages, authorised from the grants and audit-first (every interface uses it).
    package var access: MessageAccess {
        MessageAccess(ledger: ledger, projections: projections, denials: denials, vault: vault, grantsCache: grantsCache)
    }
    /// The grants ``access`` read at the current ledger head.
    let grantsCache = GrantsCache()

    /// Appends `drafts` and returns once they are durable.
    @discardableResult
    func append(_ drafts: [EventDraft]) async throws(NodeError) -> [Event] {
        let start = DispatchTime.now().uptimeNanoseconds
        let events: [Event]
        do { events = try await ledger.append(drafts) } catch { throw NodeError(.storage, "\(error)") }
        let waited = DispatchTime.now().uptimeNanoseconds - start
        appendStatistics.withLock { $0 = ($0.appends + 1, $0.events + events.count, $0.waitNanoseconds + waited) }
        wakeup.signal()
        return events
    }

    /// Appends so far, the events in them, and the seconds callers waited for durability.
    package var ledgerStatistics: (appends: Int, events: Int, waitSeconds: Double) {
        let s = appendStatistics.withLock { $0 }
        return (s.appends, s.events, Double(s.waitNanoseconds) / 1e9)
    }

    func putBlob(_ bytes: [UInt8]) throws(NodeError) -> BlobRef {
        do { return try ledger.blobs.put(bytes) } catch { throw NodeError(.storage, "\(error)") }
    }

    /// Stores the content of `spool` as a blob, streamed in chunks (never loaded whole).
    func putBlob(_ spool: Spool) throws(NodeError) -> BlobRef {
        do {
            let writer = try ledger.blobs.makeWriter()
            try spool.forEachChunk(size: BlobStore.chunkSize) { try writer.write(Array($0)) }
            return try writer.finish()
        } catch { throw NodeError(.storage, "\(error)") }
    }

    func blob(_ ref: BlobRef) throws(NodeError) -> [UInt8] {
        do { return try ledger.blobs.read(ref.sha256) } catch { throw NodeError(.storage, "\(error)") }
    }

    /// Runs `body` on the working state as of the ledger's durable head (the persisted
    /// projections catch up first, so a caller sees its own appends).
    package func read<T>(_ body: (NodeStateReader) throws -> T) throws(NodeError) -> T {
        do { return try projections.currentNodeState(body) } catch { throw NodeError(.storage, "\(error)") }
    }

    /// The whole working state at the durable head, loaded from the persisted rows (tests and
    /// tools; the node itself reads rows by key).
    package func snapshot() throws(NodeError) -> NodeProjection {
        do { return try projections.nodeStateSnapshot() } catch { throw NodeError(.storage, "\(error)") }
    }

    func claim(_ id: String) -> Bool { busy.withLock { $0.insert(id).inserted } }
    func release(_ id: String) {
        _ = busy.withLock { $0.remove(id) }
        wakeup.signal()
    }
}
