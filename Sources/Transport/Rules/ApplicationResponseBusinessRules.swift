/// The DIGG business rules for the Meddelandekvittens ("Regler för DIGG Kvittensmeddelande",
/// `DIGG-AppRes-Business-Rules.scmt`), implemented natively with the official XPath semantics so
/// that the failed rule ids equal what the official compiled XSLT reports.
package enum ApplicationResponseBusinessRules {
    private static let ns: [String: String] = [
        "app": XMLNamespaces.ubl, "cac": XMLNamespaces.cac, "cbc": XMLNamespaces.cbc, "ext": XMLNamespaces.ublExt,
    ]

    /// Elements and attributes the DIGG profile does not allow (R1-APP), as listed by the rule.
    private static let forbidden: [ElementPath] = [
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cac:Attachment",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cac:IssuerParty",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cac:ResultOfVerification",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cac:ValidityPeriod",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:CopyIndicator",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:DocumentDescription",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:DocumentStatusCode",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:DocumentType",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:DocumentTypeCode",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:ID[@schemeAgencyID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:ID[@schemeAgencyName]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:ID[@schemeDataURI]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:ID[@schemeID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:ID[@schemeName]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:ID[@schemeURI]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:ID[@schemeVersionID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:IssueDate",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:IssueTime",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:LanguageID",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:LocaleCode",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:UUID",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:VersionID",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:DocumentReference/cbc:XPath",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:IssuerParty",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:LineReference/cac:DocumentReference",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:LineReference/cbc:LineID[@schemeAgencyID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:LineReference/cbc:LineID[@schemeAgencyName]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:LineReference/cbc:LineID[@schemeDataURI]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:LineReference/cbc:LineID[@schemeID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:LineReference/cbc:LineID[@schemeName]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:LineReference/cbc:LineID[@schemeURI]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:LineReference/cbc:LineID[@schemeVersionID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:LineReference/cbc:LineStatusCode",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:LineReference/cbc:UUID",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cac:Condition",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:ConditionCode",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:Description",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:IndicationIndicator",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:Percent",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:ReferenceDate",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:ReferenceTime",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:ReliabilityPercent",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:SequenceID",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:StatusReasonCode[@languageID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:StatusReasonCode[@listAgencyID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:StatusReasonCode[@listAgencyName]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:StatusReasonCode[@listID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:StatusReasonCode[@listName]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:StatusReasonCode[@listSchemeURI]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:StatusReasonCode[@listURI]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:StatusReasonCode[@listVersionID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:StatusReasonCode[@name]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:StatusReason[@languageID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:StatusReason[@languageLocaleID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status/cbc:Text",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:Description",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:EffectiveDate",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:EffectiveTime",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:ReferenceID",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:ResponseCode[@languageID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:ResponseCode[@listAgencyID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:ResponseCode[@listAgencyName]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:ResponseCode[@listID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:ResponseCode[@listName]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:ResponseCode[@listSchemeURI]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:ResponseCode[@listURI]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:ResponseCode[@listVersionID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:ResponseCode[@name]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:RecipientParty",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cac:Status",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:Description",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:EffectiveDate",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:EffectiveTime",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:ReferenceID",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:ResponseCode[@languageID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:ResponseCode[@listAgencyID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:ResponseCode[@listAgencyName]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:ResponseCode[@listID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:ResponseCode[@listName]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:ResponseCode[@listSchemeURI]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:ResponseCode[@listURI]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:ResponseCode[@listVersionID]",
        "/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:ResponseCode[@name]",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:AgentParty",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:Contact",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:FinancialAccount",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:Language",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:PartyIdentification",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:PartyLegalEntity",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:PartyName",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:PartyTaxScheme",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:Person",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:PhysicalLocation",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:PostalAddress",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:PowerOfAttorney",
        "/app:ApplicationResponse/cac:ReceiverParty/cac:ServiceProviderParty",
        "/app:ApplicationResponse/cac:ReceiverParty/cbc:EndpointID[@schemeAgencyID]",
        "/app:ApplicationResponse/cac:ReceiverParty/cbc:EndpointID[@schemeAgencyName]",
        "/app:ApplicationResponse/cac:ReceiverParty/cbc:EndpointID[@schemeDataURI]",
        "/app:ApplicationResponse/cac:ReceiverParty/cbc:EndpointID[@schemeName]",
        "/app:ApplicationResponse/cac:ReceiverParty/cbc:EndpointID[@schemeURI]",
        "/app:ApplicationResponse/cac:ReceiverParty/cbc:EndpointID[@schemeVersionID]",
        "/app:ApplicationResponse/cac:ReceiverParty/cbc:IndustryClassificationCode",
        "/app:ApplicationResponse/cac:ReceiverParty/cbc:LogoReferenceID",
        "/app:ApplicationResponse/cac:ReceiverParty/cbc:MarkAttentionIndicator",
        "/app:ApplicationResponse/cac:ReceiverParty/cbc:MarkCareIndicator",
        "/app:ApplicationResponse/cac:ReceiverParty/cbc:WebsiteURI",
        "/app:ApplicationResponse/cac:SenderParty/cac:AgentParty",
        "/app:ApplicationResponse/cac:SenderParty/cac:Contact",
        "/app:ApplicationResponse/cac:SenderParty/cac:FinancialAccount",
        "/app:ApplicationResponse/cac:SenderParty/cac:Language",
        "/app:ApplicationResponse/cac:SenderParty/cac:PartyIdentification",
        "/app:ApplicationResponse/cac:SenderParty/cac:PartyLegalEntity",
        "/app:ApplicationResponse/cac:SenderParty/cac:PartyName",
        "/app:ApplicationResponse/cac:SenderParty/cac:PartyTaxScheme",
        "/app:ApplicationResponse/cac:SenderParty/cac:Person",
        "/app:ApplicationResponse/cac:SenderParty/cac:PhysicalLocation",
        "/app:ApplicationResponse/cac:SenderParty/cac:PostalAddress",
        "/app:ApplicationResponse/cac:SenderParty/cac:PowerOfAttorney",
        "/app:ApplicationResponse/cac:SenderParty/cac:ServiceProviderParty",
        "/app:ApplicationResponse/cac:SenderParty/cbc:EndpointID[@schemeAgencyID]",
        "/app:ApplicationResponse/cac:SenderParty/cbc:EndpointID[@schemeAgencyName]",
        "/app:ApplicationResponse/cac:SenderParty/cbc:EndpointID[@schemeDataURI]",
        "/app:ApplicationResponse/cac:SenderParty/cbc:EndpointID[@schemeName]",
        "/app:ApplicationResponse/cac:SenderParty/cbc:EndpointID[@schemeURI]",
        "/app:ApplicationResponse/cac:SenderParty/cbc:EndpointID[@schemeVersionID]",
        "/app:ApplicationResponse/cac:SenderParty/cbc:IndustryClassificationCode",
        "/app:ApplicationResponse/cac:SenderParty/cbc:LogoReferenceID",
        "/app:ApplicationResponse/cac:SenderParty/cbc:MarkAttentionIndicator",
        "/app:ApplicationResponse/cac:SenderParty/cbc:MarkCareIndicator",
        "/app:ApplicationResponse/cac:SenderParty/cbc:WebsiteURI",
        "/app:ApplicationResponse/cac:Signature",
        "/app:ApplicationResponse/cbc:CustomizationID[@schemeAgencyID]",
        "/app:ApplicationResponse/cbc:CustomizationID[@schemeAgencyName]",
        "/app:ApplicationResponse/cbc:CustomizationID[@schemeDataURI]",
        "/app:ApplicationResponse/cbc:CustomizationID[@schemeID]",
        "/app:ApplicationResponse/cbc:CustomizationID[@schemeName]",
        "/app:ApplicationResponse/cbc:CustomizationID[@schemeURI]",
        "/app:ApplicationResponse/cbc:CustomizationID[@schemeVersionID]",
        "/app:ApplicationResponse/cbc:ID[@schemeAgencyID]",
        "/app:ApplicationResponse/cbc:ID[@schemeAgencyName]",
        "/app:ApplicationResponse/cbc:ID[@schemeDataURI]",
        "/app:ApplicationResponse/cbc:ID[@schemeID]",
        "/app:ApplicationResponse/cbc:ID[@schemeName]",
        "/app:ApplicationResponse/cbc:ID[@schemeURI]",
        "/app:ApplicationResponse/cbc:ID[@schemeVersionID]",
        "/app:ApplicationResponse/cbc:Note",
        "/app:ApplicationResponse/cbc:ProfileExecutionID",
        "/app:ApplicationResponse/cbc:ProfileID[@schemeAgencyID]",
        "/app:ApplicationResponse/cbc:ProfileID[@schemeAgencyName]",
        "/app:ApplicationResponse/cbc:ProfileID[@schemeDataURI]",
        "/app:ApplicationResponse/cbc:ProfileID[@schemeID]",
        "/app:ApplicationResponse/cbc:ProfileID[@schemeName]",
        "/app:ApplicationResponse/cbc:ProfileID[@schemeURI]",
        "/app:ApplicationResponse/cbc:ProfileID[@schemeVersionID]",
        "/app:ApplicationResponse/cbc:ResponseDate",
        "/app:ApplicationResponse/cbc:ResponseTime",
        "/app:ApplicationResponse/cbc:UBLVersionID",
        "/app:ApplicationResponse/cbc:UUID",
        "/app:ApplicationResponse/cbc:VersionID",
        "/app:ApplicationResponse/ext:UBLExtensions",
    ].map { ElementPath($0, namespaces: ns) }

    private static func path(_ p: String) -> ElementPath { ElementPath(p, namespaces: ns) }
    private static let root = path("/app:ApplicationResponse")
    private static let documentResponse = path("/app:ApplicationResponse/cac:DocumentResponse")
    private static let lineResponse = path("/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse")
    private static let lineResponseResponse = path("/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response")
    private static let lineStatus = path("/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cac:Status")
    private static let documentResponseResponse = path("/app:ApplicationResponse/cac:DocumentResponse/cac:Response")
    private static let receiverParty = path("/app:ApplicationResponse/cac:ReceiverParty")
    private static let senderParty = path("/app:ApplicationResponse/cac:SenderParty")
    private static let documentResponseCode = path("/app:ApplicationResponse/cac:DocumentResponse/cac:Response/cbc:ResponseCode")
    private static let lineResponseCode = path(
        "/app:ApplicationResponse/cac:DocumentResponse/cac:LineResponse/cac:Response/cbc:ResponseCode")

    private static let cardinality = "Element och attribut ska anges i enlighet med den tillåtna kardinalitet som framgår i syntaxmappningen."

    /// Checks `document` (whose root should be `app:ApplicationResponse`) and returns every failed
    /// assertion.
    package static func check(_ document: XMLElement) -> [RuleViolation] {
        var out: [RuleViolation] = []
        func fail(_ id: String, _ text: String, _ location: String) {
            out.append(RuleViolation(ruleID: id, kind: .businessRule, message: text, location: location))
        }
        let cac = XMLNamespaces.cac, cbc = XMLNamespaces.cbc
        var anyLineResponse = false
        RuleContext.walk(document) { c in
            if c.element.isNamed(cac, "LineResponse") { anyLineResponse = true }
        }
        RuleContext.walk(document) { c in
            let e = c.element
            if forbidden.contains(where: { c.matches($0) }) {
                fail("R1-APP", "Endast XML-element och attribut som angivits i denna specifikation får användas", c.location)
            }
            func count(_ ns: String, _ name: String) -> Int { e.elements(ns, name).count }
            if c.matches(root) {
                if count(cbc, "CustomizationID") == 0 { fail("R9-APP", "CustomizationID är obligatoriskt. " + cardinality, c.location) }
                if count(cbc, "ProfileID") == 0 { fail("R9-APP", "ProfileID är obligatoriskt. " + cardinality, c.location) }
                if count(cbc, "IssueTime") == 0 { fail("R9-APP", "IssueTime är obligatoriskt. " + cardinality, c.location) }
                if count(cac, "DocumentResponse") != 1 {
                    fail("R9-APP", "ApplicationResponse/DocumentResponse ska anges 1 gång. " + cardinality, c.location)
                }
            } else if c.matches(documentResponse) {
                if count(cac, "DocumentReference") != 1 {
                    fail("R9-APP", "ApplicationResponse/DocumentResponse/DocumentReference ska anges 1 gång. " + cardinality, c.location)
                }
            } else if c.matches(lineResponse) {
                if count(cac, "Response") != 1 {
                    fail("R9-APP", "ApplicationResponse/DocumentResponse/LineResponse/Response ska anges 1 gång. " + cardinality, c.location)
                }
            } else if c.matches(lineResponseResponse) {
                if count(cbc, "ResponseCode") != 1 {
                    fail("R9-APP", "ApplicationResponse/DocumentResponse/LineResponse/Response/ResponseCode ska anges 1 gång. " + cardinality, c.location)
                }
                if count(cac, "Status") != 1 {
                    fail("R9-APP", "ApplicationResponse/DocumentResponse/LineResponse/Response/Status ska anges 1 gång. " + cardinality, c.location)
                }
            } else if c.matches(lineStatus) {
                if count(cbc, "StatusReason") != 1 {
                    fail("R9-APP", "ApplicationResponse/DocumentResponse/LineResponse/Response/Status/StatusReason ska anges 1 gång. " + cardinality, c.location)
                }
            } else if c.matches(documentResponseResponse) {
                if count(cbc, "ResponseCode") != 1 {
                    fail("R9-APP", "ApplicationResponse/DocumentResponse/Response/ResponseCode ska anges 1 gång. " + cardinality, c.location)
                }
            } else if c.matches(receiverParty) || c.matches(senderParty) {
                let which = c.matches(receiverParty) ? "ReceiverParty" : "SenderParty"
                if count(cbc, "EndpointID") != 1 {
                    fail("R9-APP", "ApplicationResponse/\(which)/EndpointID\" ska anges 1 gång. " + cardinality, c.location)
                }
                if !e.elements(cbc, "EndpointID").contains(where: { $0.attribute("schemeID") != nil }) {
                    fail("R9-APP", "EndpointID/@schemeID är obligatorisk att ange. " + cardinality, c.location)
                }
            }
            if !e.hasElementChildren, e.isBlank,
               e.namespaceURI != XMLNamespaces.xenc, e.namespaceURI != XMLNamespaces.ds {
                fail("R2-APP", "Tomma element eller attribut får inte anges", c.location)
            }
            if c.matches(root) {
                let customization = e.elements(cbc, "CustomizationID").map(\.normalizedValue)
                if customization != ["urn:fdc:digg.se:edelivery:messagetype:response:1"] {
                    fail("R3-APP", "CustomizationID måste ha korrekt värde enligt kodlista", c.location)
                }
                if e.elements(cbc, "ProfileID").map(\.normalizedValue) != ["bdx:noprocess"] {
                    fail("R4-APP", "ProfileID måste ha korrekt värde enligt kodlista", c.location)
                }
            } else if c.matches(documentResponseCode) {
                if !["REJECTED", "ACCEPTED"].contains(e.normalizedValue) {
                    fail("R5-APP", "Kvittenskod (cac:DocumentResponse/cbc:ResponseCode) ska använda giltig kod enligt kodlista", c.location)
                }
            } else if c.matches(lineResponseCode) {
                if !["SV", "BV", "SIG"].contains(e.normalizedValue) {
                    fail("R6-APP", "Orsakskod (cac:LineResponse/cac:Response/cbc:ResponseCode) ska använda giltig kod enligt kodlista", c.location)
                }
            }
            if c.matches(documentResponseResponse) {
                let codes = e.elements(cbc, "ResponseCode").map(\.stringValue)
                if codes.contains("ACCEPTED"), anyLineResponse {
                    fail("R7-APP", "En kvittens med status ACCEPTED ska inte ha några orsakskoder", c.location)
                }
                if codes.contains("REJECTED"), !anyLineResponse {
                    fail("R8-APP", "En kvittens med status REJECTED måste ha minst en orsakskod", c.location)
                }
            }
        }
        return out
    }
}
