import Crypto
package import Foundation
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
    package struct TrustFile: Sendable, Equatable {
        package var name: String
        package var data: Data
    }

    /// Reads and checks trust sources (certificate or CRL files, or folders of them): each file
    /// must parse as certificates (PEM or DER) or as one CRL; a file holding a private key, an
    /// empty or unreadable folder and an unreadable file are refused (keys of a CA never belong on
    /// a node; nothing is skipped silently). Nothing is written.
    package static func trustFiles(_ sources: [String], role: String) throws(NodeError) -> [TrustFile] {
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
            out.append(try trustFile(data, source: file, role: role))
        }
        return out
    }

    /// Checks one trust file's bytes (`source` names it in the refusal): certificates (PEM or
    /// DER) or one CRL, never a private key; named by its content.
    package static func trustFile(_ data: Data, source: String, role: String) throws(NodeError) -> TrustFile {
        let text = String(decoding: data, as: UTF8.self)
        if text.contains("PRIVATE KEY-----") {
            throw NodeError(.configInvalid, "--trust-\(role) \(source) holds a private key; give the CA's certificate only")
        }
        let digest = SHA256.hash(data: data).prefix(8).map { String(format: "%02x", $0) }.joined()
        if (try? CertificateFile.parse(Array(data)))?.isEmpty == false, !text.contains("-----BEGIN X509 CRL-----") {
            return TrustFile(name: digest + ".crt", data: data)
        } else if (try? CertificateRevocationList(bytes: Array(data))) != nil {
            return TrustFile(name: digest + ".crl", data: data)
        }
        throw NodeError(.configInvalid, "--trust-\(role) \(source) is neither certificates (PEM or DER) nor one CRL; give each in a file of its own")
    }

    /// Writes checked trust files into `folder`, each name prefixed; returns the paths written.
    static func write(_ files: [TrustFile], into folder: String, prefix: String) throws(NodeError) -> [String] {
        var written: [String] = []
        for f in files {
            let path = folder + "/" + prefix + f.name
            if FileManager.default.fileExists(atPath: path) { continue }  // the same bytes are there already
            // A new file (never over another, no link followed), synced with its folder.
            let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o644)
            let failed = fd < 0 ? errno : FileIO.writeAll(fd, Array(f.data))
            let synced = fd >= 0 && failed == 0 && fsync(fd) == 0
            if fd >= 0 { close(fd) }
            guard synced else {
                if fd >= 0 { unlink(path) }
                for w in written { try? FileManager.default.removeItem(atPath: w) }
                throw NodeError(.storage, "cannot write \(path): \(String(cString: strerror(failed != 0 ? failed : errno)))")
            }
            written.append(path)
        }
        if !written.isEmpty { FileIO.syncDirectory(folder) }
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

extension RouteSpec {
    /// The route as ``RouteAdministration`` takes it: the certificate files and trust sources read
    /// (and the trust sources checked) by this process.
    package func addition() throws(NodeError) -> RouteAdministration.Addition {
        func read(_ option: String, _ path: String) throws(NodeError) -> Data {
            guard let data = FileManager.default.contents(atPath: path) else { throw NodeError(.configInvalid, "\(option) \(path) cannot be read") }
            return data
        }
        var a = RouteAdministration.Addition(participant: participant, name: name,
                                             functions: functions.map { NodeConfig.Function(function: $0.function, name: $0.name) },
                                             endpoint: endpoint, as4Certificate: try read("--as4-certificate", as4Certificate),
                                             o2oCertificate: try read("--o2o-certificate", o2oCertificate))
        for (role, sources) in [("as4", trustAS4), ("o2o", trustO2O), ("tls", trustTLS)] where !sources.isEmpty {
            a.trust += try NodeSetup.trustFiles(sources, role: role).map { .init(role: role, data: $0.data) }
        }
        return a
    }

    /// One route per participant of the Kvitto node in `peer` (its endpoint, AS4 and O2O
    /// certificates, functional addresses), each trusting that node's CA certificates.
    package static func peer(_ peer: String) throws(NodeError) -> [RouteAdministration.Addition] {
        let other = try NodeConfig.load(directory: peer)
        let scheme = other.as4.tls == nil ? "http" : "https"
        let endpoint = "\(scheme)://\(other.as4.host):\(other.as4.port)\(other.as4.path)"
        func read(_ path: String) throws(NodeError) -> Data {
            let full = NodeConfig.resolve(path, in: peer)
            guard let data = FileManager.default.contents(atPath: full) else { throw NodeError(.configInvalid, "\(full) cannot be read") }
            return data
        }
        var trust: [RouteAdministration.Anchor] = []
        for (role, folder) in [("as4", other.trust.as4), ("o2o", other.trust.o2o), ("tls", other.trust.tls)] {
            // Its certificates and CRLs (what its own trust store loads); anything else there is not trust.
            let dir = NodeConfig.resolve(folder, in: peer)
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() where !name.hasPrefix(".") {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: dir + "/" + name, isDirectory: &isFolder), !isFolder.boolValue,
                      let data = FileManager.default.contents(atPath: dir + "/" + name),
                      let file = try? NodeSetup.trustFile(data, source: dir + "/" + name, role: role) else { continue }
                trust.append(.init(role: role, data: file.data))
            }
        }
        let as4 = try read(other.as4.certificate)
        var out: [RouteAdministration.Addition] = []
        for p in other.participants {
            var a = RouteAdministration.Addition(participant: p.id, name: p.name, functions: p.functions, endpoint: endpoint, as4Certificate: as4,
                                                 o2oCertificate: try read(p.o2oCertificate))
            a.trust = trust
            out.append(a)
        }
        return out
    }
}
