import Foundation
import Hummingbird
import Identity
import Node
import NIOCore

/// RFC 9457 problem details: a fixed title per status, the stable `code`, and a `detail` that
/// names what to do. `type` is `https://kvitto.se/problems/<code>`.
struct Problem: Sendable {
    let status: Int
    let code: String
    let detail: String

    var title: String {
        switch status {
        case 400: "Bad request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not found"
        case 409: "Conflict"
        case 410: "Gone"
        case 413: "Content too large"
        case 416: "Range not satisfiable"
        case 422: "Unprocessable content"
        case 429: "Too many requests"
        case 503: "Service unavailable"
        default: "Error"
        }
    }

    var schema: Components.Schemas.Problem {
        .init(_type: "https://kvitto.se/problems/" + code, title: title, status: status, detail: detail, code: code)
    }

    /// The answer for a node error. Storage problems say nothing of their cause (it is logged).
    init(_ error: NodeError) {
        code = error.code.rawValue
        switch error.code {
        case .notFound: (status, detail) = (404, error.message)
        case .forbidden: (status, detail) = (403, error.message)
        case .erased: (status, detail) = (410, error.message)
        case .positionNotReached, .conflict: (status, detail) = (409, error.message)
        case .unprocessable: (status, detail) = (422, error.message)
        case .rangeNotSatisfiable: (status, detail) = (416, error.message)
        case .tooManyStreams: (status, detail) = (429, error.message)
        case .notAParticipant, .noRoute: (status, detail) = (400, error.message)
        case .invalidRequest, .unknownAddress, .invalidMessage: (status, detail) = (400, error.message)
        case .auditUnavailable: (status, detail) = (503, "The read could not be recorded in the ledger, so nothing was returned; try again later.")
        case .contentKeyUnavailable:
            (status, detail) = (503, "The content is encrypted at rest and its key is not available on the node now; its metadata is. The node's operator restores the key.")
        case .webhooksOff: (status, detail) = (503, "This node delivers no webhooks; its operator turns them on (api.webhooks).")
        default: (status, detail) = (503, "The node could not answer; try again later.")
        }
    }

    /// The answer for a refused token: only the code's fixed sentence.
    init(_ error: AuthenticationError) {
        (status, code, detail) = (error.isTemporary ? 503 : 401, error.code.rawValue, error.publicText)
    }

    init(status: Int, code: String, detail: String) {
        (self.status, self.code, self.detail) = (status, code, detail)
    }

    /// The problem as a Hummingbird response (for the middleware, before the generated handlers).
    func response() -> Response {
        // Sorted keys, as the generated layer writes: the same bytes for the same answer.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(schema)) ?? Data()
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == 401 {
            // RFC 6750: no error code when the request carried no token (none, or a client certificate).
            let noToken = [AuthenticationError.Code.missingToken.rawValue, AuthenticationError.Code.certificateRefused.rawValue].contains(code)
            headers[.wwwAuthenticate] = noToken ? "Bearer" : "Bearer error=\"invalid_token\""
        }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
