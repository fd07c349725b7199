import Foundation
import HTTPTypes
import Hummingbird

/// The generated layer writes every response header as a URI component (percent-encoded, OpenAPI's
/// `simple` style): `attachment; filename="a.pdf"` would leave as `attachment%3B%20filename…`.
/// For the headers whose values are not URI components, this restores the value the handler set
/// (one percent-decoding is the exact inverse of that encoding: a `%` the handler wrote, as in
/// `filename*=UTF-8''%C3%A4`, was encoded as `%25`).
struct HeaderValues: RouterMiddleware {
    typealias Context = APIRequestContext

    /// Headers written as plain text.
    static let plain: [HTTPField.Name] = [.contentDisposition, .contentRange, .acceptRanges]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        // The console writes its headers itself, not through the generated layer.
        if request.uri.path == "/console" || request.uri.path.hasPrefix("/console/") { return response }
        for name in Self.plain {
            guard let value = response.headers[name], value.contains("%"), let decoded = value.removingPercentEncoding else { continue }
            response.headers[name] = decoded
        }
        return response
    }
}
