import Node
import OpenAPIRuntime

/// A submission as either request body of `POST /v1/messages` carries it: JSON with the
/// attachments as base64, or `multipart/form-data` with a `message` part (JSON) listing the
/// attachments' names and types and one `attachment` part per file, in the same order.
struct SubmissionBody {
    var from: String
    var to: String
    var label: String?
    var texts: [String]
    var attachments: [OutboundMessage.Attachment]
    var confidential: Bool
    var reference: String?
    var conversationID: String?

    /// The submission in `body`, checked against the document's bounds. A multipart body that
    /// does not match the document (a missing or repeated `message` part, an unknown part, a
    /// `message` that is not the JSON it must be) is a 400 like any malformed request.
    static func read(_ body: Operations.SubmitMessage.Input.Body) async throws(NodeError) -> SubmissionBody {
        let read: SubmissionBody
        switch body {
        case .json(let s):
            var attachments: [OutboundMessage.Attachment] = []
            for a in s.attachments ?? [] {
                attachments.append(.init(fileName: a.fileName, contentType: a.contentType, content: Array(a.contentBase64.data)))
            }
            read = SubmissionBody(from: s.from, to: s.to, label: s.label, texts: s.texts ?? [], attachments: attachments,
                                  confidential: s.confidential ?? false, reference: s.reference, conversationID: s.conversationId)
        case .multipartForm(let parts):
            read = try await files(parts)
        }
        try read.check()
        return read
    }

    private static func files(_ parts: MultipartBody<Operations.SubmitMessage.Input.Body.MultipartFormPayload>) async throws(NodeError) -> SubmissionBody {
        var message: Components.Schemas.FileSubmission?
        var files: [(name: String?, bytes: [UInt8])] = []
        do {
            for try await part in parts {
                switch part {
                case .message(let p):
                    message = p.payload.body
                case .attachment(let p):
                    guard files.count < 100 else { throw NodeError(.invalidRequest, "at most 100 attachments") }
                    // The whole request was read (bounded) before the handler ran: this is a copy.
                    files.append((p.filename, try await [UInt8](collecting: p.payload.body, upTo: RequestErrors.maxBody)))
                }
            }
        } catch let error as NodeError {
            throw error
        } catch {
            throw NodeError(.invalidRequest, "the multipart body does not match the API document: one message part (JSON) and attachment parts")
        }
        guard let message else { throw NodeError(.invalidRequest, "a multipart submission needs a message part") }
        let listed = message.attachments ?? []
        guard listed.count == files.count else {
            throw NodeError(.unprocessable, "the message part lists \(listed.count) attachments and the request has \(files.count) attachment parts")
        }
        var attachments: [OutboundMessage.Attachment] = []
        for (i, (entry, file)) in zip(listed, files).enumerated() {
            if let name = file.name, name != entry.fileName {
                throw NodeError(.unprocessable, "attachment part \(i + 1) is named \(name.debugDescription) where the message part lists \(entry.fileName.debugDescription)")
            }
            attachments.append(.init(fileName: entry.fileName, contentType: entry.contentType, content: file.bytes))
        }
        return SubmissionBody(from: message.from, to: message.to, label: message.label, texts: message.texts ?? [], attachments: attachments,
                              confidential: message.confidential ?? false, reference: message.reference, conversationID: message.conversationId)
    }

    /// The document's bounds (the generated layer does not enforce lengths).
    private func check() throws(NodeError) {
        func bound(_ ok: Bool, _ what: String) throws(NodeError) { if !ok { throw NodeError(.invalidRequest, what) } }
        try bound((label?.count ?? 0) <= 255, "label is at most 255 characters")
        try bound((reference?.count ?? 0) <= 255, "reference is at most 255 characters")
        try bound(texts.count <= 100 && texts.allSatisfy { $0.count <= 1_000_000 }, "at most 100 texts of at most 1,000,000 characters")
        try bound(attachments.count <= 100, "at most 100 attachments")
        for a in attachments {
            try bound((1...255).contains(a.fileName.count) && (3...255).contains(a.contentType.count),
                      "an attachment's file_name is 1–255 characters and its content_type 3–255")
        }
    }
}
