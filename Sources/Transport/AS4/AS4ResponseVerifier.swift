package import X509

/// Checks the synchronous answer to a UserMessage we sent: a signed eb:Receipt whose signer is the
/// receiving access point's certificate, whose RefToMessageId is our message, and whose
/// NonRepudiationInformation repeats exactly the references we signed (same URIs, transforms and
/// digests) — or an eb:Error signal.
package struct AS4ResponseVerifier: Sendable {
    /// The receiving access point's certificate (the one we encrypted to).
    package let expectedSigner: Certificate
    package var limits = XMLLimits(maxDocumentBytes: 4 << 20)

    package init(expectedSigner: Certificate) { self.expectedSigner = expectedSigner }

    package enum Outcome: Sendable, Equatable {
        /// A valid receipt (the signal itself, for evidence).
        case receipt(SignalMessage)
        /// The partner answered with errors.
        case errors([EbMSError])
    }

    /// Verifies `soap` (the response envelope) for the message `sent`. Throws EBMS:0302
    /// (InvalidReceipt) when the answer proves nothing.
    package func verify(_ soap: [UInt8], sent: AS4WireMessage) throws(EbMSError) -> Outcome {
        let document: XMLDocument
        do { document = try XMLDocument(bytes: soap, limits: limits) } catch { throw .invalidReceipt("the response is not acceptable XML: \(error)") }
        let envelope: AS4EnvelopeParts
        do { envelope = try AS4EnvelopeParts(document) } catch { throw .invalidReceipt(error.detail) }
        let signals = envelope.messaging.elements(AS4Namespaces.eb, "SignalMessage")
        guard signals.count == 1 else { throw .invalidReceipt("the response holds \(signals.count) SignalMessages, expected one") }
        let signal: SignalMessage
        do { signal = try SignalMessage(element: signals[0]) } catch { throw .invalidReceipt(error.detail) }
        if case .errors(let errors) = signal.content {
            // Error signals are reported as such; when signed, the signature must still hold.
            var hasSignature = false
            document.root.walk { e, _ in if e.isNamed(XMLNamespaces.ds, "Signature") { hasSignature = true } }
            if hasSignature {
                let check = try verifySignature(document, envelope)
                guard check.signer == expectedSigner else { throw .invalidReceipt("the error signal is signed by another certificate") }
            }
            return .errors(errors)
        }
        guard signal.refToMessageId == sent.messageId else {
            throw .invalidReceipt("the receipt refers to \(signal.refToMessageId ?? "nothing"), not to \(sent.messageId)")
        }
        let check = try verifySignature(document, envelope)
        guard check.signer == expectedSigner else {
            throw .invalidReceipt("the receipt is signed by \(check.signer.subject), not by the access point we sent to")
        }
        guard case .receipt(let nri) = signal.content else { throw .invalidReceipt("not a receipt") }
        func key(_ r: SignedReference) -> String {
            r.uri + "|" + r.transforms.sorted().joined(separator: ",") + "|" + r.digestMethod + "|" + Base64.encode(r.digest)
        }
        guard Set(nri.map(key)) == Set(sent.signedReferences.map(key)), nri.count == sent.signedReferences.count else {
            throw .invalidReceipt("the receipt's non-repudiation information does not match what was signed")
        }
        return .receipt(signal)
    }

    private func verifySignature(_ document: XMLDocument, _ envelope: AS4EnvelopeParts) throws(EbMSError) -> WSSignatureCheck.Result {
        do {
            return try WSSignatureCheck(document: document, envelope: envelope).verify(attachmentIDs: [], requireAttachments: false)
        } catch { throw .invalidReceipt("receipt signature: \(error.detail)") }
    }
}
