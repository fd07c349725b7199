#if canImport(Glibc)
import Glibc
#endif

/// An exclusive, process-wide claim on a ledger for writing (`flock` on `<ledger>/writer.lock`).
/// The kernel releases it when the process dies, so a crashed writer never blocks its successor.
final class WriterLock: Sendable {
    private let fd: Int32

    init(directory: String) throws(LedgerError) {
        let path = directory + "/writer.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LedgerError(.storage, "cannot open \(path): errno \(errno)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw LedgerError(.locked,
                "the ledger at \(directory) is open for writing by another process; stop it, or open read-only (verify, show, tail, proof)")
        }
        self.fd = fd
    }

    /// Gives up the claim (after the writer has stopped); another process may then write.
    func release() {
        flock(fd, LOCK_UN)
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
