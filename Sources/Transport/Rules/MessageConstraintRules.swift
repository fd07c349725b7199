/// The SDK message rules (`MessageConstraints.sch.xml`, "Validation - SDK message"), implemented
/// natively. The schematron is published as source only and its asserts carry no ids, so each
/// violation is identified by the id of the official pattern it belongs to (`creationDateTime`,
/// `MessageId`, `conversationIdMustExist`, …); the texts are the official ones with `<name/>`
/// and `<value-of>` filled in. Patterns are XSLT match patterns, so `tns:creationDateTime`
/// applies to such an element anywhere in the document.
package enum MessageConstraintRules {
    private static let tns = XMLNamespaces.sdk
    private static let ns = ["tns": XMLNamespaces.sdk]
    private static func path(_ p: String) -> ElementPath { ElementPath(p, namespaces: ns) }

    private static let messageHeaderLabel = path("tns:messageHeader/tns:label")
    private static let recipientRoot = path("tns:recipientID/tns:root")
    private static let senderRoot = path("tns:senderID/tns:root")
    private static let contentFilesContent = path("tns:ContentFiles/tns:content")
    private static let subOrganizationRoot = path("tns:subOrganization/tns:organizationId/tns:root")

    /// Local names some pattern (other than verifyNonEmptyElements) applies to.
    private static let checkedNames: Set<String> = [
        "messageHeader", "root", "creationDateTime", "messageId", "conversationId", "refToMessageId", "label", "content",
    ]

    /// Every pattern id the rules report, in the order of the schematron file.
    package static let patternIDs = [
        "verifyNonEmptyElements", "conversationIdMustExist", "recipientIdvalue", "senderIdvalue",
        "creationDateTime", "MessageId", "conversationId", "refToMessageId", "subjectlabel", "contentFiles",
        "subOrgRoot",
    ]

    /// Checks the SDK message rooted at `root` (normally `tns:messagePayload`).
    package static func check(_ root: XMLElement) -> [RuleViolation] {
        var out: [RuleViolation] = []
        func fail(_ id: String, _ text: String, _ location: String) {
            out.append(RuleViolation(ruleID: id, kind: .businessRule, message: "invariant | " + text,
                                     location: location, flag: "error"))
        }
        RuleContext.walk(root) { c in
            let e = c.element
            let name = (e.prefix.map { $0 + ":" } ?? "") + e.localName
            if c.ancestors.contains(where: { $0.isNamed(tns, "messagePayload") }), e.isBlank {
                fail("verifyNonEmptyElements",
                     "Element \(name) is included but empty. All elements included in the response must have valid values.",
                     c.location)
            }
            guard e.namespaceURI == tns, Self.checkedNames.contains(e.localName) else { return }
            let value = e.stringValue
            switch e.localName {
            case "messageHeader":
                if e.elements(tns, "conversationId").count != 1 {
                    fail("conversationIdMustExist",
                         "In \(name), conversationId must be set. If this is a new message, use the same UUID as messageId to start new conversation",
                         c.location)
                }
            case "root" where c.endsWith(recipientRoot):
                if value != "iso6523-actorid-upis" {
                    fail("recipientIdvalue", "In \(name), should be set to 'iso6523-actorid-upis' but was \(value).", c.location)
                }
            case "root" where c.endsWith(senderRoot):
                if value != "iso6523-actorid-upis" {
                    fail("senderIdvalue", "In \(name) should be set to 'iso6523-actorid-upis' but was \(value).", c.location)
                }
            case "creationDateTime":
                if !Self.isTimestamp(value) {
                    fail("creationDateTime",
                         "In tns:creationDateTime, Timestamp should match pattern \"YYYY-MM-DD'T'hh:mm:ss.s'Z'\" but was \(value). | ",
                         c.location)
                }
            case "messageId", "conversationId", "refToMessageId":
                if !Self.isUUID(value) {
                    let id = e.localName == "messageId" ? "MessageId" : e.localName
                    fail(id, "In tns:\(e.localName), \(value) is not a valid UUID ", c.location)
                }
            case "label" where c.endsWith(messageHeaderLabel):
                let length = XMLText.length(value)
                if length > 256 {
                    fail("subjectlabel", "In tns:messageHeader/tns:label, string length \(length) exceeded maxlength 256", c.location)
                }
            case "content" where c.endsWith(contentFilesContent):
                if !Self.startsLikeBase64(value) {
                    fail("contentFiles", "In tns:ContentFiles/tns:content, \(value.prefix(40)) must be a valid base64 encoded string",
                         c.location)
                }
            case "root" where c.endsWith(subOrganizationRoot):
                if value != "urn:riv:infrastructure:messaging:functionalAddress" {
                    fail("subOrgRoot",
                         "In tns:subOrganization/tns:organizationId/tns:root, element \(name) must be set to 'urn:riv:infrastructure:messaging:functionalAddress' |",
                         c.location)
                }
            default:
                break
            }
        }
        return out
    }

    private static func isDigit(_ s: Unicode.Scalar) -> Bool { s >= "0" && s <= "9" }
    private static func isHex(_ s: Unicode.Scalar) -> Bool {
        isDigit(s) || (s >= "a" && s <= "f") || (s >= "A" && s <= "F")
    }

    /// `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}.[0-9]{1,3}Z$` (the `.` is the
    /// official pattern's: any character but a newline).
    package static func isTimestamp(_ value: String) -> Bool {
        let s = Array(value.unicodeScalars)
        guard s.count >= 22, s.count <= 24, s.last == "Z" else { return false }
        let shape = Array("dddd-dd-ddTdd:dd:dd".unicodeScalars)
        for (i, k) in shape.enumerated() {
            if k == "d" { if !isDigit(s[i]) { return false } } else if s[i] != k { return false }
        }
        guard s[19] != "\n", s[19] != "\r" else { return false }
        return s[20..<(s.count - 1)].allSatisfy(isDigit)
    }

    /// `^[0-9a-fA-F]{8}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{12}$`.
    package static func isUUID(_ value: String) -> Bool {
        let s = Array(value.unicodeScalars)
        guard s.count == 36 else { return false }
        for (i, c) in s.enumerated() {
            if [8, 13, 18, 23].contains(i) { if c != "-" { return false } } else if !isHex(c) { return false }
        }
        return true
    }

    /// `matches(., '^[a-zA-Z0-9+/]')`: the official rule only checks the first character.
    package static func startsLikeBase64(_ value: String) -> Bool {
        guard let c = value.unicodeScalars.first else { return false }
        return isDigit(c) || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "+" || c == "/"
    }
}
