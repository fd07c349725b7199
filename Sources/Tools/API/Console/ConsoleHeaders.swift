import Hummingbird
import HTTPTypes

/// The headers of every console response (`Schemas/console.md`, "Every response"): a strict
/// content security policy (no inline script or style, no framing, forms only to the console),
/// no sniffing, no referrer to other sites, nothing cached — the router's own answers (a path the
/// console does not have) included, which become the console's "not found" page.
struct ConsoleHeaders: RouterMiddleware {
    typealias Context = APIRequestContext

    static let policy = "default-src 'none'; style-src 'self'; script-src 'none'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path == "/console" || path.hasPrefix("/console/") else { return try await next(request, context) }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            let language = Console.language(request)
            response = ConsolePage.message(status: error.status == .methodNotAllowed ? .methodNotAllowed : .notFound,
                                           title: .notFound, text: .notFoundText, visit: nil, language: language)
        }
        if response.headers[.contentSecurityPolicy] == nil { response.headers[.contentSecurityPolicy] = Self.policy }
        response.headers[.xContentTypeOptions] = "nosniff"
        // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the console's own forms.
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        response.headers[.cacheControl] = "no-store"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return response
    }
}
