import CZlib
import Synchronization

/// Streaming gzip (RFC 1952) compression and decompression: bytes go in chunk by chunk and come
/// out through a sink, so a payload of any size needs only the chunk buffers.
package final class Gzip {
    package enum Mode { case compress, decompress }

    /// Decompression refuses to produce more than this many bytes (a "zip bomb" limit).
    package let maxOutput: Int
    private var stream = z_stream()
    private let mode: Mode
    private var produced = 0
    private var finished = false
    private var ended = false
    /// Where zlib writes its output, made once per instance (not per call).
    private var out = [UInt8](repeating: 0, count: 64 << 10)

    package init(_ mode: Mode, level: Int32 = 6, maxOutput: Int = Int.max) throws(StreamError) {
        self.mode = mode
        self.maxOutput = maxOutput
        let rc = mode == .compress ? kvitto_deflate_init_gzip(&stream, level) : kvitto_inflate_init_gzip(&stream)
        guard rc == Z_OK else { throw .gzip("zlib init failed (\(rc))") }
    }

    deinit { end() }

    /// Runs `body` with a compressor (level 6) from a small pool: deflate's set-up allocates about
    /// 270 KB of tables and clears part of them, so they are made once per pooled compressor
    /// instead of once per payload. `body` writes one
    /// whole stream (``update(_:sink:)`` … ``finish(sink:)``); the compressor is then reset and
    /// returned to the pool. One that did not finish its stream (an error) is dropped.
    package static func withCompressor<T>(_ body: (Gzip) throws -> T) throws -> T {
        let gzip = try compressors.withLock { $0.popLast() }?.gzip ?? Gzip(.compress)
        let result = try body(gzip)
        if gzip.reset() { compressors.withLock { if $0.count < poolSize { $0.append(Pooled(gzip: gzip)) } } }
        return result
    }

    /// A pooled compressor. `Gzip` is a mutable class, but a pooled one is only ever held by one
    /// caller: ``withCompressor(_:)`` takes it out of the pool under the lock, uses it on its own
    /// thread, and puts it back under the lock; nothing else keeps a reference.
    private struct Pooled: @unchecked Sendable { let gzip: Gzip }
    private static let compressors = Mutex<[Pooled]>([])
    /// Compressors kept for reuse (about 270 KB each).
    private static let poolSize = 8

    /// Prepares a compressor that finished its stream for the next one; false when it cannot be
    /// reused.
    private func reset() -> Bool {
        guard mode == .compress, finished, !ended, deflateReset(&stream) == Z_OK else { return false }
        produced = 0
        finished = false
        return true
    }

    private func end() {
        guard !ended else { return }
        ended = true
        if mode == .compress { deflateEnd(&stream) } else { inflateEnd(&stream) }
    }

    /// Feeds `input`; output goes to `sink`.
    package func update(_ input: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try run(input, flush: false, sink: sink)
    }

    /// Ends the stream (compression: writes the trailer; decompression: requires a complete stream).
    package func finish(sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try run(UnsafeRawBufferPointer(start: nil, count: 0), flush: true, sink: sink)
        if mode == .decompress, !finished { throw StreamError.gzip("the gzip stream is truncated") }
        // A compressor keeps its tables for reuse (``withCompressor(_:)``); deinit frees them.
        if mode == .decompress { end() }
    }

    private func run(_ input: UnsafeRawBufferPointer, flush: Bool, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        while true {
            if mode == .decompress, finished {
                if stream.avail_in > 0 { throw StreamError.gzip("data after the end of the gzip stream") }
                return
            }
            let (rc, count): (Int32, Int) = out.withUnsafeMutableBufferPointer { buf in
                stream.next_out = buf.baseAddress
                stream.avail_out = uInt(buf.count)
                let rc = mode == .compress ? deflate(&stream, flush ? Z_FINISH : Z_NO_FLUSH) : inflate(&stream, Z_NO_FLUSH)
                return (rc, buf.count - Int(stream.avail_out))
            }
            if count > 0 {
                produced += count
                if mode == .decompress, produced > maxOutput {
                    throw StreamError.gzip("decompressed size exceeds the limit of \(maxOutput) bytes")
                }
                try out.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            }
            switch rc {
            case Z_STREAM_END:
                finished = true
                if mode == .compress { return }
            case Z_OK:
                if stream.avail_in == 0 && stream.avail_out != 0 && !(mode == .compress && flush) { return }
            case Z_BUF_ERROR:
                // No progress possible: input exhausted (decompression waits for more).
                if stream.avail_in == 0 { return }
                throw StreamError.gzip("zlib buffer error")
            default:
                throw StreamError.gzip(mode == .compress ? "deflate failed (\(rc))" : "the gzip data is corrupt (\(rc))")
            }
        }
    }
}

/// A streaming transform failed.
package enum StreamError: Error, Equatable, CustomStringConvertible {
    case gzip(String)
    case cipher(String)
    case io(String)

    package var description: String {
        switch self {
        case .gzip(let d): "gzip: \(d)"
        case .cipher(let d): "cipher: \(d)"
        case .io(let d): "io: \(d)"
        }
    }
}
