/// The DIGG business rules for the XHE envelope ("Regler för DIGG XHE Profil",
/// `DIGG-XHE-Business-Rules.scmt`), implemented natively.
///
/// Each check follows the official schematron pattern it names, including its exact XPath
/// semantics, so the set of failed rule ids equals what the official compiled XSLT reports
/// (a test runs Saxon-HE on the same documents). One consequence worth knowing: the official
/// `R11-XHE` ("ID för ToParty…") tests the *FromParty* identifier, exactly like `R10-XHE`; the
/// ToParty scheme is therefore not checked by the business rules (Kvitto's routing checks it).
package enum XHEBusinessRules {
    private static let ns: [String: String] = [
        "x": XMLNamespaces.xhe, "xha": XMLNamespaces.xha, "xhb": XMLNamespaces.xhb, "ext": XMLNamespaces.xhext,
    ]

    /// Elements the DIGG profile does not allow (R1-XHE).
    private static let forbidden: [ElementPath] = [
        "/x:XHE/ext:XHEExtensions", "/x:XHE/xhb:ProfileID", "/x:XHE/xhb:ProfileExecutionID",
        "/x:XHE/xha:Header/xha:BusinessScope/xha:ExternalReference",
        "/x:XHE/xha:Payloads/xha:Payload/xhb:Description", "/x:XHE/xha:Payloads/xha:Payload/xhb:CustomizationID",
        "/x:XHE/xha:Payloads/xha:Payload/xhb:ProfileID", "/x:XHE/xha:Payloads/xha:Payload/xhb:ProfileExecutionID",
        "/x:XHE/xha:Payloads/xha:Payload/xhb:ValidationTypeCode",
        "/x:XHE/xha:Payloads/xha:Payload/xhb:InstanceEncryptionMethod",
        "/x:XHE/xha:Payloads/xha:Payload/xhb:InstanceHashValue",
        "/x:XHE/xha:Payloads/xha:Payload/xha:InstanceDecryptionInformationExternalReference",
        "/x:XHE/xha:Payloads/xha:Payload/xha:InstanceDecryptionKeyExternalReference",
        "/x:XHE/xha:Payloads/xha:Payload/xha:RelevantExternalReference",
    ].map { ElementPath($0, namespaces: ns) }

    private static let root = ElementPath("/x:XHE", namespaces: ns)
    private static let customizationID = ElementPath("/x:XHE/xhb:CustomizationID", namespaces: ns)
    private static let versionID = ElementPath("/x:XHE/xhb:XHEVersionID", namespaces: ns)
    private static let fromPartyID = ElementPath(
        "/x:XHE/xha:Header/xha:FromParty/xha:PartyIdentification/xhb:ID", namespaces: ns)
    private static let payload = ElementPath("/x:XHE/xha:Payloads/xha:Payload", namespaces: ns)

    private static let cardinality = "Element och attribut ska anges i enlighet med den tillåtna kardinalitet som framgår i syntaxmappningen."

    /// Checks `document` (whose root should be `x:XHE`) and returns every failed assertion.
    package static func check(_ document: XMLElement) -> [RuleViolation] {
        var out: [RuleViolation] = []
        func fail(_ id: String, _ text: String, _ location: String) {
            out.append(RuleViolation(ruleID: id, kind: .businessRule, message: text, location: location))
        }
        let xha = XMLNamespaces.xha, xhb = XMLNamespaces.xhb
        RuleContext.walk(document) { c in
            let e = c.element
            // Pattern 1: elements outside the profile.
            if forbidden.contains(where: { c.matches($0) }) {
                fail("R1-XHE", "Endast XML-element och attribut som angivits i denna specifikation får användas", c.location)
            }
            // Pattern 2: cardinality at the root.
            if c.matches(root) {
                let header = e.element(xha, "Header")
                let criteria = header?.element(xha, "BusinessScope").map { $0.elements(xha, "BusinessScopeCriterion") } ?? []
                let payloads = e.elements(xha, "Payloads").flatMap { $0.elements(xha, "Payload") }
                let payloadChildren = payloads
                func any(_ ns: String, _ name: String) -> Bool { payloadChildren.contains { $0.element(ns, name) != nil } }
                let fromIDs = header.map { $0.elements(xha, "FromParty").flatMap { $0.elements(xha, "PartyIdentification") } } ?? []
                let toIDs = header.map { $0.elements(xha, "ToParty").flatMap { $0.elements(xha, "PartyIdentification") } } ?? []
                if e.element(xhb, "CustomizationID") == nil { fail("R14-XHE", "CustomizationID är obligatoriskt. " + cardinality, c.location) }
                if criteria.isEmpty { fail("R14-XHE", "BusinessScopeCriterionär är obligatoriskt. " + cardinality, c.location) }
                if header?.element(xha, "FromParty") == nil { fail("R14-XHE", "FromParty är obligatoriskt. " + cardinality, c.location) }
                if fromIDs.count != 1 { fail("R14-XHE", "FromParty/PartyIdentification får anges max 1 gång. " + cardinality, c.location) }
                if toIDs.count != 1 { fail("R14-XHE", "ToParty/PartyIdentification får anges max 1 gång. " + cardinality, c.location) }
                if payloads.count != 1 { fail("R14-XHE", "Payload är obligatoriskt och får bara anges en gång. " + cardinality, c.location) }
                if !any(xhb, "DocumentTypeCode") { fail("R14-XHE", "DocumentTypeCode är obligatoriskt. " + cardinality, c.location) }
                if !any(xhb, "ContentTypeCode") { fail("R14-XHE", "ContentTypeCode är obligatoriskt. " + cardinality, c.location) }
                if !any(xha, "PayloadContent") { fail("R14-XHE", "PayloadContent är obligatoriskt. " + cardinality, c.location) }
            }
            // Pattern 3: empty elements (signature and encryption elements may be empty).
            if !e.hasElementChildren, e.isBlank, !c.hasAncestor(xha, "PayloadContent"),
               e.namespaceURI != XMLNamespaces.xenc, e.namespaceURI != XMLNamespaces.ds {
                fail("R2-XHE", "Tomma element eller attribut får inte anges", c.location)
            }
            if c.matches(customizationID), e.normalizedValue != "urn:fdc:digg.se:edelivery:xhe:1" {
                fail("R3-XHE", "CustomizationID måste ha korrekt värde enligt kodlista", c.location)
            }
            if c.matches(root) {
                let codes = (e.element(xha, "Header")?.element(xha, "BusinessScope")?.elements(xha, "BusinessScopeCriterion") ?? [])
                    .map { $0.element(xhb, "BusinessScopeCriterionTypeCode")?.normalizedValue ?? "" }
                for (id, code) in [("R4-XHE", "DOCUMENTID"), ("R5-XHE", "DOCUMENTID_SCHEME"), ("R6-XHE", "PROCESSID"),
                                   ("R7-XHE", "PROCESSID_SCHEME"), ("R8-XHE", "FEDERATIONID")] where !codes.contains(code) {
                    fail(id, "Ett BusinessScopeCriterionTypeCode ska anges med koden \(code)", c.location)
                }
            }
            if c.matches(versionID), e.normalizedValue != "1.0" {
                fail("R9-XHE", "XHEVersionID ska ha värde 1.0", c.location)
            }
            if c.matches(fromPartyID), XMLText.normalizeSpace(e.attribute("schemeID") ?? "") != "iso6523-actorid-upis" {
                fail("R10-XHE", "ID för FromParty ska ha attributet 'iso6523-actorid-upis'", c.location)
                // The official rule R11-XHE has the same context and test as R10-XHE.
                fail("R11-XHE", "ID för ToParty ska ha attributet 'iso6523-actorid-upis'", c.location)
            }
            if c.matches(payload) {
                let indicators = e.elements(xhb, "InstanceEncryptionIndicator").map { XSDBoolean.parse($0.stringValue) }
                let encrypted = e.elements(xha, "PayloadContent").contains { $0.element(XMLNamespaces.xenc, "EncryptedData") != nil }
                if indicators.contains(true), !encrypted {
                    fail("R12-XHE", "PayloadContent ska innehålla elementet 'EncryptedData' om InstanceEncryptionIndicator är 'true'", c.location)
                }
                if indicators.contains(false), encrypted {
                    fail("R13-XHE", "PayloadContent ska inte innehålla elementet 'EncryptedData' om InstanceEncryptionIndicator är 'false'", c.location)
                }
            }
        }
        return out
    }
}

/// `xs:boolean` lexical values, as an XPath cast sees them (whitespace collapsed).
package enum XSDBoolean {
    /// `true`/`1` → true, `false`/`0` → false, anything else → nil (a cast error).
    package static func parse(_ text: String) -> Bool? {
        switch XMLText.normalizeSpace(text) {
        case "true", "1": true
        case "false", "0": false
        default: nil
        }
    }
}
