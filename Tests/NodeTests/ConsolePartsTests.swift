@testable import API
import Foundation
import Identity
import Node
import Projections
import XCTest

/// The console's small parts on their own: sessions and sealed logins over a clock, the form
/// decoder, HTML escaping, the text tables, the settings' checks.
final class ConsolePartsTests: XCTestCase {
    final class Clock: @unchecked Sendable {
        // Sendable: the tests set and read `t` from one task at a time.
        var t = 1_000_000.0
    }

    func principal(_ pnr: String) -> Principal {
        Principal(name: PrincipalName(kind: .pnr, value: pnr), assurance: .strong, interface: .console)
    }

    func testSessionsEndAfterTheirLifeOrIdleTimeAndTheOldestGoesWhenFull() async throws {
        let clock = Clock()
        let sessions = ConsoleSessions(sessionSeconds: 3600, idleSeconds: 600, maxSessions: 3, now: { clock.t })
        let a = await sessions.open(principal("197001011234"))
        clock.t += 500
        let seen = await sessions.session(a.id)
        XCTAssertEqual(seen?.csrf, a.csrf)
        clock.t += 599  // 599 s idle since the last use: still live
        do { let v = await sessions.session(a.id); XCTAssertNotNil(v) }
        clock.t += 600  // idle too long
        do { let v = await sessions.session(a.id); XCTAssertNil(v) }
        // The whole life: used every 500 s, it still ends after 3600 s.
        let b = await sessions.open(principal("198002022345"))
        for _ in 0..<7 {
            clock.t += 500
            do { let v = await sessions.session(b.id); XCTAssertNotNil(v) }
        }
        clock.t += 100
        do { let v = await sessions.session(b.id); XCTAssertNil(v) }
        // Bounded: the fourth session pushes out the oldest live one.
        var ids: [(id: String, csrf: String)] = []
        for n in 1...3 {
            ids.append(await sessions.open(principal("\(n)")))
            clock.t += 1
        }
        let fourth = await sessions.open(principal("4"))
        do { let v = await sessions.session(ids[0].id); XCTAssertNil(v) }
        do { let v = await sessions.session(ids[1].id); XCTAssertNotNil(v) }
        do { let v = await sessions.session(fourth.id); XCTAssertNotNil(v) }
        do { let v = await sessions.openSessions; XCTAssertEqual(v, 3) }
        await sessions.close(fourth.id)
        do { let v = await sessions.session(fourth.id); XCTAssertNil(v) }
        do { let v = await sessions.session("not-a-session"); XCTAssertNil(v) }
    }

    func testALoginCookieOpensOnceWithinTenMinutesAndOnlyHere() async throws {
        let clock = Clock()
        let sessions = ConsoleSessions(sessionSeconds: 3600, idleSeconds: 600, now: { clock.t })
        let attempt = OIDCSignIn.Attempt.fresh()
        let cookie = await sessions.startLogin(attempt)
        XCTAssertFalse(cookie.contains(attempt.verifier), "the verifier travels sealed")
        let opened = await sessions.takeLogin(cookie)
        XCTAssertEqual(opened?.attempt.state, attempt.state)
        XCTAssertEqual(opened?.attempt.nonce, attempt.nonce)
        XCTAssertEqual(opened?.attempt.verifier, attempt.verifier)
        // Until it signed someone in, it may be shown again (a failed callback spoils nothing).
        do { let v = await sessions.takeLogin(cookie); XCTAssertNotNil(v) }
        await sessions.markUsed(try XCTUnwrap(opened?.id))
        do { let v = await sessions.takeLogin(cookie); XCTAssertNil(v, "a login cookie signs in once") }
        let late = await sessions.startLogin(attempt)
        clock.t += 601
        do { let v = await sessions.takeLogin(late); XCTAssertNil(v, "ten minutes at most") }
        // Sealed by another process (another key), or changed by one bit: refused.
        let other = ConsoleSessions(sessionSeconds: 3600, idleSeconds: 600, now: { clock.t })
        do { let v = await other.takeLogin(await sessions.startLogin(attempt)); XCTAssertNil(v) }
        let sealed = await sessions.startLogin(attempt)
        var bytes = Array(try XCTUnwrap(Base64URL.decode(Substring(sealed))))
        bytes[20] ^= 1
        do { let v = await sessions.takeLogin(Base64URL.encode(bytes)); XCTAssertNil(v) }
        do { let v = await sessions.takeLogin("%%%"); XCTAssertNil(v) }
    }

