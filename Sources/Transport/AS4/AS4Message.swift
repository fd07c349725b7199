/// An AS4 message on the wire: the SOAP envelope and its attachments (already compressed and
/// encrypted for outbound messages; as received for inbound ones).
package struct AS4WireMessage: Sendable {
    package var soap: [UInt8]
    package var attachments: [AS4Attachment]
    /// The references the signature covers (for the receipt's non-repudiation check).
    package var signedReferences: [SignedReference]
    /// eb:MessageId of the UserMessage or SignalMessage.
    package var messageId: String

    package init(soap: [UInt8], attachments: [AS4Attachment], signedReferences: [SignedReference], messageId: String) {
        self.soap = soap
        self.attachments = attachments
        self.signedReferences = signedReferences
        self.messageId = messageId
    }

    /// The HTTP body and Content-Type: multipart/related when there are attachments, a bare SOAP
    /// envelope otherwise (receipts and errors).
    package func httpBody(writer: MIMEMultipartWriter = MIMEMultipartWriter(),
                          sink: (UnsafeRawBufferPointer) throws -> Void) throws -> String {
        let (body, contentType) = HTTPBodySegments.body(of: self, writer: writer)
        for segment in body.segments {
            switch segment {
            case .bytes(let b): try b.withUnsafeBytes { try sink($0) }
            case .spool(let s): try s.forEachChunk(sink)
            }
        }
        return contentType
    }
}

/// A MIME attachment of an AS4 message.
package struct AS4Attachment: Sendable {
    package var contentID: String
    package var contentType: String
    package var body: Spool

    package init(contentID: String, contentType: String, body: Spool) {
        self.contentID = contentID
        self.contentType = contentType
        self.body = body
    }
}

/// A business payload to send (before compression and encryption).
package struct AS4Payload: Sendable {
    /// Content-ID, e.g. `message` for the SDK XHE part.
    package var contentID: String
    /// The payload's own MIME type (`application/xml` for an XHE).
    package var mimeType: String
    package var content: Spool

    package init(contentID: String, mimeType: String, content: Spool) {
        self.contentID = contentID
        self.mimeType = mimeType
        self.content = content
    }
}
