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

    /// The body as segments: part headers and the SOAP bytes, then each attachment's spool.
    package func segments(soap: [UInt8], attachments: [(contentID: String, contentType: String, body: Spool)]) -> [MIMEBodySegment] {
        var out: [MIMEBodySegment] = [.bytes(Array("--\(boundary)\r\nContent-Type: application/soap+xml; charset=UTF-8\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <\(rootContentID)>\r\n\r\n".utf8) + soap)]
        for a in attachments {
            out.append(.bytes(Array("\r\n--\(boundary)\r\nContent-Type: \(a.contentType)\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <\(a.contentID)>\r\n\r\n".utf8)))
            out.append(.spool(a.body))
        }
        out.append(.bytes(Array("\r\n--\(boundary)--\r\n".utf8)))
        return out
    }

    /// Writes the body (see ``segments(soap:attachments:)``) to `sink`.
    package func write(soap: [UInt8], attachments: [(contentID: String, contentType: String, body: Spool)],
                       sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        for segment in segments(soap: soap, attachments: attachments) {
            switch segment {
            case .bytes(let b): try b.withUnsafeBytes { try sink($0) }
            case .spool(let s): try s.forEachChunk(sink)
            }
        }
    }
}

/// A piece of a MIME body: literal bytes or a spooled part content.
package enum MIMEBodySegment: Sendable {
    case bytes([UInt8])
    case spool(Spool)

    package var count: Int {
        switch self {
        case .bytes(let b): b.count
        case .spool(let s): s.count
        }
    }
}
