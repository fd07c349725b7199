package import Foundation
import Ledger

/// An SDK message v3 (`urn:riv:infrastructure:messaging:MessageWithAttachments:3`, root
/// `messagePayload`): every element of the XSD, with persons, references, text parts and base64
/// file attachments. Extension elements (`xs:any ##other`) are not modelled.
package struct SDKMessage: Sendable, Equatable {
    package var header: Header
    /// `messageBody/documents`, at least one.
    package var documents: [Document]

    package init(header: Header, documents: [Document]) {
        self.header = header
        self.documents = documents
    }

    /// `II` — an instance identifier (`root` = the code system, `extension` = the value).
    package struct InstanceIdentifier: Sendable, Equatable {
        package var root: String
        package var `extension`: String
        package init(root: String, extension: String) {
            self.root = root
            self.extension = `extension`
        }

        /// A participant id (`iso6523-actorid-upis`, e.g. `0203:malmo.se`).
        package static func participant(_ id: String) -> Self { .init(root: "iso6523-actorid-upis", extension: id) }
        /// A functional address (`urn:riv:infrastructure:messaging:functionalAddress`).
        package static func functionalAddress(_ address: String) -> Self {
            .init(root: "urn:riv:infrastructure:messaging:functionalAddress", extension: address)
        }
    }

    package struct Header: Sendable, Equatable {
        /// `xs:dateTime`, as the SDK rules require it: `YYYY-MM-DDThh:mm:ss.sssZ`.
        package var creationDateTime: String
        package var messageId: String
        package var conversationId: String
        package var refToMessageId: String?
        /// The subject line (at most 256 characters).
        package var label: String?
        package var confidentiality: Bool
        package var generatingSystem: InstanceIdentifier?
        package var recipient: Recipient
        package var sender: Sender

        package init(creationDateTime: String, messageId: String, conversationId: String, refToMessageId: String? = nil,
                     label: String?, confidentiality: Bool, generatingSystem: InstanceIdentifier? = nil,
                     recipient: Recipient, sender: Sender) {
            self.creationDateTime = creationDateTime
            self.messageId = messageId
            self.conversationId = conversationId
            self.refToMessageId = refToMessageId
            self.label = label
            self.confidentiality = confidentiality
            self.generatingSystem = generatingSystem
            self.recipient = recipient
            self.sender = sender
        }
    }

    package struct Recipient: Sendable, Equatable {
        package var id: InstanceIdentifier
        package var label: String?
        package var attention: Attention
        package init(id: InstanceIdentifier, label: String? = nil, attention: Attention) {
            self.id = id
            self.label = label
            self.attention = attention
        }
    }

    package struct Sender: Sendable, Equatable {
        package var id: InstanceIdentifier
        package var label: String?
        package var attention: Attention?
        package init(id: InstanceIdentifier, label: String? = nil, attention: Attention?) {
            self.id = id
            self.label = label
            self.attention = attention
        }
    }

    /// Who inside the organisation the message is for: a functional mailbox (sub-organisation),
    /// optionally persons and references (case numbers) that help handling.
    package struct Attention: Sendable, Equatable {
        package var persons: [Person]
        package var subOrganization: SubOrganization
        package var references: [Reference]
        package init(persons: [Person] = [], subOrganization: SubOrganization, references: [Reference] = []) {
            self.persons = persons
            self.subOrganization = subOrganization
            self.references = references
        }
    }

    package struct Person: Sendable, Equatable {
        package var id: InstanceIdentifier?
        package var label: String?
        package init(id: InstanceIdentifier?, label: String?) {
            self.id = id
            self.label = label
        }
    }

    package struct SubOrganization: Sendable, Equatable {
        package var id: InstanceIdentifier
        package var label: String?
        package init(id: InstanceIdentifier, label: String? = nil) {
            self.id = id
            self.label = label
        }
    }

    package struct Reference: Sendable, Equatable {
        package var id: InstanceIdentifier
        package var label: String?
        package init(id: InstanceIdentifier, label: String? = nil) {
            self.id = id
            self.label = label
        }
    }

    package struct Document: Sendable, Equatable {
        package var documentID: String
        package var documentName: String?
        package var index: String?
        package var files: [File]
        /// `ContentText/characterSequence` parts.
        package var texts: [String]
        package init(documentID: String, documentName: String? = nil, index: String? = nil, files: [File] = [],
                     texts: [String] = []) {
            self.documentID = documentID
            self.documentName = documentName
            self.index = index
            self.files = files
            self.texts = texts
        }
    }

    /// A `ContentFiles` attachment (decoded bytes).
    package struct File: Sendable, Equatable {
        package var fileName: String
        package var contentType: String
        package var content: [UInt8]
        package init(fileName: String, contentType: String, content: [UInt8]) {
            self.fileName = fileName
            self.contentType = contentType
            self.content = content
        }
    }
}

