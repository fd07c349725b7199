import Crypto
package import Foundation
package import Ledger
package import Projections
import Transport
import X509

/// `kvitto route add`: a route to one organisation at any access point — its endpoint, the access
/// point's AS4 certificate, the organisation's O2O certificate, the CA certificates to trust for
/// them, and its functional addresses — as ledger events, while the node runs (it routes by the
/// new table at once) or when it is stopped. Needs the manage right on the node.
///
/// Everything is checked before anything is written; the certificates are stored under names
/// made from their content (never over another file), `kvitto.json` is saved, and one append
/// records the address-book entries and `node.certificate.changed` for `route_as4:` and
/// `route_o2o:` of the participant. A failure before the append removes what was written.
package struct RouteAdministration: Sendable {
    package let access: MessageAccess
    package let directory: String
    /// The running node's routing table and trust reload (nil when the node is stopped).
    package let table: StaticRoutingTable?
    /// Reloads the running node's trust folders; returns a line per folder that did not load.
    package let reloadTrust: (@Sendable () -> [String])?

    package init(access: MessageAccess, directory: String, table: StaticRoutingTable?, reloadTrust: (@Sendable () -> [String])?) {
        self.access = access
        self.directory = directory
        self.table = table
        self.reloadTrust = reloadTrust
    }

    /// A CA certificate (or CRL) to trust for one role (`as4`, `o2o` or `tls`), as bytes.
    package struct Anchor: Sendable, Equatable {
        package var role: String
        package var data: Data

        package init(role: String, data: Data) {
            self.role = role
            self.data = data
        }
    }

    /// The route, with the certificates as bytes (PEM or DER): the CLI reads the files, so the
    /// node's user need not be able to.
    package struct Addition: Sendable, Equatable {
        package var participant: String
        package var name: String
        package var functions: [NodeConfig.Function]
        package var endpoint: String
        package var as4Certificate: Data
        package var o2oCertificate: Data
        package var trust: [Anchor] = []

        package init(participant: String, name: String, functions: [NodeConfig.Function], endpoint: String, as4Certificate: Data,
                     o2oCertificate: Data) {
            self.participant = participant
            self.name = name
            self.functions = functions
            self.endpoint = endpoint
            self.as4Certificate = as4Certificate
            self.o2oCertificate = o2oCertificate
        }
    }

    /// What the addition did.
    package struct Outcome: Sendable {
        package var events: [Event]
        package var notes: [String]
    }

    package func add(_ a: Addition, by principal: Principal) async throws(NodeError) -> Outcome {
        try AddressDirectory.check(participant: a.participant)
        try AddressDirectory.check(name: a.name)
        for f in a.functions {
            try AddressDirectory.check(function: f.function)
            try AddressDirectory.check(name: f.name)
        }
        if Set(a.functions.map(\.function)).count != a.functions.count { throw NodeError(.invalidRequest, "a function is listed twice") }
        let policy = try access.policy(for: principal)
        guard policy.mayManage(.node) else {
            await access.refuse(AccessDenial(reason: .noManageGrant, resource: "route:" + a.participant, action: "route_add"), principal)
            throw NodeError(.forbidden, "adding a route needs the manage right on the node; the refusal was recorded")
        }
        guard let url = URL(string: a.endpoint), ["https", "http"].contains(url.scheme ?? ""), url.host != nil else {
            throw NodeError(.configInvalid, "--endpoint \(a.endpoint) is not an http(s) URL of an AS4 endpoint")
        }
        let as4 = try Self.certificate(a.as4Certificate, "--as4-certificate")
        guard AS4Opener.commonName(as4)?.isEmpty == false else {
            throw NodeError(.configInvalid, "the AS4 certificate has no CN (the access point's party id)")
        }
        let o2o = try Self.certificate(a.o2oCertificate, "--o2o-certificate")
        guard OrganizationBinding.matches(o2o, participant: a.participant) else {
            throw NodeError(.configInvalid, "the O2O certificate is issued to \(OrganizationBinding.describe(o2o)), not to \(a.participant)")
        }
        var anchors: [(role: String, file: NodeSetup.TrustFile)] = []
        for anchor in a.trust {
            guard ["as4", "o2o", "tls"].contains(anchor.role) else { throw NodeError(.invalidRequest, "a trust anchor's role is as4, o2o or tls") }
            anchors.append((anchor.role, try NodeSetup.trustFile(anchor.data, source: "(\(anchor.data.count) bytes)", role: anchor.role)))
        }
        return try await ConfigurationChange.exclusively(directory, checkOwner: table == nil) { () async throws(NodeError) in
            var config = try NodeConfig.load(directory: directory)
            let before = config
            if config.participants.contains(where: { $0.id == a.participant }) {
                throw NodeError(.configInvalid, "\(a.participant) is served by this node; messages to it are delivered inside the node")
            }
            let slug = NodeSetup.slugify(a.participant)
            if let clash = config.routes.first(where: { $0.participant != a.participant && NodeSetup.slugify($0.participant) == slug }) {
                throw NodeError(.configInvalid, "the routes to \(clash.participant) and \(a.participant) would share files named \(slug); their ids differ only in case or punctuation")
            }
            var written: [String] = []
            do throws(NodeError) {
                // The certificate with any intermediates sent with it, under a name from its content.
                func store(_ data: Data, _ certificate: Certificate, _ kind: String) throws(NodeError) -> String {
                    let chain = (try? CertificateFile.parse(Array(data))) ?? [certificate]
                    let pem = chain.map(CertificateFile.pem).joined(separator: "\n")
                    let fingerprint = Hex.encode(SHA256.hash(data: Data(pem.utf8))).prefix(12)
                    let path = "routes/\(slug)-\(fingerprint).\(kind).crt"
                    if FileManager.default.fileExists(atPath: directory + "/" + path) { return path }  // these very certificates
                    do {
                        try FileManager.default.createDirectory(atPath: directory + "/routes", withIntermediateDirectories: true)
                        try NodeSetup.write(pem, directory + "/" + path, secret: false, replacing: false)
                    } catch let e as NodeError { throw e } catch { throw NodeError(.storage, "writing \(path): \(error)") }
                    written.append(directory + "/" + path)
                    return path
                }
                let route = NodeConfig.Route(participant: a.participant, endpoint: a.endpoint,
                                             as4Certificate: try store(a.as4Certificate, as4, "as4"), o2oCertificate: try store(a.o2oCertificate, o2o, "o2o"))
                var newTLSAnchors = false
                var trusted: [(role: String, file: String, sha256: String)] = []
                for (role, file) in anchors {
                    let folder = NodeConfig.resolve(role == "as4" ? config.trust.as4 : role == "o2o" ? config.trust.o2o : config.trust.tls, in: directory)
                    guard !(try Self.holds(folder, file.data)) else { continue }
                    let paths = try NodeSetup.write([file], into: folder, prefix: "route-\(slug)-")
                    written += paths
                    for p in paths { trusted.append((role, (p as NSString).lastPathComponent, Hex.encode(SHA256.hash(data: file.data)))) }
                    if role == "tls" { newTLSAnchors = true }
                }
                let previousRoute = config.routes.first { $0.participant == a.participant }
                config.routes.removeAll { $0.participant == a.participant }
                config.routes.append(route)
                try config.validate(path: directory + "/" + NodeConfig.fileName)
                // Every check `kvitto check` (and so the next start) makes of this route, with the
                // anchors just added: a route that would stop the node from starting is refused.
                let index = config.routes.count - 1
                let errors = await RouteChecks.run(CheckContext(directory: directory, config: config, now: Date()))
                    .filter { $0.severity == .error && ($0.member == "routes[\(index)]" || $0.member.hasPrefix("routes[\(index)].")) }
                if !errors.isEmpty {
                    throw NodeError(.configInvalid, errors.map { "\($0.member): \($0.message) (\($0.code.rawValue))" }.joined(separator: "; "))
                }
                let table = try StaticRoutingTable.load(config, directory: directory)
                let recorded = try CertificateRecord.recorded(ledger: access.ledger, projections: access.projections)
                var drafts: [EventDraft] = []
                if previousRoute != route || !trusted.isEmpty {
                    var p: [String: JSONValue] = [
                        "participant": .string(a.participant), "endpoint": .string(a.endpoint),
                        "change": .string(previousRoute == nil ? "added" : "replaced"),
                        "as4_fingerprint_sha256": .string(Hex.encode(SHA256.hash(data: CertificateFile.der(as4)))),
                        "o2o_fingerprint_sha256": .string(Hex.encode(SHA256.hash(data: CertificateFile.der(o2o)))),
                        "trust_added": .array(trusted.map { ["role": .string($0.role), "file": .string($0.file), "sha256": .string($0.sha256)] }),
                    ]
                    if let previousRoute { p["previous_endpoint"] = .string(previousRoute.endpoint) }
                    drafts.append(EventDraft(type: NodeEventType.routeChanged, subject: "route:" + a.participant, actor: principal.actor, payload: .object(p)))
                }
                drafts += try addressBookDrafts(a, actor: principal.actor)
                drafts += CertificateRecord.drafts(
                    configured: [.init(name: "route_as4:" + a.participant, participant: a.participant, certificate: as4),
                                 .init(name: "route_o2o:" + a.participant, participant: a.participant, certificate: o2o)],
                    recorded: recorded, only: ["route_as4:" + a.participant, "route_o2o:" + a.participant], actor: principal.actor)
                let undo = written
                written = []
                let events = try await ConfigurationChange.commit(config, previous: before, directory: directory, drafts: drafts, to: access.ledger) {
                    for path in undo.reversed() { try? FileManager.default.removeItem(atPath: path) }
                }
                var notes: [String] = []
                // The trust first: a message routed by the new table is checked against its CAs.
                if !trusted.isEmpty, let reloadTrust {
                    for failure in reloadTrust() {
                        notes.append("a trust folder did not reload, so this route's CAs are not in force until it does: \(failure)")
                    }
                }
                self.table?.replace(with: table)
                if newTLSAnchors, self.table != nil, config.as4.tls?.requireClientCertificate == true {
                    notes.append("the new TLS anchors apply to outgoing connections now; for client certificates the AS4 endpoint accepts, at the next start")
                }
                return Outcome(events: events, notes: notes)
            } catch {
                for path in written.reversed() { try? FileManager.default.removeItem(atPath: path) }
                throw error
            }
        }
    }

    private static func certificate(_ data: Data, _ option: String) throws(NodeError) -> Certificate {
        guard let c = (try? CertificateFile.parse(Array(data)))?.first else {
            throw NodeError(.configInvalid, "\(option) is not a certificate (PEM or DER)")
        }
        return c
    }

    /// Whether a file in `folder` holds exactly `data` (then nothing is added).
    private static func holds(_ folder: String, _ data: Data) throws(NodeError) -> Bool {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw NodeError(.configInvalid, "the trust folder \(folder) cannot be listed; see kvitto check")
        }
        return names.contains { FileManager.default.contents(atPath: folder + "/" + $0) == data }
    }

    /// The organisation (added or renamed) and its functional addresses (added or renamed).
    private func addressBookDrafts(_ a: Addition, actor: String) throws(NodeError) -> [EventDraft] {
        ParticipantRecord.bookDrafts(a.participant, name: a.name, functions: a.functions,
                                     book: try ParticipantRecord.currentBook(a.participant, projections: access.projections), actor: actor)
    }
}
