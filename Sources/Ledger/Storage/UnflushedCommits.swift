import Foundation
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
/// that, provided nothing reads it after such a stop. So each process that opens one writes a
/// marker file `unflushed.<pid>.<random>` holding the machine's boot id, durably, before its first
/// commit, and removes it when it closes the store after flushing it. Opening a store finds:
/// - no marker, or markers of this boot: the store is as its last commit left it (markers of
///   processes that are gone are removed; the opener's own marker covers their unflushed pages);
/// - a marker of another boot: the machine stopped while the store had unflushed commits; the
///   store's files are removed, and it is refolded from the ledger.
///
/// Where the boot id cannot be read, there is no marker and the store flushes every commit.
final class UnflushedCommits: Sendable {
    /// The marker file of this process.
    let marker: String

    static let prefix = "unflushed."
    static let lockName = "unflushed.lock"

    private init(marker: String) {
        self.marker = marker
    }

    /// The kernel's id of the running boot; nil where it cannot be read.
    static func currentBootID() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    /// Checks the store in `directory` before its environment is opened, discarding its files when
    /// a marker of another boot says a machine stop may have damaged them, and leaves this
    /// process's marker. Returns nil (flush every commit) when `bootID` is nil.
    static func claim(directory: String, bootID: String? = currentBootID()) throws(LedgerError) -> (claim: UnflushedCommits?, discarded: Bool) {
        guard let bootID else { return (nil, false) }
        // One opener at a time checks and marks (two processes starting after a machine stop).
        let lock = Glibc.open(directory + "/" + lockName, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else {
            throw LedgerError(.storage, "cannot open \(directory)/\(lockName) (errno \(errno)); check the directory's permissions")
        }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw LedgerError(.storage, "cannot lock \(directory)/\(lockName) (errno \(errno))") }
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw LedgerError(.storage, "cannot list \(directory): \(error)")
        }
        let markers = names.filter { $0.hasPrefix(prefix) && $0 != lockName }
        var ofThisBoot: [String] = []
        var ofAnotherBoot = false
        for name in markers {
            // An unreadable marker counts as another boot's: the store is refolded rather than trusted.
            let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)
            if text?.trimmingCharacters(in: .whitespacesAndNewlines) == bootID { ofThisBoot.append(name) } else { ofAnotherBoot = true }
        }
        if ofAnotherBoot {
            for file in ["data.mdb", "lock.mdb"] + markers {
                guard unlink(directory + "/" + file) == 0 || errno == ENOENT else {
                    throw LedgerError(.storage, "cannot remove \(directory)/\(file), left by a machine stop (errno \(errno)); remove the folder's files by hand, they are refolded from the ledger")
                }
            }
        }
        let marker = directory + "/" + prefix + "\(getpid()).\(UUID().uuidString.prefix(8))"
        try write(bootID, to: marker, in: directory)
        if !ofAnotherBoot {
            for name in ofThisBoot where !isRunning(markerName: name) { unlink(directory + "/" + name) }
        }
        return (UnflushedCommits(marker: marker), ofAnotherBoot)
    }

    /// Removes this process's marker; call only after the store has been flushed.
    func release() {
        unlink(marker)
    }

    /// Writes `text` to a new file at `path` and makes it and its name durable.
    private static func write(_ text: String, to path: String, in directory: String) throws(LedgerError) {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LedgerError(.storage, "cannot create \(path) (errno \(errno)); check the directory's permissions") }
        let failed = FileIO.writeAll(fd, Array(text.utf8))
        let synced = failed == 0 && fsync(fd) == 0
        close(fd)
        let dir = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let dirSynced = dir >= 0 && fsync(dir) == 0
        if dir >= 0 { close(dir) }
        guard synced, dirSynced else {
            unlink(path)
            throw LedgerError(.storage, "cannot write \(path) durably (errno \(failed != 0 ? failed : errno)); check the disk")
        }
    }

    /// False when the process named in the marker `unflushed.<pid>.<random>` is gone.
    private static func isRunning(markerName name: String) -> Bool {
        let parts = name.split(separator: ".")
        guard parts.count == 3, let pid = pid_t(parts[1]), pid > 0 else { return true }
        return kill(pid, 0) == 0 || errno != ESRCH
    }
}
