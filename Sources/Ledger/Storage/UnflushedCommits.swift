import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The mark a process leaves beside a derived store whose commits it does not flush, so that a
/// store a machine stop may have damaged is never read again.
///
/// LMDB without flushes (`MDB_NOSYNC`) keeps every committed transaction intact when a process is
/// killed (the kernel's page cache holds what it wrote), but a machine that stops before the
/// kernel has written those pages back can leave the file in any state, damaged included. A
/// derived store (content refolded from the ledger, with the position it reached) can afford
/// that, provided nothing reads it after such a stop. So each process that opens one for writing
/// leaves a marker file `unflushed.<pid>.<random>` holding the machine's boot id, made durable
/// before its first commit, and holds an exclusive `flock` on it while it runs (a lock, unlike a
/// pid, says "running" across pid namespaces and is gone with its process). It removes the marker
/// once it has flushed the store for the last time. Every process that has the store open —
/// writers with or without a marker, and backups reading it — also holds a shared lock on the
/// folder's `open.lock`. Opening a store finds, under the folder's `unflushed.lock`:
/// - markers whose lock is held: processes that have the store open;
/// - a marker nobody holds, of this boot: a process that ended without its last flush; its pages
///   are still in the page cache, and the opener's own marker covers them (the old one goes);
/// - a marker nobody holds of another boot — or empty, or marked by a failed flush — or any
///   marker nobody holds when the boot id cannot be read: the store may be damaged; its files are
///   removed, and it is refolded from the ledger. If any other process has the store open
///   (`open.lock`), the open is refused instead.
///
/// Where the boot id cannot be read, the opener leaves no marker and flushes every commit.
final class UnflushedCommits: Sendable {
    /// The marker file of this process; nil when its commits are flushed (no boot id).
    let marker: String?
    /// The marker, open, its exclusive lock held until this object goes; -1 without a marker.
    private let markerDescriptor: Int32
    /// `open.lock`, its shared lock held until this object goes.
    private let openDescriptor: Int32
    private let state = Mutex(State())

    private struct State {
        var released = false
        var poisoned = false
    }

    static let prefix = "unflushed."
    static let lockName = "unflushed.lock"
    static let openLockName = "open.lock"
    /// The text of a marker whose store missed a flush: it matches no boot id.
    static let poison = "a flush failed"

    private init(marker: String?, markerDescriptor: Int32, openDescriptor: Int32) {
        self.marker = marker
        self.markerDescriptor = markerDescriptor
        self.openDescriptor = openDescriptor
    }

    deinit {
        if markerDescriptor >= 0 { close(markerDescriptor) }
        close(openDescriptor)
    }

    /// The kernel's id of the running boot; nil where it cannot be read.
    static func currentBootID() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    /// Checks the store in `directory` before its environment is opened for writing: discards its
    /// files when a marker says a machine stop may have damaged them (refusing while another
    /// process has the store open), and leaves this process's marker — none when `bootID` is nil:
    /// then ``marker`` is nil and every commit must be flushed.
    static func claim(directory: String, bootID: String? = currentBootID()) throws(LedgerError) -> (claim: UnflushedCommits, discarded: Bool) {
        try locked(directory, lockName, LOCK_EX) { () throws(LedgerError) in
            let scan = try Scan(directory: directory, bootID: bootID)
            let opened = try openLock(directory)
            var discarded = false
            do throws(LedgerError) {
                if scan.mayBeDamaged {
                    guard scan.running == 0, flock(opened, LOCK_EX | LOCK_NB) == 0 else {
                        throw LedgerError(.storage, "the store in \(directory) may have been damaged by a machine stop or a failed flush (a marker nobody holds says so), but another process has it open; stop the other processes using it (`kvitto serve`, `kvitto projections`, `kvitto backup`) and start again: the store is then refolded from the ledger")
                    }
                    for file in ["data.mdb", "lock.mdb"] + scan.ended {
                        guard unlink(directory + "/" + file) == 0 || errno == ENOENT else {
                            throw LedgerError(.storage, "cannot remove \(directory)/\(file) (\(describe(errno))), which a machine stop may have damaged; data.mdb may already be gone: remove the folder's files by hand and start again, the store is refolded from the ledger")
                        }
                    }
                    FileIO.syncDirectory(directory)
                    discarded = true
                }
                // Held shared while the store is open (a discarding claim above converts its lock).
                try lock(opened, LOCK_SH, directory + "/" + openLockName)
                guard let bootID else {
                    return (UnflushedCommits(marker: nil, markerDescriptor: -1, openDescriptor: opened), discarded)
                }
                let (marker, fd) = try mark(directory: directory, bootID: bootID)
                if !discarded {
                    for name in scan.ended { unlink(directory + "/" + name) }
                }
                return (UnflushedCommits(marker: marker, markerDescriptor: fd, openDescriptor: opened), discarded)
            } catch {
                close(opened)
                throw error
            }
        }
    }

    /// Runs `read` — opening the store in `directory` and reading it, from another process than
    /// its writers (a backup) — unless a marker says a machine stop may have damaged the store;
    /// then returns nil without running it. The store is not discarded while `read` runs (it
    /// holds the folder's `open.lock` shared).
    static func ifTrusted<T>(directory: String, bootID: String? = currentBootID(), _ read: () throws -> T) throws(LedgerError) -> T? {
        let opened: Int32? = try locked(directory, lockName, LOCK_SH) { () throws(LedgerError) -> Int32? in
            guard !(try Scan(directory: directory, bootID: bootID).mayBeDamaged) else { return nil }
            let fd = try openLock(directory)
            do throws(LedgerError) { try lock(fd, LOCK_SH, directory + "/" + openLockName) } catch {
                close(fd)
                throw error
            }
            return fd
        }
        guard let opened else { return nil }
        defer { close(opened) }
        do { return try read() } catch let error as LedgerError { throw error } catch {
            throw LedgerError.storage(error, "reading the store at \(directory)")
        }
    }

