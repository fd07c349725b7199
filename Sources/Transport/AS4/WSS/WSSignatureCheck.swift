import Crypto
import _CryptoExtras
import X509

/// Verifies the WS-Security signature of an AS4 envelope strictly, for messages and for
/// receipts: one `ds:Signature`, inside the one `wsse:Security` header; exclusive c14n and
/// RSA-SHA256; `#id` references only to eb:Messaging, the SOAP Body or the wsu:Timestamp, each
/// with exactly the exclusive-c14n transform and resolving to exactly one element at its place;
/// `cid:` references only to the given attachments, with exactly the
/// Attachment-Content-Signature-Transform; SHA-256 digests; the signer's certificate from a
/// BinarySecurityToken in the same header. Attachment digests are checked by the caller (after
/// decryption) through ``attachmentDigests``.
struct WSSignatureCheck {
    let document: XMLDocument
    let envelope: AS4EnvelopeParts

    /// What the signature covered, once verified.
    struct Result {
        var signer: Certificate
        var references: [SignedReference]
        /// Expected digest per attachment Content-ID.
        var attachmentDigests: [String: [UInt8]]
        var coversMessaging: Bool
        var coversBody: Bool
        var coversTimestamp: Bool
    }

    func verify(attachmentIDs: Set<String>, requireAttachments: Bool) throws(EbMSError) -> Result {
        let ds = XMLNamespaces.ds
        var signatures: [XMLElement] = []
        document.root.forEachElement { e in if e.isNamed(ds, "Signature") { signatures.append(e) } }
        guard !signatures.isEmpty else { throw .policyNoncompliance("the message is not signed") }
        guard signatures.count == 1, let signature = signatures.first,
              envelope.security.elements.contains(where: { $0 === signature }) else {
            throw .failedAuthentication("exactly one ds:Signature is allowed, as a child of wsse:Security")
        }
        let children = signature.elements
        guard children.count == 3, children[0].isNamed(ds, "SignedInfo"), children[1].isNamed(ds, "SignatureValue"),
              children[2].isNamed(ds, "KeyInfo") else {
            throw .policyNoncompliance("ds:Signature must hold SignedInfo, SignatureValue and KeyInfo")
        }
        let signedInfo = children[0]
        let siChildren = signedInfo.elements
        guard siChildren.count >= 3, siChildren[0].isNamed(ds, "CanonicalizationMethod"), siChildren[1].isNamed(ds, "SignatureMethod"),
              siChildren.dropFirst(2).allSatisfy({ $0.isNamed(ds, "Reference") }) else {
            throw .policyNoncompliance("SignedInfo must hold CanonicalizationMethod, SignatureMethod and References")
        }
        guard siChildren[0].attribute("Algorithm") == XMLSecurityAlgorithm.excC14n else {
            throw .policyNoncompliance("canonicalization \(siChildren[0].attribute("Algorithm") ?? "?") is not exclusive c14n")
        }
        var siPrefixes: [String] = []
        for child in siChildren[0].elements {
            guard child.isNamed(XMLSecurityAlgorithm.excC14n, "InclusiveNamespaces") else {
                throw .policyNoncompliance("unexpected CanonicalizationMethod parameter")
            }
            siPrefixes += (child.attribute("PrefixList") ?? "").split(separator: " ").map(String.init)
        }
        guard siChildren[1].attribute("Algorithm") == XMLSecurityAlgorithm.rsaSHA256 else {
            throw .policyNoncompliance("signature algorithm \(siChildren[1].attribute("Algorithm") ?? "?") is not RSA-SHA256")
        }

        // Signer certificate: KeyInfo/SecurityTokenReference/Reference → BinarySecurityToken here.
        let str = children[2].elements
        guard str.count == 1, str[0].isNamed(AS4Namespaces.wsse, "SecurityTokenReference"),
              let ref = str[0].element(AS4Namespaces.wsse, "Reference"), let uri = ref.attribute("URI"), uri.hasPrefix("#") else {
            throw .failedAuthentication("the signature's KeyInfo must reference a BinarySecurityToken")
        }
        guard let token = envelope.tokens[String(uri.dropFirst())] else {
            throw .failedAuthentication("the signature references \(uri), which is not a BinarySecurityToken in this header")
        }
        let signer = token

        var references: [SignedReference] = []
        var attachmentDigests: [String: [UInt8]] = [:]
        var coversMessaging = false, coversBody = false, coversTimestamp = false
        var seen: Set<String> = []
        for r in siChildren.dropFirst(2) {
            let reference = try SignedReference(element: r)
            guard seen.insert(reference.uri).inserted else { throw .failedAuthentication("reference \(reference.uri) appears twice") }
            guard reference.digestMethod == XMLSecurityAlgorithm.sha256, reference.digest.count == 32 else {
                throw .policyNoncompliance("reference \(reference.uri): digest must be SHA-256")
            }
            if reference.uri.hasPrefix("#") {
                guard reference.transforms == [XMLSecurityAlgorithm.excC14n] else {
                    throw .policyNoncompliance("reference \(reference.uri): only the exclusive c14n transform is allowed")
                }
                let id = String(reference.uri.dropFirst())
                guard let targets = envelope.ids[id], targets.count == 1, let target = targets.first else {
                    throw .failedAuthentication("reference \(reference.uri) does not resolve to exactly one element")
                }
                if target === envelope.messaging { coversMessaging = true } else if target === envelope.body { coversBody = true } else if
                    target === envelope.timestamp {
                    coversTimestamp = true
                } else {
                    throw .failedAuthentication("reference \(reference.uri) points at \(target.localName), not at eb:Messaging, the Body or the Timestamp")
                }
                var hasher = SHA256()
                do {
                    try document.canonicalize(target, method: .exclusive, inclusivePrefixes: reference.inclusivePrefixes) {
                        hasher.update(bufferPointer: $0)
                    }
                } catch { throw .failedAuthentication("cannot canonicalize \(reference.uri): \(error)") }
                guard Array(hasher.finalize()) == reference.digest else {
                    throw .failedAuthentication("the digest of \(target.localName) does not match: the message was altered")
                }
            } else if reference.uri.hasPrefix("cid:") {
                let cid = String(reference.uri.dropFirst(4))
                guard attachmentIDs.contains(cid) else {
                    throw .failedAuthentication("reference \(reference.uri) names no payload of this message")
                }
                guard reference.transforms == [AS4Namespaces.attachmentContentSignatureTransform] else {
                    throw .policyNoncompliance("reference \(reference.uri): only the Attachment-Content-Signature-Transform is allowed")
                }
                attachmentDigests[cid] = reference.digest
            } else {
                throw .failedAuthentication("reference \(reference.uri) is neither #id nor cid:")
            }
            references.append(reference)
        }
        guard coversMessaging else { throw .failedAuthentication("the signature does not cover eb:Messaging") }
        // A Timestamp that is present is only worth something when it is signed: an unsigned one
        // could be added or changed by anyone on the way.
        if envelope.timestamp != nil, !coversTimestamp {
            throw .failedAuthentication("the wsu:Timestamp is not covered by the signature")
        }
        if requireAttachments {
            guard coversBody else { throw .failedAuthentication("the signature does not cover the SOAP Body") }
            for cid in attachmentIDs where attachmentDigests[cid] == nil {
                throw .failedAuthentication("the signature does not cover the payload cid:\(cid)")
            }
        }

        let canonical: [UInt8]
        do { canonical = try document.canonicalize(signedInfo, method: .exclusive, inclusivePrefixes: siPrefixes) } catch {
            throw .failedAuthentication("cannot canonicalize SignedInfo: \(error)")
        }
        guard let key = ParsedCertificates.rsaSigningKey(signer), key.keySizeInBits >= 2048 else {
            throw .failedAuthentication("the signer's certificate must carry an RSA key of at least 2048 bits")
        }
        guard let value = Base64.decode(children[1].stringValue),
              key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: value), for: SHA256.hash(data: canonical),
                                   padding: .insecurePKCS1v1_5) else {
            throw .failedAuthentication("the signature value does not verify with the signer's certificate")
        }
        return Result(signer: signer, references: references, attachmentDigests: attachmentDigests,
                      coversMessaging: coversMessaging, coversBody: coversBody, coversTimestamp: coversTimestamp)
    }
}

