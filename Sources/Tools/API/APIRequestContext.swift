import Hummingbird
import Projections

/// The request context of the API server: Hummingbird's core context.
struct APIRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// The authenticated caller of the request being handled, set by ``BearerAuthentication`` for
/// every route but the health checks. The generated handlers read it here.
enum CurrentCaller {
    @TaskLocal static var principal: Principal?
}
