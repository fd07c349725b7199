/// Mutated variants of the SDK corpus, each breaking one specific XSD constraint or business rule
/// (or, marked `expected: []`, a change the rules must accept). Every edit must match its base
/// exactly once, so a mutation can never silently do nothing.
struct Mutation: Sendable {
    let name: String
    let base: String
    let edits: [(String, String)]
    /// Rule ids our validator must report (`XSD` for schema violations).
    let expected: Set<String>
}

enum Mutations {
    static let xhe = "xhe/examples/XHE-tm-base.xml"
    static let xheV3 = "message-v3/examples/xhe_unencrypted_payload.xml"
    static let accepted = "receipt/examples/Kvittens_AP-Accepterat.xml"
    static let rejected = "receipt/examples/Kvittens_RE-AnnatFel.xml"
    static let message = "message-v3/examples/messageWithAttachments3.xml"

    static let encryptedContent = """
        <xha:PayloadContent><en:EncryptedData xmlns:en="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element"><en:CipherData><en:CipherValue>AAAA</en:CipherValue></en:CipherData></en:EncryptedData></xha:PayloadContent>
        """

    static let all: [Mutation] = xheMutations + receiptMutations + messageMutations

    static let xheMutations: [Mutation] = [
        Mutation(name: "xhe-customization-value", base: xhe,
                 edits: [("<CustomizationID>urn:fdc:digg.se:edelivery:xhe:1<", "<CustomizationID>urn:fdc:digg.se:edelivery:xhe:2<")],
                 expected: ["R3-XHE"]),
        Mutation(name: "xhe-customization-whitespace-ok", base: xhe,
                 edits: [("<CustomizationID>urn:fdc:digg.se:edelivery:xhe:1<", "<CustomizationID>  urn:fdc:digg.se:edelivery:xhe:1\n<")],
                 expected: []),
        Mutation(name: "xhe-version", base: xhe, edits: [("<XHEVersionID>1.0<", "<XHEVersionID>2.0<")], expected: ["R9-XHE"]),
        Mutation(name: "xhe-customization-missing", base: xhe,
                 edits: [("<CustomizationID>urn:fdc:digg.se:edelivery:xhe:1</CustomizationID>", "")], expected: ["R14-XHE"]),
        Mutation(name: "xhe-no-documentid", base: xhe,
                 edits: [("<BusinessScopeCriterionTypeCode>DOCUMENTID</", "<BusinessScopeCriterionTypeCode>DOCUMENT</")],
                 expected: ["R4-XHE"]),
        Mutation(name: "xhe-no-documentid-scheme", base: xhe,
                 edits: [("<BusinessScopeCriterionTypeCode>DOCUMENTID_SCHEME<", "<BusinessScopeCriterionTypeCode>DOCIDSCHEME<")],
                 expected: ["R5-XHE"]),
        Mutation(name: "xhe-no-processid", base: xhe,
                 edits: [("<BusinessScopeCriterionTypeCode>PROCESSID</", "<BusinessScopeCriterionTypeCode>PROCESS</")],
                 expected: ["R6-XHE"]),
        Mutation(name: "xhe-no-processid-scheme", base: xhe,
                 edits: [("<BusinessScopeCriterionTypeCode>PROCESSID_SCHEME<", "<BusinessScopeCriterionTypeCode>processid_scheme<")],
                 expected: ["R7-XHE"]),
        Mutation(name: "xhe-no-federationid", base: xhe,
                 edits: [("<BusinessScopeCriterionTypeCode>FEDERATIONID<", "<BusinessScopeCriterionTypeCode>FEDERATION<")],
                 expected: ["R8-XHE"]),
        Mutation(name: "xhe-criterion-code-padded-ok", base: xhe,
                 edits: [("<BusinessScopeCriterionTypeCode>FEDERATIONID<", "<BusinessScopeCriterionTypeCode> FEDERATIONID <")],
                 expected: []),
        Mutation(name: "xhe-fromparty-scheme", base: xhe,
                 edits: [("<ID schemeID=\"iso6523-actorid-upis\">0203:myndighetA.org", "<ID schemeID=\"0088\">0203:myndighetA.org")],
                 expected: ["R10-XHE", "R11-XHE"]),
        Mutation(name: "xhe-toparty-scheme-not-checked", base: xhe,
                 edits: [("<ID schemeID=\"iso6523-actorid-upis\">0203:myndighetB.org", "<ID schemeID=\"0088\">0203:myndighetB.org")],
                 expected: []),
        Mutation(name: "xhe-profileid", base: xhe,
                 edits: [("</CustomizationID>", "</CustomizationID>\n  <ProfileID>p</ProfileID>")], expected: ["R1-XHE"]),
        Mutation(name: "xhe-profile-execution-id", base: xhe,
                 edits: [("</CustomizationID>", "</CustomizationID>\n  <ProfileExecutionID>p</ProfileExecutionID>")],
                 expected: ["R1-XHE"]),
        Mutation(name: "xhe-payload-description", base: xhe,
                 edits: [("<DocumentTypeCode>", "<Description>d</Description><DocumentTypeCode>")], expected: ["R1-XHE"]),
        Mutation(name: "xhe-instance-hash", base: xhe,
                 edits: [("</InstanceEncryptionIndicator>", "</InstanceEncryptionIndicator><InstanceHashValue>abc</InstanceHashValue>")],
                 expected: ["R1-XHE"]),
        Mutation(name: "xhe-empty-handling-service", base: xhe,
                 edits: [("<HandlingServiceID>ABC</HandlingServiceID>", "<HandlingServiceID> </HandlingServiceID>")],
                 expected: ["R2-XHE"]),
        Mutation(name: "xhe-empty-party-id", base: xhe,
                 edits: [(">0203:myndighetA.org<", "><")], expected: ["R2-XHE"]),
        Mutation(name: "xhe-encryption-indicator-without-encrypted-data", base: xhe,
                 edits: [("<InstanceEncryptionIndicator>false<", "<InstanceEncryptionIndicator>true<")], expected: ["R12-XHE"]),
        Mutation(name: "xhe-encrypted-data-without-indicator", base: "xhe/examples/XHE-NonXML-tm-base.xml",
                 edits: [("=</xha:PayloadContent>", "=-->"), ("<xha:PayloadContent>VU5CK1VOT0E6", encryptedContent + "<!--")],
                 expected: ["R13-XHE"]),
        Mutation(name: "xhe-encrypted-data-with-indicator-ok", base: "xhe/examples/XHE-NonXML-tm-base.xml",
                 edits: [("=</xha:PayloadContent>", "=-->"), ("<xha:PayloadContent>VU5CK1VOT0E6", encryptedContent + "<!--"),
                         ("<InstanceEncryptionIndicator>false<", "<InstanceEncryptionIndicator>true<")],
                 expected: []),
        Mutation(name: "xhe-second-to-party-identification", base: xhe,
                 edits: [("</xha:ToParty>", "</xha:ToParty><xha:ToParty><xha:PartyIdentification><ID schemeID=\"iso6523-actorid-upis\">0203:c.se</ID></xha:PartyIdentification></xha:ToParty>")],
                 expected: ["R14-XHE"]),
        Mutation(name: "xhe-no-from-party", base: xhe,
                 edits: [("<xha:FromParty>\n      <xha:PartyIdentification>\n        <ID schemeID=\"iso6523-actorid-upis\">0203:myndighetA.org</ID>\n      </xha:PartyIdentification>\n    </xha:FromParty>", "")],
                 expected: ["R14-XHE"]),
        Mutation(name: "xhe-no-version-xsd", base: xhe, edits: [("<XHEVersionID>1.0</XHEVersionID>", "")], expected: ["XSD"]),
        Mutation(name: "xhe-unknown-header-element-xsd", base: xhe,
                 edits: [("<CreationDateTime>", "<Nonsense>1</Nonsense><CreationDateTime>")], expected: ["XSD"]),
        Mutation(name: "xhe-bad-creation-time-xsd", base: xhe,
                 edits: [("<CreationDateTime>2022-01-30T17:52:58.1Z<", "<CreationDateTime>30 jan 2022<")], expected: ["XSD"]),
        Mutation(name: "xhe-inline-message-bad-uuid", base: xheV3,
                 edits: [("<ns6:messageId>7bc5576a-3f87-4cf5-a0c5-277da06fcacb<", "<ns6:messageId>7bc5576a<")],
                 expected: ["MessageId"]),
        Mutation(name: "xhe-inline-message-xsd", base: xheV3,
                 edits: [("<ns6:confidentiality>false<", "<ns6:confidentiality>kanske<")], expected: ["XSD"]),
    ]

