/// An XHE 1.0 envelope with the DIGG customization (`urn:fdc:digg.se:edelivery:xhe:1`): business
/// scope criteria, From/To party, one payload with its HandlingServiceID (the recipient's
/// functional address) and InstanceEncryptionIndicator.
///
/// Signing and encryption are separate steps (``XHESecurity``): build the envelope with a plain
/// or an encrypted payload, then sign the bytes.
package struct XHEEnvelope: Sendable, Equatable {
    /// Header/ID. The AS4 ConversationId equals it; a Meddelandekvittens refers to it.
    package var id: String
    package var creationDateTime: String
    package var businessScope: [BusinessScopeCriterion]
    /// Participant id of the sender (scheme `iso6523-actorid-upis`), e.g. `0203:malmo.se`.
    package var fromParty: String
    /// Participant id of the recipient.
    package var toParty: String
    package var payload: Payload

    package init(id: String, creationDateTime: String, businessScope: [BusinessScopeCriterion], fromParty: String,
                 toParty: String, payload: Payload) {
        self.id = id
        self.creationDateTime = creationDateTime
        self.businessScope = businessScope
        self.fromParty = fromParty
        self.toParty = toParty
        self.payload = payload
    }

    package struct BusinessScopeCriterion: Sendable, Equatable {
        package var typeCode: String
        package var value: String
        package init(_ typeCode: String, _ value: String) {
            self.typeCode = typeCode
            self.value = value
        }
    }

    package struct Payload: Sendable, Equatable {
        /// E.g. `Q{urn:riv:infrastructure:messaging:MessageWithAttachments:3}messagePayload`.
        package var documentTypeCode: String
        package var contentTypeCode: String
        /// The recipient's functional address.
        package var handlingServiceID: String?
        package var content: Content
        package init(documentTypeCode: String, contentTypeCode: String = "application/xml", handlingServiceID: String?,
                     content: Content) {
            self.documentTypeCode = documentTypeCode
            self.contentTypeCode = contentTypeCode
            self.handlingServiceID = handlingServiceID
            self.content = content
        }

        /// InstanceEncryptionIndicator.
        package var isEncrypted: Bool { if case .encrypted = content { true } else { false } }
    }

    /// What PayloadContent holds.
    package enum Content: Sendable, Equatable {
        /// An XML element (serialized without XML declaration, self-contained namespaces).
        case xml([UInt8])
        /// Text (e.g. base64 of a non-XML document).
        case text(String)
        /// An `xenc:EncryptedData` of Type Element.
        case encrypted(EncryptedData)
        /// Not read: the envelope was read with ``XHEEnvelope/init(headerOf:)``, for its header
        /// only. Such an envelope is not written back (its PayloadContent would be empty).
        case notRead
    }

    /// The transport models of the SDK envelope profile.
    package enum TransportModel: String, Sendable {
        /// Signed and encrypted end to end.
        case signedAndEncrypted = "tm-base-ext-sigenc"
        /// Neither (the base model).
        case base = "tm-base"
    }

    /// Which SDK document type the envelope carries.
    package enum DocumentType: Sendable {
        case sdkMessage
        case meddelandekvittens

        var documentID: String {
            switch self {
            case .sdkMessage: "urn:riv:infrastructure:messaging:MessageWithAttachments:3::messagePayload##3.0"
            case .meddelandekvittens:
                "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse##fdc:digg.se:edelivery:messagetype:response:1::2.1"
            }
        }

        package var documentTypeCode: String {
            switch self {
            case .sdkMessage: "Q{urn:riv:infrastructure:messaging:MessageWithAttachments:3}messagePayload"
            case .meddelandekvittens: "Q{urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2}ApplicationResponse"
            }
        }
    }

    /// The business scope the SDK requires for `type` under `model` in `federation`.
    package static func businessScope(for type: DocumentType, model: TransportModel,
                                      federation: String = "urn:fdc:digg.se:edelivery:federation:sdk") -> [BusinessScopeCriterion] {
        [
            .init("DOCUMENTID", type.documentID + "::" + model.rawValue),
            .init("DOCUMENTID_SCHEME", "busdox-docid-qns"),
            .init("PROCESSID", "bdx:noprocess"),
            .init("PROCESSID_SCHEME", "urn:fdc:digg.se:edelivery:process"),
            .init("FEDERATIONID", federation),
        ]
    }

    /// The DOCUMENTID criterion value, if present.
    package var documentID: String? { businessScope.first { $0.typeCode == "DOCUMENTID" }?.value }
}

