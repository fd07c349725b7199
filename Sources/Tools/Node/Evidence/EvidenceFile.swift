import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes an evidence bundle to a file: into a temporary file beside it (mode 0600: a bundle
/// may hold content), synced, then renamed into place, so the path holds a complete bundle or
/// nothing new.
package enum EvidenceFile {
    package static func write(_ stream: EvidenceStream, to path: String) throws(NodeError) {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial").path
        // A fresh file of our own: never through a planted link or into someone else's file.
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw NodeError(.invalidRequest, "cannot create \(temporary) (errno \(errno)); choose a writable directory") }
        var done = false
        defer {
            if !done { close(fd); unlink(temporary) }
        }
        do {
            while let chunk = try stream.next() {
                var offset = 0
                while offset < chunk.count {
                    let n = chunk[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw NodeError(.storage, "writing \(temporary) failed (errno \(errno))") }
                    offset += n
                }
            }
        }
        guard fsync(fd) == 0 else { throw NodeError(.storage, "syncing \(temporary) failed (errno \(errno))") }
        close(fd)
        done = true
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw NodeError(.storage, "renaming the bundle to \(path) failed (errno \(errno))")
        }
    }
}
