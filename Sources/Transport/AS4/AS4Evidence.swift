package import X509

/// An AS4 envelope kept as evidence (a sent UserMessage, a received one, a receipt or an error
/// signal), read back offline by the evidence verifier: what it says and what its WS-Security
/// signature covers. Parsing is as hardened as on the wire (no DTD, limits); nothing here trusts
/// the document until ``verifySignature()`` says so.
package struct AS4Evidence {
    private let document: XMLDocument
    private let envelope: AS4EnvelopeParts

    /// The envelope's one SignalMessage, if it holds signals (nil for a UserMessage).
    package let signals: [SignalMessage]
    /// The UserMessage's eb:MessageId, if it holds one.
    package let userMessageID: String?
    /// The SignedInfo references of its signature, in document order.
    package let signedReferences: [SignedReference]
    /// The certificate of the BinarySecurityToken the signature's KeyInfo names.
    package let signer: Certificate?

    package init(_ soap: [UInt8], limits: XMLLimits = XMLLimits(maxDocumentBytes: 16 << 20)) throws(EbMSError) {
        do { document = try XMLDocument(bytes: soap, limits: limits) } catch { throw .invalidHeader("not acceptable XML: \(error)") }
        envelope = try AS4EnvelopeParts(document)
        let eb = AS4Namespaces.eb
        signals = try envelope.messaging.elements(eb, "SignalMessage").map { s throws(EbMSError) in try SignalMessage(element: s) }
        userMessageID = envelope.messaging.element(eb, "UserMessage")?.element(eb, "MessageInfo")?.element(eb, "MessageId")?.normalizedValue
        let ds = XMLNamespaces.ds
        let signature = envelope.security.element(ds, "Signature")
        signedReferences = try (signature?.element(ds, "SignedInfo")?.elements(ds, "Reference") ?? []).map { r throws(EbMSError) in
            try SignedReference(element: r)
        }
        if let uri = signature?.element(ds, "KeyInfo")?.element(AS4Namespaces.wsse, "SecurityTokenReference")?
            .element(AS4Namespaces.wsse, "Reference")?.attribute("URI"), uri.hasPrefix("#") {
            signer = envelope.tokens[String(uri.dropFirst())]
        } else {
            signer = nil
        }
    }

    /// Checks the WS-Security signature cryptographically (structure, every `#id` digest, the
    /// signature value with the signer's key) and returns the signer. `cid:` references name MIME
    /// parts the evidence does not carry: they are signed, but their digests are not checked here.
    package func verifySignature() throws(EbMSError) -> Certificate {
        let cids = Set(signedReferences.map(\.uri).filter { $0.hasPrefix("cid:") }.map { String($0.dropFirst(4)) })
        return try WSSignatureCheck(document: document, envelope: envelope).verify(attachmentIDs: cids, requireAttachments: false).signer
    }
}
