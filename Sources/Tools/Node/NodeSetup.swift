import Identity
#if canImport(Glibc)
import Glibc
#endif
import Foundation
package import Ledger
package import Projections
package import Transport
import X509
import _CryptoExtras

/// Creating a node directory (`kvitto init`), connecting it to another node's access point
/// (`kvitto route add`) and editing the address book (`kvitto addressbook add`).
package enum NodeSetup {
    package struct ParticipantSpec: Sendable {
        package var id: String
        package var name: String
        /// Function → display name.
        package var functions: [(function: String, name: String)]

        package init(id: String, name: String, functions: [(function: String, name: String)]) {
            self.id = id
            self.name = name
            self.functions = functions
        }
    }

    package struct Options: Sendable {
        package var name: String
        package var participants: [ParticipantSpec]
        package var host = "127.0.0.1"
        package var port = 8443
        package var tls = true
        package var mutualTLS = true
        /// A folder holding `ca.crt` and `ca.key` (or a node directory, whose `pki/` is used) to
        /// issue this node's throwaway certificates from; default: a new CA of its own.
        package var ca: String?
        package var receptionAwareness = NodeConfig.ReceptionAwareness.sdk
        /// Who administers the node (granted `manage` on the node scope in the ledger's first
        /// events); default: the OS user running `kvitto init`.
        package var administrator: PrincipalName = OSUser.principalName()
        /// Enable the development issuer (`kvitto token`): demos and tests only.
        package var developmentIssuer = false
        /// Port of the HTTP API (default: the AS4 port + 1; 0 picks a free one at start).
        package var apiPort: Int?
        /// Real certificates (a federation's CA): no throwaway PKI is made (see ``NodeCredentials``).
        package var credentials: NodeCredentials?
        /// Which content is encrypted at rest (`confidential` or `all`; nil: none). A new
        /// key-encryption key per participant is written to `pki/content/`.
        package var contentEncryption: String? = "confidential"

        package init(name: String, participants: [ParticipantSpec]) {
            self.name = name
            self.participants = participants
        }
    }

    /// Creates a node in `directory`: configuration, ledger (with the participants' address-book
    /// entries), and either a throwaway PKI — AS4, TLS and per-participant O2O certificates and the
    /// trust folders, marked `throwaway_pki` — or, with ``Options/credentials``, the real
    /// identities and trust anchors a federation's CA issued (no CA key on the node).
    package static func initialize(directory: String, options: Options) async throws(NodeError) -> NodeConfig {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory + "/" + NodeConfig.fileName) {
            throw NodeError(.exists, "\(directory) already holds a node (\(NodeConfig.fileName)); choose another directory")
        }
        guard !options.participants.isEmpty else { throw NodeError(.configInvalid, "a node needs at least one participant (--participant)") }
        try NodeConfig.check(options.receptionAwareness, in: "--retries/--retry-interval")
        // Keys are never written among files that were there before.
        if let existing = try? fm.contentsOfDirectory(atPath: directory + "/pki"), !existing.isEmpty {
            throw NodeError(.exists, "\(directory)/pki already holds files; init writes the node's keys there: choose an empty directory")
        }
        // What this call creates, removed again if it fails (a half-made node is no node).
        let created = [directory] + ["pki", "trust", "routes", "ledger"].map { directory + "/" + $0 }
        let fresh = created.filter { !fm.fileExists(atPath: $0) }
        do {
            for sub in ["pki", "trust/as4", "trust/o2o", "trust/tls", "routes"] {
                try fm.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
            }
            // The private keys' folder: the node's user only.
            guard chmod(directory + "/pki", 0o700) == 0 else { throw NodeError(.storage, "cannot restrict \(directory)/pki to its owner (mode 0700)") }
            let partyId: String
            var participants: [NodeConfig.Participant] = []
            if let credentials = options.credentials {
                guard options.ca == nil else { throw NodeError(.configInvalid, "--ca issues throwaway certificates; it cannot be combined with real ones (--as4-p12)") }
                let (id, o2o) = try credentials.install(in: directory, options: options)
                partyId = id
                for p in options.participants {
                    guard let paths = o2o[p.id] else { throw NodeError(.configInvalid, "participant \(p.id) has no O2O identity") }
                    participants.append(.init(id: p.id, name: p.name, o2oKey: paths.key, o2oCertificate: paths.certificate,
                                              functions: p.functions.map { .init(function: $0.function, name: $0.name) }))
                }
            } else {
                let pki: ThrowawayPKI
                if let ca = options.ca {
                    pki = try loadCA(ca)
                } else {
                    pki = try ThrowawayPKI(commonName: "Kvitto throwaway CA (\(options.name))")
                    try write(CertificateFile.pem(pki.root), directory + "/pki/ca.crt")
                    try write(pki.rootKey.pemRepresentation, directory + "/pki/ca.key", secret: true)
                }
                for role in ["as4", "o2o", "tls"] {
                    try write(CertificateFile.pem(pki.root), directory + "/trust/\(role)/ca.crt")
                }
                let slug = slugify(options.name)
                partyId = "kvitto-ap-" + slug
                let as4 = try pki.issue(commonName: partyId, organization: options.name)
                try write(identity: as4, directory + "/pki/as4")
                var ips: [[UInt8]] = [[127, 0, 0, 1]]
                let octets = options.host.split(separator: ".").compactMap { UInt8($0) }
                if octets.count == 4, options.host != "127.0.0.1" { ips.append(octets) }
                let tls = try pki.issue(commonName: "localhost", organization: options.name, dnsNames: ["localhost"], ipAddresses: ips)
                try write(identity: tls, directory + "/pki/tls")
                for p in options.participants {
                    let s = slugify(p.id)
                    try write(identity: try pki.issue(commonName: p.id, organization: p.name), directory + "/pki/o2o-\(s)")
                    participants.append(.init(id: p.id, name: p.name, o2oKey: "pki/o2o-\(s).key", o2oCertificate: "pki/o2o-\(s).crt",
                                              functions: p.functions.map { .init(function: $0.function, name: $0.name) }))
                }
            }
            var encryption: NodeConfig.ContentEncryption?
            if let scope = options.contentEncryption {
                guard NodeConfig.ContentEncryption.scopes.contains(scope) else {
                    throw NodeError(.configInvalid, "--content-encryption is confidential, all or none")
                }
                encryption = .init(scope: scope, keyDirectory: "pki/content")
                try writeKeyEncryptionKeys(participants.map(\.id), in: directory + "/pki/content")
            }
            var config = NodeConfig(
                format: NodeConfig.formatName, name: options.name, ledger: "ledger",
                as4: .init(host: options.host, port: options.port, path: "/as4", partyId: partyId, key: "pki/as4.key",
                           certificate: "pki/as4.crt",
                           tls: options.tls ? .init(key: "pki/tls.key", certificate: "pki/tls.crt", requireClientCertificate: options.mutualTLS) : nil,
                           maxMessageBytes: nil, maxConcurrentRequests: nil, maxConcurrentRequestsPerPeer: nil, processingBudgetMib: nil,
                           sendTimeoutSeconds: nil, connectTimeoutSeconds: nil),
                trust: .init(as4: "trust/as4", o2o: "trust/o2o", tls: "trust/tls", revocationRequired: false),
                receptionAwareness: options.receptionAwareness, participants: participants, routes: [],
                schemas: nil,
                identity: options.developmentIssuer ? IdentityConfig(developmentIssuer: DevelopmentIssuerConfig(enabled: true)) : nil,
                api: .init(host: options.host, port: options.apiPort ?? (options.port == 0 ? 0 : options.port + 1), tls: options.tls),
                throwawayPki: options.credentials == nil)
            config.contentEncryption = encryption
            var ledgerOptions = LedgerOptions()
            ledgerOptions.create = true
            let ledger = try Ledger.open(at: directory + "/ledger", options: ledgerOptions)
            defer { ledger.close() }
            let administrator = Grant.draft(Grant.Request(grantee: options.administrator, scope: .node, rights: [.manage],
                                                          reason: "created the node (kvitto init)"), actor: OSUser.current())
            // Each participant on record as served from the start (as `kvitto participant add` records it).
            var served: [EventDraft] = []
            for p in participants {
                guard let certificate = try CertificateFile.read(path: directory + "/" + p.o2oCertificate).first else {
                    throw NodeError(.keyUnusable, "\(p.o2oCertificate) holds no certificate")
                }
                served.append(ParticipantRecord(p, o2o: certificate).draft(previous: nil, reason: "created the node (kvitto init)", source: .command,
                                                                           actor: OSUser.current()))
                if let encryption {
                    let key = try ContentKeyRecord.keyID(ContentVault.keyFile(participant: p.id, in: directory + "/pki/content"))
                    served.append(ContentKeyRecord.draft(participant: p.id, keyID: key, scope: encryption.scope, turnedOn: true, replacesLostKey: false,
                                                         command: .initialise, actor: OSUser.current()))
                }
            }
            _ = try await ledger.append([administrator] + served + options.participants.flatMap {
                addressBookDrafts(participant: $0.id, name: $0.name, functions: $0.functions, actor: "node")
            })
            try config.save(directory: directory)
            return config
        } catch {
            for path in fresh.reversed() { try? fm.removeItem(atPath: path) }
            if let e = error as? NodeError { throw e }
            throw NodeError(.storage, "creating the node in \(directory): \(error)")
        }
    }

    /// Adds routes to every participant of the node in `peer` (its endpoint, AS4 and O2O
    /// certificates), trusts its CA, and adds its organisations and functional addresses to our
    /// address book. The node must not be running (the ledger takes one writer).
    package static func addPeer(directory: String, peer: String) async throws(NodeError) {
        var config = try NodeConfig.load(directory: directory)
        let other = try NodeConfig.load(directory: peer)
        do {
            let scheme = other.as4.tls == nil ? "http" : "https"
            let endpoint = "\(scheme)://\(other.as4.host):\(other.as4.port)\(other.as4.path)"
            let as4Cert = try Data(contentsOf: URL(fileURLWithPath: NodeConfig.resolve(other.as4.certificate, in: peer)))
            var drafts: [EventDraft] = []
            for p in other.participants {
                let s = slugify(p.id)
                try as4Cert.write(to: URL(fileURLWithPath: directory + "/routes/\(s).as4.crt"))
                try Data(contentsOf: URL(fileURLWithPath: NodeConfig.resolve(p.o2oCertificate, in: peer)))
                    .write(to: URL(fileURLWithPath: directory + "/routes/\(s).o2o.crt"))
                config.routes.removeAll { $0.participant == p.id }
                config.routes.append(.init(participant: p.id, endpoint: endpoint, as4Certificate: "routes/\(s).as4.crt",
                                           o2oCertificate: "routes/\(s).o2o.crt"))
                drafts += addressBookDrafts(participant: p.id, name: p.name, functions: p.functions.map { ($0.function, $0.name) },
                                            actor: "node")
            }
            // Trust the peer's anchors for each role (a throwaway PKI of its own, or the same one).
            for (role, theirs) in [("as4", other.trust.as4), ("o2o", other.trust.o2o), ("tls", other.trust.tls)] {
                let source = NodeConfig.resolve(theirs, in: peer)
                let mine = NodeConfig.resolve(role == "as4" ? config.trust.as4 : role == "o2o" ? config.trust.o2o : config.trust.tls, in: directory)
                let existing = Set(try FileManager.default.contentsOfDirectory(atPath: mine).compactMap {
                    FileManager.default.contents(atPath: mine + "/" + $0)
                })
                for name in try FileManager.default.contentsOfDirectory(atPath: source) {
                    guard let bytes = FileManager.default.contents(atPath: source + "/" + name), !existing.contains(bytes) else { continue }
                    try bytes.write(to: URL(fileURLWithPath: mine + "/peer-\(slugify(other.name))-\(name)"))
                }
            }
            let ledger = try Ledger.open(at: NodeConfig.resolve(config.ledger, in: directory))
            defer { ledger.close() }
            _ = try await ledger.append(drafts)
            try config.save(directory: directory)
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.storage, "adding the routes of \(peer) to \(directory): \(error)")
        }
    }

    /// The `addressbook.organization.added` and `addressbook.function.added` events for one organisation.
    package static func addressBookDrafts(participant: String, name: String, functions: [(function: String, name: String)],
                                          actor: String) -> [EventDraft] {
        [AddressBook.draft(NodeEventType.organizationAdded, participant: participant, name: name, actor: actor)]
            + functions.map {
                AddressBook.draft(NodeEventType.functionAdded, participant: participant, function: $0.function, name: $0.name, actor: actor)
            }
    }

    package static func loadCA(_ path: String) throws -> ThrowawayPKI {
        let dir = FileManager.default.fileExists(atPath: path + "/pki/ca.key") ? path + "/pki" : path
        guard let keyPEM = try? String(contentsOfFile: dir + "/ca.key", encoding: .utf8),
              let cert = try CertificateFile.read(path: dir + "/ca.crt").first else {
            throw NodeError(.configInvalid, "\(path) holds no ca.crt and ca.key (nor pki/ca.crt and pki/ca.key)")
        }
        return ThrowawayPKI(rootKey: try _RSA.Signing.PrivateKey(pemRepresentation: keyPEM), root: cert)
    }

    package static func write(identity: SigningIdentity, _ base: String) throws {
        try write(identity.privateKey.pemRepresentation, base + ".key", secret: true)
        try write(CertificateFile.pem(identity.certificate), base + ".crt")
    }

    /// Writes a file. A `secret` one (a private key) is written with mode 0600 from its first byte
    /// (never world-readable, not even for a moment) to a new temporary file beside it — no
    /// symbolic link followed — synced, and renamed into place.
    static func write(_ text: String, _ path: String, secret: Bool = false, replacing: Bool = true) throws {
        if !secret, !replacing {
            // A new file only (O_EXCL: nothing there, not even a link), readable by all.
            let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw NodeError(.storage, "cannot create \(path): \(String(cString: strerror(errno)))") }
            let failed = FileIO.writeAll(fd, Array(text.utf8))
            let synced = failed == 0 && fsync(fd) == 0
            let cause = failed != 0 ? failed : errno
            close(fd)
            guard synced else {
                unlink(path)
                throw NodeError(.storage, "cannot write \(path): \(String(cString: strerror(cause)))")
            }
            FileIO.syncDirectory((path as NSString).deletingLastPathComponent)
            return
        }
        guard secret else {
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]) else {
                throw NodeError(.storage, "cannot write \(path)")
            }
            return
        }
        let temporary = path + ".new-\(getpid())"
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw NodeError(.storage, "cannot create the key file \(temporary): \(String(cString: strerror(errno)))") }
        let failed = FileIO.writeAll(fd, Array(text.utf8))
        let synced = failed == 0 && fsync(fd) == 0
        let cause = failed != 0 ? failed : errno
        close(fd)
        // Without `replacing`, link() puts it in place only where nothing is (not even a dangling
        // symbolic link): a file made meanwhile by someone else is never overwritten.
        guard synced, replacing ? rename(temporary, path) == 0 : link(temporary, path) == 0 else {
            let reason = String(cString: strerror(synced ? errno : cause))
            unlink(temporary)
            throw NodeError(.storage, "cannot write the key file \(path): \(reason)")
        }
        if !replacing { unlink(temporary) }
        FileIO.syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Writes a new key-encryption key for each participant that has none (`<slug>.kek`, mode
    /// 0600, in a folder of mode 0700); an existing key is never replaced (content sealed under
    /// it would be lost).
    package static func writeKeyEncryptionKeys(_ participants: [String], in folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard chmod(folder, 0o700) == 0 else { throw NodeError(.storage, "cannot restrict \(folder) to its owner (mode 0700)") }
        for p in participants {
            let path = ContentVault.keyFile(participant: p, in: folder)
            var st = stat()
            guard lstat(path, &st) != 0 else { continue }  // something is there (a key, or a link to be looked at): never replaced
            try write(KeyEncryptionKey.generate().fileText, path, secret: true, replacing: false)
        }
    }

    /// `0203:a.example.se` → `0203-a-example-se`.
    package static func slugify(_ s: String) -> String {
        String(s.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }
}
