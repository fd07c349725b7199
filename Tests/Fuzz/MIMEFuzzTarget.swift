import Transport

/// Feeds the input as a multipart/related HTTP body to ``MIMEMultipartParser`` in chunks of
/// varying size, then finishes it and reads the parts the way the AS4 endpoint does (SOAP part by
/// `start` or type, Content-IDs, Content-Types, bodies).
///
/// The chunk sizes come from a hash of the input, so one input always splits the same way while
/// the fuzzer still sees delimiters and headers cut at every position.
enum MIMEFuzzTarget {
    /// The boundary the seeds are written with.
    static let boundary = "kvitto-fuzz-boundary"
    private static let contentType = ContentType(
        mediaType: "multipart/related",
        parameters: ["boundary": boundary, "type": "application/soap+xml", "start": "<root.fuzz@kvitto>"])

    static func run(_ input: [UInt8]) -> Bool {
        let parser = MIMEMultipartParser(boundary: boundary)
        var random = SplitMix64(seed: FNV1a.hash(input))
        var offset = 0
        do {
            try input.withUnsafeBytes { all in
                while offset < all.count {
                    let size = min(all.count - offset, 1 + Int(random.next() % 97))
                    try parser.feed(UnsafeRawBufferPointer(rebasing: all[offset..<offset + size]))
                    offset += size
                }
            }
            let parts = try parser.finish()
            for part in parts {
                _ = part.contentID
                if let type = part.contentType { _ = ContentType(type) }
                _ = try part.body.bytes()
            }
            _ = try AS4Opener.soapPart(parts, contentType: contentType)
            return true
        } catch {
            return false  // a refused body is an expected outcome
        }
    }
}