extension XHEEnvelope {
    /// The unsigned envelope as an XML document.
    package func xml() -> [UInt8] {
        var w = XMLWriter()
        w.start("x:XHE", ["xmlns:x": XMLNamespaces.xhe, "xmlns:xha": XMLNamespaces.xha, "xmlns": XMLNamespaces.xhb])
        w.element("XHEVersionID", "1.0")
        w.element("CustomizationID", "urn:fdc:digg.se:edelivery:xhe:1")
        w.start("xha:Header")
        w.element("ID", id)
        w.element("CreationDateTime", creationDateTime)
        w.start("xha:BusinessScope")
        for c in businessScope {
            w.start("xha:BusinessScopeCriterion")
            w.element("BusinessScopeCriterionTypeCode", c.typeCode)
            w.element("BusinessScopeCriterionValue", c.value)
            w.end()
        }
        w.end()
        for (name, party) in [("xha:FromParty", fromParty), ("xha:ToParty", toParty)] {
            w.start(name)
            w.start("xha:PartyIdentification")
            w.element("ID", party, ["schemeID": "iso6523-actorid-upis"])
            w.end()
            w.end()
        }
        w.end()  // Header
        w.start("xha:Payloads")
        w.start("xha:Payload")
        w.element("DocumentTypeCode", payload.documentTypeCode)
        w.element("ContentTypeCode", payload.contentTypeCode)
        w.optional("HandlingServiceID", payload.handlingServiceID)
        w.element("InstanceEncryptionIndicator", payload.isEncrypted ? "true" : "false")
        w.start("xha:PayloadContent")
        switch payload.content {
        case .xml(let bytes):
            w.reserve(bytes.count + 2048)
            w.raw(bytes)
        case .text(let text): w.text(text)
        case .encrypted(let data): data.write(to: &w)
        case .notRead: break
        }
        w.end()
        w.end()
        w.end()
        w.end()  // XHE
        return w.bytes
    }

    /// Reads an envelope (signed or not) from a parsed document.
    package init(document: XMLDocument) throws(SDKModelError) {
        try self.init(document: document, readingContent: true)
    }

    /// Reads only the header and the payload's description of an envelope, leaving its content
    /// ``Content/notRead``: what an access point checks on arrival, from a document parsed
    /// without its large texts (``XMLDocument/init(spool:limits:copyTextsUpTo:)``).
    package init(headerOf document: XMLDocument) throws(SDKModelError) {
        try self.init(document: document, readingContent: false)
    }

    private init(document: XMLDocument, readingContent: Bool) throws(SDKModelError) {
        let root = document.root
        let xha = XMLNamespaces.xha, xhb = XMLNamespaces.xhb
        guard root.isNamed(XMLNamespaces.xhe, "XHE") else { throw .wrongRoot(root, expected: "x:XHE") }
        guard let header = root.element(xha, "Header") else { throw .missing("XHE/Header") }
        func party(_ name: String) throws(SDKModelError) -> String {
            guard let id = header.element(xha, name)?.element(xha, "PartyIdentification")?.element(xhb, "ID") else {
                throw .missing("Header/\(name)/PartyIdentification/ID")
            }
            return id.normalizedValue
        }
        guard let p = root.element(xha, "Payloads")?.element(xha, "Payload") else { throw .missing("XHE/Payloads/Payload") }
        guard let contentElement = p.element(xha, "PayloadContent") else { throw .missing("Payload/PayloadContent") }
        let content: Content
        if !readingContent {
            // Only the payload may have gone unread: a long value anywhere else would read as empty.
            var payload: Set<Int> = []
            contentElement.forEachElement { e in payload.insert(e.ordinal) }
            guard document.omittedTexts.isSubset(of: payload) else {
                throw .invalid("a value outside PayloadContent is longer than \(XMLLimits.headerText) bytes")
            }
            content = .notRead
        } else if let enc = contentElement.element(XMLNamespaces.xenc, "EncryptedData") {
            content = .encrypted(try EncryptedData(element: enc))
        } else if let inner = contentElement.elements.first {
            do { content = .xml(try document.canonicalize(inner, method: .inclusive)) } catch {
                throw .invalid("PayloadContent: \(error)")
            }
        } else {
            content = .text(contentElement.stringValue)
        }
        self.init(
            id: XMLText.normalizeSpace(try header.required(xhb, "ID")),
            creationDateTime: XMLText.normalizeSpace(try header.required(xhb, "CreationDateTime")),
            businessScope: (header.element(xha, "BusinessScope")?.elements(xha, "BusinessScopeCriterion") ?? []).map {
                BusinessScopeCriterion($0.optionalText(xhb, "BusinessScopeCriterionTypeCode").map(XMLText.normalizeSpace) ?? "",
                                       $0.optionalText(xhb, "BusinessScopeCriterionValue").map(XMLText.normalizeSpace) ?? "")
            },
            fromParty: try party("FromParty"), toParty: try party("ToParty"),
            payload: Payload(documentTypeCode: XMLText.normalizeSpace(try p.required(xhb, "DocumentTypeCode")),
                             contentTypeCode: XMLText.normalizeSpace(try p.required(xhb, "ContentTypeCode")),
                             handlingServiceID: p.optionalText(xhb, "HandlingServiceID").map(XMLText.normalizeSpace),
                             content: content))
    }
}
