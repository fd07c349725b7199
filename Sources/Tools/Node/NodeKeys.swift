package import Transport
import X509

/// The node's certificates and keys, and the trust anchors per role, loaded from the paths in
/// its configuration.
package struct NodeKeys: Sendable {
    /// Our access point's AS4 identity (signs AS4 messages and receipts, decrypts payloads).
    package let as4: SigningIdentity
    /// Our TLS identity (server and client certificate), when TLS is on.
    package let tls: SigningIdentity?
    /// Each participant's organisation (O2O) identity: signs XHEs, decrypts payloads.
    package let o2o: [String: SigningIdentity]
    package let as4Trust: CertificateTrust
    package let o2oTrust: CertificateTrust
    package let tlsTrust: CertificateTrust

    package static func load(_ config: NodeConfig, directory: String) throws(NodeError) -> NodeKeys {
        func path(_ p: String) -> String { NodeConfig.resolve(p, in: directory) }
        func identity(_ what: String, key: String, certificate: String) throws(NodeError) -> SigningIdentity {
            do { return try SigningIdentity(keyPath: path(key), certificatePath: path(certificate)) } catch {
                throw NodeError(.keyUnusable, "\(what): \(error) (key \(path(key)), certificate \(path(certificate)))")
            }
        }
        func trust(_ role: CertificateTrust.Role, _ dir: String) throws(NodeError) -> CertificateTrust {
            do {
                let t = try CertificateTrust.load(role: role, directory: path(dir), revocationRequired: config.trust.revocationRequired)
                guard !t.anchors.isEmpty else {
                    throw NodeError(.configInvalid, "the \(role.rawValue) trust folder \(path(dir)) holds no self-signed anchor certificate")
                }
                return t
            } catch let e as NodeError { throw e } catch {
                throw NodeError(.configInvalid, "the \(role.rawValue) trust folder \(path(dir)): \(error)")
            }
        }
        let as4 = try identity("the AS4 identity", key: config.as4.key, certificate: config.as4.certificate)
        var tls: SigningIdentity?
        if let t = config.as4.tls { tls = try identity("the TLS identity", key: t.key, certificate: t.certificate) }
        var o2o: [String: SigningIdentity] = [:]
        for p in config.participants {
            o2o[p.id] = try identity("the O2O identity of \(p.id)", key: p.o2oKey, certificate: p.o2oCertificate)
        }
        return NodeKeys(as4: as4, tls: tls, o2o: o2o, as4Trust: try trust(.as4, config.trust.as4),
                        o2oTrust: try trust(.o2o, config.trust.o2o), tlsTrust: try trust(.tls, config.trust.tls))
    }
}
