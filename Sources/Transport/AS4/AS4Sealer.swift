import Crypto
import _CryptoExtras
package import X509
package import Foundation

/// Builds outbound AS4 messages as the SDK/eDelivery profile requires: each payload gzip-compressed,
/// then signed (WS-Security 1.1: exclusive c14n, RSA-SHA256, SHA-256; references to eb:Messaging,
/// the SOAP Body, the wsu:Timestamp and every attachment with the Attachment-Content-Signature-
/// Transform; the signer's certificate as a BinarySecurityToken), then encrypted (AES-128-GCM per
/// attachment, one content key transported with RSA-OAEP SHA-256/MGF1-SHA-256 to the receiving
/// access point's certificate). Payloads stream through spools; nothing holds a whole payload.
package struct AS4Sealer: Sendable {
    package let pmode: PMode
    package let signer: SigningIdentity
    /// Whether the signature covers the wsu:Timestamp (always, except to test that a receiver
    /// refuses a message whose Timestamp is not signed).
    package var signsTimestamp = true

    package init(pmode: PMode, signer: SigningIdentity) {
        self.pmode = pmode
        self.signer = signer
    }

    /// Seals a UserMessage. `message.parts` is filled from `payloads`.
    package func seal(_ message: UserMessage, payloads: [AS4Payload], recipient: Certificate?, now: Date = Date())
        throws -> AS4WireMessage
    {
        var user = message
        var prepared: [(payload: AS4Payload, content: Spool, digest: [UInt8])] = []
        user.parts = []
        for p in payloads {
            var properties = [UserMessage.Property(name: "MimeType", value: p.mimeType)]
            var content = p.content
            if pmode.compressPayloads {
                content = try Self.gzip(p.content)
                properties.append(UserMessage.Property(name: "CompressionType", value: "application/gzip"))
            }
            user.parts.append(UserMessage.PartInfo(href: "cid:" + p.contentID, properties: properties))
            prepared.append((p, content, try Self.sha256(content)))
        }

        var attachments: [AS4Attachment] = []
        var encryption = XMLWriter(declaration: false)
        var tokens = XMLWriter(declaration: false)
        let signerTokenID = "X509-" + RandomID.hex(12)
        SecurityTokens.binarySecurityToken(signer.certificate, id: signerTokenID, into: &tokens)
        if pmode.security.encrypt, !prepared.isEmpty {
            guard let recipient else { throw EbMSError.policyNoncompliance("the P-mode requires encryption but no recipient certificate is configured") }
            let key = SymmetricKey(size: .bits128)
            let keyBytes = key.withUnsafeBytes { Array($0) }
            let dataIDs = prepared.map { _ in "ED-" + RandomID.hex(12) }
            let keyID = "EK-" + RandomID.hex(12)
            let recipientTokenID = "X509-" + RandomID.hex(12)
            if pmode.security.encryptedKeyReference == .binarySecurityToken {
                SecurityTokens.binarySecurityToken(recipient, id: recipientTokenID, into: &tokens)
            }
            guard let transport = ParsedCertificates.rsaEncryptionKey(recipient) else {
                throw EbMSError.policyNoncompliance("the recipient certificate has no RSA key")
            }
            let wrapped = Array(try transport.encrypt(keyBytes, padding: .PKCS1_OAEP_SHA256))
            encryption.start("xenc:EncryptedKey", ["Id": keyID])
            encryption.start("xenc:EncryptionMethod", ["Algorithm": XMLSecurityAlgorithm.rsaOAEP])
            encryption.start("ds:DigestMethod", ["Algorithm": XMLSecurityAlgorithm.sha256])
            encryption.end()
            encryption.start("xenc11:MGF", ["xmlns:xenc11": XMLNamespaces.xenc11, "Algorithm": XMLSecurityAlgorithm.mgf1SHA256])
            encryption.end()
            encryption.end()
            encryption.start("ds:KeyInfo")
            SecurityTokens.reference(to: recipient, form: pmode.security.encryptedKeyReference, tokenID: recipientTokenID, into: &encryption)
            encryption.end()
            encryption.start("xenc:CipherData")
            encryption.start("xenc:CipherValue")
            encryption.base64(wrapped)
            encryption.end()
            encryption.end()
            encryption.start("xenc:ReferenceList")
            for id in dataIDs {
                encryption.start("xenc:DataReference", ["URI": "#" + id])
                encryption.end()
            }
            encryption.end()
            encryption.end()
            for (i, item) in prepared.enumerated() {
                let mime = pmode.compressPayloads ? "application/gzip" : item.payload.mimeType
                encryption.start("xenc:EncryptedData", ["Id": dataIDs[i], "MimeType": mime, "Type": AS4Namespaces.attachmentContentOnly])
                encryption.start("xenc:EncryptionMethod", ["Algorithm": XMLSecurityAlgorithm.aes128GCM])
                encryption.end()
                encryption.start("ds:KeyInfo")
                encryption.start("wsse:SecurityTokenReference",
                                 ["xmlns:wsse11": AS4Namespaces.wsse11,
                                  "wsse11:TokenType": "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#EncryptedKey"])
                encryption.start("wsse:Reference", ["URI": "#" + keyID])
                encryption.end()
                encryption.end()
                encryption.end()
                encryption.start("xenc:CipherData")
                encryption.start("xenc:CipherReference", ["URI": "cid:" + item.payload.contentID])
                encryption.start("xenc:Transforms")
                encryption.start("ds:Transform", ["Algorithm": AS4Namespaces.attachmentCiphertextTransform])
                encryption.end()
                encryption.end()
                encryption.end()
                encryption.end()
                encryption.end()
                attachments.append(AS4Attachment(contentID: item.payload.contentID, contentType: "application/octet-stream",
                                                 body: try Self.encrypt(item.content, key: keyBytes)))
            }
        } else {
            for item in prepared {
                attachments.append(AS4Attachment(contentID: item.payload.contentID,
                                                 contentType: pmode.compressPayloads ? "application/gzip" : item.payload.mimeType,
                                                 body: item.content))
            }
        }
        let attachmentReferences = prepared.map {
            SignedReference(uri: "cid:" + $0.payload.contentID, transforms: [AS4Namespaces.attachmentContentSignatureTransform],
                            digest: $0.digest)
        }
        return try Self.assemble(messageId: user.messageId, now: now, lifetime: pmode.receptionAwareness.window + 600,
                                 signTimestamp: signsTimestamp, signer: signer, signerTokenID: signerTokenID,
                                 tokens: tokens.bytes, encryption: encryption.bytes, attachmentReferences: attachmentReferences,
                                 attachments: attachments, sign: pmode.security.sign) { w in user.write(to: &w) }
    }

    /// Seals a SignalMessage (receipt or error): signed over Messaging, Body and Timestamp; no
    /// attachments, no encryption.
    package func seal(_ signal: SignalMessage, now: Date = Date()) throws -> AS4WireMessage {
        var tokens = XMLWriter(declaration: false)
        let signerTokenID = "X509-" + RandomID.hex(12)
        SecurityTokens.binarySecurityToken(signer.certificate, id: signerTokenID, into: &tokens)
        return try Self.assemble(messageId: signal.messageId, now: now, lifetime: 300, signTimestamp: true, signer: signer, signerTokenID: signerTokenID,
                                 tokens: tokens.bytes, encryption: [], attachmentReferences: [], attachments: [], sign: true) { w in
            signal.write(to: &w)
        }
    }

    private static let signatureMarker = "<!--kvitto:signature-->"

    /// The namespaces the envelope declares, in scope for every signed element (a test checks
    /// that the envelope written declares exactly these).
    static let envelopeNamespaces: KeyValuePairs<String, String> = [
        "S12": AS4Namespaces.soap, "eb": AS4Namespaces.eb, "wsse": AS4Namespaces.wsse,
        "wsu": AS4Namespaces.wsu, "ds": XMLNamespaces.ds, "xenc": XMLNamespaces.xenc,
    ]

    /// Writes the envelope, computes the digests of the signed elements and inserts the signature.
    /// `lifetime`: seconds from `now` to wsu:Expires — for a UserMessage the whole reception-
    /// awareness window (it is resent unchanged), for a signal five minutes.
    ///
    /// Each signed element (eb:Messaging, the SOAP Body, the wsu:Timestamp, then ds:SignedInfo) is
    /// written twice by the same calls: into the envelope, and into a canonical writer whose bytes
    /// are its exclusive canonical form, which is digested. `body` must therefore write the same
    /// calls each time it runs (no fresh identifier or clock reading inside it). Should a canonical
    /// writer refuse (a character XML does not allow), the envelope is parsed and canonicalized by
    /// libxml2 instead, which refuses it with the parser's error. Debug builds (the tests) digest
    /// both ways and throw if they differ.
    private static func assemble(messageId: String, now: Date, lifetime: TimeInterval, signTimestamp: Bool, signer: SigningIdentity, signerTokenID: String, tokens: [UInt8],
                                 encryption: [UInt8], attachmentReferences: [SignedReference], attachments: [AS4Attachment],
                                 sign: Bool, body: (inout XMLWriter) -> Void) throws -> AS4WireMessage {
        let messagingID = "_msg-" + RandomID.hex(12)
        let bodyID = "_body-" + RandomID.hex(12)
        let timestampID = "_ts-" + RandomID.hex(12)
        func messaging(_ w: inout XMLWriter) {
            w.start("eb:Messaging", ["S12:mustUnderstand": "true", "wsu:Id": messagingID])
            body(&w)
            w.end()
        }
        func timestamp(_ w: inout XMLWriter) {
            w.start("wsu:Timestamp", ["wsu:Id": timestampID])
            w.element("wsu:Created", AS4Time.string(now))
            w.element("wsu:Expires", AS4Time.string(now.addingTimeInterval(lifetime)))
            w.end()
        }
        func soapBody(_ w: inout XMLWriter) {
            w.start("S12:Body", ["wsu:Id": bodyID])
            w.end()
        }
        var w = XMLWriter(declaration: false)
        w.start("S12:Envelope", ["xmlns:S12": AS4Namespaces.soap, "xmlns:eb": AS4Namespaces.eb, "xmlns:wsse": AS4Namespaces.wsse,
                                 "xmlns:wsu": AS4Namespaces.wsu, "xmlns:ds": XMLNamespaces.ds, "xmlns:xenc": XMLNamespaces.xenc])
        w.start("S12:Header")
        messaging(&w)
        w.start("wsse:Security", ["S12:mustUnderstand": "true"])
        timestamp(&w)
        w.raw(tokens)
        w.raw(encryption)
        w.rawText(signatureMarker)
        w.end()
        w.end()
        soapBody(&w)
        w.end()
        var soap = w.bytes
        guard sign else {
            soap = replaceMarker(in: soap, with: [])
            return AS4WireMessage(soap: soap, attachments: attachments, signedReferences: [], messageId: messageId)
        }
        // Parsed only if a canonical writer refuses (and in debug builds, to compare).
        var parsed: (document: XMLDocument, ids: [String: XMLElement])?
        func parsedEnvelope() throws -> (document: XMLDocument, ids: [String: XMLElement]) {
            if let parsed { return parsed }
            let document = try XMLDocument(bytes: soap, structureOnly: true)
            var ids: [String: XMLElement] = [:]
            for e in document.elementsInOrder {
                if let id = e.attribute("Id", namespaceURI: AS4Namespaces.wsu) { ids[id] = e }
            }
            parsed = (document, ids)
            return (document, ids)
        }
        func parsedElement(_ id: String) throws -> [UInt8] {
            let (document, ids) = try parsedEnvelope()
            guard let e = ids[id] else { throw EbMSError.other("internal: element \(id) not found") }
            return try document.canonicalize(e, method: .exclusive)
        }
        var signed = [(messagingID, try canonicalForm("#" + messagingID, messaging) { try parsedElement(messagingID) }),
                      (bodyID, try canonicalForm("#" + bodyID, soapBody) { try parsedElement(bodyID) })]
        if signTimestamp {
            signed.append((timestampID, try canonicalForm("#" + timestampID, timestamp) { try parsedElement(timestampID) }))
        }
        var references = signed.map { id, canonical in
            SignedReference(uri: "#" + id, transforms: [XMLSecurityAlgorithm.excC14n], digest: Array(SHA256.hash(data: canonical)))
        }
        references += attachmentReferences
        func signedInfo(_ si: inout XMLWriter) {
            si.start("ds:SignedInfo")
            si.start("ds:CanonicalizationMethod", ["Algorithm": XMLSecurityAlgorithm.excC14n])
            si.end()
            si.start("ds:SignatureMethod", ["Algorithm": XMLSecurityAlgorithm.rsaSHA256])
            si.end()
            for r in references { r.write(to: &si) }
            si.end()
        }
        var si = XMLWriter(declaration: false)
        signedInfo(&si)
        let canonicalSignedInfo = try canonicalForm("SignedInfo", signedInfo) {
            var mini = XMLWriter(declaration: false)
            mini.rawText("<ds:Signature xmlns:ds=\"\(XMLNamespaces.ds)\">")
            mini.raw(si.bytes)
            mini.rawText("</ds:Signature>")
            let miniDocument = try XMLDocument(bytes: mini.bytes, structureOnly: true)
            guard let element = miniDocument.root.element(XMLNamespaces.ds, "SignedInfo") else {
                throw EbMSError.other("internal: SignedInfo not found")
            }
            return try miniDocument.canonicalize(element, method: .exclusive)
        }
        let value = try signer.sign(sha256: SHA256.hash(data: canonicalSignedInfo))
        var sig = XMLWriter(declaration: false)
        sig.start("ds:Signature", ["Id": "SIG-" + RandomID.hex(12)])
        sig.raw(si.bytes)
        sig.start("ds:SignatureValue")
        sig.base64(value)
        sig.end()
        sig.start("ds:KeyInfo")
        sig.start("wsse:SecurityTokenReference")
        sig.start("wsse:Reference", ["URI": "#" + signerTokenID, "ValueType": AS4Namespaces.x509v3])
        sig.end()
        sig.end()
        sig.end()
        sig.end()
        soap = replaceMarker(in: soap, with: sig.bytes)
        return AS4WireMessage(soap: soap, attachments: attachments, signedReferences: references, messageId: messageId)
    }

    /// The exclusive canonical form of what `write` writes, in the envelope's namespaces, from a
    /// canonical writer; from libxml2 (`parsed`) when that writer cannot vouch for its bytes. Debug
    /// builds (the tests) compute both and throw if they differ.
    private static func canonicalForm(_ what: String, _ write: (inout XMLWriter) -> Void,
                                      parsed: () throws -> [UInt8]) throws -> [UInt8] {
        var writer = XMLWriter(exclusiveCanonicalIn: envelopeNamespaces)
        write(&writer)
        guard writer.canonicalFailure == nil else { return try parsed() }
        #if DEBUG
        guard try parsed() == writer.bytes else {
            throw EbMSError.other("internal: the canonical writer and libxml2 disagree on \(what)")
        }
        #endif
        return writer.bytes
    }

    private static func replaceMarker(in soap: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        let marker = Array(signatureMarker.utf8)
        var i = soap.count - marker.count
        while i >= 0 {
            if soap[i] == marker[0], Array(soap[i..<(i + marker.count)]) == marker {
                return Array(soap[..<i]) + replacement + Array(soap[(i + marker.count)...])
            }
            i -= 1
        }
        return soap
    }

    static func gzip(_ input: Spool) throws -> Spool {
        let out = Spool()
        try Gzip.withCompressor { z in
            try input.forEachChunk { try z.update($0) { try out.append($0) } }
            try z.finish { try out.append($0) }
        }
        out.finish()
        return out
    }

    static func sha256(_ input: Spool) throws -> [UInt8] {
        var hasher = SHA256()
        try input.forEachChunk { hasher.update(bufferPointer: $0) }
        return Array(hasher.finalize())
    }

    static func encrypt(_ input: Spool, key: [UInt8]) throws -> Spool {
        var rng = SystemRandomNumberGenerator()
        let iv = (0..<12).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let out = Spool()
        try out.append(iv)
        let cipher = try AESGCMStream(.encrypt, key: key, iv: iv)
        try input.forEachChunk { try cipher.update($0) { try out.append($0) } }
        try cipher.finish { try out.append($0) }
        out.finish()
        return out
    }
}

/// eb:Timestamp and wsu:Created values: UTC with milliseconds and `Z`.
package enum AS4Time {
    package static func string(_ date: Date) -> String { SDKMessage.timestamp(date) }
}
