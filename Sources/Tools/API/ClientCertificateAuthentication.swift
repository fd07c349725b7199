import Foundation
package import Identity
import Ledger
import NIOCore
import NIOSSL
package import Projections
import Synchronization
package import Transport
import X509

/// Case systems that authenticate by mutual TLS on the API (`api.client_certificates`): a request
/// without a bearer token whose connection presented a client certificate is the caller
/// `cert:<SHA-256 of the certificate's DER>`, once the certificate chains to the node's TLS trust
/// (`trust.tls`: anchors, intermediates, CRLs) now. The name authorises nothing by itself: only
/// grants made to it do.
///
/// The TLS handshake already refuses a certificate that does not chain to the TLS anchors the
/// listener started with; this check adds what the handshake cannot know — the trust folder as
/// reloaded since (a new CRL, a removed anchor) and the time of the request. A verdict is kept
/// for at most 60 seconds, never past the certificate's notAfter and never across a reload of the
/// folder, past the earliest nextUpdate of its CRLs or past the certificate's notAfter; any
/// error in the check refuses. An event stream opened with a certificate ends after
/// ``streamLifetime`` (or at notAfter), so the client reconnects and is checked again.
package struct ClientCertificateAuthentication: Sendable {
    package let trust: TrustStore
    var now: @Sendable () -> Date = { Date() }
    private let verdicts = Verdicts()

    /// How long a verdict is reused within one generation of the trust folder.
    static let verdictLifetime: TimeInterval = 60
    /// The longest an event stream opened with a certificate runs before the client must reconnect
    /// (and its certificate is checked again).
    static let streamLifetime: TimeInterval = 300
    /// Verdicts kept at most (all are dropped when it is reached).
    static let maxVerdicts = 4096

    package init(trust: TrustStore) {
        self.trust = trust
    }

    /// The caller the connection's client certificate names; nil when it presented none.
    func principal(of channel: any Channel, interface: Principal.Interface) async throws(AuthenticationError) -> Principal? {
        let presented: NIOSSLCertificate?
        do { presented = try await channel.nioSSL_peerCertificate().get() } catch {
            throw AuthenticationError(.certificateRefused, "the connection's TLS state cannot be read: \(error)")
        }
        guard let presented else { return nil }
        let der: [UInt8]
        do { der = try presented.toDERBytes() } catch {
            throw AuthenticationError(.certificateRefused, "the client certificate cannot be encoded: \(error)")
        }
        return try await principal(certificateDER: der, interface: interface)
    }

    /// The caller `der` names, after the trust check (or a verdict still valid).
    package func principal(certificateDER der: [UInt8], interface: Principal.Interface) async throws(AuthenticationError) -> Principal {
        let hash = Digest32.sha256(der).hex
        let (current, generation) = trust.currentWithGeneration
        let time = now()
        let expiry: Date
        if let kept = verdicts.lookup(hash, generation: generation, at: time) {
            expiry = try kept.get()
        } else {
            let verdict: Result<Date, AuthenticationError>
            do {
                let certificate = try Certificate(derEncoded: der)
                do throws(XMLSecurityError) {
                    try await current.evaluate(certificate, at: time)
                    verdict = .success(certificate.notValidAfter)
                } catch {
                    verdict = .failure(AuthenticationError(.certificateRefused, "\(certificate.subject): \(error)"))
                }
            } catch {
                verdict = .failure(AuthenticationError(.certificateRefused, "the client certificate does not parse: \(error)"))
            }
            verdicts.keep(hash, verdict, generation: generation, at: time, crlsDue: trust.earliestNextUpdate)
            expiry = try verdict.get()
        }
        guard let name = PrincipalName("cert:" + hash) else {
            throw AuthenticationError(.certificateRefused, "no principal name for certificate \(hash)")
        }
        var principal = Principal(name: name, assurance: .strong, interface: interface)
        principal.credentialExpiry = min(expiry, time.addingTimeInterval(Self.streamLifetime)).timeIntervalSince1970
        return principal
    }

    /// Verdicts by certificate hash, each for one generation of the trust folder.
    private final class Verdicts: Sendable {
        private struct Kept {
            var verdict: Result<Date, AuthenticationError>
            var generation: UInt64
            var until: Date
        }
        private let kept = Mutex<[String: Kept]>([:])

        func lookup(_ hash: String, generation: UInt64, at time: Date) -> Result<Date, AuthenticationError>? {
            kept.withLock { k in
                guard let v = k[hash], v.generation == generation, time < v.until else { return nil }
                return v.verdict
            }
        }

        func keep(_ hash: String, _ verdict: Result<Date, AuthenticationError>, generation: UInt64, at time: Date, crlsDue: Date?) {
            var until = time.addingTimeInterval(ClientCertificateAuthentication.verdictLifetime)
            if let crlsDue { until = min(until, crlsDue) }
            if case .success(let notAfter) = verdict { until = min(until, notAfter) }
            kept.withLock { k in
                if k.count >= ClientCertificateAuthentication.maxVerdicts { k.removeAll() }
                k[hash] = Kept(verdict: verdict, generation: generation, until: until)
            }
        }
    }
}
