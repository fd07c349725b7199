import Crypto
import _CryptoExtras
package import X509
package import Foundation

/// Processes an inbound AS4 request: finds the SOAP part, checks the envelope, verifies the
/// WS-Security signature and the signer's certificate (trust anchors, validity, key usage; its CN
/// must be the eb:From PartyId), decrypts the attachments with our key, checks their digests,
/// decompresses them. Every failure is an ``EbMSError`` with the code to answer with.
package struct AS4Opener: Sendable {
    /// Our access point's key and certificate (decryption).
    package let identity: SigningIdentity
    /// Earlier identities of our access point, kept for an overlap after its certificate was
    /// replaced: they only decrypt content keys encrypted to their certificates.
    package var previousIdentities: [SigningIdentity] = []
    /// Trust anchors for the AS4 role; ``trust`` reads the one in force for every message.
    package let trustStore: TrustStore
    /// The AS4 trust in force now.
    package var trust: CertificateTrust { trustStore.current }
    package let pmode: PMode
    /// Require the signer certificate's CN to equal the eb:From PartyId (the SDK rule).
    package var requireSignerIsFromParty = true
    /// Largest decompressed payload.
    package var maxPayloadBytes = 1 << 30
    /// The SOAP envelope's limits. Payloads travel as MIME attachments (payloads in the Body are
    /// not supported), so an envelope is headers and certificates: a few kilobytes; 1 MiB
    /// leaves ample room and bounds what one request holds in memory before it is refused.
    package var limits = AS4Opener.envelopeLimits
    /// The default limits of a SOAP envelope (1 MiB).
    package static let envelopeLimits = XMLLimits(maxDocumentBytes: 1 << 20)
    /// Clock difference tolerated between us and a sender when checking wsu:Created/Expires.
    package var clockSkew: TimeInterval = 300

    /// An opener with a fixed trust.
    package init(identity: SigningIdentity, trust: CertificateTrust, pmode: PMode) {
        self.init(identity: identity, trustStore: TrustStore(trust), pmode: pmode)
    }

    /// An opener that evaluates every message with the trust `trustStore` holds at that moment.
    package init(identity: SigningIdentity, trustStore: TrustStore, pmode: PMode) {
        self.identity = identity
        self.trustStore = trustStore
        self.pmode = pmode
    }

    /// A verified, decrypted inbound UserMessage.
    package struct Inbound: Sendable {
        package var userMessage: UserMessage
        /// Decompressed payloads by Content-ID.
        package var payloads: [String: Spool]
        /// What the sender signed (the receipt repeats it).
        package var signedReferences: [SignedReference]
        package var signer: Certificate
        /// The SOAP envelope as received (kept as evidence).
        package var soap: [UInt8]
        /// The XHE header of the `cid:message` payload, once the endpoint has read and checked it
        /// (``AS4Endpoint/checkSDKEnvelope``), so delivery does not parse the payload again.
        package var xheHeader: XHEEnvelope?
        /// Our identity whose certificate the sender encrypted the content key to (nil when the
        /// message was not encrypted): the current one, or an earlier one in its overlap. The
        /// receipt is signed with it, since that is the certificate the sender knows us by.
        package var recipient: SigningIdentity?
    }

    /// The SOAP part of a multipart body: the `start` part, else the first `application/soap+xml`
    /// part, else the first part.
    package static func soapPart(_ parts: [MIMEPart], contentType: ContentType) throws(EbMSError) -> (MIMEPart, [MIMEPart]) {
        guard !parts.isEmpty else { throw .invalidHeader("the multipart body has no parts") }
        var index = 0
        if let start = contentType.parameters["start"] {
            let id = start.trimmingCharacters(in: "<> ")
            guard let i = parts.firstIndex(where: { $0.contentID == id }) else {
                throw .invalidHeader("the start part <\(id)> is not in the message")
            }
            index = i
        } else if let i = parts.firstIndex(where: { ($0.contentType ?? "").lowercased().hasPrefix("application/soap+xml") }) {
            index = i
        }
        var rest = parts
        let soap = rest.remove(at: index)
        return (soap, rest)
    }

    /// Processes a UserMessage request.
    package func open(soap: [UInt8], attachments: [MIMEPart], at now: Date = Date()) async throws(EbMSError) -> Inbound {
        let document: XMLDocument
        do { document = try XMLDocument(bytes: soap, limits: limits) } catch { throw .invalidHeader("the SOAP envelope is refused: \(error)") }
        let envelope = try AS4EnvelopeParts(document)
        let users = envelope.messaging.elements(AS4Namespaces.eb, "UserMessage")
        guard !users.isEmpty else { throw .invalidHeader("eb:Messaging holds no UserMessage") }
        guard users.count == 1, envelope.messaging.elements(AS4Namespaces.eb, "SignalMessage").isEmpty else {
            throw EbMSError(code: "EBMS:0002", shortDescription: "FeatureNotSupported", category: "Content",
                            detail: "bundled messages are not supported")
        }
        let user = try UserMessage(element: users[0])
        let messageId = user.messageId
        do {
            try checkPMode(user)
            let byID = Dictionary(attachments.compactMap { p in p.contentID.map { ($0, p) } }, uniquingKeysWith: { a, _ in a })
            var ids = Set<String>()
            for part in user.parts {
                guard let cid = part.contentID else { throw EbMSError.valueInconsistent("PartInfo href \(part.href) is not a cid: reference (payloads in the Body are not supported)") }
                guard byID[cid] != nil else {
                    throw EbMSError(code: "EBMS:0007", shortDescription: "MimeInconsistency", category: "Unpackaging",
                                    detail: "PartInfo cid:\(cid) has no MIME part")
                }
                ids.insert(cid)
            }
            guard pmode.security.sign else { throw EbMSError.policyNoncompliance("unsigned messages are not accepted") }
            let check = try WSSignatureCheck(document: document, envelope: envelope).verify(attachmentIDs: ids, requireAttachments: true)
            if pmode.security.requireTimestamp, envelope.timestamp == nil {
                throw EbMSError.policyNoncompliance("a signed wsu:Timestamp is required")
            }
            if let timestamp = envelope.timestamp { try WSTimestamp(timestamp).check(at: now, skew: clockSkew) }
            do { try await trustStore.current.evaluate(check.signer, at: now) } catch {
                throw EbMSError.failedAuthentication(error.description)
            }
            if requireSignerIsFromParty {
                let cn = Self.commonName(check.signer)
                guard cn == user.from.id else {
                    throw EbMSError.failedAuthentication("the signing certificate's CN \(cn ?? "(none)") is not the From PartyId \(user.from.id)")
                }
            }
            // Decrypt.
            var plain: [String: Spool] = [:]
            let (encrypted, recipient) = try decryptAttachments(envelope: envelope, attachments: byID)
            for cid in ids {
                guard let content = encrypted[cid] else {
                    if pmode.security.encrypt { throw EbMSError.policyNoncompliance("payload cid:\(cid) is not encrypted") }
                    plain[cid] = byID[cid]!.body
                    continue
                }
                plain[cid] = content
            }
            // Digests of the (decrypted, still compressed) payloads.
            for cid in ids {
                guard let expected = check.attachmentDigests[cid] else { continue }
                do {
                    guard try AS4Sealer.sha256(plain[cid]!) == expected else {
                        throw EbMSError.failedAuthentication("the digest of payload cid:\(cid) does not match: it was altered")
                    }
                } catch let e as EbMSError { throw e } catch { throw EbMSError.internalFailure("reading payload cid:\(cid): \(error)") }
            }
            // Decompress.
            var payloads: [String: Spool] = [:]
            for part in user.parts {
                let cid = part.contentID!
                if let compression = part.property("CompressionType") {
                    guard compression == "application/gzip" else {
                        throw EbMSError.valueNotRecognized("CompressionType \(compression) is not supported")
                    }
                    payloads[cid] = try gunzip(plain[cid]!, cid: cid)
                } else {
                    payloads[cid] = plain[cid]
                }
            }
            var inbound = Inbound(userMessage: user, payloads: payloads, signedReferences: check.references, signer: check.signer, soap: soap)
            inbound.recipient = recipient
            return inbound
        } catch let e as EbMSError {
            var e = e
            e.refToMessageId = messageId
            throw e
        } catch {
            var e = EbMSError.internalFailure("\(error)")
            e.refToMessageId = messageId
            throw e
        }
    }

    private func checkPMode(_ user: UserMessage) throws(EbMSError) {
        guard user.service == pmode.service, user.serviceType == pmode.serviceType else {
            throw .valueNotRecognized("service \(user.serviceType ?? "")/\(user.service) is not served (expected \(pmode.serviceType ?? "")/\(pmode.service))")
        }
        guard user.from.type == pmode.partyType, user.to.type == pmode.partyType else {
            throw .valueInconsistent("PartyId type must be \(pmode.partyType)")
        }
        for name in pmode.requiredProperties where user.property(name) == nil {
            throw .valueInconsistent("the message property \(name) is required")
        }
    }

    /// Decrypts every EncryptedData of the header; returns plaintext spools by Content-ID, and
    /// our identity the content key was encrypted to.
    private func decryptAttachments(envelope: AS4EnvelopeParts, attachments: [String: MIMEPart]) throws
        -> (spools: [String: Spool], recipient: SigningIdentity?)
    {
        let xenc = XMLNamespaces.xenc
        let keys = envelope.security.elements(xenc, "EncryptedKey")
        let data = envelope.security.elements(xenc, "EncryptedData")
        if keys.isEmpty && data.isEmpty { return ([:], nil) }
        guard keys.count == 1, let encryptedKey = keys.first else {
            throw EbMSError.failedDecryption("exactly one xenc:EncryptedKey is supported (found \(keys.count))")
        }
        let (sessionKey, recipient) = try unwrap(encryptedKey, envelope: envelope)
        // The EncryptedKey must list exactly the EncryptedData it protects: an empty or missing
        // ReferenceList, or one naming something that is not here, is refused.
        let references = encryptedKey.element(xenc, "ReferenceList")?.elements(xenc, "DataReference") ?? []
        let listed = Set(references.compactMap { $0.attribute("URI").map { String($0.drop(while: { $0 == "#" })) } })
        guard !listed.isEmpty, listed.count == references.count else {
            throw EbMSError.failedDecryption("the EncryptedKey's ReferenceList must list every EncryptedData it protects")
        }
        let present = Set(data.compactMap { $0.attribute("Id") })
        guard listed.isSubset(of: present) else {
            throw EbMSError.failedDecryption("the EncryptedKey's ReferenceList names EncryptedData that is not in the message")
        }
        var out: [String: Spool] = [:]
        for d in data {
            guard let id = d.attribute("Id"), listed.contains(id) else {
                throw EbMSError.failedDecryption("EncryptedData \(d.attribute("Id") ?? "?") is not listed by the EncryptedKey")
            }
            guard let algorithm = d.element(xenc, "EncryptionMethod")?.attribute("Algorithm"),
                  algorithm == XMLSecurityAlgorithm.aes128GCM || algorithm == XMLSecurityAlgorithm.aes256GCM else {
                throw EbMSError.policyNoncompliance("attachment encryption must be AES-GCM")
            }
            guard let uri = d.element(xenc, "CipherData")?.element(xenc, "CipherReference")?.attribute("URI"), uri.hasPrefix("cid:") else {
                throw EbMSError.failedDecryption("EncryptedData \(id) has no CipherReference to an attachment")
            }
            let cid = String(uri.dropFirst(4))
            guard let part = attachments[cid] else { throw EbMSError.failedDecryption("no MIME part for \(uri)") }
            guard out[cid] == nil else { throw EbMSError.failedDecryption("attachment \(uri) is encrypted twice") }
            let expectedKey = algorithm == XMLSecurityAlgorithm.aes128GCM ? 16 : 32
            guard sessionKey.count == expectedKey else { throw EbMSError.failedDecryption("the content key length does not fit \(algorithm)") }
            let plain = Spool()
            do {
                let cipher = try AESGCMStream(.decrypt, key: sessionKey)
                try part.body.forEachChunk { try cipher.update($0) { try plain.append($0) } }
                try cipher.finish { try plain.append($0) }
            } catch { throw EbMSError.failedDecryption("payload \(uri): \(error)") }
            plain.finish()
            out[cid] = plain
        }
        return (out, recipient)
    }

    /// The content key from the EncryptedKey, which must be addressed to our certificate.
    private func unwrap(_ k: XMLElement, envelope: AS4EnvelopeParts) throws -> (key: [UInt8], recipient: SigningIdentity) {
        let xenc = XMLNamespaces.xenc, ds = XMLNamespaces.ds, wsse = AS4Namespaces.wsse
        guard let method = k.element(xenc, "EncryptionMethod"), let algorithm = method.attribute("Algorithm") else {
            throw EbMSError.failedDecryption("EncryptedKey has no EncryptionMethod")
        }
        let digest = method.element(ds, "DigestMethod")?.attribute("Algorithm") ?? XMLSecurityAlgorithm.sha1
        let mgf = method.element(XMLNamespaces.xenc11, "MGF")?.attribute("Algorithm")
        let padding: RSAPrivateKey.OAEPDigest
        switch (algorithm, digest, mgf) {
        case (XMLSecurityAlgorithm.rsaOAEP, XMLSecurityAlgorithm.sha256, XMLSecurityAlgorithm.mgf1SHA256?):
            padding = .sha256
        case (XMLSecurityAlgorithm.rsaOAEPMGF1P, XMLSecurityAlgorithm.sha1, nil), (XMLSecurityAlgorithm.rsaOAEP, XMLSecurityAlgorithm.sha1, nil):
            padding = .sha1
        default:
            throw EbMSError.policyNoncompliance("key transport \(algorithm) with \(digest) / \(mgf ?? "MGF1-SHA1") is not supported")
        }
        // Which certificate was the key encrypted to? Accept a BST reference, issuer-serial or SKI;
        // ours now, or an earlier one still in its overlap.
        guard let str = k.element(ds, "KeyInfo")?.element(wsse, "SecurityTokenReference") else {
            throw EbMSError.failedDecryption("EncryptedKey/KeyInfo has no SecurityTokenReference")
        }
        let addressedTo: (Certificate) -> Bool
        if let uri = str.element(wsse, "Reference")?.attribute("URI"), uri.hasPrefix("#") {
            let token = envelope.tokens[String(uri.dropFirst())]
            addressedTo = { token == $0 }
        } else if let serial = str.element(ds, "X509Data")?.element(ds, "X509IssuerSerial") {
            let number = serial.element(ds, "X509SerialNumber").map { XMLText.normalizeSpace($0.stringValue) }
            let issuer = serial.element(ds, "X509IssuerName").map { XMLText.normalizeSpace($0.stringValue) }
            addressedTo = { ours in
                number == SecurityTokens.serialDecimal(ours) && issuer.map { Self.sameName($0, SecurityTokens.issuerName(ours)) } == true
            }
        } else if let ski = str.element(wsse, "KeyIdentifier"), ski.attribute("ValueType") == AS4Namespaces.x509SKI {
            let named = Base64.decode(ski.stringValue)
            addressedTo = { named == SecurityTokens.subjectKeyIdentifier($0) }
        } else {
            throw EbMSError.failedDecryption("EncryptedKey names its certificate in an unsupported way")
        }
        guard let recipient = ([identity] + previousIdentities).first(where: { addressedTo($0.certificate) }) else {
            throw EbMSError.failedDecryption("the content key is encrypted to another certificate than ours")
        }
        guard let wrapped = k.element(xenc, "CipherData")?.element(xenc, "CipherValue").flatMap({ Base64.decode($0.stringValue) }) else {
            throw EbMSError.failedDecryption("EncryptedKey has no CipherValue")
        }
        do { return (try recipient.decrypt(oaep: wrapped, digest: padding), recipient) } catch {
            throw EbMSError.failedDecryption("the content key does not decrypt with our key")
        }
    }

    private func gunzip(_ input: Spool, cid: String) throws(EbMSError) -> Spool {
        let out = Spool()
        do {
            let z = try Gzip(.decompress, maxOutput: maxPayloadBytes)
            try input.forEachChunk { try z.update($0) { try out.append($0) } }
            try z.finish { try out.append($0) }
        } catch { throw .decompressionFailure("payload cid:\(cid): \(error)") }
        out.finish()
        return out
    }

    static func sameName(_ a: String, _ b: String) -> Bool {
        func norm(_ s: String) -> [String] {
            s.split(separator: ",").map { XMLText.normalizeSpace(String($0)).replacingOccurrences(of: " = ", with: "=").lowercased() }.sorted()
        }
        return norm(a) == norm(b)
    }

    /// The certificate subject's common name.
    package static func commonName(_ certificate: Certificate) -> String? {
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                return String(describing: attribute.value)
            }
        }
        return nil
    }
}
