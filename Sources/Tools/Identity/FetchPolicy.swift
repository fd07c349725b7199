import AsyncHTTPClient
import Foundation
package import NIOCore

/// How the node fetches an issuer's discovery document and key set: HTTPS only (plain HTTP only
/// to a loopback address, for tests), bounded size and time, no redirects.
package enum FetchPolicy {
    package static let maxBytes = 256 * 1024
    package static let timeout: TimeAmount = .seconds(10)

    /// Why `url` may not be fetched, or nil.
    package static func problem(with url: String) -> String? {
        guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), let host = u.host, !host.isEmpty else {
            return "not an absolute URL"
        }
        if scheme == "https" { return nil }
        if scheme == "http", ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased()) { return nil }
        return "only https is allowed (plain http only to a loopback address)"
    }

    /// GETs `url` and returns its JSON body.
    static func fetchJSON(_ url: String, client: HTTPClient) async throws(AuthenticationError) -> ClaimValue {
        if let why = problem(with: url) { throw AuthenticationError(.issuerUnavailable, "\(url): \(why)") }
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/json")
            let response = try await client.execute(request, timeout: timeout)
            guard response.status == .ok else {
                throw AuthenticationError(.issuerUnavailable, "\(url) answered HTTP \(response.status.code)")
            }
            let body = try await response.body.collect(upTo: maxBytes)
            guard let value = ClaimValue.parse(Data(body.readableBytesView), limit: maxBytes), case .object = value else {
                throw AuthenticationError(.issuerUnavailable, "\(url) did not answer a JSON object")
            }
            return value
        } catch let e as AuthenticationError {
            throw e
        } catch {
            throw AuthenticationError(.issuerUnavailable, "fetching \(url): \(error)")
        }
    }
}
