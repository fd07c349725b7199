package import Transport
import X509

/// The node's certificates and keys, and the trust anchors per role, loaded from the paths in
/// its configuration.
package struct NodeKeys: Sendable {
    /// Our access point's AS4 identity (signs AS4 messages and receipts, decrypts payloads).
    package let as4: SigningIdentity
    /// Our TLS identity (server and client certificate), when TLS is on.
    package let tls: SigningIdentity?
    /// The participants and their O2O identities, replaced while the node runs when a participant
    /// is added, updated or retired.
    package let participants: ParticipantRoster
    /// Each participant's organisation (O2O) identity now: signs XHEs, decrypts payloads.
    package var o2o: [String: SigningIdentity] { participants.current.o2o }
    /// Each participant's earlier O2O identities now (`o2o_previous`), which only decrypt during an
    /// overlap after a certificate was replaced.
    package var o2oPrevious: [String: [SigningIdentity]] { participants.current.o2oPrevious }

    /// Our earlier AS4 identities (`as4.previous`), which only decrypt during an overlap after the
    /// AS4 certificate was replaced.
    package var as4Previous: [SigningIdentity] = []

    /// The identities that may decrypt what was encrypted to `participant`: the current one
    /// first, then the earlier ones still in their overlap.
    package func o2oDecryption(_ participant: String) -> [SigningIdentity] {
        let members = participants.current
        return (members.o2o[participant].map { [$0] } ?? []) + (members.o2oPrevious[participant] ?? [])
    }
    /// The trust of each role, loaded from its folder and reloaded while the node runs.
    package let as4TrustStore: TrustStore
    package let o2oTrustStore: TrustStore
    package let tlsTrustStore: TrustStore

    /// The AS4 trust in force now: read it at each evaluation, never keep it.
    package var as4Trust: CertificateTrust { as4TrustStore.current }
    /// The O2O trust in force now: read it at each evaluation, never keep it.
    package var o2oTrust: CertificateTrust { o2oTrustStore.current }
    /// The TLS trust in force now. Outgoing connections follow it (``ClientTLS``); the HTTPS
    /// server takes its anchors (for client certificates) once, when it is set up, so for
    /// incoming mutual TLS a changed TLS folder takes effect at the next start.
    package var tlsTrust: CertificateTrust { tlsTrustStore.current }
    /// The three stores (AS4, O2O, TLS).
    package var trustStores: [TrustStore] { [as4TrustStore, o2oTrustStore, tlsTrustStore] }

    package static func load(_ config: NodeConfig, directory: String) throws(NodeError) -> NodeKeys {
        func path(_ p: String) -> String { NodeConfig.resolve(p, in: directory) }
        func identity(_ what: String, key: String, certificate: String) throws(NodeError) -> SigningIdentity {
            do { return try SigningIdentity(keyPath: path(key), certificatePath: path(certificate)) } catch {
                throw NodeError(.keyUnusable, "\(what): \(error) (key \(path(key)), certificate \(path(certificate)))")
            }
        }
        func trust(_ role: CertificateTrust.Role, _ dir: String) throws(NodeError) -> TrustStore {
            do { return try TrustStore(role: role, directory: path(dir), revocationRequired: config.trust.revocationRequired) } catch {
                throw NodeError(.configInvalid, error.description)
            }
        }
        let as4 = try identity("the AS4 identity", key: config.as4.key, certificate: config.as4.certificate)
        var tls: SigningIdentity?
        if let t = config.as4.tls { tls = try identity("the TLS identity", key: t.key, certificate: t.certificate) }
        let participants = ParticipantRoster(try ParticipantRoster.load(config, directory: directory))
        var keys = NodeKeys(as4: as4, tls: tls, participants: participants, as4TrustStore: try trust(.as4, config.trust.as4),
                            o2oTrustStore: try trust(.o2o, config.trust.o2o), tlsTrustStore: try trust(.tls, config.trust.tls))
        for (i, old) in (config.as4.previous ?? []).enumerated() {
            keys.as4Previous.append(try identity("the previous AS4 identity \(i)", key: old.key, certificate: old.certificate))
        }
        return keys
    }
}
