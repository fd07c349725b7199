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

/// Content-addressed storage for message content, attachments and evidence (raw envelopes).
///
/// A ledger's store keeps the small blobs its appending process puts (up to
/// ``LedgerOptions/inlineBlobLimit``, 64 KiB by default) inside the ledger's LMDB file, written by
/// the next commit together with its events (``InlineBlobs``). Every other blob is a file,
/// `blobs/<h0h1>/<h2h3>/<sha256-hex>`, written through a temporary file and renamed, so a blob is
/// either complete or absent; it is durable before any event that references it: synced by its
/// writer, or — up to 1 MiB, for the process that appends to the ledger — by the next ledger commit
/// (``BlobSync``). Large content is streamed in chunks both ways. Readers see both kinds alike, and
/// every read checks the content against its hash.
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
    /// The ledger's table of small blobs; nil for a store of files only (a backup, an export).
    let inline: InlineBlobs?

    public init(directory: String) {
        self.init(directory: directory, sync: nil, inline: nil)
    }

    init(directory: String, sync: BlobSync?, inline: InlineBlobs? = nil) {
        self.directory = directory
        self.sync = sync
        self.inline = inline
    }

    /// The inline table when a blob of `size` bytes is put there.
    func inlineTable(for size: Int) -> InlineBlobs? {
        guard let inline, inline.limit > 0, size <= inline.limit else { return nil }
        return inline
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
        let hash = Digest32.sha256(bytes)
        if let inline = inlineTable(for: bytes.count) {
            // Content-addressed: content already stored is not stored again.
            if try inline.size(of: hash) != Int64(bytes.count) { inline.queue(hash, bytes) }
            return BlobRef(sha256: hash, size: Int64(bytes.count))
        }
        return try putFile(bytes, hash: hash)
    }

    /// Stores `bytes` as a file even when they are small: for content whose erasure must not leave
    /// its bytes in the ledger's LMDB file, where a deleted row's pages keep them until reused — a
    /// wrapped data key, which crypto-shredding erases.
    public func putAsFile(_ bytes: [UInt8]) throws(LedgerError) -> BlobRef {
        try putFile(bytes, hash: Digest32.sha256(bytes))
    }

    private func putFile(_ bytes: [UInt8], hash: Digest32) throws(LedgerError) -> BlobRef {
        // Content-addressed: content already stored completely is not written again.
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
        let w = try BlobWriter(store: self, file: true)
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

    /// What the store holds of `hash`. (A blob table that cannot be read counts as not holding
    /// it: verification then reports the blob missing rather than passing it.)
    public func state(of hash: Digest32) -> State {
        if let inline, let size = try? inline.size(of: hash) { return .present(size: size) }
        let p = path(hash)
        var st = stat()
        if stat(p, &st) == 0 { return .present(size: Int64(st.st_size)) }
        if let reason = try? String(contentsOfFile: p + ".erased", encoding: .utf8) { return .erased(reason: reason) }
        return .absent
    }

    /// Whether `hash` is a row of the ledger's blob table (a small blob kept inside the ledger's
    /// LMDB file, see ``InlineBlobs``) rather than a file; a copy of the ledger file holds it.
    public func holdsInline(_ hash: Digest32) -> Bool {
        guard let inline, let size = try? inline.size(of: hash) else { return false }
        return size != nil
    }

    /// Opens a blob for streamed reading; the reader checks the hash when it reaches the end.
    public func open(_ hash: Digest32) throws(LedgerError) -> BlobReader {
        if let inline, let bytes = try inline.bytes(of: hash) { return BlobReader(hash: hash, bytes: bytes) }
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
        // Sized once, so a large blob is not copied while the array grows.
        if let size = reader.size { out.reserveCapacity(size) }
        while let chunk = try reader.next() { out += chunk }
        return out
    }

    /// Removes the content of `hash`, leaving a marker with `reason`. Record the erasure as a
    /// `blob.erased` event first: the audit-first rule applies to erasure as to reading.
    ///
    /// A blob kept inline in the ledger's table was deleted, and its bytes overwritten, by the
    /// commit of its `blob.erased` event (``InlineBlobs``); this writes the marker and reports if
    /// the overwrite failed. One still in the table (no event named it) is refused.
    public func erase(_ hash: Digest32, reason: String) throws(LedgerError) {
        if let inline, try inline.size(of: hash) != nil {
            throw LedgerError(.blobIO,
                "blob \(hash) is kept in the ledger's file and no committed blob.erased event names it; erase it with Ledger.eraseBlob, whose event removes it")
        }
        let p = path(hash)
        let dir = (p as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        catch { throw LedgerError(.blobIO, "cannot create \(dir) for the erasure marker of \(hash): \(error)") }
        guard (try? Data(Array(reason.utf8)).write(to: URL(fileURLWithPath: p + ".erased"), options: .atomic)) != nil else {
            throw LedgerError(.blobIO, "cannot write erasure marker for \(hash)")
        }
        if unlink(p) != 0 && errno != ENOENT {
            throw LedgerError(.blobIO, "cannot remove blob \(hash): errno \(errno)")
        }
        if let problem = inline?.takeScrubFailure(hash) {
            throw LedgerError(.blobIO,
                "blob \(hash) is erased, but its former bytes could not be overwritten in the ledger's file (\(problem)); they stay in freed pages until LMDB reuses them — check the disk, and compact the ledger (kvitto backup, then restore) if they must go now")
        }
    }
}

/// A streamed blob write: `write` chunks, then `finish` (into the ledger's table for a small blob
/// of the appending process; otherwise an atomic rename, fsync now or with the ledger's next
/// commit).
public final class BlobWriter {
    let store: BlobStore
    let tempPath: String
    /// The temporary file; -1 while the content is held in `buffer`.
    var fd: Int32 = -1
    /// The content so far while it may still go into the ledger's table; nil once in a file.
    var buffer: [UInt8]?
    var hasher = SHA256()
    var size: Int64 = 0
    var finished = false
    /// The blob is at its final path (the temporary file is gone or is it).
    var placed = false

    /// With `file`, the content is written to a file whatever its size.
    init(store: BlobStore, file: Bool = false) throws(LedgerError) {
        self.store = store
        tempPath = store.directory + "/tmp/" + UUID().uuidString
        if !file && store.inlineTable(for: 0) != nil {
            buffer = []
        } else {
            fd = try Self.create(tempPath)
        }
    }

    private static func create(_ tempPath: String) throws(LedgerError) -> Int32 {
        let tmpDir = (tempPath as NSString).deletingLastPathComponent
        var fd = Glibc.open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 && errno == ENOENT {
            // The first blob of this store: create its tmp directory.
            do { try FileManager.default.createDirectory(atPath: tmpDir, withIntermediateDirectories: true) }
            catch { throw LedgerError(.blobIO, "cannot create \(tmpDir): \(error)") }
            fd = Glibc.open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        }
        guard fd >= 0 else { throw LedgerError(.blobIO, "cannot create \(tempPath): errno \(errno)") }
        return fd
    }

    public func write(_ chunk: [UInt8]) throws(LedgerError) {
        hasher.update(data: chunk)
        if buffer != nil {
            buffer! += chunk
            size += Int64(chunk.count)
            if store.inlineTable(for: buffer!.count) != nil { return }
            // Too large for the table: the file takes what was held and everything after it.
            fd = try Self.create(tempPath)
            let held = buffer!
            buffer = nil
            let failed = FileIO.writeAll(fd, held)
            guard failed == 0 else { throw LedgerError(.blobIO, "writing blob failed: errno \(failed); check disk space") }
            return
        }
        let failed = FileIO.writeAll(fd, chunk)
        guard failed == 0 else { throw LedgerError(.blobIO, "writing blob failed: errno \(failed); check disk space") }
        size += Int64(chunk.count)
    }

    /// Makes the blob durable under its hash and returns its reference.
    public func finish() throws(LedgerError) -> BlobRef {
        guard !finished else { throw LedgerError(.blobIO, "blob writer already finished") }
        finished = true
        let hash = Digest32(unchecked: Array(hasher.finalize()))
        if let held = buffer, let inline = store.inlineTable(for: held.count) {
            placed = true
            if try inline.size(of: hash) != size { inline.queue(hash, held) }
            return BlobRef(sha256: hash, size: size)
        }
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
        if fd >= 0 {
            close(fd)
            if !placed { unlink(tempPath) }
        }
    }
}

/// A streamed blob read. `next()` returns chunks, then nil; at the end it throws `blob.corrupt`
/// if the content does not hash to its name.
public final class BlobReader {
    public let hash: Digest32
    /// The file; nil for a blob read from the ledger's table.
    let handle: FileHandle?
    /// A blob from the ledger's table, until `next()` hands it out.
    var held: [UInt8]?
    var hasher = SHA256()
    var done = false

    init(hash: Digest32, handle: FileHandle) {
        self.hash = hash
        self.handle = handle
    }

    init(hash: Digest32, bytes: [UInt8]) {
        self.hash = hash
        self.handle = nil
        self.held = bytes
    }

    /// The content's size, when known before reading.
    var size: Int? {
        if let held { return held.count }
        var info = stat()
        guard let handle, fstat(handle.fileDescriptor, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    public func next() throws(LedgerError) -> [UInt8]? {
        guard !done else { return nil }
        guard let handle else {
            // Held in memory: handed out in one piece (at most the inline limit), then checked.
            let bytes = held ?? []
            held = nil
            done = true
            guard Digest32.sha256(bytes) == hash else {
                throw LedgerError(.blobCorrupt, "blob \(hash) does not match its hash: its content was altered")
            }
            return bytes.isEmpty ? nil : bytes
        }
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
        if !done { try? handle?.close() }
    }
}