    static let receiptMutations: [Mutation] = [
        Mutation(name: "app-customization", base: accepted,
                 edits: [("response:1<", "response:2<")], expected: ["R3-APP"]),
        Mutation(name: "app-profile", base: accepted,
                 edits: [("<cbc:ProfileID>bdx:noprocess<", "<cbc:ProfileID>bdx:process<")], expected: ["R4-APP"]),
        Mutation(name: "app-no-issue-time", base: accepted,
                 edits: [("<cbc:IssueTime>12:00:00Z</cbc:IssueTime>", "")], expected: ["R9-APP", "XSD"]),
        Mutation(name: "app-no-profile", base: accepted,
                 edits: [("<cbc:ProfileID>bdx:noprocess</cbc:ProfileID>", "")], expected: ["R9-APP", "R4-APP", "XSD"]),
        Mutation(name: "app-response-code", base: accepted,
                 edits: [("<cbc:ResponseCode>ACCEPTED<", "<cbc:ResponseCode>MAYBE<")], expected: ["R5-APP"]),
        Mutation(name: "app-response-code-padded-ok", base: accepted,
                 edits: [("<cbc:ResponseCode>ACCEPTED<", "<cbc:ResponseCode> ACCEPTED <")], expected: []),
        Mutation(name: "app-rejected-without-lines", base: accepted,
                 edits: [("<cbc:ResponseCode>ACCEPTED<", "<cbc:ResponseCode>REJECTED<")], expected: ["R8-APP"]),
        Mutation(name: "app-accepted-with-lines", base: rejected,
                 edits: [("<cbc:ResponseCode>REJECTED<", "<cbc:ResponseCode>ACCEPTED<")], expected: ["R7-APP"]),
        Mutation(name: "app-line-code", base: rejected,
                 edits: [("<cbc:ResponseCode>BV</cbc:ResponseCode>\n\t\t\t\t<cac:Status>\n\t\t\t\t\t<cbc:StatusReasonCode>RegelID-123<",
                          "<cbc:ResponseCode>XX</cbc:ResponseCode>\n\t\t\t\t<cac:Status>\n\t\t\t\t\t<cbc:StatusReasonCode>RegelID-123<")],
                 expected: ["R6-APP"]),
        Mutation(name: "app-no-status-reason", base: rejected,
                 edits: [("<cbc:StatusReason>Typkoden måste vara A eller B om...</cbc:StatusReason>", "")],
                 expected: ["R9-APP", "XSD"]),
        Mutation(name: "app-no-line-status", base: "receipt/examples/Kvittens_RE-SIG.xml",
                 edits: [("<cac:Status>", ""), ("<cbc:StatusReason>Signatur ej korrekt</cbc:StatusReason>", ""), ("</cac:Status>", "")],
                 expected: ["R9-APP"]),
        Mutation(name: "app-endpoint-without-scheme", base: accepted,
                 edits: [("<cbc:EndpointID schemeID=\"iso6523-actorid-upis\">0203:myndighetA.org", "<cbc:EndpointID>0203:myndighetA.org")],
                 expected: ["R9-APP"]),
        Mutation(name: "app-note", base: accepted,
                 edits: [("<cbc:IssueTime>12:00:00Z</cbc:IssueTime>", "<cbc:IssueTime>12:00:00Z</cbc:IssueTime><cbc:Note>n</cbc:Note>")],
                 expected: ["R1-APP", "XSD"]),
        Mutation(name: "app-uuid", base: accepted,
                 edits: [("<cbc:ID>KVT-1</cbc:ID>", "<cbc:ID>KVT-1</cbc:ID><cbc:UUID>0c3c1e1a-9f3e-4a57-9d0b-6f4c5b1e2a3d</cbc:UUID>")],
                 expected: ["R1-APP", "XSD"]),
        Mutation(name: "app-id-scheme-attribute", base: accepted,
                 edits: [("<cbc:ID>KVT-1</cbc:ID>", "<cbc:ID schemeID=\"x\">KVT-1</cbc:ID>")], expected: ["R1-APP"]),
        Mutation(name: "app-customization-scheme-attribute", base: accepted,
                 edits: [("<cbc:CustomizationID>", "<cbc:CustomizationID schemeAgencyID=\"x\">")], expected: ["R1-APP", "XSD"]),
        Mutation(name: "app-empty-id", base: accepted,
                 edits: [("<cbc:ID>KVT-1</cbc:ID>", "<cbc:ID></cbc:ID>")], expected: ["R2-APP"]),
        Mutation(name: "app-bad-date-xsd", base: accepted,
                 edits: [("<cbc:IssueDate>2021-04-15<", "<cbc:IssueDate>15 april<")], expected: ["XSD"]),
        Mutation(name: "app-two-document-responses", base: accepted,
                 edits: [("</cac:DocumentResponse>", "</cac:DocumentResponse><cac:DocumentResponse><cac:Response><cbc:ResponseCode>ACCEPTED</cbc:ResponseCode></cac:Response><cac:DocumentReference><cbc:ID>x</cbc:ID></cac:DocumentReference></cac:DocumentResponse>")],
                 expected: ["R9-APP", "XSD"]),
    ]

