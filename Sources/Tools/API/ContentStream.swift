import Foundation
import Ledger
import Node
import NIOCore
import OpenAPIRuntime

/// A read of content sent as it is read from the blob store, chunk by chunk, with its length
/// known: a 200 MiB attachment costs two chunks of memory, not 200 MiB. Each chunk leaves only
/// once the next one has been read, so the last one leaves only after the content's hash has been
/// checked: content altered on disk fails the stream and the connection is cut before its end —
/// the caller never receives a complete-looking altered file.
enum ContentStream {
    ///
    /// With a range, only its bytes are sent, but every chunk is still read, so the hash is
    /// checked before the range's last chunk leaves.
    static func body(_ opened: MessageAccess.OpenedContent) -> HTTPBody {
        let source = Source(opened.reader, range: opened.range)
        let chunks = AsyncThrowingStream<ArraySlice<UInt8>, any Error>(unfolding: { try source.next().map { ArraySlice($0) } })
        return HTTPBody(chunks, length: .known(opened.range.map { $0.upperBound - $0.lowerBound + 1 } ?? opened.size),
                        iterationBehavior: .single)
    }

    /// The same chunks as buffers (the console's downloads; no range).
    static func buffers(_ opened: MessageAccess.OpenedContent) -> AsyncThrowingStream<ByteBuffer, any Error> {
        let source = Source(opened.reader, range: opened.range)
        return AsyncThrowingStream(unfolding: { try source.next().map { ByteBuffer(bytes: $0) } })
    }

    /// The blob reader, read by one consumer at a time.
    // @unchecked Sendable: `reader` is only touched inside `lock`, and the body is iterated once
    // (`iterationBehavior: .single`), by the transport's one writer.
    final class Source: @unchecked Sendable {
        private let reader: any ContentChunks
        private let range: ClosedRange<Int64>?
        private let lock = NSLock()
        private var started = false
        private var held: [UInt8]?
        /// The content offset of the next chunk the reader returns.
        private var offset: Int64 = 0

        init(_ reader: any ContentChunks, range: ClosedRange<Int64>? = nil) {
            self.reader = reader
            self.range = range
        }

        func next() throws -> [UInt8]? {
            try lock.withLock {
                if !started {
                    started = true
                    held = try nextInRange()
                }
                guard let out = held else { return nil }
                // At the end this read checks the hash, before the last chunk is handed out.
                held = try nextInRange()
                return out
            }
        }

        /// The next chunk's bytes inside the range (the whole chunk without one); chunks wholly
        /// outside it are read (for the hash) and skipped. Nil at the end of the content.
        private func nextInRange() throws -> [UInt8]? {
            while let chunk = try reader.next() {
                let start = offset
                offset += Int64(chunk.count)
                guard let range else { return chunk }
                let low = max(range.lowerBound, start), high = min(range.upperBound + 1, offset)
                if low < high { return Array(chunk[Int(low - start)..<Int(high - start)]) }
            }
            return nil
        }
    }
}
