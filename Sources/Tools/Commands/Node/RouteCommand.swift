import ArgumentParser
import Node

/// `kvitto route add`: the static routing table.
struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route", abstract: "Edit the static routing table (participant → access point and certificates).",
        subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Route to every participant of another node: its endpoint, AS4 and O2O certificates, CA and address-book entries.")

        @OptionGroup var location: NodeLocation

        @Option(help: "The other node's directory.")
        var peer: String

        func run() async throws {
            try await NodeCLI.run { try await NodeSetup.addPeer(directory: location.node, peer: peer) }
            print("Routes from \(location.node) to the participants of \(peer) added.")
        }
    }
}
