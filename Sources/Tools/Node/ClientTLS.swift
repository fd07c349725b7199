import NIOSSL
import Synchronization
import Transport
import X509

/// The TLS settings the node sends with: our TLS identity and the anchors of the TLS trust folder
/// in force now. Made again when the anchors change (the folder reloaded, a route to a peer under
/// a new CA added), so outgoing connections follow the trust folder without a restart.
final class ClientTLS: Sendable {
    let identity: SigningIdentity
    let store: TrustStore
    private let made = Mutex<(anchors: [Certificate], configuration: TLSConfiguration)?>(nil)

    init(identity: SigningIdentity, store: TrustStore) {
        self.identity = identity
        self.store = store
    }

    /// The settings for the anchors in force now.
    func configuration() throws -> TLSConfiguration {
        let anchors = store.current.anchors
        if let cached = made.withLock({ $0 }), cached.anchors == anchors { return cached.configuration }
        let configuration = try AS4TLS(identity: identity, trustAnchors: anchors).clientConfiguration()
        made.withLock { $0 = (anchors, configuration) }
        return configuration
    }
}
