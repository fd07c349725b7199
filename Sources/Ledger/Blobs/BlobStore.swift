import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A reference to stored content: its SHA-256 and length. Events carry these, never the bytes.
public struct BlobRef: Sendable, Hashable {
    public let sha256: Digest32
    public let size: Int64

    public init(sha256: Digest32, size: Int64) {
        self.sha256 = sha256
        self.size = size
    }
}

/// Content-addressed storage for message content, attachments and evidence (raw envelopes):
/// `blobs/<h0h1>/<h2h3>/<sha256-hex>`. Content is written through a temporary file and renamed, so
/// a blob is either complete or absent; it is durable before any event that references it: synced
/// by its writer, or — for the small blobs of the process that appends to the ledger — by the next
/// ledger commit (``BlobSync``). Large content is streamed in chunks both ways.
///
/// Erasure (gallring, GDPR) removes the bytes and leaves `<hex>.erased` holding the reason; the
/// events keep the hash, so verification can tell erased content from tampering.
public struct BlobStore: Sendable {
    public let directory: String
    /// Read chunk size.
    public static let chunkSize = 1 << 20
    /// Where small blobs wait for the ledger's next commit to be made durable; nil: each is synced
    /// by its writer.
    let sync: BlobSync?

    public init(directory: String) {
        self.init(directory: directory, sync: nil)
    }

    init(directory: String, sync: BlobSync?) {
        self.directory = directory
        self.sync = sync
    }

    /// What the store knows about a hash.
    public enum State: Sendable, Equatable {
        case present(size: Int64)
        case erased(reason: String)
        case absent
    }

    func path(_ hash: Digest32) -> String {
        let h = hash.hex
        let a = h.index(h.startIndex, offsetBy: 2)
        let b = h.index(a, offsetBy: 2)
        return "\(directory)/\(h[..<a])/\(h[a..<b])/\(h)"
    }

    /// Stores `bytes` and returns their reference.
    public func put(_ bytes: [UInt8]) throws(LedgerError) -> BlobRef {
        // Content-addressed: content already stored completely is not written again.
        let hash = Digest32.sha256(bytes)
        if case .present(let size) = state(of: hash), size == Int64(bytes.count) {
            guard Int64(bytes.count) <= BlobSync.deferredLimit else { return BlobRef(sha256: hash, size: size) }
            // A small blob whose sync was still waiting for a commit when the machine stopped may
            // be incomplete: the stored copy must hold these bytes on the disk, and be durable
            // before the event that will reference it (another writer's sync may not have run yet).
            if storedCopyMatches(hash, size: size) {
                sync?.add(file: path(hash))
                return BlobRef(sha256: hash, size: size)
            }
        }
        let w = try makeWriter()
        try w.write(bytes)
        return try w.finish()
    }

    /// True when the file of `hash` holds `size` bytes that hash to it, read from the disk rather
    /// than from the page cache (after a failed write-back the cache can hold bytes the disk does
    /// not; their pages are dropped first).
    func storedCopyMatches(_ hash: Digest32, size: Int64) -> Bool {
        let fd = Glibc.open(path(hash), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        var hasher = SHA256()
        var total: Int64 = 0
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return false }
            if n == 0 { break }
            chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            total += Int64(n)
            if total > size { return false }
        }
        return total == size && Digest32(unchecked: Array(hasher.finalize())) == hash
    }

    /// Starts a streamed write.
    public func makeWriter() throws(LedgerError) -> BlobWriter {
        try BlobWriter(store: self)
    }

    public func state(of hash: Digest32) -> State {
        let p = path(hash)
        var st = stat()
        if stat(p, &st) == 0 { return .present(size: Int64(st.st_size)) }
        if let reason = try? String(contentsOfFile: p + ".erased", encoding: .utf8) { return .erased(reason: reason) }
        return .absent
    }

    /// Opens a blob for streamed reading; the reader checks the hash when it reaches the end.
    public func open(_ hash: Digest32) throws(LedgerError) -> BlobReader {
        switch state(of: hash) {
        case .present: break
        case .erased(let reason):
            throw LedgerError(.blobNotFound, "blob \(hash) was erased (\(reason))")
        case .absent:
            throw LedgerError(.blobNotFound, "blob \(hash) is not in the store")
        }
        guard let handle = FileHandle(forReadingAtPath: path(hash)) else {
            throw LedgerError(.blobIO, "cannot open blob \(hash); check permissions")
        }
        return BlobReader(hash: hash, handle: handle)
    }

    /// Reads a whole blob (for small content); the hash is checked.
    public func read(_ hash: Digest32) throws(LedgerError) -> [UInt8] {
        let reader = try open(hash)
        var out: [UInt8] = []
        // Sized once from the file, so a large blob is not copied while the array grows.
        var info = stat()
        if fstat(reader.handle.fileDescriptor, &info) == 0 { out.reserveCapacity(Int(info.st_size)) }
        while let chunk = try reader.next() { out += chunk }
        return out
    }

    /// Removes the content of `hash`, leaving a marker with `reason`. Record the erasure as a
    /// `blob.erased` event first: the audit-first rule applies to erasure as to reading.
    public func erase(_ hash: Digest32, reason: String) throws(LedgerError) {
        let p = path(hash)
        guard (try? Data(Array(reason.utf8)).write(to: URL(fileURLWithPath: p + ".erased"), options: .atomic)) != nil else {
            throw LedgerError(.blobIO, "cannot write erasure marker for \(hash)")
        }
        if unlink(p) != 0 && errno != ENOENT {
            throw LedgerError(.blobIO, "cannot remove blob \(hash): errno \(errno)")
        }
    }
}

