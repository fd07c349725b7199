import Hummingbird
import NIOCore
import Projections

/// The request context of the API server: Hummingbird's core context and the connection's channel
/// (whose TLS handler holds a client certificate, when the caller presented one).
struct APIRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The authenticated caller of the request being handled, set by ``BearerAuthentication`` for
/// every route but the health checks. The generated handlers read it here.
enum CurrentCaller {
    /// Who asks, and over which connection.
    struct Call: Sendable {
        let principal: Principal
        /// The caller's connection (an event stream watches it, to end as soon as it closes).
        let channel: any Channel
    }

    @TaskLocal static var call: Call?

    static var principal: Principal? { call?.principal }
}
