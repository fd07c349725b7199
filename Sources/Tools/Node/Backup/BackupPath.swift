import Crypto
import Foundation
import Ledger
#if canImport(Glibc)
import Glibc
#endif

/// File operations of backup and restore: copies that hash what they write, durable writes, and
/// the check that a path named by a manifest stays inside its directory.
enum BackupPath {
    /// A relative path without `.`/`..` components or empty ones.
    static func isSafe(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/") else { return false }
        return !path.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }

    /// Copies the regular file `source` to `destination` (parent folders created, mode 0600), flushed;
    /// returns its size and SHA-256 as written.
    static func copy(_ source: String, to destination: String) throws(NodeError) -> (size: Int64, sha256: String) {
        let output = try create(destination)
        defer { close(output) }
        let digest = try read(source) { (chunk) throws(NodeError) in try writeAll(output, chunk, destination) }
        guard fsync(output) == 0 else { throw NodeError(.storage, "flushing \(destination) failed: errno \(errno)") }
        return digest
    }

    /// Size and SHA-256 of the file at `path`.
    static func digest(_ path: String) throws(NodeError) -> (size: Int64, sha256: String) {
        try read(path) { _ in }
    }

    /// Reads the file at `path` in 1 MiB chunks, handing each to `body`; returns its size and SHA-256.
    private static func read(_ path: String, _ body: ([UInt8]) throws(NodeError) -> Void) throws(NodeError) -> (size: Int64, sha256: String) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NodeError(.storage, "cannot read \(path): errno \(errno)") }
        defer { close(fd) }
        var hasher = SHA256()
        var size: Int64 = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw NodeError(.storage, "reading \(path) failed: errno \(errno)") }
            if n == 0 { break }
            let part = Array(chunk[0..<n])
            hasher.update(data: part)
            try body(part)
            size += Int64(n)
        }
        return (size, Hex.encode(Array(hasher.finalize())))
    }

    /// Writes `bytes` to `path` through a temporary file, flushed and renamed.
    static func writeDurably(_ bytes: [UInt8], to path: String) throws(NodeError) {
        let temporary = path + ".tmp"
        let fd = try create(temporary)
        do throws(NodeError) {
            try writeAll(fd, bytes, temporary)
            guard fsync(fd) == 0 else { throw NodeError(.storage, "flushing \(temporary) failed: errno \(errno)") }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw NodeError(.storage, "cannot write \(path): errno \(errno)") }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Creates `directory` and its parents with mode 0700.
    static func makeDirectory(_ directory: String) throws(NodeError) {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        catch { throw NodeError(.storage, "cannot create \(directory): \(error)") }
    }

    /// Flushes a directory's entries (best effort: some file systems refuse fsync on directories).
    static func syncDirectory(_ directory: String) { FileIO.syncDirectory(directory) }

    private static func create(_ path: String) throws(NodeError) -> Int32 {
        try makeDirectory((path as NSString).deletingLastPathComponent)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw NodeError(.storage, "cannot create \(path): errno \(errno)") }
        return fd
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws(NodeError) {
        let failed = FileIO.writeAll(fd, bytes)
        guard failed == 0 else { throw NodeError(.storage, "writing \(path) failed: errno \(failed); check disk space") }
    }
}
