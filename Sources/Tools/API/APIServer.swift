import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
package import Identity
package import Logging
package import Node
import NIOCore
package import NIOSSL
import OpenAPIHummingbird
import OpenAPIRuntime
package import Transport
import ServiceLifecycle

/// The node's HTTP API (`Schemas/openapi.yaml`) on its own listener: HTTPS with the node's TLS
/// identity, bearer-token authentication on every route but `/health/*`, the generated routes
/// bound to ``NodeAPI``.
package struct APIServer: Sendable {
    /// Connections waiting to be accepted. Hummingbird's 256 drops connection attempts when a
    /// thousand case systems reconnect their event streams at once (after a restart), and each
    /// dropped one waits for its SYN to be sent again (1, 3, 7… seconds); Linux caps it at
    /// `net.core.somaxconn` (4096 by default).
    package static let backlog = 4096

    package let access: MessageAccess
    /// The node's participants now (a running node's change as participants are added or retired).
    package var participants: @Sendable () -> [NodeConfig.Participant]
    /// Submissions on callers' behalf; nil makes `POST /v1/messages` answer 503.
    package var submission: MessageSubmission?
    /// This process's ledger commit statistics (the metrics).
    package var statistics: @Sendable () -> (appends: Int, events: Int, waitSeconds: Double) = { (0, 0, 0) }
    /// The configured certificates' expiries (the metrics).
    package var certificates: @Sendable () -> [CertificateExpiry] = { [] }
    package let verifier: TokenVerifier
    /// The CloudEvents `source` of the streamed events (the node's name as a URN).
    package var eventSource = EventFeed.source(forNode: "node")
    /// The node's name, stated in evidence bundles.
    package var nodeName = "node"
    /// Events the stream keeps in memory for subscribers near the head.
    package var eventWindow = EventFeed.defaultCapacity
    /// Whether `GET /v1/events` is served (its feed follows the ledger and catches the
    /// projections up as it goes); off, the operation answers 503.
    package var streamsEnabled = true
    /// Event streams one caller may hold open at once (all callers: 8,192).
    package var streamsPerCaller = 64
    /// Webhook deliveries (`api.webhooks`); nil: webhooks cannot be created (503).
    package var webhooks: NodeConfig.Webhooks?
    /// Where webhook secrets and positions are kept (the node's).
    package var webhookStore: WebhookStore?
    /// The PEM file of CAs webhook endpoints must chain to (resolved `api.webhooks.trust_roots`).
    package var webhookTrustRoots: String?
    package var host: String
    package var port: Int
    /// TLS identity; nil = plain HTTP (tests behind nothing, or a TLS proxy in front).
    package var tls: TLSConfiguration?
    /// The trust client certificates must chain to when case systems authenticate by mutual TLS
    /// (`api.client_certificates`; `tls` then asks for a certificate); nil: certificates name nobody.
    package var clientCertificateTrust: TrustStore?
    /// The web console (`api.console`); nil: nothing is served under `/console/`.
    package var console: ConsoleSetup?
    package var logger: Logger
    /// Mailbox pages answered by ``MailboxPageRoute`` (written without `Codable`); false: by the
    /// generated handler alone (the tests compare the two).
    package var directMailboxPages = true
    /// Mailbox pages ``MailboxPageRoute`` answered in this process (the tests check it runs).
    package static var directMailboxPagesAnswered: Int { MailboxPageRoute.answered.load(ordering: .relaxed) }

    /// What the console needs beyond the API's own parts.
    package struct ConsoleSetup: Sendable {
        package var settings: NodeConfig.Console
        /// The entry of `settings.issuer` in `identity.issuers`.
        package var trust: IssuerTrust
        /// The confidential client's secret, or nil (a public client).
        package var clientSecret: String?

        package init(settings: NodeConfig.Console, trust: IssuerTrust, clientSecret: String?) {
            self.settings = settings
            self.trust = trust
            self.clientSecret = clientSecret
        }

        /// The setup `api.console` of `config` describes (nil when absent); the secret file is read
        /// now and must be readable by its owner only.
        package static func configured(_ config: NodeConfig, directory: String) throws(NodeError) -> ConsoleSetup? {
            guard let settings = config.api?.console else { return nil }
            guard let trust = config.identity?.issuers.first(where: { $0.issuer == settings.issuer }) else {
                throw NodeError(.configInvalid, "api.console: issuer \(settings.issuer) is not one of identity.issuers")
            }
            var secret: String?
            if let file = settings.clientSecretFile {
                let path = NodeConfig.resolve(file, in: directory)
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                      let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue else {
                    throw NodeError(.configInvalid, "api.console.client_secret_file \(path) cannot be read")
                }
                guard mode & 0o077 == 0 else {
                    throw NodeError(.configInvalid, "api.console.client_secret_file \(path) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
                }
                guard let data = FileManager.default.contents(atPath: path), data.count <= 4096,
                      let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                    throw NodeError(.configInvalid, "api.console.client_secret_file \(path) holds no secret (one line of text, at most 4 KiB)")
                }
                secret = text
            }
            return ConsoleSetup(settings: settings, trust: trust, clientSecret: secret)
        }
    }

    package init(access: MessageAccess, participants: [NodeConfig.Participant], verifier: TokenVerifier, host: String, port: Int,
                 tls: TLSConfiguration?, logger: Logger) {
        self.access = access
        self.participants = { participants }
        self.verifier = verifier
        self.host = host
        self.port = port
        self.tls = tls
        self.logger = logger
    }

    /// The API of `node` as its `api` configuration describes it (nil when there is none): the
    /// node's token verifier, HTTPS with the node's TLS identity. `port` overrides the configured one.
    package static func configured(for node: Node, port: Int? = nil, logger: Logger) throws(NodeError) -> APIServer? {
        guard let api = node.config.api else { return nil }
        var tls: TLSConfiguration?
        if api.usesTLS {
            guard let identity = node.keys.tls else {
                throw NodeError(.configInvalid, "api uses TLS, but the node has no TLS identity (as4.tls)")
            }
            do {
                // With client certificates, the folder's intermediates too: a case system may send its
                // leaf alone (the chain must still end at one of the folder's self-signed anchors).
                let tlsTrust = node.keys.tlsTrust
                let roots = api.takesClientCertificates ? tlsTrust.anchors + tlsTrust.intermediates : tlsTrust.anchors
                var settings = AS4TLS(identity: identity, trustAnchors: roots, requireClientCertificate: false)
                settings.requestClientCertificate = api.takesClientCertificates
                tls = try settings.serverConfiguration()
            } catch {
                throw NodeError(.keyUnusable, "the TLS identity cannot serve the API: \(error)")
            }
        }
        let roster = node.keys.participants
        let verifier = try NodeIdentity.verifier(config: node.config, directory: node.directory, participants: { roster.authenticationIDs })
        var server = APIServer(access: node.access, participants: node.config.participants, verifier: verifier, host: api.host,
                               port: port ?? api.port, tls: tls, logger: logger)
        server.participants = { roster.participants }
        server.statistics = { node.ledgerStatistics }
        server.certificates = { node.certificateExpiries }
        server.submission = MessageSubmission(node: node)
        server.eventSource = EventFeed.source(forNode: node.config.name)
        server.nodeName = node.config.name
        server.webhooks = api.webhooks
        if api.takesClientCertificates { server.clientCertificateTrust = node.keys.tlsTrustStore }
        server.webhookStore = node.webhooks
        server.webhookTrustRoots = api.webhooks?.trustRoots.map { NodeConfig.resolve($0, in: node.directory) }
        server.console = try ConsoleSetup.configured(node.config, directory: node.directory)
        return server
    }

    /// Compact JSON with sorted keys (the same bytes for the same answer), dates by ``TimestampTranscoder``.
    static let coding = Configuration(dateTranscoder: TimestampTranscoder(), jsonEncodingOptions: [.sortedKeys])

    /// Runs until the task is cancelled, then shuts down gracefully. `onRunning` receives the bound port.
    package func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: RequestErrors(logger: logger))
        router.add(middleware: HeaderValues())
        if console != nil { router.add(middleware: ConsoleHeaders()) }
        router.add(middleware: BearerAuthentication(verifier: verifier, certificates: clientCertificateTrust.map(ClientCertificateAuthentication.init),
                                                    logger: logger))
        if directMailboxPages { router.add(middleware: MailboxPageRoute(access: access)) }
        var feed: EventFeed?
        if streamsEnabled || webhooks != nil {
            do { feed = try EventFeed(ledger: access.ledger, projections: access.projections, source: eventSource, capacity: eventWindow) } catch {
                throw NodeError(.storage, "the event feed cannot start: \(error)")
            }
        }
        var administration: WebhookAdministration?
        if let webhooks, let webhookStore, feed != nil {
            administration = WebhookAdministration(access: access, store: webhookStore, settings: webhooks)
        }
        let evidence = EvidenceProducer(access: access, node: nodeName, writesCheckpoints: true)
        let reporter = AuditReporter(log: AuditLog(access: access), node: nodeName, writesCheckpoints: true)
        try NodeAPI(access: access, participants: participants, submission: submission, feed: streamsEnabled ? feed : nil,
                    streams: StreamSlots(perCaller: streamsPerCaller), webhooks: administration, statistics: statistics, certificates: certificates,
                    evidence: evidence, reporter: reporter)
            .registerHandlers(on: router, configuration: Self.coding)
        let console = self.console.map {
            Console(settings: $0.settings, trust: $0.trust, clientSecret: $0.clientSecret, access: access, participants: participants,
                    verifier: verifier, evidence: evidence, reporter: reporter, logger: logger)
        }
        console?.register(on: router)
        let server: HTTPServerBuilder = if let tls {
            try .tls(.http1(configuration: .init(idleTimeout: .seconds(60))), tlsConfiguration: tls)
        } else {
            .http1(configuration: .init(idleTimeout: .seconds(60)))
        }
        var quiet = logger
        quiet.logLevel = .warning
        let app = Application(router: router, server: server,
                              configuration: .init(address: .hostname(host, port: port), serverName: "kvitto", backlog: Self.backlog),
                              onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: quiet)
        var lifecycle = ServiceGroupConfiguration(services: [app], logger: quiet)
        // A client that stopped reading a stream would hold a graceful shutdown for ever.
        lifecycle.maximumGracefulShutdownDuration = .seconds(10)
        let group = ServiceGroup(configuration: lifecycle)
        // Made last (its HTTP client must be shut down, which its run does): nothing throws after it.
        var dispatcher: WebhookDispatcher?
        if let webhooks, let webhookStore, let feed {
            dispatcher = try WebhookDispatcher(access: access, feed: feed, store: webhookStore, settings: webhooks,
                                               trustRoots: webhookTrustRoots, logger: logger)
        }
        let runner = Task { try await group.run() }
        let following = Task { await feed?.run() }
        let delivering = Task { await dispatcher?.run() }
        let outcome = await withTaskCancellationHandler {
            await runner.result
        } onCancel: {
            // Streams end when their feed stops (they would keep a graceful shutdown waiting).
            delivering.cancel()
            following.cancel()
            Task { await group.triggerGracefulShutdown() }
        }
        // Webhook workers write their positions as they stop, before the feed they read stops.
        delivering.cancel()
        await delivering.value
        // The feed reads the ledger: it has stopped before the caller closes the node.
        following.cancel()
        await following.value
        await console?.shutdown()
        try outcome.get()
    }
}
