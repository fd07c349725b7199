package import Foundation
@_spi(FixedExpiryValidationTime) package import X509
import SwiftASN1

/// Trust anchors and intermediates for one certificate role (AS4, O2O, TLS), and the check that
/// a certificate chains to them, is valid at a given time and may be used for the purpose.
package struct CertificateTrust: Sendable {
    /// The certificate roles of the SDK federation.
    package enum Role: String, Sendable {
        /// Access point signing/encryption (its CN is the AS4 PartyId).
        case as4
        /// Organisation to organisation: XHE signature and payload encryption.
        case o2o
        /// Mutual TLS.
        case tls
    }

    package let role: Role
    package let anchors: [Certificate]
    package let intermediates: [Certificate]
    /// CRLs to check the chain against (files configured by the operator, refreshed by them).
    package var revocationLists: [CertificateRevocationList]
    /// When true, every certificate below the anchor needs a current CRL from its issuer.
    package var revocationRequired: Bool

    package init(role: Role, anchors: [Certificate], intermediates: [Certificate] = [],
                 revocationLists: [CertificateRevocationList] = [], revocationRequired: Bool = false) {
        self.role = role
        self.anchors = anchors
        self.intermediates = intermediates
        self.revocationLists = revocationLists
        self.revocationRequired = revocationRequired
    }

    /// Loads every certificate (PEM or DER, `.cer`/`.crt`/`.pem`) in `directory`; self-signed ones
    /// become anchors, the others intermediates. `.crl` files become revocation lists.
    package static func load(role: Role, directory: String, revocationRequired: Bool = false) throws -> CertificateTrust {
        var anchors: [Certificate] = []
        var intermediates: [Certificate] = []
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        let crls = try files.filter { $0.lowercased().hasSuffix(".crl") }.map { try CertificateRevocationList(path: directory + "/" + $0) }
        for name in files where [".cer", ".crt", ".pem"].contains(where: { name.lowercased().hasSuffix($0) }) {
            for cert in try CertificateFile.read(path: directory + "/" + name) {
                if cert.subject == cert.issuer { anchors.append(cert) } else { intermediates.append(cert) }
            }
        }
        return CertificateTrust(role: role, anchors: anchors, intermediates: intermediates, revocationLists: crls,
                                revocationRequired: revocationRequired)
    }

    /// Checks `leaf` (with any `extra` certificates the sender included) at `time`. Throws
    /// ``XMLSecurityError/untrusted(_:)`` naming what failed.
    package func evaluate(_ leaf: Certificate, extra: [Certificate] = [], at time: Date) async throws(XMLSecurityError) {
        guard !anchors.isEmpty else { throw .untrusted("no trust anchors are configured for the \(role.rawValue) role") }
        let crls = revocationLists, required = revocationRequired
        var verifier = Verifier(rootCertificates: CertificateStore(anchors)) {
            RFC5280Policy(fixedExpiryValidationTime: time)
            SigningKeyUsagePolicy()
            RevocationPolicy(crls: crls, required: required, time: time)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates + extra))
        switch result {
        case .validCertificate:
            return
        case .couldNotValidate(let failures):
            let reasons = failures.map { String(describing: $0.policyFailureReason) }
            throw .untrusted(reasons.isEmpty
                ? "no chain from \(leaf.subject) to a \(role.rawValue) trust anchor"
                : Array(Set(reasons)).sorted().joined(separator: "; "))
        }
    }
}
