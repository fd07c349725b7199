/// An ebMS 3.0 UserMessage header (`eb:Messaging/eb:UserMessage`).
package struct UserMessage: Sendable, Equatable {
    package var messageId: String
    /// `xsd:dateTime` in UTC, e.g. `2026-11-22T10:00:00.000Z`.
    package var timestamp: String
    package var refToMessageId: String?
    package var mpc: String?
    package var from: Party
    package var to: Party
    package var agreementRef: String?
    package var service: String
    package var serviceType: String?
    package var action: String
    package var conversationId: String
    package var properties: [Property]
    package var parts: [PartInfo]

    package init(messageId: String, timestamp: String, refToMessageId: String? = nil, mpc: String? = nil, from: Party, to: Party,
                 agreementRef: String? = nil, service: String, serviceType: String?, action: String, conversationId: String,
                 properties: [Property], parts: [PartInfo]) {
        self.messageId = messageId
        self.timestamp = timestamp
        self.refToMessageId = refToMessageId
        self.mpc = mpc
        self.from = from
        self.to = to
        self.agreementRef = agreementRef
        self.service = service
        self.serviceType = serviceType
        self.action = action
        self.conversationId = conversationId
        self.properties = properties
        self.parts = parts
    }

    package struct Party: Sendable, Equatable {
        package var id: String
        package var type: String?
        package var role: String
        package init(id: String, type: String?, role: String) {
            self.id = id
            self.type = type
            self.role = role
        }
    }

    package struct Property: Sendable, Equatable {
        package var name: String
        package var type: String?
        package var value: String
        package init(name: String, type: String? = nil, value: String) {
            self.name = name
            self.type = type
            self.value = value
        }
    }

    /// A payload reference (`eb:PartInfo`), `href` = `cid:<Content-ID>`.
    package struct PartInfo: Sendable, Equatable {
        package var href: String
        package var properties: [Property]
        package init(href: String, properties: [Property]) {
            self.href = href
            self.properties = properties
        }

        package func property(_ name: String) -> String? { properties.first { $0.name == name }?.value }
        /// The Content-ID this part refers to (without `cid:`).
        package var contentID: String? { href.hasPrefix("cid:") ? String(href.dropFirst(4)) : nil }
    }

    /// The value of a message property.
    package func property(_ name: String) -> String? { properties.first { $0.name == name }?.value }
}

extension UserMessage {
    /// Writes `eb:UserMessage` (prefix `eb`, declared by the caller).
    package func write(to w: inout XMLWriter) {
        if let mpc { w.start("eb:UserMessage", ["mpc": mpc]) } else { w.start("eb:UserMessage") }
        w.start("eb:MessageInfo")
        w.element("eb:Timestamp", timestamp)
        w.element("eb:MessageId", messageId)
        w.optional("eb:RefToMessageId", refToMessageId)
        w.end()
        w.start("eb:PartyInfo")
        for (name, party) in [("eb:From", from), ("eb:To", to)] {
            w.start(name)
            if let type = party.type { w.element("eb:PartyId", party.id, ["type": type]) } else { w.element("eb:PartyId", party.id) }
            w.element("eb:Role", party.role)
            w.end()
        }
        w.end()
        w.start("eb:CollaborationInfo")
        w.optional("eb:AgreementRef", agreementRef)
        if let serviceType { w.element("eb:Service", service, ["type": serviceType]) } else { w.element("eb:Service", service) }
        w.element("eb:Action", action)
        w.element("eb:ConversationId", conversationId)
        w.end()
        if !properties.isEmpty {
            w.start("eb:MessageProperties")
            for p in properties { Self.write(p, &w) }
            w.end()
        }
        if !parts.isEmpty {
            w.start("eb:PayloadInfo")
            for part in parts {
                w.start("eb:PartInfo", ["href": part.href])
                if !part.properties.isEmpty {
                    w.start("eb:PartProperties")
                    for p in part.properties { Self.write(p, &w) }
                    w.end()
                }
                w.end()
            }
            w.end()
        }
        w.end()
    }

    private static func write(_ p: Property, _ w: inout XMLWriter) {
        if let type = p.type { w.element("eb:Property", p.value, ["name": p.name, "type": type]) } else {
            w.element("eb:Property", p.value, ["name": p.name])
        }
    }

    /// Reads an `eb:UserMessage` element. Throws EBMS:0009 (invalid header) for missing parts.
    package init(element u: XMLElement) throws(EbMSError) {
        let eb = AS4Namespaces.eb
        func text(_ e: XMLElement?, _ what: String) throws(EbMSError) -> String {
            guard let e else { throw .invalidHeader("UserMessage: \(what) is missing") }
            let v = XMLText.normalizeSpace(e.stringValue)
            guard !v.isEmpty else { throw .invalidHeader("UserMessage: \(what) is empty") }
            return v
        }
        let info = u.element(eb, "MessageInfo")
        let partyInfo = u.element(eb, "PartyInfo")
        func party(_ name: String) throws(EbMSError) -> Party {
            guard let p = partyInfo?.element(eb, name) else { throw .invalidHeader("UserMessage: PartyInfo/\(name) is missing") }
            let ids = p.elements(eb, "PartyId")
            guard ids.count == 1 else { throw .invalidHeader("UserMessage: \(name) must have exactly one PartyId (found \(ids.count))") }
            return Party(id: try text(ids[0], "\(name)/PartyId"), type: ids[0].attribute("type"),
                         role: try text(p.element(eb, "Role"), "\(name)/Role"))
        }
        let collaboration = u.element(eb, "CollaborationInfo")
        let service = collaboration?.element(eb, "Service")
        func properties(_ e: XMLElement?) throws(EbMSError) -> [Property] {
            try (e?.elements(eb, "Property") ?? []).map { p throws(EbMSError) in
                guard let name = p.attribute("name") else { throw .invalidHeader("Property without name") }
                return Property(name: name, type: p.attribute("type"), value: XMLText.normalizeSpace(p.stringValue))
            }
        }
        self.init(
            messageId: try text(info?.element(eb, "MessageId"), "MessageInfo/MessageId"),
            timestamp: try text(info?.element(eb, "Timestamp"), "MessageInfo/Timestamp"),
            refToMessageId: info?.element(eb, "RefToMessageId").map { XMLText.normalizeSpace($0.stringValue) },
            mpc: u.attribute("mpc"), from: try party("From"), to: try party("To"),
            agreementRef: collaboration?.element(eb, "AgreementRef").map { XMLText.normalizeSpace($0.stringValue) },
            service: try text(service, "CollaborationInfo/Service"), serviceType: service?.attribute("type"),
            action: try text(collaboration?.element(eb, "Action"), "CollaborationInfo/Action"),
            conversationId: try text(collaboration?.element(eb, "ConversationId"), "CollaborationInfo/ConversationId"),
            properties: try properties(u.element(eb, "MessageProperties")),
            parts: try (u.element(eb, "PayloadInfo")?.elements(eb, "PartInfo") ?? []).map { p throws(EbMSError) in
                PartInfo(href: p.attribute("href") ?? "", properties: try properties(p.element(eb, "PartProperties")))
            })
    }
}
