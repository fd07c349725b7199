package import _CryptoExtras
package import X509
package import Foundation
import SwiftASN1

/// A throwaway certificate authority for demos and tests: a self-signed RSA root that issues
/// leaf certificates (AS4, O2O, TLS). Real deployments use their federation's certificates and
/// trust anchors instead.
package struct ThrowawayPKI: Sendable {
    package let rootKey: _RSA.Signing.PrivateKey
    package let root: Certificate

    /// A new root named `commonName`, valid from `notBefore` for `years`.
    package init(commonName: String, notBefore: Date = Date().addingTimeInterval(-3600), years: Int = 10) throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let name = try DistinguishedName { CommonName(commonName); OrganizationName("Kvitto throwaway PKI") }
        root = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: notBefore, notValidAfter: notBefore.addingTimeInterval(Double(years) * 365 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 1))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        rootKey = key
    }

    /// A PKI from an existing root and its key (e.g. read back from a node directory).
    package init(rootKey: _RSA.Signing.PrivateKey, root: Certificate) {
        self.rootKey = rootKey
        self.root = root
    }

    /// Issues a leaf certificate for `commonName` (e.g. the AS4 party id or the organisation).
    package func issue(commonName: String, organization: String? = nil, notBefore: Date = Date().addingTimeInterval(-3600),
                       days: Int = 825, keyUsage: KeyUsage = KeyUsage(digitalSignature: true, keyEncipherment: true),
                       dnsNames: [String] = [], ipAddresses: [[UInt8]] = []) throws -> SigningIdentity {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let subject = try DistinguishedName {
            CommonName(commonName)
            if let organization { OrganizationName(organization) }
        }
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: notBefore, notValidAfter: notBefore.addingTimeInterval(Double(days) * 86_400),
            issuer: root.subject, subject: subject, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(keyUsage)
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                if !dnsNames.isEmpty || !ipAddresses.isEmpty {
                    SubjectAlternativeNames(dnsNames.map { GeneralName.dnsName($0) }
                        + ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) })
                }
                AuthorityKeyIdentifier(keyIdentifier: try root.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: Certificate.PrivateKey(rootKey))
        return try SigningIdentity(privateKey: key, certificate: cert)
    }

    /// An issuing CA under this one (as SITHS issues through an intermediate): a PKI whose
    /// ``root`` is the intermediate's certificate, signed by this PKI's root.
    package func intermediate(commonName: String, days: Int = 365) throws -> ThrowawayPKI {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let name = try DistinguishedName { CommonName(commonName); OrganizationName("Kvitto throwaway PKI") }
        let notBefore = Date().addingTimeInterval(-3600)
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: notBefore, notValidAfter: notBefore.addingTimeInterval(Double(days) * 86_400),
            issuer: root.subject, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
                AuthorityKeyIdentifier(keyIdentifier: try root.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: Certificate.PrivateKey(rootKey))
        return ThrowawayPKI(rootKey: key, root: cert)
    }

    /// Trust anchors of this PKI for `role`.
    package func trust(_ role: CertificateTrust.Role) -> CertificateTrust {
        CertificateTrust(role: role, anchors: [root])
    }
}
