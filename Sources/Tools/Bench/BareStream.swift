import API
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL

/// The limit `kvitto bench streams` holds event delivery to: a Hummingbird handler on
/// 127.0.0.1, with the node's TLS identity, that answers every `GET /bare` with the same
/// prepared `text/event-stream` bytes (a burst as the node sent it) in one write, and does
/// nothing else — no ledger, no grants, no framing. Runs in the benchmark's process, as the
/// node's API does there.
struct BareStream: Sendable {
    static let path = "/bare"
    static let livePath = "/live"
    /// The port it listens on.
    let port: Int
    private let task: Task<Void, any Error>

    static func start(_ body: ByteBuffer, tls: TLSConfiguration, logger: Logger) async throws -> BareStream {
        let router = Router()
        router.get(RouterPath(path)) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: .init(byteBuffer: body))
        }
        router.get(RouterPath(livePath)) { _, _ in Response(status: .ok) }
        // Its cancellation at the end is no error worth a line.
        var quiet = logger
        quiet.logLevel = .critical
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, server: try .tls(.http1(), tlsConfiguration: tls),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0), backlog: APIServer.backlog),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: quiet)
        let task = Task {
            // Ends the wait below when the server fails before it listens.
            defer { continuation.finish() }
            try await app.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw CLI.fail("bench: the bare stream server did not start")
        }
        return BareStream(port: port, task: task)
    }

    func stop() { task.cancel() }
}
