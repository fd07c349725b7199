package import NIOCore

/// An HTTP body made of byte segments and spools, produced as ByteBuffers of at most 256 KiB so
/// that a 100 MB attachment is sent without being loaded.
package struct HTTPBodySegments: AsyncSequence, Sendable {
    package typealias Element = ByteBuffer

    package typealias Segment = MIMEBodySegment

    package let segments: [Segment]
    package var totalLength: Int { segments.reduce(0) { $0 + $1.count } }

    package init(_ segments: [Segment]) { self.segments = segments }

    /// The body of `wire` as multipart/related (or bare SOAP) and its Content-Type.
    package static func body(of wire: AS4WireMessage, writer: MIMEMultipartWriter = MIMEMultipartWriter()) -> (HTTPBodySegments, String) {
        if wire.attachments.isEmpty {
            return (HTTPBodySegments([.bytes(wire.soap)]), "application/soap+xml; charset=UTF-8")
        }
        let segments = writer.segments(soap: wire.soap, attachments: wire.attachments.map { ($0.contentID, $0.contentType, $0.body) })
        return (HTTPBodySegments(segments), writer.contentType)
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        let segments: [Segment]
        var index = 0
        var offset = 0

        package mutating func next() async throws -> ByteBuffer? {
            while index < segments.count {
                switch segments[index] {
                case .bytes(let b):
                    index += 1
                    if !b.isEmpty { return ByteBuffer(bytes: b) }
                case .spool(let s):
                    let chunk = try s.read(offset: offset, count: 256 << 10)
                    if chunk.isEmpty {
                        index += 1
                        offset = 0
                    } else {
                        offset += chunk.count
                        return ByteBuffer(bytes: chunk)
                    }
                }
            }
            return nil
        }
    }

    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(segments: segments) }
}
