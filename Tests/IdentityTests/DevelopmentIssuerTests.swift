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
}
