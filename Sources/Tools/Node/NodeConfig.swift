package import Foundation
package import Identity
import Ledger

/// The node's configuration: one JSON file, `kvitto.json`, in the node directory
/// (`Schemas/node-config.md` documents every member). Relative paths are relative to the node
/// directory. `kvitto init` writes one with defaults.
package struct NodeConfig: Codable, Sendable, Equatable {
    package static let fileName = "kvitto.json"
    package static let formatName = "kvitto-node/1"

    package var format: String
    package var name: String
    /// The ledger directory.
    package var ledger: String
    /// How long, in milliseconds, a busy node's ledger commit may wait for other appends to join
    /// it (``Node/defaultLedgerCommitDelayMs`` when absent; from 0, every append its own commit,
    /// to ``maxLedgerCommitDelayMs``). See `LedgerOptions.commitDelay`.
    package var ledgerCommitDelayMs: Double?
    package var as4: AS4
    package var trust: Trust
    package var receptionAwareness: ReceptionAwareness
    package var participants: [Participant]
    /// Participants retired with `kvitto participant retire`: no longer served (nothing is sent
    /// or received for them), kept so that their history stays readable (their key-encryption key,
    /// their strong-authentication rule) and their key files stay accounted for (backups). Absent: none.
    package var retiredParticipants: [RetiredParticipant]?
    package var routes: [Route]
    /// A folder with the SDK XSDs (`Schemas/` of the release); default: the built-in one.
    package var schemas: String?
    /// How API callers are authenticated (`Schemas/identity.md`); absent: no token is accepted.
    package var identity: IdentityConfig?
    /// The HTTP API's listener (`Schemas/openapi.yaml`); absent: `kvitto serve` runs no API.
    package var api: APIListener?
    /// True when `kvitto init` made the certificates from a throwaway CA (demos and tests): its key
    /// lies on the node, which `kvitto check` then reports as a warning instead of an error.
    package var throwawayPki: Bool?
    /// Content encrypted at rest (`Schemas/content-at-rest.md`); absent: content and attachments
    /// are stored as they are (which `kvitto check` reports).
    package var contentEncryption: ContentEncryption?

    /// Which content is encrypted at rest, and where the participants' key-encryption keys are.
    package struct ContentEncryption: Codable, Sendable, Equatable {
        /// `confidential`: the content and attachments of messages whose SDK header marks them
        /// confidential; `all`: of every message.
        package var scope: String
        /// The folder with one key-encryption key per participant, `<participant as a file name>.kek`
        /// (mode 0600); it must lie outside the ledger directory. Relative to the node directory.
        package var keyDirectory: String

        package static let scopes = ["confidential", "all"]

        package init(scope: String = "confidential", keyDirectory: String) {
            self.scope = scope
            self.keyDirectory = keyDirectory
        }

        /// Whether the content of a message with this confidentiality flag is encrypted.
        package func covers(confidential: Bool) -> Bool { scope == "all" || confidential }
    }

    /// Where the HTTP API listens. TLS uses the node's TLS identity (`as4.tls.key`/`certificate`).
    package struct APIListener: Codable, Sendable, Equatable {
        package var host: String
        package var port: Int
        /// HTTPS (default true); false only behind a TLS-terminating proxy on the same host.
        package var tls: Bool?
        /// Webhook deliveries (`Schemas/webhooks.md`); absent: no webhook can be created.
        package var webhooks: Webhooks?
        /// Mutual TLS for case systems: the listener asks for a client certificate (optional), and a
        /// request without a bearer token whose certificate chains to `trust.tls` is the caller
        /// `cert:<sha256>` (`Schemas/identity.md`). Default false: certificates name nobody.
        package var clientCertificates: Bool?
        /// The web console (`Schemas/console.md`); absent: `/console/` answers 404.
        package var console: Console?

        package init(host: String, port: Int, tls: Bool? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
        }

        package var usesTLS: Bool { tls ?? true }
        package var takesClientCertificates: Bool { clientCertificates ?? false }
    }

    package struct AS4: Codable, Sendable, Equatable {
        package var host: String
        package var port: Int
        package var path: String
        /// Our access point's party id (the CN of its AS4 certificate).
        package var partyId: String
        package var key: String
        package var certificate: String
        /// Earlier AS4 identities kept after the certificate was replaced (`as4.previous`): they
        /// only decrypt what peers that still know the old certificate encrypted to it (the
        /// current one signs and decrypts first). Remove an entry once the overlap is over.
        package var previous: [Identity]?
        /// HTTPS for the endpoint and for sending; nil = plain HTTP (tests and local set-ups only).
        package var tls: TLS?
        package var maxMessageBytes: Int?
        /// Inbound requests worked on at once (default 32); more are answered 503 at once.
        package var maxConcurrentRequests: Int?
        /// Inbound requests from one remote address at once (default 16); more are answered 429.
        package var maxConcurrentRequestsPerPeer: Int?
        /// MiB of message payload the node parses, verifies, decrypts and validates at once, over
        /// inbound requests and Meddelandekvittens together (default 48, from 8 to 4096): the
        /// bound on its peak memory. A larger message is worked on alone; the rest wait their turn.
        package var processingBudgetMib: Int?
        package var sendTimeoutSeconds: Double?
        package var connectTimeoutSeconds: Double?
    }

    package struct TLS: Codable, Sendable, Equatable {
        package var key: String
        package var certificate: String
        /// Mutual TLS: refuse clients without a certificate from the TLS trust anchors.
        package var requireClientCertificate: Bool
    }

    package struct Trust: Codable, Sendable, Equatable {
        /// Folders of anchors, intermediates and CRLs per certificate role.
        package var as4: String
        package var o2o: String
        package var tls: String
        package var revocationRequired: Bool
        /// Seconds between checks of the folders for changed files (default 30, kept within
        /// 1…3600); SIGHUP reloads at once.
        package var reloadIntervalSeconds: Double?
    }

    package struct ReceptionAwareness: Codable, Sendable, Equatable {
        /// Retries after the first attempt (SDK P-mode: 12).
        package var retries: Int
        /// Seconds between attempts (SDK P-mode: 240).
        package var intervalSeconds: Double
        /// CONSTANT or EXPONENTIAL.
        package var strategy: String

        package static let sdk = ReceptionAwareness(retries: 12, intervalSeconds: 240, strategy: "CONSTANT")

        package init(retries: Int, intervalSeconds: Double, strategy: String) {
            self.retries = retries
            self.intervalSeconds = intervalSeconds
            self.strategy = strategy
        }
    }

    package struct Participant: Codable, Sendable, Equatable {
        /// The organisation's participant id, e.g. `0203:a.example.se`.
        package var id: String
        package var name: String
        package var o2oKey: String
        package var o2oCertificate: String
        package var functions: [Function]
        /// The function that receives messages addressed to a function this participant does not
        /// have (neither here nor in the address book). Unset (the default): such messages are
        /// REJECTED with a BV line naming the unknown function.
        package var catchAllFunction: String?
        /// Earlier O2O identities kept for an overlap after the certificate was replaced: they
        /// only decrypt what senders still encrypted to the old certificate (the current one signs
        /// and decrypts first). Remove an entry once the overlap is over.
        package var o2oPrevious: [Identity]?
    }

    /// A participant the node no longer serves (`kvitto participant retire`).
    package struct RetiredParticipant: Codable, Sendable, Equatable {
        package var id: String
        package var name: String
        /// The O2O key and certificate it had (the files are left where they are).
        package var o2oKey: String
        package var o2oCertificate: String
        /// When it was retired (RFC 3339).
        package var retiredAt: String
    }

    /// A key and its certificate (paths).
    package struct Identity: Codable, Sendable, Equatable {
        package var key: String
        package var certificate: String

        package init(key: String, certificate: String) {
            self.key = key
            self.certificate = certificate
        }
    }

    package struct Function: Codable, Sendable, Equatable {
        package var function: String
        package var name: String

        package init(function: String, name: String) {
            self.function = function
            self.name = name
        }
    }

    /// The static routing table: a participant's access point and certificates.
    package struct Route: Codable, Sendable, Equatable {
        package var participant: String
        package var endpoint: String
        package var as4Certificate: String
        package var o2oCertificate: String

        package init(participant: String, endpoint: String, as4Certificate: String, o2oCertificate: String) {
            self.participant = participant
            self.endpoint = endpoint
            self.as4Certificate = as4Certificate
            self.o2oCertificate = o2oCertificate
        }
    }

    /// Reads `kvitto.json` from `directory`.
    package static func load(directory: String) throws(NodeError) -> NodeConfig {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NodeError(.configMissing, "\(path) does not exist; create a node with `kvitto init \(directory)`")
        }
        let config: NodeConfig
        do { config = try decoder.decode(NodeConfig.self, from: data) } catch {
            throw NodeError(.configInvalid, "\(path): \(Self.describe(error)); see Schemas/node-config.md")
        }
        guard config.format == formatName else {
            throw NodeError(.configInvalid, "\(path): format \"\(config.format)\" is not \(formatName)")
        }
        try config.check(path: path)
        return config
    }

    /// Writes the configuration to `directory/kvitto.json`: whole or not at all (a new file,
    /// synced, renamed over the old one, the folder synced), so that it survives a power loss
    /// before the events that name the change are appended.
    package func save(directory: String) throws(NodeError) {
        let path = directory + "/" + Self.fileName, temporary = path + ".new-\(getpid())"
        let bytes: [UInt8]
        do { bytes = Array(try Self.encoder.encode(self)) } catch {
            throw NodeError(.storage, "writing \(path): \(error)")
        }
        unlink(temporary)
        // The file keeps the mode the operator gave it (0644 for a new one).
        var st = stat()
        let mode: mode_t = stat(path, &st) == 0 ? st.st_mode & 0o777 : 0o644
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw NodeError(.storage, "writing \(path): cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let failed = FileIO.writeAll(fd, bytes)
        let synced = failed == 0 && fsync(fd) == 0
        let cause = failed != 0 ? failed : errno
        close(fd)
        // chmod: the umask narrowed the mode at creation.
        guard synced, chmod(temporary, mode) == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(synced ? errno : cause))
            unlink(temporary)
            throw NodeError(.storage, "writing \(path): \(reason)")
        }
        FileIO.syncDirectory(directory)
    }

    /// `path` resolved against the node directory.
    package static func resolve(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : directory + "/" + path
    }

    /// Refuses a configuration `load` would refuse (`path` names the file in the messages).
    package func validate(path: String) throws(NodeError) { try check(path: path) }

    private func check(path: String) throws(NodeError) {
        if participants.isEmpty { throw NodeError(.configInvalid, "\(path): no participants; a node serves at least one") }
        var seen: Set<String> = []
        for p in participants where !seen.insert(p.id).inserted {
            throw NodeError(.configInvalid, "\(path): participant \(p.id) is listed twice")
        }
        for r in retiredParticipants ?? [] where seen.contains(r.id) {
            throw NodeError(.configInvalid, "\(path): participant \(r.id) is both served and in retired_participants")
        }
        try Self.check(receptionAwareness, in: path)
        for p in participants {
            if let f = p.catchAllFunction, !p.functions.contains(where: { $0.function == f }) {
                throw NodeError(.configInvalid, "\(path): participant \(p.id): catch_all_function \(f) is not one of its functions")
            }
        }
        for (name, value) in [("as4.max_concurrent_requests", as4.maxConcurrentRequests),
                              ("as4.max_concurrent_requests_per_peer", as4.maxConcurrentRequestsPerPeer)] {
            if let value, !(1...10_000).contains(value) {
                throw NodeError(.configInvalid, "\(path): \(name) must be from 1 to 10000")
            }
        }
        for (name, value, range) in [("as4.send_timeout_seconds", as4.sendTimeoutSeconds, 1.0...3600.0),
                                     ("as4.connect_timeout_seconds", as4.connectTimeoutSeconds, 1.0...300.0)] {
            if let value, !range.contains(value) {
                throw NodeError(.configInvalid, "\(path): \(name) must be from \(Int(range.lowerBound)) to \(Int(range.upperBound))")
            }
        }
        if let bytes = as4.maxMessageBytes, !((1 << 20)...(4 << 30)).contains(bytes) {
            throw NodeError(.configInvalid, "\(path): as4.max_message_bytes must be from 1 MiB (1048576) to 4 GiB")
        }
        if !(0...65535).contains(as4.port) { throw NodeError(.configInvalid, "\(path): as4.port \(as4.port) is not a TCP port") }
        if let delay = ledgerCommitDelayMs, !delay.isFinite || !(0...Self.maxLedgerCommitDelayMs).contains(delay) {
            throw NodeError(.configInvalid, "\(path): ledger_commit_delay_ms must be from 0 to \(Int(Self.maxLedgerCommitDelayMs))")
        }
        if let budget = as4.processingBudgetMib, !(8...4096).contains(budget) {
            throw NodeError(.configInvalid, "\(path): as4.processing_budget_mib must be from 8 to 4096")
        }
        // Retired participants keep their rule: their history is read under it.
        if let problem = identity?.problems(participants: participants.map(\.id) + (retiredParticipants ?? []).map(\.id)).first {
            throw NodeError(.configInvalid, "\(path): \(problem)")
        }
        if let api {
            if !(1...65535).contains(api.port) && api.port != 0 { throw NodeError(.configInvalid, "\(path): api.port \(api.port) is not a TCP port") }
            if api.usesTLS && as4.tls == nil {
                throw NodeError(.configInvalid, "\(path): api uses TLS with the node's TLS identity, but as4.tls is absent; add it or set api.tls to false")
            }
            let wildcard: Set<String> = ["0.0.0.0", "::", ""]
            if api.port != 0 && api.port == as4.port && (api.host == as4.host || wildcard.contains(api.host) || wildcard.contains(as4.host)) {
                throw NodeError(.configInvalid, "\(path): api and as4 listen on the same address")
            }
            if api.takesClientCertificates && !api.usesTLS {
                throw NodeError(.configInvalid, "\(path): api.client_certificates needs the API's own TLS (api.tls is false)")
            }
            if let problem = api.webhooks?.problem { throw NodeError(.configInvalid, "\(path): api.webhooks: \(problem)") }
            if let problem = api.console?.problem(in: self) { throw NodeError(.configInvalid, "\(path): api.console: \(problem)") }
        }
        if !(1...65535).contains(as4.port) && as4.port != 0 {
            throw NodeError(.configInvalid, "\(path): as4.port \(as4.port) is not a TCP port")
        }
        if let c = contentEncryption {
            guard ContentEncryption.scopes.contains(c.scope) else {
                throw NodeError(.configInvalid, "\(path): content_encryption.scope must be confidential or all")
            }
            let node = (path as NSString).deletingLastPathComponent
            let keys = URL(fileURLWithPath: Self.resolve(c.keyDirectory, in: node)).standardized.path
            let ledgerDir = URL(fileURLWithPath: Self.resolve(ledger, in: node)).standardized.path
            if keys == ledgerDir || keys.hasPrefix(ledgerDir + "/") {
                throw NodeError(.configInvalid, "\(path): content_encryption.key_directory lies inside the ledger directory; keep the key-encryption keys outside it (e.g. pki/content)")
            }
        }
    }

    /// Refuses a reception-awareness policy outside the bounds (`source` names where it came from).
    package static func check(_ ra: ReceptionAwareness, in source: String) throws(NodeError) {
        if !["CONSTANT", "EXPONENTIAL"].contains(ra.strategy) || !(0...maxRetries).contains(ra.retries)
            || !ra.intervalSeconds.isFinite || !(0.001...maxRetryIntervalSeconds).contains(ra.intervalSeconds) {
            throw NodeError(.configInvalid, "\(source): reception_awareness needs retries from 0 to \(maxRetries), interval_seconds above 0 and at most \(Int(maxRetryIntervalSeconds)) (one day), and strategy CONSTANT or EXPONENTIAL")
        }
    }

    /// Longest ledger commit delay a node may be configured with: beyond it every busy commit
    /// would add more latency than a disk flush saves.
    package static let maxLedgerCommitDelayMs: Double = 100

    /// Most retries a reception-awareness policy may ask for.
    package static let maxRetries = 1_000
    /// Longest interval between retries (EXPONENTIAL delays stop growing at one day as well).
    package static let maxRetryIntervalSeconds: Double = 86_400

    private static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    private static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return e
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let c):
            "missing member \((c.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.dataCorrupted(let c):
            "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default:
            "\(error)"
        }
    }
}
