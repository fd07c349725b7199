package import X509
import SwiftASN1

/// Whether an O2O certificate belongs to the organisation an XHE names as its sender: a valid
/// signature from *some* federation organisation is not enough — the signer must be the
/// FromParty.
///
/// The subject's common name, serialNumber and organizationIdentifier attributes are read (never
/// the organisation *name*). A participant id is `scheme:value` (ISO 6523 ICD, e.g.
/// `0203:a.example.se` for a domain name, `0007:2120001124` for a Swedish organisation number).
/// The rule, which fails closed:
///
/// - A subject value that carries a scheme (four digits and a colon, `0203:a.example.se`) binds
///   only to the participant id with the same scheme and the same value (the value compared
///   without regard to ASCII case, as ISO 6523 identifiers are). This is how the throwaway PKI and
///   federations that put the participant id in the CN name an organisation.
/// - A bare value (no scheme) binds only to a participant of scheme **0007** (Swedish organisation
///   number) whose value is the ten-digit number, and only when it is the number itself
///   (`2120001124`), the number with the country prefix (`SE2120001124`), or the ETSI EN 319 412-1
///   legal-person form (`NTRSE-2120001124`) — how SITHS and other Swedish organisation
///   certificates carry it. A numbered suffix (`SE212000112401`) is not accepted: a 12-digit value
///   is ambiguous (a suffixed number, or the `16`-prefixed form of another organisation's number)
///   and a binding must never guess.
/// - A bare value never binds to a 0203 (domain name) participant or any other scheme, not even
///   when it equals the domain: a certificate whose CN is `a.example.se` is what any web server
///   of that domain holds, and says nothing about which federation member signed. An organisation
///   with a 0203 participant id is bound by a certificate naming that id with its scheme.
/// - A participant id without a scheme binds to nothing.
package enum OrganizationBinding {
    /// The ISO 6523 ICD of Swedish organisation numbers.
    package static let organisationNumberScheme = "0007"

    package static func matches(_ certificate: Certificate, participant: String) -> Bool {
        guard let wanted = ParticipantId(participant) else { return false }
        let types: Set<ASN1ObjectIdentifier> = [.RDNAttributeType.commonName, [2, 5, 4, 5] /* serialNumber */,
                                                [2, 5, 4, 97] /* organizationIdentifier */]
        for rdn in certificate.subject {
            for attribute in rdn where types.contains(attribute.type) {
                if binds(String(describing: attribute.value), to: wanted) { return true }
            }
        }
        return false
    }

    /// Whether one subject attribute value binds to `participant` (the rule above).
    static func binds(_ subjectValue: String, to participant: ParticipantId) -> Bool {
        if let named = ParticipantId(subjectValue) {
            return named.scheme == participant.scheme && named.value == participant.value
        }
        // A bare value.
        guard participant.scheme == organisationNumberScheme, participant.value.utf8.count == 10,
              participant.value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        let value = lowercased(subjectValue)
        return [participant.value, "se" + participant.value, "ntrse-" + participant.value].contains(value)
    }

    /// `scheme:value` with a four-digit scheme; the value ASCII-lowercased.
    struct ParticipantId: Equatable {
        let scheme: String
        let value: String

        init?(_ text: String) {
            guard let colon = text.firstIndex(of: ":") else { return nil }
            let scheme = text[..<colon]
            guard scheme.utf8.count == 4, scheme.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            self.scheme = String(scheme)
            self.value = OrganizationBinding.lowercased(String(text[text.index(after: colon)...]))
            guard !value.isEmpty else { return nil }
        }
    }

    /// ASCII-only lowercasing (no locale or Unicode case folding: `İ` stays what it is).
    static func lowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// The subject, for messages.
    package static func describe(_ certificate: Certificate) -> String { String(describing: certificate.subject) }
}