    static let messageMutations: [Mutation] = [
        Mutation(name: "msg-time-without-fraction", base: message,
                 edits: [("2022-10-13T18:10:39.843Z", "2022-10-13T18:10:39Z")], expected: ["creationDateTime"]),
        Mutation(name: "msg-time-with-offset", base: message,
                 edits: [("2022-10-13T18:10:39.843Z", "2022-10-13T18:10:39.843+01:00")], expected: ["creationDateTime"]),
        Mutation(name: "msg-time-one-digit-fraction-ok", base: message,
                 edits: [("2022-10-13T18:10:39.843Z", "2022-10-13T18:10:39.8Z")], expected: []),
        Mutation(name: "msg-message-id", base: message,
                 edits: [("<ns6:messageId>7bc5576a-3f87-4cf5-a0c5-277da06fcacb<", "<ns6:messageId>msg-1<")], expected: ["MessageId"]),
        Mutation(name: "msg-conversation-id", base: message,
                 edits: [("<ns6:conversationId>7bc5576a-3f87-4cf5-a0c5-277da06fcacb<", "<ns6:conversationId>7bc5576a-3f87-4cf5-a0c5-277da06fcacbX<")],
                 expected: ["conversationId"]),
        Mutation(name: "msg-conversation-id-missing", base: message,
                 edits: [("<ns6:conversationId>7bc5576a-3f87-4cf5-a0c5-277da06fcacb</ns6:conversationId>", "")],
                 expected: ["conversationIdMustExist", "XSD"]),
        Mutation(name: "msg-ref-to-message-id", base: message,
                 edits: [("</ns6:conversationId>", "</ns6:conversationId><ns6:refToMessageId>earlier</ns6:refToMessageId>")],
                 expected: ["refToMessageId"]),
        Mutation(name: "msg-ref-to-message-id-ok", base: message,
                 edits: [("</ns6:conversationId>", "</ns6:conversationId><ns6:refToMessageId>1F087760-D496-4BA7-973F-E2E73762E498</ns6:refToMessageId>")],
                 expected: []),
        Mutation(name: "msg-label-too-long", base: message,
                 edits: [("<ns6:label>En rubrik<", "<ns6:label>" + String(repeating: "å", count: 257) + "<")], expected: ["subjectlabel"]),
        Mutation(name: "msg-label-256-ok", base: message,
                 edits: [("<ns6:label>En rubrik<", "<ns6:label>" + String(repeating: "å", count: 256) + "<")], expected: []),
        Mutation(name: "msg-label-empty", base: message,
                 edits: [("<ns6:label>En rubrik<", "<ns6:label> <")], expected: ["verifyNonEmptyElements"]),
        Mutation(name: "msg-document-name-empty", base: message,
                 edits: [("<ns6:documentName>SDK-Meddelande<", "<ns6:documentName>\n\t<")], expected: ["verifyNonEmptyElements"]),
        Mutation(name: "msg-recipient-root", base: message,
                 edits: [("<ns6:root>iso6523-actorid-upis</ns6:root>\n          <ns6:extension>0203:testa", "<ns6:root>0203</ns6:root>\n          <ns6:extension>0203:testa")],
                 expected: ["recipientIdvalue"]),
        Mutation(name: "msg-sender-root", base: message,
                 edits: [("<ns6:root>iso6523-actorid-upis</ns6:root>\n          <ns6:extension>0203:testb", "<ns6:root>iso6523-actorid-upis </ns6:root>\n          <ns6:extension>0203:testb")],
                 expected: ["senderIdvalue"]),
        Mutation(name: "msg-suborganization-root", base: message,
                 edits: [("<ns6:root>urn:riv:infrastructure:messaging:functionalAddress</ns6:root>\n              <ns6:extension>sdk.testbed.0203:testa",
                          "<ns6:root>functionalAddress</ns6:root>\n              <ns6:extension>sdk.testbed.0203:testa")],
                 expected: ["subOrgRoot"]),
        Mutation(name: "msg-file-content-not-base64", base: message,
                 edits: [("</ns6:index>", "</ns6:index><ns6:ContentFiles><ns6:fileName>a.txt</ns6:fileName><ns6:contentType>text/plain</ns6:contentType><ns6:content>\n  QUJD</ns6:content></ns6:ContentFiles>")],
                 expected: ["contentFiles"]),
        Mutation(name: "msg-file-content-ok", base: message,
                 edits: [("</ns6:index>", "</ns6:index><ns6:ContentFiles><ns6:fileName>a.txt</ns6:fileName><ns6:contentType>text/plain</ns6:contentType><ns6:content>QUJD</ns6:content></ns6:ContentFiles>")],
                 expected: []),
        Mutation(name: "msg-confidentiality-xsd", base: message,
                 edits: [("<ns6:confidentiality>false<", "<ns6:confidentiality>no<")], expected: ["XSD"]),
        Mutation(name: "msg-attention-missing-xsd", base: message,
                 edits: [("</ns6:recipientID>\n        <ns6:attention>", "</ns6:recipientID>\n        <ns6:attentionX>"),
                         ("</ns6:attention>\n      </ns6:recipient>", "</ns6:attentionX>\n      </ns6:recipient>")],
                 expected: ["XSD"]),
        Mutation(name: "msg-files-after-text-xsd", base: message,
                 edits: [("</ns6:ContentText>", "</ns6:ContentText><ns6:ContentFiles><ns6:fileName>a</ns6:fileName><ns6:contentType>text/plain</ns6:contentType><ns6:content>QUJD</ns6:content></ns6:ContentFiles>")],
                 expected: ["XSD"]),
    ]

    /// Applies the mutation's edits to its base document.
    static func apply(_ m: Mutation) throws -> String {
        var text = try Corpus.string(m.base)
        for (find, replace) in m.edits {
            let parts = text.components(separatedBy: find)
            guard parts.count == 2 else {
                throw MutationError(message: "\(m.name): '\(find.prefix(60))' occurs \(parts.count - 1) times in \(m.base)")
            }
            text = parts.joined(separator: replace)
        }
        return text
    }
}

struct MutationError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
