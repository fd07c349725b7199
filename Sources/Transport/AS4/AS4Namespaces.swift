/// Namespaces of SOAP 1.2, ebMS 3.0, WS-Security and the ebBP signals.
package enum AS4Namespaces {
    package static let soap = "http://www.w3.org/2003/05/soap-envelope"
    package static let eb = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
    package static let wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    package static let wsse11 = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd"
    package static let wsu = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
    package static let ebbp = "http://docs.oasis-open.org/ebxml-bp/ebbp-signals-2.0"
    package static let x509v3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
    package static let base64Binary = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
    package static let x509SKI = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509SubjectKeyIdentifier"
    package static let attachmentContentSignatureTransform =
        "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#Attachment-Content-Signature-Transform"
    package static let attachmentCiphertextTransform =
        "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#Attachment-Ciphertext-Transform"
    package static let attachmentContentOnly = "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#Attachment-Content-Only"
}

/// SDK profile values for AS4 (DIGG's P-mode).
package enum SDKAS4 {
    package static let partyType = "urn:fdc:digg.se:edelivery:transportprofile:as4:partytype:ap"
    package static let service = "bdx:noprocess"
    package static let serviceType = "urn:fdc:digg.se:edelivery:process"
    package static let messageAction =
        "busdox-docid-qns::urn:riv:infrastructure:messaging:MessageWithAttachments:3::messagePayload##3.0::tm-base-ext-sigenc"
    package static let receiptAction =
        "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse##fdc:digg.se:edelivery:messagetype:response:1::2.1::tm-base-ext-sigenc"
    package static let initiatorRole = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/initiator"
    package static let responderRole = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/responder"
    package static let defaultMPC = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/defaultMPC"
    package static let participantScheme = "iso6523-actorid-upis"
    /// Content-ID of the XHE part.
    package static let messagePartID = "message"
}
