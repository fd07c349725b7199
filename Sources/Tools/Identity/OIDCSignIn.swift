import AsyncHTTPClient
import Crypto
package import Foundation
import NIOCore

/// The browser sign-in of the web console at one OpenID provider: the authorization request of
/// the authorization code flow with PKCE (RFC 7636, `S256`), and the exchange of the code for an
/// ID token at the provider's token endpoint. Endpoints come from the provider's discovery
/// document (the same one ``TokenVerifier`` reads keys through, under ``FetchPolicy``), fetched
/// again after an hour. Verifying the ID token is ``TokenVerifier/verify(idToken:nonce:interface:)``.
package final class OIDCSignIn: Sendable {
    /// What the discovery document says about signing in.
    package struct Endpoints: Sendable, Equatable {
        package var authorization: String
        package var token: String
        /// Where the provider ends its own session (RP-initiated logout), when it has one.
        package var endSession: String?
    }

    /// The values one sign-in keeps server-side between the redirect and the callback.
    package struct Attempt: Sendable {
        package let state: String
        package let nonce: String
        package let verifier: String

        package init(state: String, nonce: String, verifier: String) {
            self.state = state
            self.nonce = nonce
            self.verifier = verifier
        }

        /// Fresh random values: 32 bytes each, base64url.
        package static func fresh() -> Attempt {
            Attempt(state: Self.random(), nonce: Self.random(), verifier: Self.random())
        }

        /// The PKCE challenge of ``verifier`` (`S256`).
        package var challenge: String { Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8)))) }

        package static func random() -> String {
            var g = SystemRandomNumberGenerator()
            return Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &g) })
        }
    }

    private let trust: IssuerTrust
    private let clientID: String
    private let clientSecret: String?
    private let client: HTTPClient
    private let cache = Cache()

    private actor Cache {
        var endpoints: Endpoints?
        var fetched = 0.0
        func get(now: Double) -> Endpoints? { now - fetched < 3600 ? endpoints : nil }
        func set(_ e: Endpoints, now: Double) { endpoints = e; fetched = now }
    }

    /// - Parameters:
    ///   - trust: the issuer's entry in `identity.issuers`.
    ///   - clientSecret: the confidential client's secret; nil for a public client (PKCE only).
    package init(trust: IssuerTrust, clientID: String, clientSecret: String?) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(10))
        self.trust = trust
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Stops the HTTP client. Call once, when the console stops.
    package func shutdown() async { try? await client.shutdown() }

    /// The provider's endpoints, from its discovery document (at most an hour old).
    package func endpoints() async throws(AuthenticationError) -> Endpoints {
        let now = Date().timeIntervalSince1970
        if let known = await cache.get(now: now) { return known }
        let document: ClaimValue
        do { document = try await FetchPolicy.fetchJSON(trust.discoveryURL, client: client) } catch { throw error.error }
        guard document["issuer"]?.string == trust.issuer else {
            throw AuthenticationError(.issuerUnavailable, "\(trust.discoveryURL) names issuer \(document["issuer"]?.string ?? "(none)"), not \(trust.issuer)")
        }
        guard let authorization = document["authorization_endpoint"]?.string, FetchPolicy.problem(with: authorization) == nil,
              let token = document["token_endpoint"]?.string, FetchPolicy.problem(with: token) == nil else {
            throw AuthenticationError(.issuerUnavailable, "\(trust.discoveryURL) has no usable authorization_endpoint and token_endpoint")
        }
        let endSession = document["end_session_endpoint"]?.string.flatMap { FetchPolicy.problem(with: $0) == nil ? $0 : nil }
        let endpoints = Endpoints(authorization: authorization, token: token, endSession: endSession)
        await cache.set(endpoints, now: now)
        return endpoints
    }

    /// Where to send the browser: the authorization request for `attempt`.
    package func authorizationURL(_ attempt: Attempt, redirectURI: String) async throws(AuthenticationError) -> String {
        let endpoint = try await endpoints().authorization
        let query = FormEncoding.form([("response_type", "code"), ("client_id", clientID), ("redirect_uri", redirectURI),
                               ("scope", "openid profile"), ("state", attempt.state), ("nonce", attempt.nonce),
                               ("code_challenge", attempt.challenge), ("code_challenge_method", "S256")])
        return endpoint + (endpoint.contains("?") ? "&" : "?") + query
    }

    /// The ID token the provider gives for `code` (not verified yet).
    package func exchange(code: String, attempt: Attempt, redirectURI: String) async throws(AuthenticationError) -> String {
        let endpoint = try await endpoints().token
        var fields = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
                      ("code_verifier", attempt.verifier)]
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        if let clientSecret {
            // RFC 6749 §2.3.1: both parts form-encoded before base64.
            let pair = FormEncoding.encode(clientID) + ":" + FormEncoding.encode(clientSecret)
            request.headers.add(name: "Authorization", value: "Basic " + Data(pair.utf8).base64EncodedString())
        } else {
            fields.append(("client_id", clientID))
        }
        request.body = .bytes(ByteBuffer(string: FormEncoding.form(fields)))
        let status: UInt, body: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: FetchPolicy.timeout)
            status = response.status.code
            body = try await response.body.collect(upTo: FetchPolicy.maxBytes)
        } catch {
            throw AuthenticationError(.issuerUnavailable, "token endpoint \(endpoint): \(error)")
        }
        let answer = ClaimValue.parse(Data(body.readableBytesView), limit: FetchPolicy.maxBytes)
        guard status == 200 else {
            // The provider's error code only (RFC 6749 §5.2); its description may echo input.
            throw AuthenticationError(.signInFailed, "token endpoint answered HTTP \(status) \(answer?["error"]?.string ?? "")")
        }
        guard let idToken = answer?["id_token"]?.string else {
            throw AuthenticationError(.signInFailed, "the token endpoint's answer has no id_token")
        }
        return idToken
    }
}
