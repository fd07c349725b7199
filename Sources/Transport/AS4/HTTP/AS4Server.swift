import Hummingbird
import HummingbirdCore
import HummingbirdTLS
package import NIOCore
import NIOSSL
import Logging
import ServiceLifecycle

/// The AS4 HTTP(S) endpoint: POST to ``path`` is handled by an ``AS4Endpoint``. TLS 1.2/1.3 with
/// mutual authentication unless configured otherwise; plain HTTP only when no TLS is given (tests
/// and a reverse proxy in front).
package struct AS4Server: Sendable {
    package var host: String
    package var port: Int
    package var path: String
    package var tls: AS4TLS?
    package let endpoint: AS4Endpoint
    /// Idle timeout for a connection.
    package var idleTimeout: TimeAmount = .seconds(60)

    package init(host: String = "127.0.0.1", port: Int = 0, path: String = "/as4", tls: AS4TLS?, endpoint: AS4Endpoint) {
        self.host = host
        self.port = port
        self.path = path
        self.tls = tls
        self.endpoint = endpoint
    }

    /// Runs until the task is cancelled, then shuts down gracefully: no new connections, requests
    /// in progress are answered. `onRunning` receives the bound port.
    package func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router(context: AS4RequestContext.self)
        let endpoint = self.endpoint
        router.post(RouterPath(path)) { request, context -> Response in
            let reply = await endpoint.handle(contentType: request.headers[.contentType], body: request.body, peer: context.peer)
            return Response(status: .init(code: reply.status), headers: [.contentType: reply.contentType],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
        }
        var logger = Logger(label: "kvitto.as4")
        logger.logLevel = .warning
        let server: HTTPServerBuilder = if let tls {
            try .tls(.http1(configuration: .init(idleTimeout: idleTimeout)), tlsConfiguration: try tls.serverConfiguration())
        } else {
            .http1(configuration: .init(idleTimeout: idleTimeout))
        }
        let app = Application(router: router, server: server,
                              configuration: .init(address: .hostname(host, port: port), serverName: "kvitto"),
                              onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: logger)
        // The service group runs outside this task's cancellation, so that cancelling the task
        // means a graceful shutdown rather than dropped connections.
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let runner = Task { try await group.run() }
        try await withTaskCancellationHandler {
            try await runner.value
        } onCancel: {
            Task { await group.triggerGracefulShutdown() }
        }
    }
}

/// The request context of the AS4 server: Hummingbird's core context plus the peer's address,
/// which ``AdmissionControl`` counts requests by.
struct AS4RequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The remote IP address (or an empty string when unknown).
    let peer: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress?.ipAddress ?? ""
    }
}
