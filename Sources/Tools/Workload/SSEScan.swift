import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Cheap scanning of an SSE byte stream for the benchmark's and the tests' subscribers (memchr
/// over the chunks, no per-byte Swift loop), so that a client measures the stream, not itself.
package enum SSEScan {
    /// The seqs of event frames (an `id:` line followed by an `event:` line) in `bytes`; an
    /// unfinished last line, and an id waiting for its event line, carry over to the next chunk.
    package static func eventIDs(_ bytes: UnsafeRawBufferPointer, carry: inout (line: [UInt8], id: UInt64?)) -> [UInt64] {
        var out: [UInt64] = []
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return out }
        var pending = carry.id
        func line(_ l: UnsafeRawBufferPointer) {
            if l.count > 4, l[0] == 0x69, l[1] == 0x64, l[2] == 0x3A, l[3] == 0x20 {
                var n: UInt64 = 0
                for b in l[4...] where b >= 0x30 && b <= 0x39 { n = n &* 10 &+ UInt64(b - 0x30) }
                pending = n
            } else if l.count > 6, l[0] == 0x65, l[1] == 0x76, l[2] == 0x65, l[3] == 0x6E, let id = pending {
                out.append(id)
                pending = nil
            } else if l.isEmpty {
                pending = nil
            }
        }
        var start = 0
        while start < bytes.count, let hit = memchr(base + start, 0x0A, bytes.count - start) {
            let i = base.distance(to: UnsafeRawPointer(hit))
            if carry.line.isEmpty {
                line(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
            } else {
                carry.line += bytes[start..<i]
                carry.line.withUnsafeBytes { line($0) }
                carry.line.removeAll(keepingCapacity: true)
            }
            start = i + 1
        }
        if start < bytes.count { carry.line += bytes[start...] }
        carry.id = pending
        return out
    }
}
