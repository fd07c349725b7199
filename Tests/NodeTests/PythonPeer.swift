import Foundation
import Node
import Transport
import X509
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The SDK access point built on the PyPI `as4` package (Tests/interop/as4peer/peer.py, run with
/// the project's .venv): an HTTP receiver (`serve`) and a one-shot sender (`post`).
enum PythonPeer {
    static let python = NodeFixture.projectRoot.appendingPathComponent(".venv/bin/python").path
    static let script = NodeFixture.projectRoot.appendingPathComponent("Tests/interop/as4peer/peer.py").path

    /// Writes a key folder for the peer: `sender_*` and `receiver_*` PEM files.
    static func keys(_ dir: String, sender: Certificate, senderKey: SigningIdentity?, receiver: Certificate, receiverKey: SigningIdentity?) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func write(_ name: String, _ text: String) throws { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        try write("sender_cert.pem", CertificateFile.pem(sender))
        try write("receiver_cert.pem", CertificateFile.pem(receiver))
        if let senderKey { try write("sender_key.pem", senderKey.privateKey.pemRepresentation) }
        if let receiverKey { try write("receiver_key.pem", receiverKey.privateKey.pemRepresentation) }
    }

    /// A running `peer.py serve`; `stop()` kills it.
    final class Server: @unchecked Sendable {
        // Sendable: `process` is set once in init; Process is safe to signal from any thread.
        let process = Process()
        let port: Int
        let log: String

        init(keys: String, payloadDir: String, log: String) throws {
            self.log = log
            let portFile = payloadDir + "/../peer.port"
            try? FileManager.default.removeItem(atPath: portFile)
            try FileManager.default.createDirectory(atPath: payloadDir, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: log, contents: nil)
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [script, "serve", "--keys", keys, "--payload-dir", payloadDir, "--port-file", portFile]
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            let deadline = Date().addingTimeInterval(30)
            while !FileManager.default.fileExists(atPath: portFile) {
                guard Date() < deadline, process.isRunning else {
                    throw NodeError(.storage, "peer.py serve did not start: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
                }
                usleep(20_000)
            }
            port = Int((try String(contentsOfFile: portFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }

        var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    /// Runs `peer.py post …` on a GCD thread (the node under test needs the cooperative threads).
    static func post(_ arguments: [String], timeout: TimeInterval = 120) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try run(python, [script, "post"] + arguments, timeout: timeout) })
            }
        }
    }

    /// Runs a program to its end (killed after `timeout`) and returns its status and combined output.
    static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let watchdog = DispatchWorkItem { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        watchdog.cancel()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