    /// Removes this process's marker: call only once everything committed is on the disk. Does
    /// nothing after ``poisonAfterFailedFlush()``.
    func release() {
        state.withLock { s in
            guard let marker, !s.released, !s.poisoned else { return }
            s.released = true
            unlink(marker)
        }
    }

    /// A flush failed: the store may lack writes the kernel dropped. The marker is rewritten to
    /// match no boot and is never removed, so the next open discards the store.
    func poisonAfterFailedFlush() {
        state.withLock { s in
            guard markerDescriptor >= 0, !s.released, !s.poisoned else { return }
            s.poisoned = true
            let text = Array(Self.poison.utf8)
            if ftruncate(markerDescriptor, 0) == 0 {
                _ = text.withUnsafeBytes { pwrite(markerDescriptor, $0.baseAddress, $0.count, 0) }
                _ = fsync(markerDescriptor)
            }
        }
    }

    // MARK: - Markers

    /// What the markers of a folder say (read under the folder's lock).
    private struct Scan {
        /// Markers whose process holds their lock.
        var running = 0
        /// Markers nobody holds.
        var ended: [String] = []
        var mayBeDamaged = false

        init(directory: String, bootID: String?) throws(LedgerError) {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
                throw LedgerError(.storage, "cannot list \(directory) (\(error)); check that the folder exists and can be read")
            }
            for name in names where name.hasPrefix(UnflushedCommits.prefix) && name != UnflushedCommits.lockName {
                let fd = Glibc.open(directory + "/" + name, O_RDONLY | O_CLOEXEC)
                if fd < 0 {
                    if errno == ENOENT { continue }  // released since the listing
                    throw LedgerError(.storage, "cannot read the marker \(directory)/\(name) (\(describe(errno))); check the folder's permissions")
                }
                defer { close(fd) }
                // Shared, so that two readers checking at once do not take each other for owners;
                // the owner's exclusive lock refuses it.
                if flock(fd, LOCK_SH | LOCK_NB) != 0 {
                    guard errno == EWOULDBLOCK else {
                        throw LedgerError(.storage, "cannot test the lock of \(directory)/\(name) (\(describe(errno))); the file system must support flock")
                    }
                    running += 1
                    continue
                }
                ended.append(name)
                var buffer = [UInt8](repeating: 0, count: 128)
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                let text = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
                if bootID == nil || text != bootID { mayBeDamaged = true }
            }
        }
    }

    /// Makes this process's marker: written under a temporary name, flushed, locked, renamed into
    /// place and its name flushed, so an opener never finds it half written.
    private static func mark(directory: String, bootID: String) throws(LedgerError) -> (marker: String, descriptor: Int32) {
        let suffix = "\(getpid()).\(UUID().uuidString.prefix(8).lowercased())"
        let temporary = directory + "/tmp-" + prefix + suffix
        let marker = directory + "/" + prefix + suffix
        let fd = Glibc.open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw LedgerError(.storage, "cannot create \(temporary) (\(describe(errno))); check the folder's permissions and free space")
        }
        let failed = FileIO.writeAll(fd, Array(bootID.utf8))
        let ok = failed == 0 && fsync(fd) == 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && rename(temporary, marker) == 0
        let code = failed != 0 ? failed : errno
        guard ok else {
            close(fd)
            unlink(temporary)
            throw LedgerError(.storage, "cannot write the marker \(marker) durably (\(describe(code))); check the disk and free space")
        }
        let dir = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let dirSynced = dir >= 0 && fsync(dir) == 0
        let dirCode = errno
        if dir >= 0 { close(dir) }
        guard dirSynced else {
            unlink(marker)
            close(fd)
            throw LedgerError(.storage, "cannot make the marker \(marker) durable (\(describe(dirCode))); check the disk")
        }
        return (marker, fd)
    }

    /// Runs `body` holding `operation` (`LOCK_EX`, `LOCK_SH`) on the folder's lock file `name`.
    private static func locked<T>(_ directory: String, _ name: String, _ operation: Int32, _ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        let path = directory + "/" + name
        let fd = try openLockFile(path)
        defer { close(fd) }
        try lock(fd, operation, path)
        return try body()
    }

    /// The folder's `open.lock`, opened (not locked).
    private static func openLock(_ directory: String) throws(LedgerError) -> Int32 {
        try openLockFile(directory + "/" + openLockName)
    }

    /// A lock file at `path`, created when absent, opened (not locked).
    private static func openLockFile(_ path: String) throws(LedgerError) -> Int32 {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw LedgerError(.storage, "cannot open \(path) (\(describe(errno))); check the folder's permissions")
        }
        return fd
    }

    /// `flock(fd, operation)`, waiting, retried on EINTR.
    private static func lock(_ fd: Int32, _ operation: Int32, _ path: String) throws(LedgerError) {
        while flock(fd, operation) != 0 {
            guard errno == EINTR else {
                throw LedgerError(.storage, "cannot lock \(path) (\(describe(errno))); the file system must support flock")
            }
        }
    }

    private static func describe(_ code: Int32) -> String {
        "errno \(code), \(String(cString: strerror(code)))"
    }
}
