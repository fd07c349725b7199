import Hummingbird
import Logging
import OpenAPIRuntime

/// Turns what the generated layer refuses into problem documents: a request whose parameters do
/// not decode (a word where a number belongs, say) is 400; a method the document does not list on
/// a path it does is 405 with `Allow`; anything else that escapes a handler is a 500 whose cause
/// stays in the log.
struct RequestErrors: RouterMiddleware {
    typealias Context = APIRequestContext
    let logger: Logger

    /// The document's paths (`{name}` matches one segment) and their methods.
    static let operations: [(path: [Substring], methods: [HTTPRequest.Method])] = [
        "/health/live", "/health/ready", "/v1/whoami", "/v1/mailboxes", "/v1/mailboxes/{address}/messages",
        "/v1/messages/{id}", "/v1/messages/{id}/trace", "/v1/messages/{id}/content", "/v1/messages/{id}/attachments/{index}",
    ].map { ($0.split(separator: "/"), [.get, .head]) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/")
        if let op = Self.operations.first(where: { Self.matches($0.path, segments) }), !op.methods.contains(request.method) {
            var response = Problem(status: 405, code: "http.method_not_allowed", detail: "\(request.method) is not an operation of this path.").response()
            response.headers[.allow] = op.methods.map(\.rawValue).joined(separator: ", ")
            return response
        }
        do {
            return try await next(request, context)
        } catch let error as ServerError where error.operationInput == nil {
            return Problem(status: 400, code: "http.invalid_request", detail: "The request does not match the API document: \(error.causeDescription).").response()
        } catch let error as HTTPError {
            throw error
        } catch {
            logger.error("unhandled error in the API", metadata: ["path": .string(request.uri.path), "error": .string("\(error)")])
            return Problem(status: 500, code: "http.internal", detail: "The node failed to answer; the cause is in its log.").response()
        }
    }

    private static func matches(_ template: [Substring], _ path: [Substring]) -> Bool {
        template.count == path.count && zip(template, path).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }
}
