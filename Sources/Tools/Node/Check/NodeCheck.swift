package import Foundation
import Ledger
import Transport
import X509

/// `kvitto check`: the node's configuration checked before it starts — every path, each key with
/// its certificate, each certificate's chain to the right trust folder (key usage included), expiry
/// (an error once expired, a warning within ``warningDays``), the AS4 party id against the AS4
/// certificate, O2O certificates against their organisations, trust anchors whose private key lies
/// on the node, CRL currency, routes, listening ports and the key-encryption keys of content at rest. `kvitto serve` runs the same checks and
/// refuses to start on an error. Each finding names the configuration member it concerns.
package struct NodeCheck {
    package let directory: String
    package var now: Date
    /// A certificate or CRL that expires within this many days is a warning.
    package static let warningDays = 30

    package init(node directory: String, now: Date = Date()) {
        self.directory = directory
        self.now = now
    }

    package func run() async -> [ConfigFinding] {
        let config: NodeConfig
        do { config = try NodeConfig.load(directory: directory) } catch {
            return [ConfigFinding(.error, .configInvalid, NodeConfig.fileName, error.message)]
        }
        let context = CheckContext(directory: directory, config: config, now: now)
        var findings = TrustChecks.run(context)
        findings += await IdentityChecks.run(context)
        findings += await RouteChecks.run(context)
        findings += ListenerChecks.run(context)
        findings += ContentKeyChecks.run(context)
        if let schemas = config.schemas, !FileManager.default.fileExists(atPath: context.path(schemas)) {
            findings.append(ConfigFinding(.error, .missingFile, "schemas", "\(context.path(schemas)) does not exist; remove the member to use the built-in SDK schemas"))
        }
        return findings
    }
}

/// What every check reads: the configuration, the trust store of each role (or why its folder does not
/// load, which ``TrustChecks`` reports), and the time of the check.
struct CheckContext {
    let directory: String
    let config: NodeConfig
    let now: Date
    /// Each role's folder, loaded once: its store, or why it does not load.
    let stores: [CertificateTrust.Role: Result<TrustStore, TrustStore.LoadError>]

    init(directory: String, config: NodeConfig, now: Date) {
        self.directory = directory
        self.config = config
        self.now = now
        var stores: [CertificateTrust.Role: Result<TrustStore, TrustStore.LoadError>] = [:]
        for (role, folder) in [(CertificateTrust.Role.as4, config.trust.as4), (.o2o, config.trust.o2o), (.tls, config.trust.tls)] {
            stores[role] = Result { () throws(TrustStore.LoadError) in
                try TrustStore(role: role, directory: NodeConfig.resolve(folder, in: directory), revocationRequired: config.trust.revocationRequired)
            }
        }
        self.stores = stores
    }

    func path(_ p: String) -> String { NodeConfig.resolve(p, in: directory) }

    /// The certificates in the file a member names, or a finding saying why there are none.
    func certificates(_ member: String, _ file: String) -> Result<[Certificate], ConfigFinding> {
        guard FileManager.default.fileExists(atPath: path(file)) else {
            return .failure(ConfigFinding(.error, .missingFile, member, "\(path(file)) does not exist; put the certificate there or correct the path"))
        }
        do {
            let certs = try CertificateFile.read(path: path(file))
            guard !certs.isEmpty else { return .failure(ConfigFinding(.error, .certificateUnusable, member, "\(path(file)) holds no certificate")) }
            return .success(certs)
        } catch {
            return .failure(ConfigFinding(.error, .certificateUnusable, member, "\(path(file)) is not a PEM or DER certificate: \(error)"))
        }
    }

    /// Expired or not yet valid: `severity` (an error by default); expiring within
    /// ``NodeCheck/warningDays``: a warning; else nothing.
    func expiry(_ certificate: Certificate, _ member: String, _ what: String, severity: ConfigFinding.Severity = .error) -> ConfigFinding? {
        let end = certificate.notValidAfter
        if end < now {
            return ConfigFinding(severity, .certificateExpired, member, "\(what) expired on \(Self.day(end)); replace it")
        }
        if certificate.notValidBefore > now {
            return ConfigFinding(severity, .certificateNotYetValid, member,
                                 "\(what) is not valid before \(Self.day(certificate.notValidBefore)); check the clock, or use it from then on")
        }
        if end < now.addingTimeInterval(Double(NodeCheck.warningDays) * 86_400) {
            let days = Int((end.timeIntervalSince(now) / 86_400).rounded(.up))
            return ConfigFinding(.warning, .certificateExpiring, member, "\(what) expires on \(Self.day(end)), in \(days) days; renew it now")
        }
        return nil
    }

    /// The chain of `leaf` (with `extra`) to the trust of `role` — validity, signing key usage
    /// and revocation as the node checks them when it uses the certificate — or `severity` naming
    /// why not; nil when it holds.
    func chain(_ leaf: Certificate, extra: [Certificate], role: CertificateTrust.Role, _ member: String, _ what: String,
               severity: ConfigFinding.Severity = .error) async -> ConfigFinding? {
        guard let trust = try? stores[role]?.get().current else { return nil }  // the folder's own finding says why
        do { try await trust.evaluate(leaf, extra: extra, at: now) } catch {
            let folder = role == .as4 ? "trust.as4" : role == .o2o ? "trust.o2o" : "trust.tls"
            return ConfigFinding(severity, .untrustedCertificate, member,
                                 "\(what) is not accepted under \(folder) (\(error)); put its CA (and intermediates) in that folder, or use a certificate that folder's CA issued with the right key usage")
        }
        return nil
    }

    static func day(_ date: Date) -> String { String(Timestamp(nanoseconds: Int64(date.timeIntervalSince1970 * 1e9)).rfc3339.prefix(10)) }
}
