import Hummingbird
import Identity
import Logging
import Projections

/// Authenticates every request but the health checks and the console's and runs the rest of the chain with the
/// caller in ``CurrentCaller``: by its bearer token, or — when the request has no Authorization
/// header and the API takes client certificates — by the certificate its TLS connection presented.
/// A refused credential is answered 401 (503 when the issuer cannot be reached) with a problem
/// document carrying only the code's fixed sentence; the detail goes to the log.
struct BearerAuthentication: RouterMiddleware {
    typealias Context = APIRequestContext
    let verifier: TokenVerifier
    /// Mutual TLS for case systems (`api.client_certificates`); nil: certificates name nobody.
    let certificates: ClientCertificateAuthentication?
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The console authenticates its own way (sign-in and session cookie, `Schemas/console.md`);
        // without a console nothing is routed there (404).
        let path = request.uri.path
        if path.hasPrefix("/health/") || path == "/console" || path.hasPrefix("/console/") { return try await next(request, context) }
        let principal: Principal
        do throws(AuthenticationError) {
            let authorization = request.headers[.authorization]
            if authorization == nil, let certificates,
               let byCertificate = try await certificates.principal(of: context.channel, interface: .api) {
                principal = byCertificate
            } else {
                principal = try await verifier.authenticate(authorization: authorization, interface: .api)
            }
        } catch {
            logger.notice("token refused", metadata: ["code": .string(error.code.rawValue), "detail": .string(error.detail),
                                                      "path": .string(request.uri.path)])
            return Problem(error).response()
        }
        let call = CurrentCaller.Call(principal: principal, channel: context.channel)
        return try await CurrentCaller.$call.withValue(call) { try await next(request, context) }
    }
}
