@testable import Identity
import Foundation
import Projections
import XCTest

final class DevelopmentIssuerTests: XCTestCase {
    func testMintedTokensVerifyOnlyWhileEnabledAndOnlyWithTheirOwnNodesKey() async throws {
        let dir = NSTemporaryDirectory() + "kvitto-dev-issuer-\(UUID().uuidString)"
        let other = dir + "-other"
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: other) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)

        XCTAssertThrowsError(try DevelopmentIssuer.open(directory: dir, config: nil))
        XCTAssertThrowsError(try DevelopmentIssuer.open(directory: dir, config: DevelopmentIssuerConfig(enabled: false)))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/" + DevelopmentIssuer.keyFile), "no key while disabled")

        let enabled = DevelopmentIssuerConfig(enabled: true)
        let issuer = try DevelopmentIssuer.open(directory: dir, config: enabled)
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/" + DevelopmentIssuer.keyFile)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        XCTAssertEqual(try DevelopmentIssuer.open(directory: dir, config: enabled).keyID, issuer.keyID, "the key is kept")

        let config = IdentityConfig(developmentIssuer: enabled)
        let v = TokenVerifier(config: config, participants: ["0203:a.example.se"], development: issuer)
        let token = try await issuer.mint(subject: "anna", claims: [
            "https://id.oidc.se/claim/personalIdentityNumber": "197001011234", "acr": "http://id.elegnamnden.se/loa/1.0/loa3",
        ])
        let anna = try await v.verify(token: token, interface: .api)
        XCTAssertEqual(anna.actor, "pnr:197001011234")
        XCTAssertTrue(anna.assurance.isStrong(for: "0203:a.example.se"))

        let expired = try await issuer.mint(subject: "anna", claims: ["https://id.oidc.se/claim/personalIdentityNumber": "197001011234"],
                                            lifetime: 60, now: Date().timeIntervalSince1970 - 3600)
        await assertRefused(v, expired, .expired)

        // Another node's development issuer has the same issuer name but its own key.
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        let stranger = try DevelopmentIssuer.open(directory: other, config: enabled)
        let foreign = try await stranger.mint(subject: "mallory", claims: ["https://id.oidc.se/claim/personalIdentityNumber": "199001011234"])
        await assertRefused(v, foreign, .unknownKey)

        // A verifier without the development issuer does not know its tokens.
        let production = TokenVerifier(config: IdentityConfig(), participants: ["0203:a.example.se"])
        await assertRefused(production, token, .unknownIssuer)
        await v.shutdown()
        await production.shutdown()
    }

    /// A token verified a moment ago is not verified again, but its time claims and audience are
    /// checked on every use, and after ``VerifiedTokens/lifetime`` its signature is verified anew.
    func testARememberedTokenStillExpiresAndIsForgottenAfterAMinute() async throws {
        let dir = NSTemporaryDirectory() + "kvitto-dev-issuer-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let enabled = DevelopmentIssuerConfig(enabled: true)
        let issuer = try DevelopmentIssuer.open(directory: dir, config: enabled)
        let clock = TestClock()
        let v = TokenVerifier(config: IdentityConfig(developmentIssuer: enabled), participants: ["0203:a.example.se"], development: issuer,
                              now: clock.now)
        let token = try await issuer.mint(subject: "anna", claims: ["https://id.oidc.se/claim/personalIdentityNumber": "197001011234"],
                                          lifetime: 300, now: clock.read())
        let first = try await v.verify(token: token, interface: .api)
        let second = try await v.verify(token: token, interface: .cli)
        XCTAssertEqual(first.actor, second.actor)
        XCTAssertEqual(second.interface, .cli, "the principal is mapped for each request's interface")

        // Tampering with the signature is never hidden by the remembered token. (The first
        // character of the signature: the last one may carry only base64 padding bits.)
        let signatureStart = try XCTUnwrap(token.lastIndex(of: ".")).utf16Offset(in: token) + 1
        var forged = Array(token)
        forged[signatureStart] = forged[signatureStart] == "A" ? "B" : "A"
        let forgedToken = String(forged)
        await assertRefused(v, forgedToken, .badSignature)

        // Past exp (300 s plus the issuer's skew) the remembered token is refused like any other.
        clock.advance(30)
        _ = try await v.verify(token: token, interface: .api)
        clock.advance(1000)
        await assertRefused(v, token, .expired)
        await v.shutdown()
    }
}
