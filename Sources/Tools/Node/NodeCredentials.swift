import Crypto
import Foundation
import Ledger
import Projections
package import Transport
import X509

/// The certificates of a node joining a real federation (`kvitto init --as4-p12 …`): its own
/// identities as PKCS#12 files or PEM bundles from the federation's CA, and the CA certificates
/// to trust per role. No throwaway CA is made and no CA key is on the node. The identities are
/// checked and imported as a PEM key (mode 0600) and certificate chain under `pki/`, at the paths
/// a throwaway set-up uses, so the rest of the node does not care where they came from.
package struct NodeCredentials: Sendable {
    /// The access point's AS4 identity; its certificate's CN is the party id.
    package var as4: String
    /// The TLS identity (needed unless the node is set up without TLS).
    package var tls: String?
    /// Participant id → its O2O identity.
    package var o2o: [String: String] = [:]
    /// The password that opens the PKCS#12 files (nil: none).
    package var password: String?
    /// Certificates (files, or folders of them) to trust per role; all three are needed (TLS too:
    /// the node sends to HTTPS peers even when its own endpoint is plain HTTP behind a proxy).
    package var trustAS4: [String] = []
    package var trustO2O: [String] = []
    package var trustTLS: [String] = []
    /// The party id to use; must be the CN of the AS4 certificate (default: that CN).
    package var partyId: String?

    package init(as4: String) { self.as4 = as4 }

    /// Reads a password file: its first line (what `openssl pkcs12 -passout file:` writes).
    package static func password(file: String) throws(NodeError) -> String {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw NodeError(.configInvalid, "the password file \(file) cannot be read")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first
            .map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) } ?? ""
    }

    /// Imports the identities and trust anchors into `directory`; returns the party id and the
    /// participants' O2O key and certificate paths.
    func install(in directory: String, options: NodeSetup.Options) throws(NodeError) -> (partyId: String, o2o: [String: (key: String, certificate: String)]) {
        func load(_ what: String, _ file: String) throws(NodeError) -> SigningIdentity {
            do { return try SigningIdentity(keyPath: file, certificatePath: nil, password: password) } catch {
                throw NodeError(.keyUnusable, "\(what) (\(file)): \(error.description)")
            }
        }
        let as4Identity = try load("the AS4 identity --as4-p12", as4)
        guard let cn = AS4Opener.commonName(as4Identity.certificate), !cn.isEmpty else {
            throw NodeError(.configInvalid, "the AS4 certificate in \(as4) has no CN; the party id is the CN of the AS4 certificate")
        }
        if let partyId, partyId != cn {
            throw NodeError(.configInvalid, "--party-id \(partyId) is not the CN of the AS4 certificate (\(cn)); peers identify the access point by that CN")
        }
        let unknown = Set(o2o.keys).subtracting(options.participants.map(\.id))
        if let stray = unknown.sorted().first {
            throw NodeError(.configInvalid, "--o2o-p12 \(stray)=…: \(stray) is not one of the --participant organisations")
        }
        var identities: [(base: String, identity: SigningIdentity)] = [("pki/as4", as4Identity)]
        if !options.tls, tls != nil {
            throw NodeError(.configInvalid, "--tls-p12 and --no-tls contradict each other: give one")
        }
        if options.tls {
            guard let tls else { throw NodeError(.configInvalid, "HTTPS needs the TLS identity: give --tls-p12 FILE (or --no-tls behind a TLS proxy)") }
            identities.append(("pki/tls", try load("the TLS identity --tls-p12", tls)))
        }
        var paths: [String: (key: String, certificate: String)] = [:]
        for p in options.participants {
            guard let file = o2o[p.id] else {
                throw NodeError(.configInvalid, "participant \(p.id) needs its O2O identity: give --o2o-p12 \(p.id)=FILE")
            }
            let identity = try load("the O2O identity of \(p.id)", file)
            guard OrganizationBinding.matches(identity.certificate, participant: p.id) else {
                throw NodeError(.configInvalid, "the O2O certificate in \(file) is issued to \(OrganizationBinding.describe(identity.certificate)), "
                                    + "not to \(p.id); give that organisation's own O2O certificate")
            }
            let base = "pki/o2o-\(NodeSetup.slugify(p.id))"
            if let clash = paths.first(where: { $0.value.key == base + ".key" }) {
                throw NodeError(.configInvalid, "participants \(clash.key) and \(p.id) would share the key file \(base).key; their ids differ only in punctuation")
            }
            identities.append((base, identity))
            paths[p.id] = (base + ".key", base + ".crt")
        }
        // TLS anchors even without a TLS endpoint: the node still sends to peers over HTTPS.
        let roles: [(String, [String])] = [("as4", trustAS4), ("o2o", trustO2O), ("tls", trustTLS)]
        var trust: [(role: String, files: [NodeSetup.TrustFile])] = []
        for (role, sources) in roles {
            guard !sources.isEmpty else {
                throw NodeError(.configInvalid, "no \(role.uppercased()) trust anchors: give --trust-\(role) with the federation's CA certificate(s) for that role")
            }
            trust.append((role, try NodeSetup.trustFiles(sources, role: role)))
        }
        // Everything is checked; now written (and removed again if a write fails).
        var written: [String] = []
        do {
            for (base, identity) in identities {
                try NodeSetup.write(identity.privateKey.pemRepresentation, directory + "/" + base + ".key", secret: true)
                written.append(directory + "/" + base + ".key")
                try NodeSetup.write(([identity.certificate] + identity.chain).map(CertificateFile.pem).joined(separator: "\n"),
                                    directory + "/" + base + ".crt")
                written.append(directory + "/" + base + ".crt")
            }
            for (role, files) in trust { written += try NodeSetup.write(files, into: directory + "/trust/" + role, prefix: "") }
        } catch {
            for w in written { try? FileManager.default.removeItem(atPath: w) }
            if let e = error as? NodeError { throw e }
            throw NodeError(.storage, "writing the identities: \(error)")
        }
        return (cn, paths)
    }
}

