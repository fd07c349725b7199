import Foundation
import Synchronization
import HTTPTypes
import Hummingbird
import Ledger
import Node

/// Answers the API's busiest request, a mailbox page as it stands (no search, no `asOf`), without
/// the generated layer's `Codable` round trip and without decoding the messages: the page's rows
/// are read in one transaction through ``MailboxListing`` (authorised and refused as the
/// generated handler's read is) and written by ``MessagePageJSON`` into one buffer. The answer is
/// the generated handler's, byte for byte (`MailboxPageRouteTests` asks both). A request in any
/// form this route does not read itself — another method, an `Accept` other than JSON, a search or
/// `asOf`, a parameter it does not know, twice, empty, or encoded with `+` or `,` — goes on to
/// the generated handler, which decides.
struct MailboxPageRoute: RouterMiddleware {
    typealias Context = APIRequestContext
    let access: MessageAccess

    /// Pages this route answered itself in this process (tests check that it runs).
    static let answered = Atomic<Int>(0)

    /// The route as Hummingbird names the matched endpoint.
    static let endpoint = "/v1/mailboxes/{address}/messages"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get, context.endpointPath == Self.endpoint, let principal = CurrentCaller.principal,
              Self.acceptsJSON(request.headers[.accept]), let listing = Self.listing(request, context), listing.isCurrentPage else {
            return try await next(request, context)
        }
        do throws(NodeError) {
            var page = MessagePageJSON()
            let next = try await listing.rows(access, as: principal) { page.add($0, visibility: $1, readSeq: $2) }
            Self.answered.add(1, ordering: .relaxed)
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                            body: .init(byteBuffer: page.finish(next: next)))
        } catch {
            return Self.problem(Problem(error).answer())
        }
    }

    /// The listing the request names, or nil when it is not in a form read here.
    static func listing(_ request: Request, _ context: Context) -> MailboxListing? {
        guard let raw = context.parameters.get("address"), let address = decoded(Substring(raw)) else { return nil }
        var listing = MailboxListing(address: address)
        var seen: Set<Substring> = []
        if let query = request.uri.query, !query.isEmpty {
            for item in query.split(separator: "&", omittingEmptySubsequences: false) {
                guard let eq = item.firstIndex(of: "=") else { return nil }
                let name = item[..<eq], value = item[item.index(after: eq)...]
                guard seen.insert(name).inserted, let text = decoded(value) else { return nil }
                switch name {
                case "q": listing.q = text
                case "conversation": listing.conversation = text
                case "cursor": listing.cursor = text
                case "limit": guard let n = number(value) else { return nil }; listing.limit = n
                case "asOf": guard let n = number(value) else { return nil }; listing.asOf = n
                default: return nil
                }
            }
        }
        return listing
    }

    /// A percent-decoded parameter; nil for an empty one, one with `+` or `,` (whose meaning
    /// depends on the parameter's style) or one that does not decode to UTF-8.
    static func decoded(_ text: Substring) -> String? {
        guard !text.isEmpty, !text.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: ",") }) else { return nil }
        guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        // Byte-wise (Foundation's `removingPercentEncoding` goes through NSString).
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var i = text.utf8.startIndex
        let end = text.utf8.endIndex
        while i < end {
            let b = text.utf8[i]
            guard b == UInt8(ascii: "%") else { out.append(b); i = text.utf8.index(after: i); continue }
            let h = text.utf8.index(after: i)
            guard h < end, text.utf8.index(after: h) < end,
                  let hi = hexValue(text.utf8[h]), let lo = hexValue(text.utf8[text.utf8.index(after: h)]) else { return nil }
            out.append(hi << 4 | lo)
            i = text.utf8.index(h, offsetBy: 2)
        }
        guard !out.isEmpty, let s = out.withUnsafeBufferPointer(UTF8Text.exact) else { return nil }
        return s
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A decimal number of up to nine digits, as written (no sign, no encoding).
    static func number(_ text: Substring) -> Int? {
        guard (1...9).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int(text)
    }

    /// Whether `Accept` is absent or asks for JSON plainly.
    static func acceptsJSON(_ accept: String?) -> Bool {
        guard let accept else { return true }
        return ["application/json", "*/*", "application/*"].contains(accept.trimmingCharacters(in: .whitespaces).lowercased())
    }

    /// A refusal as the generated layer writes it: the status the operation's output names, the
    /// problem document with sorted keys.
    static func problem(_ output: Operations.ListMessages.Output) -> Response {
        // Each response's body has the one case `applicationProblemJson` (the accessor cannot fail).
        let (status, found): (Int, Components.Schemas.Problem?) = switch output {
        case .badRequest(let r): (400, try? r.body.applicationProblemJson)
        case .forbidden(let r): (403, try? r.body.applicationProblemJson)
        case .notFound(let r): (404, try? r.body.applicationProblemJson)
        case .conflict(let r): (409, try? r.body.applicationProblemJson)
        case .unprocessableContent(let r): (422, try? r.body.applicationProblemJson)
        case .unauthorized(let r): (401, try? r.body.applicationProblemJson)
        case .notAcceptable(let r): (406, try? r.body.applicationProblemJson)
        case .serviceUnavailable(let r): (503, try? r.body.applicationProblemJson)
        // Never an answer of ``Problem/answer()``; refused as the node's own failure.
        case .ok, .undocumented: (503, nil)
        }
        let body = found ?? Problem(NodeError(.storage, "no problem answer")).schema
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(body)) ?? Data()
        return Response(status: .init(code: status), headers: [.contentType: "application/problem+json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
