/// Writes a `multipart/related` body part by part (the SOAP envelope first), streaming each
/// part's content from its spool, with binary transfer encoding.
package struct MIMEMultipartWriter {
    package let boundary: String
    /// Content-ID of the root (SOAP) part, without brackets.
    package let rootContentID: String

    package init(boundary: String = "MIMEBoundary_" + RandomID.hex(16), rootContentID: String = "root." + RandomID.hex(8) + "@kvitto") {
        self.boundary = boundary
        self.rootContentID = rootContentID
    }

    /// The HTTP Content-Type of the body.
    package var contentType: String {
        "multipart/related; boundary=\"\(boundary)\"; type=\"application/soap+xml\"; start=\"<\(rootContentID)>\"; start-info=\"application/soap+xml\""
    }

    /// Writes the body: the SOAP part, then each attachment (Content-ID, Content-Type, content).
    package func write(soap: [UInt8], attachments: [(contentID: String, contentType: String, body: Spool)],
                       sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        func emit(_ s: String) throws { try Array(s.utf8).withUnsafeBytes { try sink($0) } }
        try emit("--\(boundary)\r\nContent-Type: application/soap+xml; charset=UTF-8\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <\(rootContentID)>\r\n\r\n")
        try soap.withUnsafeBytes { try sink($0) }
        for a in attachments {
            try emit("\r\n--\(boundary)\r\nContent-Type: \(a.contentType)\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <\(a.contentID)>\r\n\r\n")
            try a.body.forEachChunk(sink)
        }
        try emit("\r\n--\(boundary)--\r\n")
    }
}

/// Random identifiers (hex) for boundaries, Content-IDs and wsu:Ids.
package enum RandomID {
    package static func hex(_ bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        var s = ""
        for _ in 0..<bytes {
            let b = UInt8.random(in: 0...255, using: &rng)
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 15)])
        }
        return s
    }
}
