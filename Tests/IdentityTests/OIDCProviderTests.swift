@testable import Identity
import Foundation
import Projections
import XCTest

/// Tokens of a real OpenID Provider (oidc-provider-mock), found through its discovery document.
final class OIDCProviderTests: XCTestCase {
    static let loa3 = "http://id.elegnamnden.se/loa/1.0/loa3"
    static let loa4 = "http://id.elegnamnden.se/loa/1.0/loa4"
    static let pnrClaim = "https://id.oidc.se/claim/personalIdentityNumber"
    static let a = "0203:a.example.se", b = "0203:b.example.se"

    static func config(_ p: OIDCProvider, clients: [String]? = nil) -> IdentityConfig {
        var t = IssuerTrust(issuer: p.issuer, audiences: [OIDCProvider.client])
        t.claims = ClaimNames(hsaId: "https://example.se/claim/hsaId")
        t.clients = clients
        return IdentityConfig(issuers: [t], participantStrongAuthentication: [
            ParticipantRule(participant: b, rule: StrongAuthenticationRule(acr: [loa4])),
        ])
    }

    func testDiscoveryClaimMappingPerParticipantAssuranceAndARotatedKey() async throws {
        let p = try OIDCProvider()
        defer { p.stop() }
        let clock = TestClock()
        let v = TokenVerifier(config: Self.config(p), participants: [Self.a, Self.b], now: clock.now)
        do {
            let first = try p.token(sub: "anna", claims: [Self.pnrClaim: "197001011234", "acr": Self.loa3,
                                                          "https://id.oidc.se/claim/orgAffiliation": "197001011234@2120001234"])
            let anna = try await v.verify(token: first, interface: .api)
            XCTAssertEqual(anna.actor, "pnr:197001011234")
            XCTAssertEqual(Set(anna.names.map(\.description)),
                           ["pnr:197001011234", "aff:197001011234@2120001234", "sub:\(p.issuer)#anna"])
            XCTAssertTrue(anna.assurance.isStrong(for: Self.a), "LoA 3 meets the default rule")
            XCTAssertFalse(anna.assurance.isStrong(for: Self.b), "participant b requires LoA 4")

            let bo = try await v.verify(token: try p.token(sub: "bo", claims: [Self.pnrClaim: "198002022345"]), interface: .api)
            XCTAssertEqual(bo.actor, "pnr:198002022345")
            XCTAssertFalse(bo.assurance.isStrong(for: Self.a), "no acr: may list, never read content")

            let hsa = try await v.verify(token: try p.token(sub: "cim", claims: ["https://example.se/claim/hsaId": "SE2321000016-A1B2", "acr": Self.loa4]), interface: .api)
            XCTAssertEqual(hsa.actor, "hsa:SE2321000016-A1B2")
            XCTAssertTrue(hsa.assurance.isStrong(for: Self.b))

            // The provider rotates its key. Within the refresh interval the node keeps the set it
            // fetched (the rate limit); after it, the new key is fetched and the old one is gone.
            try p.rotate()
            let rotated = try p.token(sub: "anna", claims: [Self.pnrClaim: "197001011234", "acr": Self.loa3])
            await assertRefused(v, rotated, .badSignature)
            clock.advance(61)
            let again = try await v.verify(token: rotated, interface: .api)
            XCTAssertEqual(again.actor, "pnr:197001011234")
            await assertRefused(v, first, .badSignature)
            let fetches = await v.keyFetches(issuer: p.issuer)
            XCTAssertEqual(fetches, 2, "one fetch at first use, one after the rotation")
        } catch {
            XCTFail("\(error)")
        }
        await v.shutdown()
    }

