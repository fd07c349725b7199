import SwiftASN1
import X509

/// A leaf used to sign must allow it: when the key usage extension is present it must include
/// digitalSignature or nonRepudiation. An extension that is present but does not parse is
/// refused, never read as absent.
struct SigningKeyUsagePolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []

    mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        let usage: KeyUsage?
        do { usage = try chain.leaf.extensions.keyUsage } catch {
            return .failsToMeetPolicy(reason: "the certificate's keyUsage extension is malformed: \(error)")
        }
        guard let usage else { return .meetsPolicy }
        if usage.digitalSignature || usage.nonRepudiation { return .meetsPolicy }
        return .failsToMeetPolicy(reason: "the certificate's keyUsage allows neither digitalSignature nor nonRepudiation")
    }
}