/// The parts of a SOAP 1.2 AS4 envelope, located once and checked for uniqueness.
struct AS4EnvelopeParts {
    let header: XMLElement
    let body: XMLElement
    let messaging: XMLElement
    let security: XMLElement
    let timestamp: XMLElement?
    /// Elements by `Id`/`wsu:Id` value (any namespace, as WS-Security resolves them).
    let ids: [String: [XMLElement]]
    /// BinarySecurityTokens (X.509 v3) in the Security header, by wsu:Id.
    let tokens: [String: Certificate]

    init(_ document: XMLDocument) throws(EbMSError) {
        let soap = AS4Namespaces.soap
        let root = document.root
        guard root.isNamed(soap, "Envelope") else { throw .invalidHeader("the root element is not a SOAP 1.2 Envelope") }
        let headers = root.elements(soap, "Header"), bodies = root.elements(soap, "Body")
        guard headers.count == 1, bodies.count == 1 else { throw .invalidHeader("the Envelope needs exactly one Header and one Body") }
        header = headers[0]
        body = bodies[0]
        let messagings = header.elements(AS4Namespaces.eb, "Messaging")
        guard messagings.count == 1 else { throw .invalidHeader("the Header needs exactly one eb:Messaging (found \(messagings.count))") }
        messaging = messagings[0]
        let securities = header.elements(AS4Namespaces.wsse, "Security")
        guard securities.count <= 1 else { throw .invalidHeader("more than one wsse:Security header") }
        guard let security = securities.first else { throw .policyNoncompliance("no wsse:Security header") }
        self.security = security
        let timestamps = security.elements(AS4Namespaces.wsu, "Timestamp")
        guard timestamps.count <= 1 else { throw .invalidHeader("more than one wsu:Timestamp") }
        timestamp = timestamps.first
        var ids: [String: [XMLElement]] = [:]
        for e in document.elementsInOrder {
            for a in e.attributes where a.localName == "Id" { ids[a.value, default: []].append(e) }
        }
        if let duplicate = ids.first(where: { $0.value.count > 1 }) {
            throw .failedAuthentication("the Id \(duplicate.key) is used by more than one element")
        }
        self.ids = ids
        var tokens: [String: Certificate] = [:]
        for t in security.elements(AS4Namespaces.wsse, "BinarySecurityToken") {
            guard t.attribute("ValueType") == AS4Namespaces.x509v3 else {
                throw .policyNoncompliance("BinarySecurityToken of type \(t.attribute("ValueType") ?? "?") is not supported")
            }
            guard let id = t.attribute("Id", namespaceURI: AS4Namespaces.wsu) else { continue }
            guard let der = Base64.decode(t.stringValue), let cert = try? ParsedCertificates.certificate(der: der) else {
                throw .failedAuthentication("BinarySecurityToken \(id) is not an X.509 certificate")
            }
            tokens[id] = cert
        }
        self.tokens = tokens
    }
}