extension NodeSetup {
    /// A trust file checked and ready to copy: named by its content (so two sources never
    /// overwrite each other, and the name has an extension the trust folder's loader reads).
    struct TrustFile {
        var name: String
        var data: Data
    }

    /// Reads and checks trust sources (certificate or CRL files, or folders of them): each file
    /// must parse as certificates (PEM or DER) or as one CRL; a file holding a private key, an
    /// empty or unreadable folder and an unreadable file are refused (keys of a CA never belong on
    /// a node; nothing is skipped silently). Nothing is written.
    static func trustFiles(_ sources: [String], role: String) throws(NodeError) -> [TrustFile] {
        let fm = FileManager.default
        var files: [String] = []
        for source in sources {
            var isFolder: ObjCBool = false
            guard fm.fileExists(atPath: source, isDirectory: &isFolder) else {
                throw NodeError(.configInvalid, "--trust-\(role) \(source) does not exist")
            }
            if isFolder.boolValue {
                let names: [String]
                do { names = try fm.contentsOfDirectory(atPath: source).filter { !$0.hasPrefix(".") }.sorted() } catch {
                    throw NodeError(.configInvalid, "--trust-\(role) \(source) cannot be listed")
                }
                guard !names.isEmpty else { throw NodeError(.configInvalid, "--trust-\(role) \(source) is an empty folder") }
                files += names.map { source + "/" + $0 }
            } else {
                files.append(source)
            }
        }
        var out: [TrustFile] = []
        for file in files {
            guard let data = fm.contents(atPath: file) else { throw NodeError(.configInvalid, "--trust-\(role) \(file) cannot be read") }
            let text = String(decoding: data, as: UTF8.self)
            if text.contains("PRIVATE KEY-----") {
                throw NodeError(.configInvalid, "--trust-\(role) \(file) holds a private key; give the CA's certificate only")
            }
            let digest = SHA256.hash(data: data).prefix(8).map { String(format: "%02x", $0) }.joined()
            if (try? CertificateFile.parse(Array(data)))?.isEmpty == false, !text.contains("-----BEGIN X509 CRL-----") {
                out.append(TrustFile(name: digest + ".crt", data: data))
            } else if (try? CertificateRevocationList(bytes: Array(data))) != nil {
                out.append(TrustFile(name: digest + ".crl", data: data))
            } else {
                throw NodeError(.configInvalid, "--trust-\(role) \(file) is neither certificates (PEM or DER) nor one CRL; give each in a file of its own")
            }
        }
        return out
    }

    /// Writes checked trust files into `folder`, each name prefixed; returns the paths written.
    static func write(_ files: [TrustFile], into folder: String, prefix: String) throws(NodeError) -> [String] {
        var written: [String] = []
        for f in files {
            let path = folder + "/" + prefix + f.name
            if FileManager.default.fileExists(atPath: path) { continue }  // the same bytes are there already
            guard FileManager.default.createFile(atPath: path, contents: f.data, attributes: [.posixPermissions: 0o644]) else {
                for w in written { try? FileManager.default.removeItem(atPath: w) }
                throw NodeError(.storage, "cannot write \(path)")
            }
            written.append(path)
        }
        return written
    }
}

/// A route to any access point (`kvitto route add --participant …`): the organisation, its
/// functional addresses, the access point's endpoint and AS4 certificate, the organisation's O2O
/// certificate, and the CA certificates to trust for them.
package struct RouteSpec: Sendable {
    package var participant: String
    package var name: String
    package var functions: [(function: String, name: String)]
    package var endpoint: String
    package var as4Certificate: String
    package var o2oCertificate: String
    package var trustAS4: [String] = []
    package var trustO2O: [String] = []
    package var trustTLS: [String] = []

    package init(participant: String, name: String, functions: [(function: String, name: String)], endpoint: String,
                 as4Certificate: String, o2oCertificate: String) {
        self.participant = participant
        self.name = name
        self.functions = functions
        self.endpoint = endpoint
        self.as4Certificate = as4Certificate
        self.o2oCertificate = o2oCertificate
    }
}