    func testForgedStaleAndMisdirectedTokensAreRefused() async throws {
        let p = try OIDCProvider()
        defer { p.stop() }
        let v = TokenVerifier(config: Self.config(p), participants: [Self.a])
        let now = Int(Date().timeIntervalSince1970)
        func payload(_ changes: [String: Any] = [:], removing: [String] = []) -> [String: Any] {
            var base: [String: Any] = ["iss": p.issuer, "aud": OIDCProvider.client, "sub": "anna", Self.pnrClaim: "197001011234",
                                       "acr": Self.loa3, "iat": now, "exp": now + 600]
            for (k, value) in changes { base[k] = value }
            for k in removing { base[k] = nil }
            return base
        }
        let rs256: [String: Any] = ["alg": "RS256", "typ": "JWT"]
        do {
            let good = try p.sign("rs256", header: rs256, payload: payload())
            let anna = try await v.verify(token: good, interface: .api)
            XCTAssertEqual(anna.actor, "pnr:197001011234", "the baseline token verifies")
            let skewed = try await v.verify(token: try p.sign("rs256", header: rs256, payload: payload(["exp": now - 30])), interface: .api)
            XCTAssertEqual(skewed.actor, "pnr:197001011234", "30 s past exp is within the default 60 s skew")
            let odd = try await v.verify(token: try p.sign("rs256", header: rs256, payload: payload(["sub": "ä#b c"])), interface: .api)
            XCTAssertTrue(odd.names.map(\.description).contains("sub:\(p.issuer)#%C3%A4%23b%20c"), "\(odd.names)")

            for header in [nil, "", "Basic YWxpY2U6c2VjcmV0", "Bearer"] as [String?] {
                do {
                    _ = try await v.authenticate(authorization: header, interface: .api)
                    XCTFail("accepted Authorization \(header ?? "(none)")")
                } catch {
                    XCTAssertEqual(error.code, .missingToken)
                }
            }
            let parts = good.split(separator: ".")
            let tampered = try p.sign("rs256", header: rs256, payload: payload(["sub": "mallory", Self.pnrClaim: "199001011234"]))
                .split(separator: ".")
            let cases: [(String, String, AuthenticationError.Code)] = [
                ("expired", try p.sign("rs256", header: rs256, payload: payload(["iat": now - 7200, "exp": now - 3600])), .expired),
                ("expired beyond the skew", try p.sign("rs256", header: rs256, payload: payload(["exp": now - 90])), .expired),
                ("exp as a string", try p.sign("rs256", header: rs256, payload: payload(["exp": "\(now + 600)"])), .expired),
                ("a logout token", try p.sign("rs256", header: ["alg": "RS256", "typ": "logout+jwt"], payload: payload()), .malformedToken),
                ("kid not a string", try p.sign("rs256", header: ["alg": "RS256", "kid": 7], payload: payload()), .malformedToken),
                ("malformed organisation number", try p.sign("rs256", header: rs256, payload: payload(["https://id.oidc.se/claim/orgNumber": "21200"])), .noIdentity),
                ("two @ in an affiliation", try p.sign("rs256", header: rs256, payload: payload(["https://id.oidc.se/claim/orgAffiliation": "a@b@2120001234"])), .noIdentity),
                ("no exp", try p.sign("rs256", header: rs256, payload: payload(removing: ["exp"])), .expired),
                ("not yet valid", try p.sign("rs256", header: rs256, payload: payload(["nbf": now + 3600])), .notYetValid),
                ("issued in the future", try p.sign("rs256", header: rs256, payload: payload(["iat": now + 3600])), .notYetValid),
                ("wrong issuer", try p.sign("rs256", header: rs256, payload: payload(["iss": "https://idp.evil.example"])), .unknownIssuer),
                ("wrong audience", try p.sign("rs256", header: rs256, payload: payload(["aud": ["someone-else"]])), .wrongAudience),
                ("alg none", try p.sign("none", header: ["alg": "none"], payload: payload()), .algorithmRefused),
                ("HS256 keyed with the RSA public key", try p.sign("hs256-public", header: ["alg": "HS256"], payload: payload()), .algorithmRefused),
                ("unknown kid", try p.sign("rs256", header: ["alg": "RS256", "kid": "not-published"], payload: payload()), .unknownKey),
                ("critical header", try p.sign("rs256", header: ["alg": "RS256", "crit": ["exp"]], payload: payload()), .algorithmRefused),
                ("another payload under the signature", "\(parts[0]).\(tampered[1]).\(parts[2])", .badSignature),
                ("not a JWT", "abc.def", .malformedToken),
                ("malformed personal identity number", try p.sign("rs256", header: rs256, payload: payload([Self.pnrClaim: "19700101"])), .noIdentity),
                ("client credentials not accepted", try p.sign("rs256", header: rs256, payload: payload(["client_id": "anna"], removing: [Self.pnrClaim, "acr"])), .noIdentity),
            ]
            for (name, token, code) in cases {
                await assertRefused(v, token, code, name)
            }
            // Unknown kids make the node fetch the key set again, but at most once per interval.
            for i in 0..<20 {
                await assertRefused(v, try p.sign("rs256", header: ["alg": "RS256", "kid": "k\(i)"], payload: payload()), .unknownKey)
            }
            let fetches = await v.keyFetches(issuer: p.issuer)
            XCTAssertEqual(fetches, 1, "unknown kids within the refresh interval cause no fetch")
        } catch {
            XCTFail("\(error)")
        }
        await v.shutdown()
    }