/// A streamed blob write: `write` chunks, then `finish` (atomic rename; fsync now, or with the
/// ledger's next commit for a small blob of the appending process).
public final class BlobWriter {
    let store: BlobStore
    let tempPath: String
    let fd: Int32
    var hasher = SHA256()
    var size: Int64 = 0
    var finished = false
    /// The blob is at its final path (the temporary file is gone or is it).
    var placed = false

    init(store: BlobStore) throws(LedgerError) {
        self.store = store
        let tmpDir = store.directory + "/tmp"
        tempPath = tmpDir + "/" + UUID().uuidString
        var fd = Glibc.open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 && errno == ENOENT {
            // The first blob of this store: create its tmp directory.
            do { try FileManager.default.createDirectory(atPath: tmpDir, withIntermediateDirectories: true) }
            catch { throw LedgerError(.blobIO, "cannot create \(tmpDir): \(error)") }
            fd = Glibc.open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        }
        guard fd >= 0 else { throw LedgerError(.blobIO, "cannot create \(tempPath): errno \(errno)") }
        self.fd = fd
    }

    public func write(_ chunk: [UInt8]) throws(LedgerError) {
        hasher.update(data: chunk)
        let failed = FileIO.writeAll(fd, chunk)
        guard failed == 0 else { throw LedgerError(.blobIO, "writing blob failed: errno \(failed); check disk space") }
        size += Int64(chunk.count)
    }

    /// Makes the blob durable under its hash and returns its reference.
    public func finish() throws(LedgerError) -> BlobRef {
        guard !finished else { throw LedgerError(.blobIO, "blob writer already finished") }
        finished = true
        let hash = Digest32(unchecked: Array(hasher.finalize()))
        // Small blobs of the appending process are synced by the next ledger commit.
        let deferred = store.sync.flatMap { size <= BlobSync.deferredLimit ? $0 : nil }
        let final = store.path(hash)
        let dir = (final as NSString).deletingLastPathComponent
        // The directory exists for all but the first blob under its prefix: try first, create it
        // when the link or rename finds it missing.
        func place(_ op: () -> Int32) throws(LedgerError) -> Bool {
            if op() == 0 { return true }
            if errno == ENOENT {
                do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
                catch { throw LedgerError(.blobIO, "cannot create \(dir): \(error)") }
                if op() == 0 { return true }
            }
            return false
        }
        if let deferred {
            // Never put an unsynced copy in place of a stored one (events may reference it): the
            // new file is linked in only where none exists.
            if try place({ Glibc.link(tempPath, final) }) {
                placed = true
                unlink(tempPath)
                deferred.add(file: final)
                return BlobRef(sha256: hash, size: size)
            }
            guard errno == EEXIST else { throw LedgerError(.blobIO, "cannot store blob \(hash): errno \(errno)") }
            if store.storedCopyMatches(hash, size: size) {
                placed = true
                unlink(tempPath)
                deferred.add(file: final)
                return BlobRef(sha256: hash, size: size)
            }
            // A damaged copy (left by a machine that stopped before its sync): replaced durably below.
        }
        guard fsync(fd) == 0 else { throw LedgerError(.blobIO, "fsync of blob failed: errno \(errno)") }
        guard try place({ rename(tempPath, final) }) else { throw LedgerError(.blobIO, "cannot store blob \(hash): errno \(errno)") }
        placed = true
        let dfd = Glibc.open(dir, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
        return BlobRef(sha256: hash, size: size)
    }

    deinit {
        close(fd)
        if !placed { unlink(tempPath) }
    }
}

/// A streamed blob read. `next()` returns chunks, then nil; at the end it throws `blob.corrupt`
/// if the content does not hash to its name.
public final class BlobReader {
    public let hash: Digest32
    let handle: FileHandle
    var hasher = SHA256()
    var done = false

    init(hash: Digest32, handle: FileHandle) {
        self.hash = hash
        self.handle = handle
    }

    public func next() throws(LedgerError) -> [UInt8]? {
        guard !done else { return nil }
        let data: Data?
        do { data = try handle.read(upToCount: BlobStore.chunkSize) } catch {
            throw LedgerError(.blobIO, "reading blob \(hash) failed: \(error)")
        }
        guard let data, !data.isEmpty else {
            done = true
            try? handle.close()
            guard Digest32(unchecked: Array(hasher.finalize())) == hash else {
                throw LedgerError(.blobCorrupt, "blob \(hash) does not match its hash: its content was altered")
            }
            return nil
        }
        hasher.update(data: data)
        return [UInt8](data)
    }

    deinit {
        if !done { try? handle.close() }
    }
}