extension NodeSetup {
    /// Adds (or replaces) the route to one organisation at any access point: checks the endpoint
    /// and certificates (the O2O certificate must be that organisation's), copies them under
    /// `routes/`, trusts the given CAs, and adds the organisation and its functional addresses to
    /// the address book. The node must not be running (the ledger takes one writer).
    package static func addRoute(directory: String, _ route: RouteSpec) async throws(NodeError) {
        var config = try NodeConfig.load(directory: directory)
        guard let url = URL(string: route.endpoint), ["https", "http"].contains(url.scheme ?? ""), url.host != nil else {
            throw NodeError(.configInvalid, "--endpoint \(route.endpoint) is not an http(s) URL of an AS4 endpoint")
        }
        if config.participants.contains(where: { $0.id == route.participant }) {
            throw NodeError(.configInvalid, "\(route.participant) is served by this node; messages to it are delivered inside the node")
        }
        func certificate(_ option: String, _ path: String) throws(NodeError) -> (Certificate, Data) {
            guard let data = FileManager.default.contents(atPath: path) else { throw NodeError(.configInvalid, "\(option) \(path) cannot be read") }
            do {
                guard let c = try CertificateFile.parse(Array(data)).first else { throw NodeError(.configInvalid, "no certificate") }
                return (c, data)
            } catch { throw NodeError(.configInvalid, "\(option) \(path) is not a certificate (PEM or DER)") }
        }
        let (as4, as4Data) = try certificate("--as4-certificate", route.as4Certificate)
        guard AS4Opener.commonName(as4)?.isEmpty == false else {
            throw NodeError(.configInvalid, "the AS4 certificate \(route.as4Certificate) has no CN (the access point's party id)")
        }
        let (o2o, o2oData) = try certificate("--o2o-certificate", route.o2oCertificate)
        guard OrganizationBinding.matches(o2o, participant: route.participant) else {
            throw NodeError(.configInvalid, "the O2O certificate \(route.o2oCertificate) is issued to \(OrganizationBinding.describe(o2o)), not to \(route.participant)")
        }
        let slug = slugify(route.participant)
        let (as4Path, o2oPath) = ("routes/\(slug).as4.crt", "routes/\(slug).o2o.crt")
        if let clash = config.routes.first(where: { $0.participant != route.participant && ($0.as4Certificate == as4Path || $0.o2oCertificate == o2oPath) }) {
            throw NodeError(.configInvalid, "the routes to \(clash.participant) and \(route.participant) would share \(as4Path); their ids differ only in punctuation")
        }
        var trust: [(folder: String, files: [TrustFile])] = []
        for (role, sources, folder) in [("as4", route.trustAS4, config.trust.as4), ("o2o", route.trustO2O, config.trust.o2o),
                                        ("tls", route.trustTLS, config.trust.tls)] where !sources.isEmpty {
            trust.append((NodeConfig.resolve(folder, in: directory), try trustFiles(sources, role: role)))
        }
        // The ledger first: it takes one writer, so a running node refuses before any file changes.
        let ledger: Ledger
        do { ledger = try Ledger.open(at: NodeConfig.resolve(config.ledger, in: directory)) } catch {
            throw NodeError(error.code == .locked ? .running : .storage,
                            error.code == .locked ? "the node is running; stop it to add a route (\(error))" : "opening the ledger: \(error)")
        }
        defer { ledger.close() }
        var drafts: [EventDraft] = []
        do {
            let book = try Projector(ledger: ledger).snapshot().addressBook
            if book.organization(route.participant) == nil {
                drafts += addressBookDrafts(participant: route.participant, name: route.name, functions: route.functions, actor: OSUser.current())
            } else {
                let known = book.organizations[route.participant]?.functions.keys.map { $0 } ?? []
                drafts += route.functions.filter { !known.contains($0.function) }.map {
                    AddressBook.draft(NodeEventType.functionAdded, participant: route.participant, function: $0.function, name: $0.name, actor: OSUser.current())
                }
            }
        } catch { throw NodeError(.storage, "reading the address book: \(error)") }
        // Certificates staged beside their final names, then renamed once the rest is done.
        let staged = [(as4Data, directory + "/" + as4Path), (o2oData, directory + "/" + o2oPath)]
        var trusted: [String] = []
        do {
            for (data, path) in staged { try data.write(to: URL(fileURLWithPath: path + ".new")) }
            for t in trust { trusted += try write(t.files, into: t.folder, prefix: "route-\(slug)-") }
            config.routes.removeAll { $0.participant == route.participant }
            config.routes.append(.init(participant: route.participant, endpoint: route.endpoint, as4Certificate: as4Path, o2oCertificate: o2oPath))
            for (_, path) in staged {
                guard rename(path + ".new", path) == 0 else { throw NodeError(.storage, "cannot put \(path) in place: \(String(cString: strerror(errno)))") }
            }
            try config.save(directory: directory)
            if !drafts.isEmpty { _ = try await ledger.append(drafts) }
        } catch {
            for (_, path) in staged { try? FileManager.default.removeItem(atPath: path + ".new") }
            for t in trusted { try? FileManager.default.removeItem(atPath: t) }
            if let e = error as? NodeError { throw e }
            throw NodeError(.storage, "adding the route to \(route.participant): \(error)")
        }
    }
}
