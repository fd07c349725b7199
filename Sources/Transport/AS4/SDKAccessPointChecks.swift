/// The SDK access-point rules that tie the AS4 header to the XHE it carries: the FinalRecipient
/// property is the XHE ToParty, the OriginalSender the XHE FromParty, the Action matches the XHE
/// DOCUMENTID, the Service matches PROCESSID, and the ConversationId is the XHE ID. Violations are
/// EBMS:0003 (ValueInconsistent). Validation of the payload itself (XSD, business rules) is never
/// reported in the AS4 response: that is the Meddelandekvittens' job.
package enum SDKAccessPointChecks {
    package static func check(_ user: UserMessage, xhe: XHEEnvelope) throws(EbMSError) {
        guard let final = user.property("finalRecipient"), final == xhe.toParty else {
            throw .valueInconsistent("finalRecipient \(user.property("finalRecipient") ?? "(missing)") is not the XHE ToParty \(xhe.toParty)")
        }
        guard let original = user.property("originalSender"), original == xhe.fromParty else {
            throw .valueInconsistent("originalSender \(user.property("originalSender") ?? "(missing)") is not the XHE FromParty \(xhe.fromParty)")
        }
        guard let documentID = xhe.documentID, user.action == "busdox-docid-qns::" + documentID else {
            throw .valueInconsistent("Action \(user.action) does not match the XHE DOCUMENTID \(xhe.documentID ?? "(missing)")")
        }
        let process = xhe.businessScope.first { $0.typeCode == "PROCESSID" }?.value
        let processScheme = xhe.businessScope.first { $0.typeCode == "PROCESSID_SCHEME" }?.value
        guard user.service == process, user.serviceType == processScheme else {
            throw .valueInconsistent("Service \(user.serviceType ?? "")/\(user.service) does not match the XHE process \(processScheme ?? "")/\(process ?? "")")
        }
        guard user.conversationId == xhe.id else {
            throw .valueInconsistent("ConversationId \(user.conversationId) is not the XHE ID \(xhe.id)")
        }
    }
}
