import Foundation
import XCTest

/// `kvitto token` and `kvitto whoami` through the binary: the development issuer is refused until
/// enabled, its tokens verify on their own node only, and a tampered token is refused with its code.
final class IdentityCLITests: XCTestCase {
    func testDevelopmentTokensAndWhoami() throws {
        let dir = ScratchDir("identity-cli")
        defer { dir.remove() }
        let a = dir.sub("a"), b = dir.sub("b")
        func run(_ args: [String]) throws -> KvittoProcess.Result { try KvittoProcess.run(args) }
        XCTAssertEqual(try run(["init", a, "--name", "a", "--participant", "0203:a.example.se=Kommun A", "--port", "18511"]).status, 0)
        XCTAssertEqual(try run(["init", b, "--name", "b", "--participant", "0203:b.example.se=Region B", "--port", "18512",
                                "--development-issuer"]).status, 0)

        let off = try run(["token", "--node", a, "--pnr", "197001011234"])
        XCTAssertEqual(off.status, 2)
        XCTAssertTrue(off.stderr.hasPrefix("kvitto: node.development_issuer_off"), off.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: a + "/keys/development-issuer.pem"))

        let minted = try run(["token", "--node", b, "--pnr", "197001011234", "--org-number", "2321000016"])
        XCTAssertEqual(minted.status, 0, minted.stderr)
        let token = minted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(token.split(separator: ".").count, 3, token)
        let who = try run(["whoami", "--node", b, "--token", token, "--json"])
        XCTAssertEqual(who.status, 0, who.stderr)
        XCTAssertTrue(who.stdout.contains("\"actor\":\"pnr:197001011234\""), who.stdout)
        XCTAssertTrue(who.stdout.contains("aff:197001011234@2321000016"), who.stdout)
        XCTAssertTrue(who.stdout.contains("\"strong_for\":[\"0203:b.example.se\"]"), who.stdout)

        let weak = try run(["token", "--node", b, "--hsa", "SE2321000016-A1", "--acr", "none"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let weakWho = try run(["whoami", "--node", b, "--token", weak])
        XCTAssertTrue(weakWho.stdout.contains("actor: hsa:SE2321000016-A1") && weakWho.stdout.contains("(none: may list"), weakWho.stdout)

        let system = try run(["token", "--node", b, "--client", "arende"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(try run(["whoami", "--node", b, "--token", system]).stdout.contains("actor: client:urn:kvitto:development-issuer#arende"))

        // Node a does not trust b's development issuer; a changed payload breaks the signature.
        let foreign = try run(["whoami", "--node", a, "--token", token])
        XCTAssertTrue(foreign.stderr.hasPrefix("kvitto: node.unauthenticated: auth.unknown_issuer"), foreign.stderr)
        let parts = token.split(separator: ".")
        let other = try run(["token", "--node", b, "--pnr", "199001011234"]).stdout.split(separator: ".")
        let tampered = "\(parts[0]).\(other[1]).\(parts[2])"
        let bad = try run(["whoami", "--node", b, "--token", tampered])
        XCTAssertTrue(bad.stderr.hasPrefix("kvitto: node.unauthenticated: auth.bad_signature"), bad.stderr)
        let expired = try run(["token", "--node", b, "--pnr", "197001011234", "--lifetime", "0"])
        XCTAssertEqual(expired.status, 2, "a lifetime of 0 is refused")
    }
}