    func testClientCredentialsAreASystemIdentityWhenTheIssuerAllowsThem() async throws {
        let p = try OIDCProvider()
        defer { p.stop() }
        let v = TokenVerifier(config: Self.config(p, clients: ["arendesystem"]), participants: [Self.a])
        let now = Int(Date().timeIntervalSince1970)
        do {
            func client(_ id: String, _ extra: [String: Any] = [:]) throws -> String {
                var claims: [String: Any] = ["iss": p.issuer, "aud": OIDCProvider.client, "sub": id, "client_id": id, "iat": now, "exp": now + 300]
                for (k, value) in extra { claims[k] = value }
                return try p.sign("rs256", header: ["alg": "RS256"], payload: claims)
            }
            let system = try await v.verify(token: try client("arendesystem"), interface: .api)
            XCTAssertEqual(system.actor, "client:\(p.issuer)#arendesystem")
            XCTAssertTrue(system.assurance.isStrong(for: Self.a))
            await assertRefused(v, try client("annat-system"), .noIdentity, "a client not listed")
            // A person whose sub happens to equal a client id is not that client.
            let person = try await v.verify(token: try client("arendesystem", ["acr": Self.loa3]), interface: .api)
            XCTAssertEqual(person.actor, "sub:\(p.issuer)#arendesystem")
            XCTAssertFalse(person.names.contains { $0.kind == .client })
        } catch {
            XCTFail("\(error)")
        }
        await v.shutdown()
    }
}

extension OIDCProviderTests {
    /// The discovery document must name the configured issuer exactly; otherwise no key is used.
    func testADiscoveryDocumentNamingAnotherIssuerIsRefused() async throws {
        let p = try OIDCProvider()
        defer { p.stop() }
        let claimed = "http://localhost:\(p.port)"
        var t = IssuerTrust(issuer: claimed, audiences: [OIDCProvider.client])
        t.discovery = p.issuer + "/.well-known/openid-configuration"
        let v = TokenVerifier(config: IdentityConfig(issuers: [t]), participants: [Self.a])
        let now = Int(Date().timeIntervalSince1970)
        let token = try p.sign("rs256", header: ["alg": "RS256"], payload: [
            "iss": claimed, "aud": OIDCProvider.client, "sub": "anna", Self.pnrClaim: "197001011234", "iat": now, "exp": now + 300,
        ])
        await assertRefused(v, token, .issuerUnavailable)
        await v.shutdown()
    }

    func testConfigurationProblemsAreNamed() {
        var t = IssuerTrust(issuer: "https://idp.example.se#x", audiences: [])
        t.algorithms = ["HS256", "none"]
        t.clockSkewSeconds = 3600
        var config = IdentityConfig(issuers: [t], participantStrongAuthentication: [
            ParticipantRule(participant: "0203:typo.example.se", rule: StrongAuthenticationRule(acr: [])),
        ], developmentIssuer: DevelopmentIssuerConfig(enabled: true))
        let problems = config.problems(participants: [Self.a]).joined(separator: "\n")
        for expected in ["fragment", "audiences", "HS256", "none", "clock_skew_seconds", "not a participant", "no acr", "together with real issuers"] {
            XCTAssertTrue(problems.contains(expected), "missing \(expected) in:\n\(problems)")
        }
        config = IdentityConfig(issuers: [IssuerTrust(issuer: "http://idp.example.se", audiences: ["a"])])
        XCTAssertTrue(config.problems(participants: []).joined().contains("only https"))
        XCTAssertEqual(IdentityConfig(issuers: [IssuerTrust(issuer: "https://idp.example.se", audiences: ["a"])]).problems(participants: []), [])
    }
}

func assertRefused(_ v: TokenVerifier, _ token: String, _ code: AuthenticationError.Code, _ name: String = "",
                   file: StaticString = #filePath, line: UInt = #line) async {
    do {
        let p = try await v.verify(token: token, interface: .api)
        XCTFail("\(name): accepted as \(p.actor)", file: file, line: line)
    } catch {
        XCTAssertEqual(error.code, code, "\(name): \(error.detail)", file: file, line: line)
    }
}
