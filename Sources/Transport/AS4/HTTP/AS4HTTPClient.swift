import AsyncHTTPClient
import NIOCore
package import NIOSSL
package import Foundation

/// Posts AS4 messages over HTTP(S) and returns the synchronous response, streaming attachments
/// from their spools. One client per access point; call ``shutdown()`` when done.
package final class AS4HTTPClient: Sendable {
    private let http: HTTPClient
    package let timeout: TimeInterval
    /// The TLS settings for each request when they may change while the client runs (a node's TLS
    /// trust folder reloaded); nil: those given at set-up.
    private let currentTLS: (@Sendable () throws -> TLSConfiguration)?

    /// `tls` configures our client certificate and the server anchors; nil uses the system trust
    /// store and no client certificate. `currentTLS`, when given, is asked before each request and
    /// wins over `tls` (connections are pooled per TLS configuration, so a changed one makes new
    /// connections and the old ones close when idle).
    package init(tls: AS4TLS?, currentTLS: (@Sendable () throws -> TLSConfiguration)? = nil, timeout: TimeInterval = 300,
                 connectTimeout: TimeInterval = 15) throws {
        self.currentTLS = currentTLS
        var configuration = HTTPClient.Configuration()
        if let tls { configuration.tlsConfiguration = try tls.clientConfiguration() }
        configuration.timeout = .init(connect: .milliseconds(Int64(connectTimeout * 1000)), read: .seconds(Int64(timeout)))
        configuration.redirectConfiguration = .disallow
        // An unreachable partner fails the attempt at once; reception awareness (the P-mode's
        // retries, recorded by the caller) decides when to try again — not a hidden retry loop
        // inside the connection pool that would hold the request until its deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        // As many parallel requests to one access point as the node runs dispatches.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 16
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.timeout = timeout
    }

    package func shutdown() async throws { try await http.shutdown() }

    /// The response: HTTP status, Content-Type and body (bounded at 16 MiB: signals are small).
    package struct Response: Sendable {
        package var status: Int
        package var contentType: String?
        package var body: [UInt8]
    }

    /// Sends `wire` to `url`. Throws EBMS:0005 (ConnectionFailure) when the partner cannot be reached.
    package func post(_ wire: AS4WireMessage, to url: String) async throws(EbMSError) -> Response {
        let (segments, contentType) = HTTPBodySegments.body(of: wire)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.headers.add(name: "MIME-Version", value: "1.0")
        do {
            if let whole = try segments.whole() {
                request.body = .bytes(whole)
            } else {
                request.body = .stream(segments, length: .known(Int64(segments.totalLength)))
            }
        } catch {
            throw .connectionFailure("POST \(url): the message's body cannot be read: \(error)")
        }
        if let currentTLS {
            do { request.tlsConfiguration = try currentTLS() } catch {
                throw .connectionFailure("POST \(url): the TLS settings cannot be made: \(error)")
            }
        }
        do {
            let response = try await http.execute(request, timeout: .seconds(Int64(timeout)))
            let body = try await response.body.collect(upTo: 16 << 20)
            return Response(status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
                            body: Array(body.readableBytesView))
        } catch {
            throw .connectionFailure("POST \(url): \(error)")
        }
    }
}
