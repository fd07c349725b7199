import Crypto
import _CryptoExtras
import Foundation
import Transport
import X509

/// The trust folders: each loads and holds at least one anchor; anchors not expired; no anchor
/// whose private key lies in the node directory (whoever reads the node's disk could then issue
/// certificates the node trusts — an error, a warning for `kvitto init`'s throwaway PKI); CRLs
/// current when revocation is required.
enum TrustChecks {
    /// Folders of the node directory that hold no configuration (data, sockets, queued requests).
    static let dataFolders: Set<String> = ["ledger", "projections", "webhooks", "run", "submissions"]

    static func run(_ c: CheckContext) -> [ConfigFinding] {
        var out: [ConfigFinding] = []
        let ledger = (try? NodeBackup.ledgerFolder(c.config, node: c.directory)) ?? c.config.ledger
        let nodeKeys = privateKeys(in: c.directory, except: dataFolders.union([ledger]))
        for (role, member, folder) in [(CertificateTrust.Role.as4, "trust.as4", c.config.trust.as4), (.o2o, "trust.o2o", c.config.trust.o2o),
                                       (.tls, "trust.tls", c.config.trust.tls)] {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: c.path(folder), isDirectory: &isDirectory), isDirectory.boolValue else {
                out.append(ConfigFinding(.error, .missingFile, member,
                    "\(c.path(folder)) is not a folder; create it and put the \(role.rawValue) trust anchors (CA certificates) in it"))
                continue
            }
            let store: TrustStore
            switch c.stores[role] {
            case .success(let loaded)?: store = loaded
            case .failure(let error)?:
                out.append(ConfigFinding(.error, .trustFolderInvalid, member, "\(c.path(folder)) does not load: \(error); remove or replace the file"))
                continue
            case nil: continue
            }
            let trust = store.current
            if trust.anchors.isEmpty {
                out.append(ConfigFinding(.error, .trustFolderInvalid, member,
                    "\(c.path(folder)) holds no self-signed CA certificate: nothing of the \(role.rawValue) role can be trusted"))
            }
            for anchor in trust.anchors + trust.intermediates {
                let name = OrganizationBinding.describe(anchor)
                // A CA kept after a change of CA is harmless: nothing chains through it. A
                // certificate of ours that did is reported by its own check.
                if let f = c.expiry(anchor, member, "the CA certificate \(name)", severity: .warning) { out.append(f) }
                if let keyFile = nodeKeys[anchor.publicKey] {
                    let throwaway = c.config.throwawayPki ?? false
                    out.append(ConfigFinding(throwaway ? .warning : .error, .caKeyOnNode, member,
                        "the private key of the trusted CA \(name) is on this node (\(keyFile)): whoever can read it can issue certificates the node trusts"
                        + (throwaway ? " (kvitto init's throwaway PKI: for demos and tests only)"
                           : "; move it off the node (a demo node made by `kvitto init` before this check: set \"throwaway_pki\": true in kvitto.json)")))
                }
            }
            // The CRL each issuer is checked against (its newest), as the node checks them.
            if let due = store.summary.earliestNextUpdate {
                if due < c.now {
                    out.append(ConfigFinding(c.config.trust.revocationRequired ? .error : .warning, .revocationListDue, member,
                        "the newest CRL of an issuer in \(c.path(folder)) was due on \(CheckContext.day(due)): fetch the current one from its CA"
                        + (c.config.trust.revocationRequired ? " (trust.revocation_required: certificates it covers are refused)" : "")))
                } else if due < c.now.addingTimeInterval(86_400) {
                    // CRLs are reissued days before their nextUpdate: only a due date within a day is worth a line.
                    out.append(ConfigFinding(.warning, .revocationListDue, member,
                        "the newest CRL of an issuer in \(c.path(folder)) is due on \(CheckContext.day(due)), within a day: have the next one ready"))
                }
            }
        }
        return out
    }

    /// Private keys (PEM; RSA or P-256) in small files below `directory`, by their public key.
    static func privateKeys(in directory: String, except skipped: Set<String>) -> [Certificate.PublicKey: String] {
        var out: [Certificate.PublicKey: String] = [:]
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: directory) else { return out }
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if skipped.contains(relative) || name.hasPrefix(".") { walker.skipDescendants(); continue }
            let full = directory + "/" + relative
            guard let attributes = try? fm.attributesOfItem(atPath: full), attributes[.type] as? FileAttributeType == .typeRegular,
                  let size = attributes[.size] as? NSNumber, size.intValue <= 64 << 10,
                  let text = try? String(contentsOfFile: full, encoding: .utf8), text.contains("PRIVATE KEY-----") else { continue }
            if let k = try? _RSA.Signing.PrivateKey(pemRepresentation: text) {
                out[Certificate.PublicKey(k.publicKey)] = relative
            } else if let k = try? P256.Signing.PrivateKey(pemRepresentation: text) {
                out[Certificate.PublicKey(k.publicKey)] = relative
            }
        }
        return out
    }
}
