package import X509
import SwiftASN1

/// Whether an O2O certificate belongs to the organisation an XHE names as its sender: a valid
/// signature from *some* federation organisation is not enough — the signer must be the
/// FromParty. The participant id (`0203:a.example.se`, `0007:2120001124`) must equal the
/// subject's common name, serial number or organization identifier, either whole or as its value
/// after the scheme prefix (also with a country prefix, `SE2120001124`).
package enum OrganizationBinding {
    package static func matches(_ certificate: Certificate, participant: String) -> Bool {
        let value = participant.split(separator: ":", maxSplits: 1).last.map(String.init) ?? participant
        let accepted: Set<String> = [participant.lowercased(), value.lowercased(), "se" + value.lowercased()]
        let types: Set<ASN1ObjectIdentifier> = [.RDNAttributeType.commonName, [2, 5, 4, 5] /* serialNumber */,
                                                [2, 5, 4, 97] /* organizationIdentifier */]
        for rdn in certificate.subject {
            for attribute in rdn where types.contains(attribute.type) {
                if accepted.contains(String(describing: attribute.value).lowercased()) { return true }
            }
        }
        return false
    }

    /// The subject, for messages.
    package static func describe(_ certificate: Certificate) -> String { String(describing: certificate.subject) }
}
