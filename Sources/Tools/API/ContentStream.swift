import Foundation
import Ledger
import Node
import OpenAPIRuntime

/// A read of content sent as it is read from the blob store, chunk by chunk, with its length
/// known: a 200 MiB attachment costs two chunks of memory, not 200 MiB. Each chunk leaves only
/// once the next one has been read, so the last one leaves only after the content's hash has been
/// checked: content altered on disk fails the stream and the connection is cut before its end —
/// the caller never receives a complete-looking altered file.
enum ContentStream {
    static func body(_ opened: MessageAccess.OpenedContent) -> HTTPBody {
        let source = Source(opened.reader)
        let chunks = AsyncThrowingStream<ArraySlice<UInt8>, any Error>(unfolding: { try source.next().map { ArraySlice($0) } })
        return HTTPBody(chunks, length: .known(opened.size), iterationBehavior: .single)
    }

    /// The blob reader, read by one consumer at a time.
    // @unchecked Sendable: `reader` is only touched inside `lock`, and the body is iterated once
    // (`iterationBehavior: .single`), by the transport's one writer.
    final class Source: @unchecked Sendable {
        private let reader: BlobReader
        private let lock = NSLock()
        private var started = false
        private var held: [UInt8]?

        init(_ reader: BlobReader) { self.reader = reader }

        func next() throws -> [UInt8]? {
            try lock.withLock {
                if !started {
                    started = true
                    held = try reader.next()
                }
                guard let out = held else { return nil }
                // At the end this read checks the hash, before the last chunk is handed out.
                held = try reader.next()
                return out
            }
        }
    }
}
