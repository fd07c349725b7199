import Foundation
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

    /// The document's paths (`{name}` matches one segment), their methods and the media type of
    /// their successful answer.
    static let operations: [(path: [Substring], methods: [HTTPRequest.Method], produces: [String])] = {
        typealias Row = (path: String, methods: [HTTPRequest.Method], produces: [String])
        let json = ["application/json"]
        let rows: [Row] = [
            ("/health/live", [.get], json), ("/health/ready", [.get], json), ("/metrics", [.get], ["text/plain"]),
            ("/v1/whoami", [.get], json), ("/v1/mailboxes", [.get], json), ("/v1/mailboxes/{address}/messages", [.get], json),
            ("/v1/messages", [.post], json), ("/v1/messages/{id}", [.get], json), ("/v1/messages/{id}/trace", [.get], json),
            ("/v1/messages/{id}/evidence", [.get], ["application/octet-stream"]),
            ("/v1/messages/{id}/content", [.get], ["application/xml"]),
            ("/v1/messages/{id}/attachments/{index}", [.get], ["application/octet-stream"]),
            ("/v1/grants", [.get, .post], json), ("/v1/grants/{grant}/revocation", [.post], json),
            ("/v1/audit/events", [.get], json), ("/v1/audit/report", [.get], ["application/json", "text/csv", "text/html"]),
            ("/v1/events", [.get], ["text/event-stream"]),
            ("/v1/webhooks", [.get, .post], json), ("/v1/webhooks/{webhook}", [.get, .delete], json),
            ("/v1/webhooks/{webhook}/secret", [.post], json), ("/v1/webhooks/{webhook}/resumption", [.post], json),
            ("/v1/address-book", [.get], json), ("/v1/address-book/{participant}", [.put, .delete], json),
            ("/v1/address-book/{participant}/functions/{function}", [.put, .delete], json),
        ]
        return rows.map { ($0.path.split(separator: "/"), $0.methods, $0.produces) }
    }()

    /// The largest request body read (a submission with its attachments as base64).
    static let maxBody = 64 << 20

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/")
        if let op = Self.operations.first(where: { Self.matches($0.path, segments) }) {
            guard op.methods.contains(request.method) else {
                var response = Problem(status: 405, code: "http.method_not_allowed", detail: "This method is not an operation of this path.").response()
                response.headers[.allow] = op.methods.map(\.rawValue).joined(separator: ", ")
                return response
            }
            // Checked before the handler runs: a content read must not be recorded and then fail
            // to be sent because the caller accepts no media type the operation produces.
            if let accept = request.headers[.accept], !op.produces.contains(where: { Self.accepts(accept, $0) }) {
                return Problem(status: 406, code: "http.not_acceptable",
                               detail: "The operation answers \(op.produces.joined(separator: ", ")) (and application/problem+json).").response()
            }
        }
        var request = request
        // A caller that accepts the operation's answer gets its refusals as problem documents too
        // (the generated layer would otherwise fail on `Accept: application/json` and answer 500).
        if let accept = request.headers[.accept], !Self.accepts(accept, "application/problem+json") {
            var head = request.head
            head.headerFields[.accept] = accept + ", application/problem+json"
            request = Request(head: head, body: request.body)
        }
        // The console reads its own (small) forms, bounded there.
        let console = request.uri.path == "/console" || request.uri.path.hasPrefix("/console/")
        if (request.method == .post || request.method == .put) && !console {
            // The generated layer would buffer any length: the body is read here, bounded.
            do { _ = try await request.collectBody(upTo: Self.maxBody) } catch {
                return Problem(status: 413, code: "http.too_large", detail: "The request body is larger than 64 MiB.").response()
            }
        }
        do {
            return try await next(request, context)
        } catch let error as ServerError where error.operationInput == nil {
            return Problem(status: 400, code: "http.invalid_request", detail: "The request's parameters do not match the API document.").response()
        } catch let error as HTTPError {
            throw error
        } catch {
            // Only the operation and the kind of error: a ServerError's description carries the
            // request's headers (the bearer token) and the answer (subjects).
            let operation = (error as? ServerError)?.operationID ?? "-"
            logger.error("unhandled error in the API", metadata: ["operation": .string(operation), "error_type": .string("\(type(of: error))")])
            return Problem(status: 500, code: "http.internal", detail: "The node failed to answer; the cause is in its log.").response()
        }
    }

    /// Whether an `Accept` header value admits `type` (`*/*`, `type/*` or the type itself, q > 0).
    static func accepts(_ header: String, _ type: String) -> Bool {
        let major = type.split(separator: "/").first.map(String.init) ?? type
        for range in header.split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let media = parts.first else { continue }
            if parts.dropFirst().contains(where: { $0.replacingOccurrences(of: " ", with: "") == "q=0" || $0.hasPrefix("q=0.0") && Double($0.dropFirst(2)) == 0 }) {
                continue
            }
            if media == "*/*" || media == type || media == major + "/*" { return true }
        }
        return false
    }

    private static func matches(_ template: [Substring], _ path: [Substring]) -> Bool {
        template.count == path.count && zip(template, path).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }
}
