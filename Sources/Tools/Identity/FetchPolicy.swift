import AsyncHTTPClient
import Foundation
package import NIOCore

/// How the node fetches an issuer's discovery document and key set: HTTPS only (plain HTTP only
/// to a loopback address, for tests), at most 256 KiB, 10 s for the whole exchange, no redirects.
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

    /// GETs `url` and returns its JSON body, within ``timeout`` from the first byte sent to the last received.
    static func fetchJSON(_ url: String, client: HTTPClient) async throws(KeyFetchFailure) -> ClaimValue {
        if let why = problem(with: url) {
            throw KeyFetchFailure(error: AuthenticationError(.issuerUnavailable, "\(url): \(why)"), authoritative: true)
        }
        typealias Answer = Result<(UInt, ByteBuffer), any Error>
        let result: Answer = await withTaskGroup(of: Answer.self) { group in
            group.addTask { () -> Answer in
                do {
                    var request = HTTPClientRequest(url: url)
                    request.headers.add(name: "Accept", value: "application/json")
                    let response = try await client.execute(request, timeout: timeout)
                    return .success((response.status.code, try await response.body.collect(upTo: maxBytes)))
                } catch {
                    return .failure(error)
                }
            }
            group.addTask { () -> Answer in
                try? await Task.sleep(for: .seconds(10))
                return .failure(CancellationError())
            }
            let first = await group.next() ?? .failure(CancellationError())
            group.cancelAll()
            return first
        }
        switch result {
        case .failure(let error):
            throw KeyFetchFailure(error: AuthenticationError(.issuerUnavailable, "fetching \(url): \(error is CancellationError ? "no complete answer within 10 s" : "\(error)")"),
                                  authoritative: false)
        case .success(let (status, body)):
            guard status == 200 else {
                throw KeyFetchFailure(error: AuthenticationError(.issuerUnavailable, "\(url) answered HTTP \(status)"), authoritative: status < 500)
            }
            guard let value = ClaimValue.parse(Data(body.readableBytesView), limit: maxBytes), case .object = value else {
                throw KeyFetchFailure(error: AuthenticationError(.issuerUnavailable, "\(url) did not answer a JSON object"), authoritative: true)
            }
            return value
        }
    }
}
