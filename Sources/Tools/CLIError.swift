import ArgumentParser
import Foundation
import Ledger

#if canImport(Glibc)
import Glibc
#endif

/// Prints a one-line error to standard error and exits non-zero.
enum CLI {
    /// `--trust-key`: a base64 Ed25519 public key, or nil when the option was not given.
    static func trustKey(_ text: String?) throws -> LedgerPublicKey? {
        guard let text else { return nil }
        guard let k = LedgerPublicKey(base64: text) else { throw fail("--trust-key is not a base64 Ed25519 public key") }
        return k
    }

    /// `--witness FILE`: a checkpoint as `kvitto ledger checkpoint` printed it.
    static func witness(file: String) throws -> Checkpoint {
        do { return try Checkpoint(json: try witnessJSON(file: file)) } catch let e as LedgerError { throw fail(e.description) }
    }

    /// The JSON of a witness file, unchecked.
    static func witnessJSON(file: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: file) else { throw fail("cannot read the witness file \(file)") }
        guard let value = try? JSONParser.parse(Array(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)) else {
            throw fail("the witness file \(file) is not JSON (expected the line `kvitto ledger checkpoint` printed)")
        }
        return value
    }

    static func fail(_ message: String, code: Int32 = 2) -> ExitCode {
        FileHandleOutput.stderr("kvitto: \(message)\n")
        return ExitCode(code)
    }

    /// Runs `body`, turning ledger errors into one line on stderr and exit status 2.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let e as LedgerError {
            throw fail(e.description)
        }
    }
}

enum FileHandleOutput {
    /// Writes to stdout and flushes, so a reading process sees each line at once.
    static func stdout(_ text: String) {
        writeAll(1, text)
    }

    static func stderr(_ text: String) {
        writeAll(2, text)
    }

    private static func writeAll(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue } else { return } }
            offset += n
        }
    }
}