extension SDKMessage {
    private static let ns = XMLNamespaces.sdk

    /// The message as an XML document (UTF-8, prefix `tns`).
    package func xml(declaration: Bool = true) -> [UInt8] {
        var w = XMLWriter(declaration: declaration)
        w.start("tns:messagePayload", ["xmlns:tns": Self.ns])
        w.start("tns:message")
        w.start("tns:messageHeader")
        w.element("tns:creationDateTime", header.creationDateTime)
        w.element("tns:messageId", header.messageId)
        w.element("tns:conversationId", header.conversationId)
        w.optional("tns:refToMessageId", header.refToMessageId)
        w.optional("tns:label", header.label)
        w.element("tns:confidentiality", header.confidentiality ? "true" : "false")
        if let g = header.generatingSystem { Self.write(g, as: "tns:generatingSystem", &w) }
        w.start("tns:recipient")
        Self.write(header.recipient.id, as: "tns:recipientID", &w)
        w.optional("tns:label", header.recipient.label)
        Self.write(header.recipient.attention, &w)
        w.end()
        w.start("tns:sender")
        Self.write(header.sender.id, as: "tns:senderID", &w)
        w.optional("tns:label", header.sender.label)
        if let a = header.sender.attention { Self.write(a, &w) }
        w.end()
        w.end()  // messageHeader
        w.start("tns:messageBody")
        for d in documents {
            w.start("tns:documents")
            w.element("tns:documentID", d.documentID)
            w.optional("tns:documentName", d.documentName)
            w.optional("tns:index", d.index)
            for f in d.files {
                w.start("tns:ContentFiles")
                w.element("tns:fileName", f.fileName)
                w.element("tns:contentType", f.contentType)
                w.start("tns:content")
                w.base64(f.content)
                w.end()
                w.end()
            }
            for t in d.texts {
                w.start("tns:ContentText")
                w.element("tns:characterSequence", t)
                w.end()
            }
            w.end()
        }
        w.end()  // messageBody
        w.end()  // message
        w.end()  // messagePayload
        return w.bytes
    }

    private static func write(_ id: InstanceIdentifier, as name: String, _ w: inout XMLWriter) {
        w.start(name)
        w.element("tns:root", id.root)
        w.element("tns:extension", id.extension)
        w.end()
    }

    private static func write(_ a: Attention, _ w: inout XMLWriter) {
        w.start("tns:attention")
        for p in a.persons {
            w.start("tns:person")
            if let id = p.id { write(id, as: "tns:personId", &w) }
            w.optional("tns:label", p.label)
            w.end()
        }
        w.start("tns:subOrganization")
        write(a.subOrganization.id, as: "tns:organizationId", &w)
        w.optional("tns:label", a.subOrganization.label)
        w.end()
        for r in a.references {
            w.start("tns:reference")
            write(r.id, as: "tns:referenceId", &w)
            w.optional("tns:label", r.label)
            w.end()
        }
        w.end()
    }

