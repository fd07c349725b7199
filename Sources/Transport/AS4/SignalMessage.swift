/// An ebMS 3.0 SignalMessage: a Receipt (with the NonRepudiationInformation of what was
/// received), one or more Errors, or a PullRequest.
package struct SignalMessage: Sendable, Equatable {
    package var messageId: String
    package var timestamp: String
    package var refToMessageId: String?
    package var content: Content

    package enum Content: Sendable, Equatable {
        /// `eb:Receipt` with one MessagePartNRInformation per signed reference of the received message.
        case receipt([SignedReference])
        case errors([EbMSError])
        case pullRequest(mpc: String?)
    }

    package init(messageId: String, timestamp: String, refToMessageId: String?, content: Content) {
        self.messageId = messageId
        self.timestamp = timestamp
        self.refToMessageId = refToMessageId
        self.content = content
    }

    /// Writes `eb:SignalMessage` (prefixes `eb`, `ds` declared by the caller).
    package func write(to w: inout XMLWriter) {
        w.start("eb:SignalMessage")
        w.start("eb:MessageInfo")
        w.element("eb:Timestamp", timestamp)
        w.element("eb:MessageId", messageId)
        w.optional("eb:RefToMessageId", refToMessageId)
        w.end()
        switch content {
        case .receipt(let references):
            w.start("eb:Receipt")
            w.start("ebbp:NonRepudiationInformation", ["xmlns:ebbp": AS4Namespaces.ebbp])
            for r in references {
                w.start("ebbp:MessagePartNRInformation")
                r.write(to: &w)
                w.end()
            }
            w.end()
            w.end()
        case .errors(let errors):
            for e in errors {
                var attributes: KeyValuePairs<String, String> = [:]
                if let ref = e.refToMessageId ?? refToMessageId {
                    attributes = ["category": e.category, "errorCode": e.code, "origin": "ebMS", "refToMessageInError": ref,
                                  "severity": e.severity.rawValue, "shortDescription": e.shortDescription]
                } else {
                    attributes = ["category": e.category, "errorCode": e.code, "origin": "ebMS", "severity": e.severity.rawValue,
                                  "shortDescription": e.shortDescription]
                }
                w.start("eb:Error", attributes)
                w.element("eb:ErrorDetail", e.detail)
                w.end()
            }
        case .pullRequest(let mpc):
            if let mpc { w.start("eb:PullRequest", ["mpc": mpc]) } else { w.start("eb:PullRequest") }
            w.end()
        }
        w.end()
    }

    /// Reads an `eb:SignalMessage`.
    package init(element s: XMLElement) throws(EbMSError) {
        let eb = AS4Namespaces.eb
        guard let info = s.element(eb, "MessageInfo"),
              let id = info.element(eb, "MessageId").map({ XMLText.normalizeSpace($0.stringValue) }), !id.isEmpty,
              let ts = info.element(eb, "Timestamp").map({ XMLText.normalizeSpace($0.stringValue) }) else {
            throw .invalidHeader("SignalMessage: MessageInfo with MessageId and Timestamp is required")
        }
        let ref = info.element(eb, "RefToMessageId").map { XMLText.normalizeSpace($0.stringValue) }
        let content: Content
        if let receipt = s.element(eb, "Receipt") {
            let nri = receipt.element(AS4Namespaces.ebbp, "NonRepudiationInformation")
            let infos: [XMLElement] = nri?.elements(AS4Namespaces.ebbp, "MessagePartNRInformation") ?? []
            var references: [SignedReference] = []
            for p in infos {
                guard let r = p.element(XMLNamespaces.ds, "Reference") else {
                    throw .invalidReceipt("MessagePartNRInformation without ds:Reference")
                }
                do { references.append(try SignedReference(element: r)) } catch { throw .invalidReceipt(error.detail) }
            }
            content = .receipt(references)
        } else if !s.elements(eb, "Error").isEmpty {
            content = .errors(s.elements(eb, "Error").map { e in
                EbMSError(code: e.attribute("errorCode") ?? "", shortDescription: e.attribute("shortDescription") ?? "",
                          severity: EbMSError.Severity(rawValue: e.attribute("severity") ?? "") ?? .failure,
                          category: e.attribute("category") ?? "",
                          detail: e.element(eb, "ErrorDetail").map { XMLText.normalizeSpace($0.stringValue) } ?? "",
                          refToMessageId: e.attribute("refToMessageInError"))
            })
        } else if let pull = s.element(eb, "PullRequest") {
            content = .pullRequest(mpc: pull.attribute("mpc"))
        } else {
            throw .invalidHeader("SignalMessage has neither Receipt, Error nor PullRequest")
        }
        self.init(messageId: id, timestamp: ts, refToMessageId: ref, content: content)
    }
}
