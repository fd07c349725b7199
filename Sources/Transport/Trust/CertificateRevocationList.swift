import COpenSSL
import SwiftASN1
package import Foundation
package import X509

/// An X.509 certificate revocation list (RFC 5280), parsed and checked with OpenSSL's libcrypto:
/// whether a given CA issued and signed it, whether it is current, and whether a serial number
/// is on it.
package final class CertificateRevocationList: @unchecked Sendable {
    // @unchecked: the X509_CRL is created in init, only read afterwards (OpenSSL's read
    // functions used here do not mutate it), and freed in deinit.
    private let crl: OpaquePointer

    /// Parses a DER or PEM CRL.
    package init(bytes: [UInt8]) throws(XMLSecurityError) {
        var der = bytes
        if let text = String(bytes: bytes, encoding: .utf8), text.contains("-----BEGIN X509 CRL-----") {
            let body = text.components(separatedBy: "-----BEGIN X509 CRL-----")[1].components(separatedBy: "-----END X509 CRL-----")[0]
            guard let decoded = Base64.decode(body) else { throw .certificateUnusable("the CRL PEM is not base64") }
            der = decoded
        }
        guard let parsed = der.withUnsafeBufferPointer({ kvitto_crl_from_der($0.baseAddress, $0.count) }) else {
            throw .certificateUnusable("not an X.509 CRL")
        }
        crl = parsed
    }

    deinit { X509_CRL_free(crl) }

    /// Loads a CRL file (DER or PEM).
    package convenience init(path: String) throws {
        try self.init(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// Whether `issuer` issued this CRL and its signature verifies with the issuer's key.
    package func isIssued(by issuer: Certificate) -> Bool {
        let der = CertificateFile.der(issuer)
        guard let x509 = der.withUnsafeBufferPointer({ kvitto_x509_from_der($0.baseAddress, $0.count) }) else { return false }
        defer { X509_free(x509) }
        return kvitto_crl_issued_by(crl, x509) == 1
    }

    /// -1 not yet valid, 0 current, 1 past its nextUpdate.
    package func currency(at time: Date) -> Int {
        Int(kvitto_crl_currency(crl, time_t(time.timeIntervalSince1970)))
    }

    /// Whether `certificate`'s serial number is listed.
    package func lists(_ certificate: Certificate) -> Bool {
        let serial = Array(certificate.serialNumber.bytes)
        return serial.withUnsafeBufferPointer { kvitto_crl_contains(crl, $0.baseAddress, Int32($0.count)) } == 1
    }
}

/// Revocation checking for a validated chain: every certificate below the anchor must be covered
/// by a current CRL its issuer signed, and must not be on it. With `required` false a missing CRL
/// is accepted (a listed or stale CRL never is).
struct RevocationPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []
    let crls: [CertificateRevocationList]
    let required: Bool
    let time: Date

    mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        let certificates = Array(chain)
        for (i, certificate) in certificates.enumerated() where i + 1 < certificates.count {
            let issuer = certificates[i + 1]
            let candidates = crls.filter { $0.isIssued(by: issuer) }
            guard !candidates.isEmpty else {
                if required {
                    return .failsToMeetPolicy(reason: "no CRL signed by \(issuer.subject) is available to check \(certificate.subject)")
                }
                continue
            }
            guard let current = candidates.first(where: { $0.currency(at: time) == 0 }) else {
                return .failsToMeetPolicy(reason: "the CRL of \(issuer.subject) is not current")
            }
            if current.lists(certificate) {
                return .failsToMeetPolicy(reason: "\(certificate.subject) is revoked")
            }
        }
        return .meetsPolicy
    }
}
