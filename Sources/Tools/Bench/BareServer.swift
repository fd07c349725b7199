import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle

/// `kvitto bench bare-server`: the limit `kvitto bench query` holds the API's mailbox page to — a
/// Hummingbird handler with nothing behind it, over the node's TLS identity, answering a fixed
/// JSON body of a page's size; its own process, as `kvitto serve` is. Runs until terminated.
struct BareServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bare-server",
        abstract: "A bare HTTPS handler with the node's TLS identity (the limit of `bench query`); runs until terminated.",
        shouldDisplay: false)

    @Option(help: "The node directory (its TLS identity).") var node: String
    @Option(help: "Write the bound port (127.0.0.1) here.") var portFile: String

    func run() async throws {
        let tls = try QueryBench.tls(nodeDir: node)
        let body = ByteBuffer(bytes: Array(repeating: UInt8(ascii: "a"), count: Self.bodyBytes))
        let router = Router()
        router.get("/bare") { _, _ in Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body)) }
        var quiet = Logger(label: "kvitto.bench.bare")
        quiet.logLevel = .error
        let file = portFile
        let app = Application(router: router, server: try .tls(.http1(), tlsConfiguration: tls.server),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in
                                  try? Data("\(channel.localAddress?.port ?? 0)\n".utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
                              }, logger: quiet)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: quiet))
        try await group.run()
    }

    /// About the size of a 50-message page as the API writes it.
    static let bodyBytes = 24_000
}
