package import Projections

/// What a case system or a person submits: a message from one of our functional addresses to
/// another organisation's, with text parts and attachments.
package struct OutboundMessage: Sendable {
    package struct Attachment: Sendable {
        package var fileName: String
        package var contentType: String
        package var content: [UInt8]

        package init(fileName: String, contentType: String, content: [UInt8]) {
            self.fileName = fileName
            self.contentType = contentType
            self.content = content
        }
    }

    package var from: FunctionalAddress
    package var to: FunctionalAddress
    /// The message's subject line (SDK `label`).
    package var label: String?
    package var texts: [String]
    package var attachments: [Attachment]
    package var confidential: Bool
    /// A case or reference number to help handling (SDK attention reference).
    package var reference: String?
    /// The SDK conversation to answer in (a conversation id of an earlier message); nil starts a
    /// new one, named by the message's id.
    package var conversation: String?

    package init(from: FunctionalAddress, to: FunctionalAddress, label: String? = nil, texts: [String] = [], attachments: [Attachment] = [],
                 confidential: Bool = false, reference: String? = nil, conversation: String? = nil) {
        self.from = from
        self.to = to
        self.label = label
        self.texts = texts
        self.attachments = attachments
        self.confidential = confidential
        self.reference = reference
        self.conversation = conversation
    }
}
