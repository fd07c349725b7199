import API
import AsyncHTTPClient
import Foundation
import Logging
import Node
import NIOCore
import NIOHTTP1
import NIOSSL
import Transport
import XCTest

/// A node's API served over real TLS on 127.0.0.1 for one test, and an HTTPS client for it.
final class APITestClient: Sendable {
    struct Answer {
        var status: UInt
        var contentType: String
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var code: String? { json["code"] as? String }
    }

    let server: APIServer
    let port: Int
    private let task: Task<Void, any Error>
    private let client: HTTPClient

    /// Serves the API of `node` (whose TLS CA is `caFile`); the client presents `clientIdentity`'s
    /// certificate when given (mutual TLS).
    init(node: Node, caFile: String, clientIdentity: SigningIdentity? = nil, configure: (inout APIServer) -> Void = { _ in }) async throws {
        var logger = node.logger
        logger.logLevel = .critical
        var configured = try XCTUnwrap(try APIServer.configured(for: node, port: 0, logger: logger))
        configure(&configured)
        server = configured
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = server
        task = Task { try await server.run { continuation.yield($0) } }
        var it = ports.makeAsyncIterator()
        let first = await it.next()
        port = try XCTUnwrap(first)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caFile)
        tls.certificateVerification = .fullVerification
        if let clientIdentity {
            tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: CertificateFile.der(clientIdentity.certificate), format: .der))]
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(clientIdentity.privateKey.derRepresentation), format: .der))
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    /// `method path` with the bearer `token` and, when given, a JSON `body`.
    func send(_ method: HTTPMethod, _ path: String, token: String?, json body: String? = nil, headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)" + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer " + token) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 10 << 20)
        return Answer(status: response.status.code, contentType: response.headers.first(name: "content-type") ?? "",
                      body: Array(data.readableBytesView))
    }

    func get(_ path: String, token: String?) async throws -> Answer { try await send(.GET, path, token: token) }

    /// `GET path` with the response body left to stream (an event stream), within `seconds`.
    func open(_ path: String, token: String, headers: [(String, String)] = [], seconds: Int64 = 300) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)" + path)
        request.headers.add(name: "Authorization", value: "Bearer " + token)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return try await client.execute(request, timeout: .seconds(seconds))
    }

    /// A query parameter's value, percent-encoded.
    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    func stop() async {
        try? await client.shutdown()
        task.cancel()
        _ = await task.result
        await server.verifier.shutdown()
    }
}

extension APITestClient {
    /// Runs `body`, then stops the server and closes `node` whether `body` threw or not (a node
    /// left open would stop the test process when its HTTP client is released).
    func closing(_ node: Node, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            await stop()
            await node.close()
            throw error
        }
        await stop()
        await node.close()
    }
}
