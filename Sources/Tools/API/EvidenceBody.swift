import Foundation
import Node
import NIOCore
import OpenAPIRuntime

/// An evidence bundle sent as it is written (``EvidenceStream``): blobs are read and encoded
/// chunk by chunk, so a bundle holding a large XHE costs a few chunks of memory. A read error
/// fails the stream and cuts the connection before the end: the caller never receives a
/// complete-looking partial bundle (it also ends without its final LF and does not parse).
enum EvidenceBody {
    static func body(_ stream: EvidenceStream) -> HTTPBody {
        let source = Source(stream)
        let chunks = AsyncThrowingStream<ArraySlice<UInt8>, any Error>(unfolding: { try source.next().map { ArraySlice($0) } })
        return HTTPBody(chunks, length: .unknown, iterationBehavior: .single)
    }

    /// The same chunks as buffers (the console's downloads).
    static func buffers(_ stream: EvidenceStream) -> AsyncThrowingStream<ByteBuffer, any Error> {
        let source = Source(stream)
        return AsyncThrowingStream(unfolding: { try source.next().map { ByteBuffer(bytes: $0) } })
    }

    /// The stream, read by one consumer at a time.
    // @unchecked Sendable: `stream` is only touched inside `lock`, and the body is iterated once
    // (`iterationBehavior: .single`), by the transport's one writer.
    final class Source: @unchecked Sendable {
        private let stream: EvidenceStream
        private let lock = NSLock()

        init(_ stream: EvidenceStream) { self.stream = stream }

        func next() throws -> [UInt8]? { try lock.withLock { try stream.next() } }
    }
}