    func testTheFormDecoderIsStrict() throws {
        let f = try XCTUnwrap(ConsoleForm("csrf=abc&purpose=%C3%84rende+2026%2F14&purpose=second&empty=&flag"))
        XCTAssertEqual(f["csrf"], "abc")
        XCTAssertEqual(f["purpose"], "Ärende 2026/14")
        XCTAssertEqual(f["empty"], "")
        XCTAssertNil(f.text("empty"))
        XCTAssertEqual(f["flag"], "")
        XCTAssertNil(f["missing"])
        XCTAssertNil(ConsoleForm("a=%E"), "a cut escape")
        XCTAssertNil(ConsoleForm("a=%zz"), "not hex")
        XCTAssertNil(ConsoleForm("a=%FF"), "not UTF-8")
        XCTAssertNil(ConsoleForm(Substring((0..<65).map { "f\($0)=1" }.joined(separator: "&"))), "too many fields")
        XCTAssertEqual(ConsoleForm.query([("address", "kansli@0203:one.example.se"), ("q", nil), ("x", "å ä")]),
                       "?address=kansli%400203%3Aone.example.se&x=%C3%A5%20%C3%A4")
    }

    func testEveryValueIsEscapedAndBothLanguagesAreWhole() {
        XCTAssertEqual(HTML.escape("<script>alert('x')</script> & \"q\"\u{0}\u{1B}\u{7F}\tok"),
                       "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\tok")
        for key in ConsoleText.allCases {
            XCTAssertNotNil(ConsoleText.sv[key], "sv lacks \(key)")
            XCTAssertNotNil(ConsoleText.en[key], "en lacks \(key)")
        }
    }

    func testTheSettingsAreChecked() async throws {
        let base = try NodeFixture.scratch("console-settings")
        defer { try? FileManager.default.removeItem(atPath: base) }
        var options = NodeSetup.Options(name: "n", participants: [.init(id: "0203:one.example.se", name: "Ett", functions: [("kansli", "Kansli")])])
        options.port = try await DemoNetwork.freePorts(1)[0]
        _ = try await NodeSetup.initialize(directory: base + "/n", options: options)
        var config = try NodeConfig.load(directory: base + "/n")
        var trust = IssuerTrust(issuer: "https://idp.example.se", audiences: ["kvitto-api"])
        trust.algorithms = ["RS256"]
        config.identity = IdentityConfig(issuers: [trust])
        var console = NodeConfig.Console(issuer: "https://idp.example.se", clientId: "kvitto-console", publicUrl: "https://Kvitto.Example.se:443/")
        XCTAssertNil(console.problem(in: config))
        XCTAssertEqual(console.origin, "https://kvitto.example.se")
        XCTAssertEqual(console.redirectURI, "https://kvitto.example.se/console/callback")
        XCTAssertEqual(NodeConfig.Console.origin("https://kvitto.example.se:8444"), "https://kvitto.example.se:8444")
        var bad = console
        bad.publicUrl = "http://kvitto.example.se"
        XCTAssertNotNil(bad.problem(in: config))
        bad = console
        bad.publicUrl = "https://kvitto.example.se/console"
        XCTAssertNotNil(bad.problem(in: config))
        bad = console
        bad.issuer = "https://other.example.se"
        XCTAssertNotNil(bad.problem(in: config))
        bad = console
        bad.clientId = "kvitto-api"
        XCTAssertTrue(bad.problem(in: config)?.contains("API audiences") == true, "an ID token must not be an API token")
        console.idleMinutes = 600
        XCTAssertNotNil(console.problem(in: config))
    }
}
