#if canImport(Glibc)
import Glibc
#endif

/// Plain file-descriptor I/O shared by the blob store and the backup: whole writes, retried on
/// `EINTR` and short counts.
package enum FileIO {
    /// Writes all of `bytes` to `fd`; 0, or the `errno` of the write that failed.
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return 0
        }
    }

    /// Flushes a directory's entries, so a file created or renamed in it survives a power loss
    /// (best effort: some file systems refuse fsync on directories).
    package static func syncDirectory(_ directory: String) {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }
}
