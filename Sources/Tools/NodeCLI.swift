import ArgumentParser
import Foundation
import Ledger
import Logging
import Node
import Projections

/// Shared pieces of the node commands.
enum NodeCLI {
    /// Runs `body`, turning node errors into one line on stderr and exit status 2.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let e as NodeError {
            throw CLI.fail(e.description)
        } catch let e as LedgerError {
            throw CLI.fail(e.description)
        }
    }

    /// Structured logs (key=value metadata) on standard error, once per process.
    static func bootstrapLogging(level text: String) throws {
        guard let level = Logger.Level(rawValue: text) else {
            throw CLI.fail("--log-level \(text): use trace, debug, info, notice, warning, error or critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return EscapingLogHandler(handler)
        }
    }

    static func address(_ text: String, _ what: String) throws -> FunctionalAddress {
        guard let a = FunctionalAddress(text) else {
            throw CLI.fail("\(what) \"\(text)\" is not a functional address; write function@participant, e.g. registrator@0203:b.example.se")
        }
        return a
    }
}

/// `--node DIR`.
struct NodeLocation: ParsableArguments {
    @Option(name: .long, help: "The node directory (made by `kvitto init`).")
    var node: String
}
