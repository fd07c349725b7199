package import NIOCore

/// An HTTP body made of byte segments and spools. A body of at most ``wholeLimit`` bytes is sent
/// as one buffer (``whole()``: one write, one TLS record); a larger one streams as ByteBuffers that
/// gather consecutive segments up to 256 KiB, so that a 100 MB attachment is sent without being
/// loaded and the small MIME headers between parts do not each cost a write of their own.
package struct HTTPBodySegments: AsyncSequence, Sendable {
    package typealias Element = ByteBuffer

    package typealias Segment = MIMEBodySegment

    package let segments: [Segment]
    package var totalLength: Int { segments.reduce(0) { $0 + $1.count } }

    package init(_ segments: [Segment]) { self.segments = segments }

    /// The largest body ``whole()`` gathers into one buffer.
    package static let wholeLimit = 256 << 10

    /// The whole body in one buffer when it is at most ``wholeLimit`` bytes; nil when larger.
    package func whole() throws -> ByteBuffer? {
        let total = totalLength
        guard total <= Self.wholeLimit else { return nil }
        var buffer = ByteBufferAllocator().buffer(capacity: total)
        for segment in segments {
            switch segment {
            case .bytes(let b): buffer.writeBytes(b)
            case .spool(let s): try s.forEachChunk { buffer.writeBytes($0) }
            }
        }
        return buffer
    }

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

        /// The next buffer: consecutive segments gathered up to 256 KiB (a bytes segment is
        /// taken whole, so a buffer may exceed that by the SOAP envelope's size).
        package mutating func next() async throws -> ByteBuffer? {
            let size = 256 << 10
            var out = ByteBuffer()
            while index < segments.count, out.readableBytes < size {
                switch segments[index] {
                case .bytes(let b):
                    index += 1
                    out.writeBytes(b)
                case .spool(let s):
                    let chunk = try s.read(offset: offset, count: size - out.readableBytes)
                    if chunk.isEmpty {
                        index += 1
                        offset = 0
                    } else {
                        offset += chunk.count
                        out.writeBytes(chunk)
                    }
                }
            }
            return out.readableBytes == 0 ? nil : out
        }
    }

    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(segments: segments) }
}
