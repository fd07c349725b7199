import ArgumentParser
import Foundation
import Node

/// `kvitto init DIR`: a new node directory.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a node: configuration (kvitto.json), ledger, and a throwaway PKI for demos and tests.",
        discussion: """
            Real deployments replace the certificate and key paths and the trust folders in kvitto.json with their own \
            (e.g. the SDK CAs); see Schemas/node-config.md.
            """
    )

    @Argument(help: "The node directory to create.")
    var directory: String

    @Option(help: "The node's name (also the access point's party id: kvitto-ap-<name>).")
    var name: String = "kvitto"

    @Option(name: .customLong("participant"), help: "An organisation this node serves: ID=NAME, e.g. 0203:a.example.se=\"Kommun A\". Repeatable.")
    var participants: [String] = []

    @Option(name: .customLong("function"), help: "A functional address: FUNCTION@PARTICIPANT=NAME, e.g. registrator@0203:a.example.se=Registraturen. Repeatable.")
    var functions: [String] = []

    @Option(help: "Address the AS4 endpoint listens on.")
    var host = "127.0.0.1"

    @Option(help: "Port of the AS4 endpoint.")
    var port = 8443

    @Flag(help: "Plain HTTP instead of HTTPS (only behind a TLS-terminating proxy).")
    var noTLS = false

    @Flag(help: "One-way TLS: do not require client certificates.")
    var oneWayTLS = false

    @Option(help: "Issue the throwaway certificates from this CA (a folder with ca.crt and ca.key, or another node's directory).")
    var ca: String?

    @Option(help: "Retries after the first AS4 attempt (SDK: 12).")
    var retries = 12

    @Option(help: "Seconds between AS4 attempts (SDK: 240).")
    var retryInterval: Double = 240

    @Option(help: "Port of the HTTP API (default: the AS4 port + 1).")
    var apiPort: Int?

    @Flag(help: "Enable the development issuer, so that `kvitto token` mints tokens this node accepts (demos and tests only).")
    var developmentIssuer = false

    func run() async throws {
        var specs: [NodeSetup.ParticipantSpec] = []
        for p in participants {
            let parts = p.split(separator: "=", maxSplits: 1).map(String.init)
            specs.append(.init(id: parts[0], name: parts.count > 1 ? parts[1] : parts[0], functions: []))
        }
        for f in functions {
            let parts = f.split(separator: "=", maxSplits: 1).map(String.init)
            let address = try NodeCLI.address(parts[0], "--function")
            guard let i = specs.firstIndex(where: { $0.id == address.participant }) else {
                throw CLI.fail("--function \(f): \(address.participant) is not one of the --participant organisations")
            }
            specs[i].functions.append((address.function, parts.count > 1 ? parts[1] : address.function))
        }
        var options = NodeSetup.Options(name: name, participants: specs)
        options.host = host
        options.port = port
        options.tls = !noTLS
        options.mutualTLS = !oneWayTLS
        options.ca = ca
        options.developmentIssuer = developmentIssuer
        options.apiPort = apiPort
        options.receptionAwareness = .init(retries: retries, intervalSeconds: retryInterval, strategy: "CONSTANT")
        let config = try await NodeCLI.run { try await NodeSetup.initialize(directory: directory, options: options) }
        print("Node \(config.name) created in \(directory)")
        print("  AS4 endpoint   \(config.as4.tls == nil ? "http" : "https")://\(config.as4.host):\(config.as4.port)\(config.as4.path)  party id \(config.as4.partyId)")
        if let api = config.api {
            print("  HTTP API       \(api.usesTLS ? "https" : "http")://\(api.host):\(api.port)/v1  (Schemas/openapi.yaml)")
        }
        for p in config.participants {
            print("  participant    \(p.id) (\(p.name)): \(p.functions.map { $0.function + "@" + p.id }.joined(separator: ", "))")
        }
        print("Next: kvitto route add --node \(directory) --peer OTHER_NODE_DIR, then kvitto serve --node \(directory)")
    }
}
