import Transport

/// Runs the input as the SOAP envelope of an inbound UserMessage through ``AS4HeaderCheck``:
/// XMLDocument with the AS4 limits, the envelope's parts, the ebMS UserMessage, the WS-Security
/// header and signature (structure, references, digests, signature value).
enum SOAPFuzzTarget {
    static func run(_ input: [UInt8]) -> Bool {
        do {
            let checked = try AS4HeaderCheck.check(soap: input)
            _ = checked.userMessage.property("finalRecipient")
            return true
        } catch {
            return false  // refused envelopes are the expected outcome
        }
    }
}
