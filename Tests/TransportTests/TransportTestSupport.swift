import Foundation
import XCTest
@testable import Transport

/// Paths to the shared SDK reference corpus and the project's Schemas folder.
enum Corpus {
    static let projectRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    static let reference: URL = projectRoot.deletingLastPathComponent().appendingPathComponent("shared/reference")
    static let sdk: URL = reference.appendingPathComponent("sdk")
    static let schemasDirectory: String = projectRoot.appendingPathComponent("Schemas").path

    static func bytes(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: sdk.appendingPathComponent(relative)))
    }

    static func string(_ relative: String) throws -> String {
        try String(decoding: Data(contentsOf: sdk.appendingPathComponent(relative)), as: UTF8.self)
    }

    /// Loaded once per test process.
    static let schemas: SDKSchemas = {
        do { return try SDKSchemas(directory: schemasDirectory) } catch { fatalError("schemas: \(error)") }
    }()

    static let validator = SDKValidator(schemas: schemas)
}

/// Runs a command and returns its exit status and combined output (bounded by `timeout`).
func runTool(_ executable: String, _ arguments: [String], stdin: Data? = nil, timeout: TimeInterval = 120) throws
    -> (status: Int32, output: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    if let stdin {
        let input = Pipe()
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
    } else {
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }
    // The process is terminated if it outlives the timeout; reading then ends at EOF.
    let watchdog = DispatchWorkItem { [process] in if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    let data = out.fileHandleForReading.readDataToEndOfFile()
    watchdog.cancel()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Whether a command is on PATH.
func toolAvailable(_ name: String) -> Bool {
    (try? runTool("sh", ["-c", "command -v \(name)"]).status) == 0
}

/// ``runTool(_:_:stdin:timeout:)`` on a GCD thread, so an async test does not block one of the
/// few cooperative threads the server under test needs.
func runToolAsync(_ executable: String, _ arguments: [String], timeout: TimeInterval = 120) async throws -> (status: Int32, output: String) {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try runTool(executable, arguments, timeout: timeout) })
        }
    }
}

extension XCTestCase {
    /// Runs `body` and expects it to throw an ``EbMSError`` with `code`.
    func expect(_ code: String, _ body: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line) async {
        do {
            try await body()
            XCTFail("accepted, expected \(code)", file: file, line: line)
        } catch let e as EbMSError {
            XCTAssertEqual(e.code, code, e.description, file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }
}
