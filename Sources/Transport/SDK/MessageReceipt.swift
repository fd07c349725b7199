/// A Meddelandekvittens: the UBL ApplicationResponse 2.1 an organisation sends back for an SDK
/// message it received (CustomizationID `urn:fdc:digg.se:edelivery:messagetype:response:1`,
/// ProfileID `bdx:noprocess`, DocumentReference/ID = the XHE ID). ACCEPTED means delivered to the
/// recipient's mailbox, never "read".
package struct MessageReceipt: Sendable, Equatable {
    package var id: String
    /// `xs:date`, e.g. `2026-11-22`.
    package var issueDate: String
    /// `xs:time`, e.g. `12:00:00Z`.
    package var issueTime: String
    /// Participant id of the organisation issuing the receipt (the message's recipient).
    package var sender: String
    /// Participant id of the organisation the receipt goes to (the message's sender).
    package var receiver: String
    /// The XHE Header/ID of the message this answers.
    package var documentReference: String
    package var status: Status

    package init(id: String, issueDate: String, issueTime: String, sender: String, receiver: String,
                 documentReference: String, status: Status) {
        self.id = id
        self.issueDate = issueDate
        self.issueTime = issueTime
        self.sender = sender
        self.receiver = receiver
        self.documentReference = documentReference
        self.status = status
    }

    package enum Status: Sendable, Equatable {
        case accepted
        /// At least one line.
        case rejected([Line])
    }

    /// One reason for a rejection.
    package struct Line: Sendable, Equatable {
        /// An XPath into the rejected document, or `NA`.
        package var lineID: String
        package var code: RuleViolation.Kind
        /// The rule id (absent for schema and signature errors, as in DIGG's examples).
        package var reasonCode: String?
        package var reason: String

        package init(lineID: String, code: RuleViolation.Kind, reasonCode: String?, reason: String) {
            self.lineID = lineID
            self.code = code
            self.reasonCode = reasonCode
            self.reason = reason
        }

        /// The line for a validation finding.
        package init(_ v: RuleViolation) {
            self.init(lineID: v.location.isEmpty ? "NA" : v.location, code: v.kind,
                      reasonCode: v.kind == .businessRule ? v.ruleID : nil, reason: v.message)
        }
    }
}

extension MessageReceipt {
    private static let cbc = XMLNamespaces.cbc, cac = XMLNamespaces.cac

    /// The receipt as an XML document.
    package func xml(declaration: Bool = true) -> [UInt8] {
        var w = XMLWriter(declaration: declaration)
        w.start("ApplicationResponse", ["xmlns": XMLNamespaces.ubl, "xmlns:cac": Self.cac, "xmlns:cbc": Self.cbc])
        w.element("cbc:CustomizationID", "urn:fdc:digg.se:edelivery:messagetype:response:1")
        w.element("cbc:ProfileID", "bdx:noprocess")
        w.element("cbc:ID", id)
        w.element("cbc:IssueDate", issueDate)
        w.element("cbc:IssueTime", issueTime)
        for (name, party) in [("cac:SenderParty", sender), ("cac:ReceiverParty", receiver)] {
            w.start(name)
            w.element("cbc:EndpointID", party, ["schemeID": "iso6523-actorid-upis"])
            w.end()
        }
        w.start("cac:DocumentResponse")
        w.start("cac:Response")
        switch status {
        case .accepted: w.element("cbc:ResponseCode", "ACCEPTED")
        case .rejected: w.element("cbc:ResponseCode", "REJECTED")
        }
        w.end()
        w.start("cac:DocumentReference")
        w.element("cbc:ID", documentReference)
        w.end()
        if case .rejected(let lines) = status {
            for line in lines {
                w.start("cac:LineResponse")
                w.start("cac:LineReference")
                w.element("cbc:LineID", line.lineID)
                w.end()
                w.start("cac:Response")
                w.element("cbc:ResponseCode", line.code.rawValue)
                w.start("cac:Status")
                w.optional("cbc:StatusReasonCode", line.reasonCode)
                w.element("cbc:StatusReason", line.reason)
                w.end()
                w.end()
                w.end()
            }
        }
        w.end()  // DocumentResponse
        w.end()
        return w.bytes
    }

    /// Reads a receipt from its `ApplicationResponse` element.
    package init(element root: XMLElement) throws(SDKModelError) {
        let cbc = Self.cbc, cac = Self.cac
        guard root.isNamed(XMLNamespaces.ubl, "ApplicationResponse") else { throw .wrongRoot(root, expected: "ApplicationResponse") }
        func endpoint(_ name: String) throws(SDKModelError) -> String {
            guard let e = root.element(cac, name)?.element(cbc, "EndpointID") else { throw .missing("\(name)/EndpointID") }
            return e.normalizedValue
        }
        guard let dr = root.element(cac, "DocumentResponse") else { throw .missing("DocumentResponse") }
        let code = dr.element(cac, "Response")?.element(cbc, "ResponseCode")?.normalizedValue
        let status: Status
        switch code {
        case "ACCEPTED": status = .accepted
        case "REJECTED":
            status = .rejected(try dr.elements(cac, "LineResponse").map { l throws(SDKModelError) in
                let response = l.element(cac, "Response")
                let statusElement = response?.element(cac, "Status")
                guard let kind = response?.element(cbc, "ResponseCode").flatMap({ RuleViolation.Kind(rawValue: $0.normalizedValue) }) else {
                    throw .invalid("LineResponse/Response/ResponseCode must be SV, BV or SIG")
                }
                return Line(lineID: l.element(cac, "LineReference")?.element(cbc, "LineID")?.normalizedValue ?? "NA", code: kind,
                            reasonCode: statusElement?.element(cbc, "StatusReasonCode")?.normalizedValue,
                            reason: statusElement?.element(cbc, "StatusReason")?.stringValue ?? "")
            })
        default:
            throw .invalid("DocumentResponse/Response/ResponseCode must be ACCEPTED or REJECTED")
        }
        guard let reference = dr.element(cac, "DocumentReference")?.element(cbc, "ID") else { throw .missing("DocumentReference/ID") }
        self.init(id: try root.required(cbc, "ID").trimmingCharacters(), issueDate: try root.required(cbc, "IssueDate"),
                  issueTime: try root.required(cbc, "IssueTime"), sender: try endpoint("SenderParty"),
                  receiver: try endpoint("ReceiverParty"), documentReference: reference.normalizedValue, status: status)
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String { XMLText.normalizeSpace(self) }
}
