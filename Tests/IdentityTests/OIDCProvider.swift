import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A real OpenID Provider for the tests: oidc-provider-mock (PyPI) run by
/// Tests/interop/oidc_provider.py with the project's .venv, listening on 127.0.0.1. Commands go
/// to its stdin one line at a time; each answers one line.
final class OIDCProvider: @unchecked Sendable {
    // Sendable: `process` and the pipes are set once in init; `lock` guards `buffer`, and the
    // tests send one command at a time.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let lock = NSLock()
    private var buffer = Data()
    private(set) var port = 0

    var issuer: String { "http://127.0.0.1:\(port)" }
    static let client = "kvitto-tests"

    init() throws {
        process.executableURL = Self.root.appendingPathComponent(".venv/bin/python")
        process.arguments = ["-W", "ignore", Self.root.appendingPathComponent("Tests/interop/oidc_provider.py").path]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let first = try readLine(timeout: 60)
        guard first.hasPrefix("port "), let p = Int(first.dropFirst(5)) else {
            stop()
            throw ProviderError(text: "oidc_provider.py did not start (is oidc-provider-mock in .venv? Tests/bootstrap.sh installs it): \(first)")
        }
        port = p
    }

    /// Runs the authorization code flow for `sub` with `claims` and returns the ID token.
    func token(sub: String, claims: [String: Any]) throws -> String {
        try answer("token \(sub) " + Self.json(claims), prefix: "token ")
    }

    /// Replaces the provider's signing key.
    func rotate() throws { _ = try answer("rotate", prefix: "rotated ") }

    /// A token built by hand: `mode` rs256 (the provider's key), none, hs256-public.
    func sign(_ mode: String, header: [String: Any], payload: [String: Any]) throws -> String {
        try answer("sign \(mode) " + Self.json(["header": header, "payload": payload]), prefix: "token ")
    }

    func stop() {
        try? input.fileHandleForWriting.write(contentsOf: Data("quit\n".utf8))
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    private func answer(_ command: String, prefix: String) throws -> String {
        try input.fileHandleForWriting.write(contentsOf: Data((command + "\n").utf8))
        let line = try readLine(timeout: 30)
        guard line.hasPrefix(prefix) else { throw ProviderError(text: "\(command.prefix(40)): \(line)") }
        return String(line.dropFirst(prefix.count))
    }

    struct ProviderError: Error { let text: String }

    /// One line of the provider's stdout; kills it when none comes within `timeout` seconds.
    private func readLine(timeout: TimeInterval) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        let watchdog = DispatchWorkItem { [process] in if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        defer { watchdog.cancel() }
        while true {
            if let nl = lock.withLock({ buffer.firstIndex(of: 0x0A) }) {
                return lock.withLock {
                    let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...nl)
                    return line
                }
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty || Date() > deadline { throw ProviderError(text: "the provider stopped answering") }
            lock.withLock { buffer.append(chunk) }
        }
    }

    private static func json(_ object: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8), as: UTF8.self)
    }
}
