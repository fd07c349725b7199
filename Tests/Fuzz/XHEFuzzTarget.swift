import Transport

/// Runs the input as an inbound SDK document, the way the node reads one: XMLDocument with the
/// SDK limits, the structure and digest of an XML-DSig signature (without trust), the XHE
/// envelope and its payload; and the document element read as an SDK message and as a
/// Meddelandekvittens. An XML payload is parsed again and read as both.
enum XHEFuzzTarget {
    static func run(_ input: [UInt8]) -> Bool {
        guard let document = try? XMLDocument(bytes: input) else { return false }
        // Accepted: the signature verifies, or there is none.
        var signatureFine = true
        do { _ = try XMLSignatureVerifier.verifySignature(document) } catch {
            if case .signatureMissing = error {} else { signatureFine = false }
        }
        if readSDK(document) { return true }
        guard let envelope = try? XHEEnvelope(document: document) else { return false }
        if case .xml(let payload) = envelope.payload.content, let inner = try? XMLDocument(bytes: payload) {
            _ = readSDK(inner)
        }
        return signatureFine
    }

    /// Reads the document element as an SDK message and as a Meddelandekvittens; true when one fits.
    private static func readSDK(_ document: XMLDocument) -> Bool {
        let message = try? SDKMessage(element: document.root)
        let receipt = try? MessageReceipt(element: document.root)
        return message != nil || receipt != nil
    }
}
