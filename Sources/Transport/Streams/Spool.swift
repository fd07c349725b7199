import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Bytes of unknown, possibly large size: kept in memory up to a threshold, then in an unlinked
/// temporary file, so a 100 MB attachment costs a few chunk buffers of memory. Written once,
/// then read any number of times as a sequence of chunks.
package final class Spool: @unchecked Sendable {
    // @unchecked: a Spool is written by one task and only read after `finish()`; every mutating
    // method checks `finished` and readers only use `pread`, which has no shared file offset.

    package static let defaultThreshold = 1 << 20
    private let threshold: Int
    private var memory: [UInt8] = []
    private var fd: Int32 = -1
    package private(set) var count = 0
    private var finished = false

    package init(threshold: Int = Spool.defaultThreshold) { self.threshold = threshold }

    /// A finished spool holding `bytes`.
    package convenience init(bytes: [UInt8]) {
        self.init(threshold: Int.max)
        memory = bytes
        count = bytes.count
        finished = true
    }

    deinit { if fd >= 0 { close(fd) } }

    package func append(_ data: UnsafeRawBufferPointer) throws(StreamError) {
        precondition(!finished, "append after finish")
        guard !data.isEmpty else { return }
        if fd < 0, memory.count + data.count <= threshold {
            memory.append(contentsOf: data)
        } else {
            if fd < 0 { try spill() }
            var offset = 0
            while offset < data.count {
                let n = write(fd, data.baseAddress! + offset, data.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .io("cannot write the spool file: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
        count += data.count
    }

    package func append(_ bytes: [UInt8]) throws(StreamError) {
        do { try bytes.withUnsafeBytes { try append($0) } } catch let e as StreamError { throw e } catch { throw .io("\(error)") }
    }

    private func spill() throws(StreamError) {
        var template = Array((NSTemporaryDirectory() + "/kvitto-spool-XXXXXX").utf8CString)
        let f = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard f >= 0 else { throw .io("cannot create a spool file: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        fd = f
        var offset = 0
        while offset < memory.count {
            let n = memory.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io("cannot write the spool file: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        memory = []
    }

    package func finish() { finished = true }

    /// Whether the bytes are on disk.
    package var isOnDisk: Bool { fd >= 0 }

    /// Calls `body` with consecutive chunks of the content.
    package func forEachChunk(size: Int = 256 << 10, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(finished, "read before finish")
        if fd < 0 {
            try memory.withUnsafeBytes { all in
                var o = 0
                while o < all.count {
                    let n = min(size, all.count - o)
                    try body(UnsafeRawBufferPointer(rebasing: all[o..<(o + n)]))
                    o += n
                }
            }
            return
        }
        var buffer = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, min(size, count - offset), off_t(offset)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StreamError.io("cannot read the spool file: \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw StreamError.io("the spool file is shorter than expected") }
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += n
        }
    }

    /// Up to `count` bytes starting at `offset` (fewer at the end).
    package func read(offset: Int, count wanted: Int) throws -> [UInt8] {
        precondition(finished, "read before finish")
        let n = max(0, min(wanted, count - offset))
        guard n > 0 else { return [] }
        if fd < 0 { return Array(memory[offset..<(offset + n)]) }
        var buffer = [UInt8](repeating: 0, count: n)
        var done = 0
        while done < n {
            let r = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, n - done, off_t(offset + done)) }
            if r < 0 {
                if errno == EINTR { continue }
                throw StreamError.io("cannot read the spool file: \(String(cString: strerror(errno)))")
            }
            if r == 0 { throw StreamError.io("the spool file is shorter than expected") }
            done += r
        }
        return buffer
    }

    /// The whole content in memory (for small parts such as the SOAP envelope).
    package func bytes() throws -> [UInt8] {
        if fd < 0 { return memory }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        try forEachChunk { out.append(contentsOf: $0) }
        return out
    }
}
