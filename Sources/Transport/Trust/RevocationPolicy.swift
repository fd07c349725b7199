import SwiftASN1
import Foundation
import X509

/// Revocation checking for a validated chain: every certificate below the anchor must be covered
/// by a current CRL its issuer signed, and must not be on it. Of several CRLs from one issuer the
/// current one issued last decides (``CertificateRevocationList/newestCurrent(_:at:)``). With
/// `required` false a missing CRL is accepted; a listed certificate, a stale CRL or a lookup that
/// fails never is.
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
            guard let current = CertificateRevocationList.newestCurrent(candidates, at: time) else {
                return .failsToMeetPolicy(reason: "the CRL of \(issuer.subject) is not current")
            }
            do {
                if try current.lists(certificate) {
                    return .failsToMeetPolicy(reason: "\(certificate.subject) is revoked")
                }
            } catch {
                return .failsToMeetPolicy(reason: "\(certificate.subject): \(error.description)")
            }
        }
        return .meetsPolicy
    }
}
