package import X509

/// The part of ``AS4Opener/open(soap:attachments:at:)`` that needs neither our key nor a trust
/// store: parses the SOAP envelope with the opener's limits, locates its parts
/// (``AS4EnvelopeParts``), reads the one UserMessage and checks the WS-Security signature — its
/// structure, the digests of the header parts and the signature value against the certificate the
/// header carries (``WSSignatureCheck``). What follows in the opener (P-Mode, trust, decryption,
/// attachment digests) is not done here.
///
/// It runs the same code in the same order as the opener, so that the fuzz harness (Tests/Fuzz)
/// reaches the inbound header parsers, which are internal to this module, through one entry point.
package enum AS4HeaderCheck {
    /// What a successful check found.
    package struct Checked: Sendable {
        package var userMessage: UserMessage
        /// The certificate whose key verified the signature (not yet evaluated against trust).
        package var signer: Certificate
        package var references: [SignedReference]
    }

    /// The opener's default limits for the SOAP envelope.
    package static let limits = AS4Opener.envelopeLimits

    /// Parses `soap` and checks its header and signature; every failure is the ``EbMSError`` the
    /// opener would answer with.
    package static func check(soap: [UInt8], limits: XMLLimits = AS4HeaderCheck.limits) throws(EbMSError) -> Checked {
        let document: XMLDocument
        do { document = try XMLDocument(bytes: soap, limits: limits) } catch { throw .invalidHeader("the SOAP envelope is refused: \(error)") }
        let envelope = try AS4EnvelopeParts(document)
        let users = envelope.messaging.elements(AS4Namespaces.eb, "UserMessage")
        guard users.count == 1, envelope.messaging.elements(AS4Namespaces.eb, "SignalMessage").isEmpty else {
            throw .invalidHeader("eb:Messaging must hold exactly one UserMessage")
        }
        let user = try UserMessage(element: users[0])
        var ids = Set<String>()
        for part in user.parts {
            guard let cid = part.contentID else { throw .valueInconsistent("PartInfo href \(part.href) is not a cid: reference") }
            ids.insert(cid)
        }
        let result = try WSSignatureCheck(document: document, envelope: envelope).verify(attachmentIDs: ids, requireAttachments: true)
        return Checked(userMessage: user, signer: result.signer, references: result.references)
    }
}
