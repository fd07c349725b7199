import Hummingbird
import Identity
import Logging
import Projections

/// Authenticates every request but the health checks by its bearer token and runs the rest of the
/// chain with the caller in ``CurrentCaller``. A refused token is answered 401 (503 when the
/// issuer cannot be reached) with a problem document carrying only the code's fixed sentence; the
/// detail goes to the log.
struct BearerAuthentication: RouterMiddleware {
    typealias Context = APIRequestContext
    let verifier: TokenVerifier
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path.hasPrefix("/health/") { return try await next(request, context) }
        let principal: Principal
        do throws(AuthenticationError) {
            principal = try await verifier.authenticate(authorization: request.headers[.authorization], interface: .api)
        } catch {
            logger.notice("token refused", metadata: ["code": .string(error.code.rawValue), "detail": .string(error.detail),
                                                      "path": .string(request.uri.path)])
            return Problem(error).response()
        }
        return try await CurrentCaller.$principal.withValue(principal) { try await next(request, context) }
    }
}
