/// One problem `kvitto check` found in a node's configuration: how bad it is, a stable code, the
/// configuration member it concerns (`as4.party_id`, `routes[0].o2o_certificate`, …) and what to
/// do about it.
package struct ConfigFinding: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Severity: String, Sendable {
        /// `kvitto serve` refuses to start.
        case error
        /// Works today; needs attention (a certificate expiring within 30 days, a demo PKI).
        case warning
    }

    /// Stable codes, one per kind of mistake.
    package enum Code: String, Sendable {
        case configInvalid = "check.config_invalid"
        case missingFile = "check.missing_file"
        case keyUnusable = "check.key_unusable"
        case certificateUnusable = "check.certificate_unusable"
        case certificateNotYetValid = "check.certificate_not_yet_valid"
        case untrustedCertificate = "check.untrusted_certificate"
        case certificateExpired = "check.certificate_expired"
        case certificateExpiring = "check.certificate_expiring"
        case partyIdMismatch = "check.party_id_mismatch"
        case wrongOrganisation = "check.wrong_organisation"
        case caKeyOnNode = "check.ca_key_on_node"
        case trustFolderInvalid = "check.trust_folder_invalid"
        case revocationListDue = "check.revocation_list_due"
        case portConflict = "check.port_conflict"
        case routeInvalid = "check.route_invalid"
        case keyUsage = "check.key_usage"
        case hostNotInCertificate = "check.host_not_in_certificate"
        case contentNotEncrypted = "check.content_not_encrypted"
        case contentKeyUnusable = "check.content_key_unusable"
    }

    package var severity: Severity
    package var code: Code
    package var member: String
    package var message: String

    package init(_ severity: Severity, _ code: Code, _ member: String, _ message: String) {
        self.severity = severity
        self.code = code
        self.member = member
        self.message = message
    }

    /// One line; control characters in the message (certificate names come from files) escaped.
    package var description: String { "\(severity.rawValue): \(member): \(code.rawValue): \(LogText.escape(message))" }
}
