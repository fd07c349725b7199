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
            abstract: "Route to another access point: every participant of another Kvitto node (--peer), or one organisation at any access point (--participant …).",
            discussion: """
                Any access point: --participant ID --name NAME --endpoint URL --as4-certificate FILE --o2o-certificate FILE \
                [--function FUNCTION=NAME …] [--trust-as4/--trust-o2o/--trust-tls CA …]. The O2O certificate must be the \
                organisation's own; the party id is the CN of the AS4 certificate. While the node runs, it adds the route and \
                routes by it at once; stopped, the command does. Needs the manage right on the node.
                """)

        @OptionGroup var location: NodeLocation

        @Option(help: "Another Kvitto node's directory: routes to all its participants.")
        var peer: String?

        @Option(help: "The organisation's participant id, e.g. 0203:b.example.se.")
        var participant: String?

        @Option(help: "The organisation's name (address book).")
        var name: String?

        @Option(name: .customLong("function"), help: "A functional address of the organisation: FUNCTION=NAME. Repeatable.")
        var functions: [String] = []

        @Option(help: "The access point's AS4 endpoint URL.")
        var endpoint: String?

        @Option(help: "The access point's AS4 certificate (PEM or DER).")
        var as4Certificate: String?

        @Option(help: "The organisation's O2O certificate (PEM or DER).")
        var o2oCertificate: String?

        @Option(help: "CA certificate(s) to trust for its AS4 signatures (file or folder). Repeatable.")
        var trustAs4: [String] = []

        @Option(help: "CA certificate(s) to trust for its O2O signatures (file or folder). Repeatable.")
        var trustO2o: [String] = []

        @Option(help: "CA certificate(s) to trust for its TLS server (file or folder). Repeatable.")
        var trustTls: [String] = []

        func run() async throws {
            if let peer {
                guard participant == nil, endpoint == nil, as4Certificate == nil, o2oCertificate == nil, name == nil, functions.isEmpty,
                      trustAs4.isEmpty, trustO2o.isEmpty, trustTls.isEmpty else {
                    throw CLI.fail("--peer takes the routes from another node's directory; give either --peer or --participant …, not both")
                }
                try await NodeCLI.run {
                    for addition in try RouteSpec.peer(peer) { print(try await NodeAdmin.perform(.addRoute(addition), node: location.node).text) }
                }
                return
            }
            guard let participant, let endpoint, let as4Certificate, let o2oCertificate else {
                throw CLI.fail("give --peer NODE_DIR, or --participant, --endpoint, --as4-certificate and --o2o-certificate")
            }
            var fns: [(function: String, name: String)] = []
            for f in functions {
                let parts = f.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard let function = parts.first, !function.isEmpty else { throw CLI.fail("--function \(f): give FUNCTION=NAME") }
                fns.append((function, parts.count > 1 ? parts[1] : function))
            }
            var spec = RouteSpec(participant: participant, name: name ?? participant, functions: fns, endpoint: endpoint,
                                 as4Certificate: as4Certificate, o2oCertificate: o2oCertificate)
            spec.trustAS4 = trustAs4
            spec.trustO2O = trustO2o
            spec.trustTLS = trustTls
            try await NodeCLI.run { print(try await NodeAdmin.perform(.addRoute(try spec.addition()), node: location.node).text) }
        }
    }
}
