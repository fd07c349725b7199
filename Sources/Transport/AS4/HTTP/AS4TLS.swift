package import NIOSSL
package import X509
import _CryptoExtras

/// TLS settings for the AS4 endpoint and client. The SDK federation uses mutual TLS with SITHS
/// function certificates; one-way TLS (server authentication only) can be configured.
package struct AS4TLS: Sendable {
    /// Our TLS certificate and key.
    package var identity: SigningIdentity
    /// Anchors for the peer's TLS certificate (client certificates on the server side, the server
    /// certificate on the client side).
    package var trustAnchors: [Certificate]
    /// Server side: require and verify a client certificate.
    package var requireClientCertificate: Bool
    /// Server side, when a certificate is not required: ask for one and verify it when the client
    /// presents it (a client without one still connects).
    package var requestClientCertificate = false

    package init(identity: SigningIdentity, trustAnchors: [Certificate], requireClientCertificate: Bool = true) {
        self.identity = identity
        self.trustAnchors = trustAnchors
        self.requireClientCertificate = requireClientCertificate
    }

    private func chain() throws -> [NIOSSLCertificateSource] {
        try ([identity.certificate] + identity.chain).map {
            .certificate(try NIOSSLCertificate(bytes: CertificateFile.der($0), format: .der))
        }
    }

    private func key() throws -> NIOSSLPrivateKeySource {
        .privateKey(try NIOSSLPrivateKey(bytes: Array(identity.privateKey.derRepresentation), format: .der))
    }

    private func roots() throws -> NIOSSLTrustRoots {
        .certificates(try trustAnchors.map { try NIOSSLCertificate(bytes: CertificateFile.der($0), format: .der) })
    }

    /// TLS 1.2/1.3 server configuration.
    package func serverConfiguration() throws -> TLSConfiguration {
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: try chain(), privateKey: try key())
        c.minimumTLSVersion = .tlsv12
        if requireClientCertificate {
            c.certificateVerification = .noHostnameVerification
            c.trustRoots = try roots()
        } else if requestClientCertificate {
            c.certificateVerification = .optionalVerification
            c.trustRoots = try roots()
            // Clients holding several certificates (smart cards, OS stores) pick one these CAs issued.
            c.sendCANameList = true
        }
        return c
    }

    /// TLS 1.2/1.3 client configuration (server name and chain verified; our certificate offered).
    package func clientConfiguration() throws -> TLSConfiguration {
        var c = TLSConfiguration.makeClientConfiguration()
        c.minimumTLSVersion = .tlsv12
        c.certificateVerification = .fullVerification
        c.trustRoots = try roots()
        c.certificateChain = try chain()
        c.privateKey = try key()
        return c
    }
}
