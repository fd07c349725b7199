import Transport

/// One inbound parser under test. ``run(_:)`` feeds it one input: parsing errors are expected and
/// ignored, only a crash, a trap or a sanitizer report counts as a finding.
enum FuzzTarget: String, CaseIterable, Sendable {
    /// The streamed multipart/related parser of the AS4 endpoint.
    case mime
    /// The SOAP envelope of an inbound UserMessage: ebMS header and WS-Security header.
    case soap
    /// The XHE envelope, its XML-DSig signature structure and the SDK documents inside.
    case xhe
    /// The SignalMessage of an AS4 response (receipt or error).
    case signal

    /// Makes what the target keeps for the whole process and runs it once on an empty input.
    func prepare() {
        if case .signal = self { _ = SignalFuzzTarget.verifier }
        run([])
    }

    /// Runs one input through the target's parsers; true when the input was accepted as a whole
    /// (the replay tool counts these, to show that the seeds reach the deepest checks).
    @discardableResult
    func run(_ input: [UInt8]) -> Bool {
        // Nothing an input parsed is kept for the next (libFuzzer would count it as a leak).
        defer { ParsedCertificates.removeAll() }
        return switch self {
        case .mime: MIMEFuzzTarget.run(input)
        case .soap: SOAPFuzzTarget.run(input)
        case .xhe: XHEFuzzTarget.run(input)
        case .signal: SignalFuzzTarget.run(input)
        }
    }
}
