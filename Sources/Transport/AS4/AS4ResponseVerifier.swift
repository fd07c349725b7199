package import X509
package import Foundation

/// Checks the synchronous answer to a UserMessage we sent: a signed eb:Receipt whose signer is the
/// receiving access point's certificate, whose RefToMessageId is our message, and whose
/// NonRepudiationInformation repeats exactly the references we signed (same URIs, transforms and
/// digests) — or an eb:Error signal, which must be just as authentic: signed by that access point
/// and referring to our message. Anything else proves nothing and counts as no answer (the
/// sender retries). The signer's certificate is also checked like any other AS4 certificate
/// (chain to the AS4 trust anchors, validity, key usage, revocation) when trust is given.
package struct AS4ResponseVerifier: Sendable {
    /// The receiving access point's certificate (the one we encrypted to).
    package let expectedSigner: Certificate
    /// AS4 trust anchors to evaluate the signer against (nil: pinning only, for tests of the
    /// wire format).
    package let trust: CertificateTrust?
    package var limits = XMLLimits(maxDocumentBytes: 4 << 20)

    package init(expectedSigner: Certificate, trust: CertificateTrust?) {
        self.expectedSigner = expectedSigner
        self.trust = trust
    }

    package enum Outcome: Sendable, Equatable {
        /// A valid receipt (the signal itself, for evidence).
        case receipt(SignalMessage)
        /// The partner answered with errors.
        case errors([EbMSError])
    }

    /// Verifies `soap` (the response envelope) for the message `sent`. Throws EBMS:0302
    /// (InvalidReceipt) when the answer proves nothing.
    package func verify(_ soap: [UInt8], sent: AS4WireMessage, at now: Date = Date()) async throws(EbMSError) -> Outcome {
        let (outcome, signer, what) = try check(soap, sent: sent, at: now)
        if let trust {
            do { try await trust.evaluate(signer, at: now) } catch {
                throw .invalidReceipt("the \(what)'s signing certificate is not acceptable: \(error.description)")
            }
        }
        return outcome
    }

    /// Everything ``verify(_:sent:at:)`` checks except the signer's evaluation against the trust
    /// anchors (which may wait for a trust store): the answer, its signer, and what it is.
    package func check(_ soap: [UInt8], sent: AS4WireMessage, at now: Date) throws(EbMSError) -> (Outcome, Certificate, String) {
        let document: XMLDocument
        do { document = try XMLDocument(bytes: soap, limits: limits) } catch { throw .invalidReceipt("the response is not acceptable XML: \(error)") }
        let envelope: AS4EnvelopeParts
        do { envelope = try AS4EnvelopeParts(document) } catch { throw .invalidReceipt(error.detail) }
        let signals = envelope.messaging.elements(AS4Namespaces.eb, "SignalMessage")
        guard signals.count == 1 else { throw .invalidReceipt("the response holds \(signals.count) SignalMessages, expected one") }
        let signal: SignalMessage
        do { signal = try SignalMessage(element: signals[0]) } catch { throw .invalidReceipt(error.detail) }
        let what = if case .errors = signal.content { "error signal" } else { "receipt" }
        guard signal.refToMessageId == sent.messageId else {
            throw .invalidReceipt("the \(what) refers to \(signal.refToMessageId ?? "nothing"), not to \(sent.messageId)")
        }
        let check = try verifySignature(document, envelope)
        guard check.signer == expectedSigner else {
            throw .invalidReceipt("the \(what) is signed by \(check.signer.subject), not by the access point we sent to")
        }
        if let timestamp = envelope.timestamp {
            do throws(EbMSError) { try WSTimestamp(timestamp).check(at: now, skew: 300) } catch { throw .invalidReceipt("\(what): \(error.detail)") }
        }
        if case .errors(let errors) = signal.content { return (.errors(errors), check.signer, what) }
        guard case .receipt(let nri) = signal.content else { throw .invalidReceipt("not a receipt") }
        guard SignedReference.sameSigned(nri, sent.signedReferences) else {
            throw .invalidReceipt("the receipt's non-repudiation information does not match what was signed")
        }
        return (.receipt(signal), check.signer, what)
    }

    private func verifySignature(_ document: XMLDocument, _ envelope: AS4EnvelopeParts) throws(EbMSError) -> WSSignatureCheck.Result {
        do {
            return try WSSignatureCheck(document: document, envelope: envelope).verify(attachmentIDs: [], requireAttachments: false)
        } catch { throw .invalidReceipt("receipt signature: \(error.detail)") }
    }
}
