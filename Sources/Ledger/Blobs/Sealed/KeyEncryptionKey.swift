import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A participant's key-encryption key (KEK): AES-256, kept outside the ledger directory in a key
/// file readable by the node's user only. It wraps the ``DataKey`` of each of the participant's
/// messages (``WrappedDataKey``); it never encrypts content itself.
///
/// The file holds `kvitto-kek-v1 ` and the key's 32 bytes in hex, on one line.
public struct KeyEncryptionKey: Sendable {
    let key: SymmetricKey
    /// The key's identifier: the first 16 bytes of SHA-256 over a label and the key, in hex.
    /// Events and wrapped keys name it, so an operator knows which key file a message needs.
    public let id: String

    static let filePrefix = "kvitto-kek-v1 "

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        key = SymmetricKey(data: bytes)
        id = Array(SHA256.hash(data: Array("kvitto kek id v1".utf8) + bytes)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// A new random key.
    public static func generate() -> KeyEncryptionKey {
        KeyEncryptionKey(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })!
    }

    /// The key file's text.
    public var fileText: String {
        Self.filePrefix + key.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() } + "\n"
    }

    /// Reads a key file. Refuses (fails closed) a file that is missing, is not a regular file
    /// owned by this process's user, or can be read or written by its group or others.
    public static func load(path: String) throws(LedgerError) -> KeyEncryptionKey {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let why = errno == ENOENT ? "it does not exist" : String(cString: strerror(errno))
            throw LedgerError(.contentKeyUnavailable, "the key-encryption key \(path) cannot be read: \(why); restore it from its safe copy (a participant that never had one gets it from `kvitto content-key create`)")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw LedgerError(.contentKeyUnavailable, "the key-encryption key \(path) is not a regular file")
        }
        guard st.st_uid == geteuid() else {
            throw LedgerError(.contentKeyUnavailable, "the key-encryption key \(path) is not owned by the node's user (uid \(geteuid())); chown it")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw LedgerError(.contentKeyUnavailable, "the key-encryption key \(path) can be read or written by others (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        var bytes = [UInt8](repeating: 0, count: 256)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0, let text = String(bytes: bytes[0..<n], encoding: .utf8) else {
            throw LedgerError(.contentKeyUnavailable, "the key-encryption key \(path) is empty or unreadable")
        }
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix(filePrefix) else {
            throw LedgerError(.contentKeyUnavailable, "\(path) is not a key-encryption key (it must start with \"\(filePrefix)\")")
        }
        let hex = Array(line.dropFirst(filePrefix.count).utf8)
        guard hex.count == 64 else { throw LedgerError(.contentKeyUnavailable, "the key-encryption key in \(path) is not 32 bytes in hex") }
        var key: [UInt8] = []
        for i in stride(from: 0, to: 64, by: 2) {
            guard let b = UInt8(String(decoding: hex[i..<(i + 2)], as: UTF8.self), radix: 16) else {
                throw LedgerError(.contentKeyUnavailable, "the key-encryption key in \(path) is not 32 bytes in hex")
            }
            key.append(b)
        }
        return KeyEncryptionKey(bytes: key)!
    }
}
