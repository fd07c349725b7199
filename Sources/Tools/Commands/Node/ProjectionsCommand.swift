import ArgumentParser
import Foundation
import Ledger
import Node
import Projections

/// `kvitto projections status|rebuild|digest`: the node's persisted projections.
struct ProjectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections", abstract: "Show, rebuild or digest the node's persisted projections (read models of the ledger).",
        subcommands: [Status.self, Rebuild.self, Digest.self])

    /// The node's ledger (read-only: these commands never append) and its projection store.
    static func open(_ node: String) throws -> ProjectionEngine {
        let config = try NodeConfig.load(directory: node)
        var options = LedgerOptions()
        options.readOnly = true
        let ledger = try Ledger.open(at: NodeConfig.resolve(config.ledger, in: node), options: options)
        let engine = try NodeProjectionStore.open(node: node, ledger: ledger)
        if (engine.storage as? KeyValueStore)?.discardedAfterMachineStop == true {
            FileHandle.standardError.write(Data("note: the projections in \(node)/\(NodeProjectionStore.folder) may have been damaged (the machine stopped, or a flush failed, while they held changes not yet on the disk); they were started empty and are refolded from the ledger (by the running node, or `kvitto projections status --catch-up`)\n".utf8))
        }
        return engine
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Each projection's version, the seq it has applied, its lag behind the ledger and its rows.")

        @OptionGroup var location: NodeLocation
        @Flag(help: "Catch up with the ledger first.") var catchUp = false
        @Flag(help: "One JSON object per projection.") var json = false

        func run() async throws {
            try await NodeCLI.run {
                let engine = try ProjectionsCommand.open(location.node)
                defer { engine.ledger.close() }
                if catchUp { try engine.catchUp() }
                let head = try engine.ledger.durableHead()
                for s in try engine.status() {
                    let rows = s.rows.sorted { $0.key < $1.key }
                    if json {
                        let object: JSONValue = ["projection": .string(s.name), "version": .int(Int64(s.version)),
                                                 "applied_seq": .int(Int64(s.appliedSeq)), "ledger_seq": .int(Int64(head)),
                                                 "rows": .object(Dictionary(uniqueKeysWithValues: rows.map { ($0.key, .int(Int64($0.value))) }))]
                        print(String(decoding: CanonicalJSON.encode(object), as: UTF8.self))
                    } else {
                        print("\(s.name) v\(s.version): at seq \(s.appliedSeq) of \(head) (lag \(head - min(head, s.appliedSeq))); "
                              + rows.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                    }
                }
            }
        }
    }

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rebuild", abstract: "Clear projections and fold the whole ledger into them again (safe while the node runs).")

        @OptionGroup var location: NodeLocation
        @Option(name: .customLong("projection"), help: "Only this projection (repeatable); default: all.")
        var names: [String] = []

        func run() async throws {
            try await NodeCLI.run {
                let engine = try ProjectionsCommand.open(location.node)
                defer { engine.ledger.close() }
                let start = Date()
                try engine.rebuild(names.isEmpty ? nil : names)
                let head = try engine.ledger.durableHead()
                print("rebuilt \(names.isEmpty ? engine.projections.map(\.name).joined(separator: ", ") : names.joined(separator: ", ")) to seq \(head) in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
            }
        }
    }

    struct Digest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "digest", abstract: "SHA-256 of a projection's rows and the seq it is at (compare a rebuild with the live one).")

        @OptionGroup var location: NodeLocation
        @Argument(help: "The projection; default: all.") var names: [String] = []
        @Flag(help: "Catch up with the ledger first.") var catchUp = false

        func run() async throws {
            try await NodeCLI.run {
                let engine = try ProjectionsCommand.open(location.node)
                defer { engine.ledger.close() }
                if catchUp { try engine.catchUp() }
                for n in names.isEmpty ? engine.projections.map(\.name) : names {
                    let d = try engine.digest(n)
                    print("\(n) \(d.seq) \(d.sha256)")
                }
            }
        }
    }
}
