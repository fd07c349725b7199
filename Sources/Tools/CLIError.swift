import ArgumentParser
import Ledger

#if canImport(Glibc)
import Glibc
#endif

/// Prints a one-line error to standard error and exits non-zero.
enum CLI {
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