    /// Reads a message from its `messagePayload` element.
    package init(element root: XMLElement) throws(SDKModelError) {
        let ns = Self.ns
        guard root.isNamed(ns, "messagePayload") else { throw .wrongRoot(root, expected: "tns:messagePayload") }
        guard let message = root.element(ns, "message") else { throw .missing("messagePayload/message") }
        guard let h = message.element(ns, "messageHeader") else { throw .missing("message/messageHeader") }
        guard let r = h.element(ns, "recipient") else { throw .missing("messageHeader/recipient") }
        guard let s = h.element(ns, "sender") else { throw .missing("messageHeader/sender") }
        guard let confidentiality = XSDBoolean.parse(try h.required(ns, "confidentiality")) else {
            throw .invalid("messageHeader/confidentiality is not an xs:boolean")
        }
        guard let ra = r.element(ns, "attention") else { throw .missing("recipient/attention") }
        let header = Header(
            creationDateTime: XMLText.normalizeSpace(try h.required(ns, "creationDateTime")),
            messageId: try h.required(ns, "messageId"),
            conversationId: try h.required(ns, "conversationId"),
            refToMessageId: h.optionalText(ns, "refToMessageId"),
            label: h.optionalText(ns, "label"),
            confidentiality: confidentiality,
            generatingSystem: try h.element(ns, "generatingSystem").map { e throws(SDKModelError) in try Self.ii(e) },
            recipient: Recipient(id: try Self.ii(r, "recipientID"), label: r.optionalText(ns, "label"),
                                 attention: try Self.attention(ra)),
            sender: Sender(id: try Self.ii(s, "senderID"), label: s.optionalText(ns, "label"),
                           attention: try s.element(ns, "attention").map { e throws(SDKModelError) in try Self.attention(e) }))
        guard let body = message.element(ns, "messageBody") else { throw .missing("message/messageBody") }
        var documents: [Document] = []
        for d in body.elements(ns, "documents") {
            var files: [File] = []
            for f in d.elements(ns, "ContentFiles") {
                // Decoded straight from the text (XML whitespace skipped): an attachment of tens
                // of MB is not copied on the way.
                guard let data = Base64.decode(try f.required(ns, "content")) else {
                    throw .invalid("ContentFiles/content of \(try f.required(ns, "fileName")) is not base64")
                }
                files.append(File(fileName: try f.required(ns, "fileName"), contentType: try f.required(ns, "contentType"),
                                  content: data))
            }
            documents.append(Document(
                documentID: try d.required(ns, "documentID"), documentName: d.optionalText(ns, "documentName"),
                index: d.optionalText(ns, "index"), files: files,
                texts: try d.elements(ns, "ContentText").map { t throws(SDKModelError) in try t.required(ns, "characterSequence") }))
        }
        guard !documents.isEmpty else { throw .missing("messageBody/documents") }
        self.init(header: header, documents: documents)
    }

    private static func ii(_ parent: XMLElement, _ name: String) throws(SDKModelError) -> InstanceIdentifier {
        guard let e = parent.element(ns, name) else { throw .missing("\(parent.localName)/\(name)") }
        return try ii(e)
    }

    private static func ii(_ e: XMLElement) throws(SDKModelError) -> InstanceIdentifier {
        InstanceIdentifier(root: try e.required(ns, "root"), extension: try e.required(ns, "extension"))
    }

    private static func attention(_ a: XMLElement) throws(SDKModelError) -> Attention {
        guard let so = a.element(ns, "subOrganization") else { throw .missing("attention/subOrganization") }
        return Attention(
            persons: try a.elements(ns, "person").map { p throws(SDKModelError) in
                Person(id: try p.element(ns, "personId").map { e throws(SDKModelError) in try ii(e) },
                       label: p.optionalText(ns, "label"))
            },
            subOrganization: SubOrganization(id: try ii(so, "organizationId"), label: so.optionalText(ns, "label")),
            references: try a.elements(ns, "reference").map { r throws(SDKModelError) in
                Reference(id: try ii(r, "referenceId"), label: r.optionalText(ns, "label"))
            })
    }

    /// `YYYY-MM-DDThh:mm:ss.sssZ` for `date` (milliseconds, truncated), the form the SDK rules
    /// require; the calendar arithmetic is the ledger's ``Timestamp``.
    package static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        return String(Timestamp(nanoseconds: ms * 1_000_000).rfc3339.prefix(23)) + "Z"
    }
}
