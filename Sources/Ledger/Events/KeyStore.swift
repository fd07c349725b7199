import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Ledger signing keys kept as files: `<directory>/<keyID>.ed25519` holds the hex seed, mode 0600.
///
/// Keep this directory away from the people whose actions the ledger records: whoever holds the
/// active key can sign events. External witnesses of checkpoints (`kvitto ledger proof`) detect a
/// rewritten history even then.
public struct KeyStore: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    func path(for keyID: String) -> String { directory + "/" + keyID + ".ed25519" }

    /// Loads the key with id `keyID`.
    public func load(_ keyID: String) throws(LedgerError) -> LedgerSigningKey {
        let p = path(for: keyID)
        guard let text = try? String(contentsOfFile: p, encoding: .utf8) else {
            throw LedgerError(.keyUnavailable,
                "signing key \(keyID) is not in \(directory); restore the key file or open the ledger read-only")
        }
        guard let seed = Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)), seed.count == 32,
            let key = try? LedgerSigningKey(seed: seed), key.keyID == keyID
        else {
            throw LedgerError(.keyUnavailable, "key file \(p) is damaged: it does not hold the seed of key \(keyID)")
        }
        return key
    }

    /// Creates a new key and stores it durably (file and directory fsynced) before returning it.
    public func generate() throws(LedgerError) -> LedgerSigningKey {
        let key = LedgerSigningKey()
        try store(key)
        return key
    }

    /// Stores `key` durably.
    public func store(_ key: LedgerSigningKey) throws(LedgerError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw LedgerError(.keyUnavailable, "cannot create key directory \(directory): \(error)")
        }
        let p = path(for: key.keyID)
        let tmp = p + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw LedgerError(.keyUnavailable, "cannot write \(tmp): errno \(errno)") }
        let text = Array((Hex.encode(key.seed) + "\n").utf8)
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == text.count, synced == 0, rename(tmp, p) == 0 else {
            unlink(tmp)
            throw LedgerError(.keyUnavailable, "cannot store key file \(p): errno \(errno)")
        }
        let dfd = open(directory, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
