import CLMDB
import Crypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Copies blobs from one store into a new one (a backup, a staged restore — nothing reads it until
/// the copy is finished): every blob is re-hashed on the way and refused if it does not match its
/// name, files are written in place without a flush each, and
/// ``finish()`` makes all of them durable at once (`syncfs` on the destination's file system).
/// An erased blob is copied as its erasure marker.
public final class BlobCopier {
    let source: BlobStore
    let destination: BlobStore
    /// Blobs and bytes copied, erasure markers copied.
    public private(set) var copied = 0
    public private(set) var bytes: Int64 = 0
    public private(set) var erased = 0

    public init(from source: BlobStore, to destination: BlobStore) {
        self.source = source
        self.destination = destination
    }

    /// Copies the blobs `refs` name (distinct), on `workers` threads at once (0: one per core);
    /// stops at the first failure (see ``copy(_:)``) and throws it.
    /// A blob in `erased` (erased by an event the copy holds) is copied as an erasure marker even
    /// where its content is still there (an erasure that was interrupted): the copy never holds
    /// erased content.
    public func copy(_ refs: [BlobRef], erased: [Digest32: String] = [:], workers: Int = 0) throws(LedgerError) {
        let workers = max(1, min(workers > 0 ? workers : ProcessInfo.processInfo.activeProcessorCount, refs.count))
        let source = self.source, destination = self.destination
        let failure = Mutex<LedgerError?>(nil)
        let totals = Mutex<(copied: Int, bytes: Int64, erased: Int)>((0, 0, 0))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let part = BlobCopier(from: source, to: destination)
            defer { totals.withLock { $0 = ($0.copied + part.copied, $0.bytes + part.bytes, $0.erased + part.erased) } }
            for i in stride(from: w, to: refs.count, by: workers) {
                if failure.withLock({ $0 != nil }) { return }
                do throws(LedgerError) { try part.copy(refs[i], erasedAs: erased[refs[i].sha256]) } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                    return
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        let t = totals.withLock { $0 }
        copied += t.copied
        bytes += t.bytes
        self.erased += t.erased
    }

    /// Copies the blob `ref` names. Throws `blob.not_found` when the source has neither the blob nor
    /// an erasure marker, `blob.corrupt` when its content does not match `ref`. With `erasedAs`, the
    /// blob was erased: only a marker is written (the source's, or this text).
    public func copy(_ ref: BlobRef, erasedAs: String? = nil) throws(LedgerError) {
        if let erasedAs {
            let reason: String
            if case .erased(let recorded) = source.state(of: ref.sha256) { reason = recorded } else { reason = erasedAs }
            try write(Array(reason.utf8), to: destination.path(ref.sha256) + ".erased")
            erased += 1
            return
        }
        switch source.state(of: ref.sha256) {
        case .absent:
            throw LedgerError(.blobNotFound, "blob \(ref.sha256) is not in \(source.directory)")
        case .erased(let reason):
            try write(Array(reason.utf8), to: destination.path(ref.sha256) + ".erased")
            erased += 1
        case .present:
            let reader = try source.open(ref.sha256)
            // The destination is a new store (a backup, a staged restore) that nothing reads before
            // ``finish()`` and the manifest: files are written in place, without a rename each.
            let final = destination.path(ref.sha256)
            let fd = try create(final)
            var ok = false
            defer {
                close(fd)
                if !ok { unlink(final) }
            }
            var size: Int64 = 0
            // The reader re-hashes and throws `blob.corrupt` at the end if the content is not `ref`'s.
            while let chunk = try reader.next() {
                try writeAll(fd, chunk, final)
                size += Int64(chunk.count)
            }
            guard size == ref.size else {
                throw LedgerError(.blobCorrupt, "blob \(ref.sha256) holds \(size) bytes; the ledger says \(ref.size)")
            }
            ok = true
            copied += 1
            bytes += size
        }
    }

    /// Makes everything copied durable (one `syncfs` of the destination's file system).
    public func finish() throws(LedgerError) {
        if copied == 0 && erased == 0 && !FileManager.default.fileExists(atPath: destination.directory) { return }
        try Self.syncFileSystem(containing: destination.directory)
    }

    /// Makes everything written to the file system holding `path` durable: data, directory entries
    /// and metadata, with one `syncfs`.
    public static func syncFileSystem(containing path: String) throws(LedgerError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw LedgerError(.blobIO, "cannot open \(path): errno \(errno)") }
        defer { close(fd) }
        guard kvitto_syncfs(fd) == 0 else {
            throw LedgerError(.blobIO, "making the copy durable failed (syncfs, errno \(errno)); check the destination disk")
        }
    }

    private func create(_ path: String) throws(LedgerError) -> Int32 {
        var fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 && errno == ENOENT {
            let dir = (path as NSString).deletingLastPathComponent
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
            catch { throw LedgerError(.blobIO, "cannot create \(dir): \(error)") }
            fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        }
        guard fd >= 0 else { throw LedgerError(.blobIO, "cannot create \(path): errno \(errno)") }
        return fd
    }

    private func write(_ bytes: [UInt8], to path: String) throws(LedgerError) {
        let fd = try create(path)
        defer { close(fd) }
        try writeAll(fd, bytes, path)
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws(LedgerError) {
        let failed = FileIO.writeAll(fd, bytes)
        guard failed == 0 else { throw LedgerError(.blobIO, "writing \(path) failed: errno \(failed); check disk space") }
    }
}
