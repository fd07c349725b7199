import API
import Foundation
import Identity
import Ledger
import Node
import Projections
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The web console in a real browser (`Schemas/console.md`, "Tests"): Debian's chromium, headless,
/// driven by selenium through chromium-driver (Tests/console/console_browser.py), signing in at
/// oidc-provider-mock with PKCE required, against a node whose two participants received one
/// message each over AS4 from a second node.
final class ConsoleBrowserTests: XCTestCase {
    static let p1 = FunctionalAddress(participant: "0203:one.example.se", function: "kansli")
    static let p2 = FunctionalAddress(participant: "0203:two.example.se", function: "kansli")
    static let pnrClaim = "https://id.oidc.se/claim/personalIdentityNumber"
    static let loa3 = "http://id.elegnamnden.se/loa/1.0/loa3"
    static let artefacts = NodeFixture.projectRoot.appendingPathComponent(".build/test-artefacts/console").path

    func testSignInSearchTimelineEvidenceAccessLogSignOutInABrowser() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: tool) {
            XCTFail("\(tool) is missing: Tests/bootstrap.sh installs chromium and chromium-driver")
            return
        }
        let base = try NodeFixture.scratch("console")
        defer { try? FileManager.default.removeItem(atPath: base) }
        try? FileManager.default.removeItem(atPath: Self.artefacts)
        try FileManager.default.createDirectory(atPath: Self.artefacts, withIntermediateDirectories: true)
        let browser = try LineProcess(script: "Tests/console/console_browser.py")
        defer { browser.stop() }
        let first = try browser.readLine(timeout: 60)
        guard first.hasPrefix("issuer ") else { return XCTFail("the provider did not start: \(first)") }
        let issuer = String(first.dropFirst("issuer ".count))

        // The node: two participants, the console, the provider as its only issuer.
        let (p1, p2) = (Self.p1, Self.p2)
        let apiPort = try await DemoNetwork.freePorts(1)[0]
        try await NodeFixture.sharedAndOther(in: base, p1, p2, developmentIssuer: false, apiPort: apiPort)
        let console = "https://127.0.0.1:\(apiPort)"
        try Self.configure(base + "/shared", issuer: issuer, publicURL: console)

        let node = try NodeFixture.open(base + "/shared")
        do {
            try await scenario(node, base: base, browser: browser, console: console, apiPort: apiPort)
        } catch {
            await node.close()
            throw error
        }
        await node.close()
    }

    private func scenario(_ node: Node, base: String, browser: LineProcess, console: String, apiPort: Int) async throws {
        let (p1, p2) = (Self.p1, Self.p2)
        let remote = try NodeFixture.open(base + "/other")
        let (toOne, toTwo) = try await NodeFixture.deliverOneEach(node, from: remote, p1, p2)
        let admin = GrantAdministration(access: node.access)
        let anna = PrincipalName(kind: .pnr, value: "197001011234"), bo = PrincipalName(kind: .pnr, value: "198002022345")
        _ = try await admin.grant(.init(grantee: anna, scope: .mailbox(p1), rights: [.read], reason: "registrator"), by: OSUser.principal())
        _ = try await admin.grant(.init(grantee: anna, scope: .participant(p1.participant), rights: [.audit], reason: "informationssäkerhet"),
                                  by: OSUser.principal())
        _ = try await admin.grant(.init(grantee: bo, scope: .mailbox(p2), rights: [.read], reason: "handläggare"), by: OSUser.principal())
        let drift = PrincipalName(kind: .pnr, value: "196505051234")
        _ = try await admin.grant(.init(grantee: drift, scope: .node, rights: [.operate], reason: "drift"), by: OSUser.principal())

        var logger = node.logger
        logger.logLevel = ProcessInfo.processInfo.environment["KVITTO_CONSOLE_LOG"] != nil ? .info : .critical
        var configured = try XCTUnwrap(try APIServer.configured(for: node, logger: logger))
        configured.streamsEnabled = false
        XCTAssertNotNil(configured.console)
        let server = configured
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let serverTask = Task { try await server.run { port in portContinuation.yield(port) } }
        var ports = portStream.makeAsyncIterator()
        let bound = await ports.next()
        XCTAssertEqual(bound, apiPort)

        let users: [String: [String: Any]] = [
            "anna": [Self.pnrClaim: "197001011234", "acr": Self.loa3, "name": "Anna Andersson"],
            "bo": [Self.pnrClaim: "198002022345", "acr": Self.loa3, "name": "Bo Berg"],
            "drift": [Self.pnrClaim: "196505051234", "acr": Self.loa3, "name": "Drift Driftsson"],
        ]
        // The node runs (its scheduler too) while the browser works: a message to the other node,
        // which is down, waits for its next attempt on the operator's page.
        let waiting = try await node.submit(NodeFixture.message("Svar till Region B", from: p1, to: NodeFixture.b), actor: "test")
        let request = String(decoding: try JSONSerialization.data(withJSONObject: [
                                      "console": console, "waiting": waiting, "users": users, "reader": "anna", "outsider": "bo", "operator": "drift",
                                      "search": "malmo", "label": "Ansökan Malmö", "out": Self.artefacts] as [String: Any]), as: UTF8.self)
        let line = try await DemoNetwork.running([node]) { _ in
            let failed = try await DemoNetwork.wait(timeout: 30) {
                !(try NodeFixture.events(node, "transport.attempt.failed", message: waiting)).isEmpty
            }
            XCTAssertTrue(failed, "the first attempt to the stopped node did not fail")
            try browser.send(request)
            let line = try browser.readLine(timeout: 280)
            // "Retry now": the scheduler starts the next attempt at once, not 240 s later.
            let retried = try await DemoNetwork.wait(timeout: 20) {
                try NodeFixture.events(node, "message.dispatched", message: waiting).count >= 2
            }
            XCTAssertTrue(retried || !line.contains("\"ok\": true"), "no second attempt after retry now")
            return line
        }
        serverTask.cancel()
        _ = await serverTask.result
        await server.verifier.shutdown()
        let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
        guard result["ok"] as? Bool == true else {
            return XCTFail("the browser scenario failed at \(result["step"] ?? "?"): \(result["error"] ?? "?")\n\(result["trace"] ?? "")\n\(result["url"] ?? "")\n\(result["page"] ?? "")")
        }

        // Every console answer carries the policy headers, a missing page too.
        let headers = result["headers"] as? [String: String] ?? [:]
        XCTAssertEqual(headers["content-security-policy"],
                       "default-src 'none'; style-src 'self'; script-src 'none'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        XCTAssertEqual(headers["x-content-type-options"], "nosniff")
        XCTAssertEqual(headers["cache-control"], "no-store")
        XCTAssertEqual(headers["referrer-policy"], "same-origin")
        XCTAssertEqual(headers["x-frame-options"], "DENY")
        XCTAssertEqual(result["not_found"] as? [AnyHashable], [404, "csp"])
        // Sign-in: PKCE S256 and a nonce asked for, the login cookie __Host- and locked down; a
        // callback without it, with another state, or with a used one fails; the provider itself
        // refuses a code without PKCE and a wrong or missing verifier.
        let login = result["login"] as? [String: Any] ?? [:]
        XCTAssertEqual(login["status"] as? Int, 303)
        XCTAssertEqual(login["challenge_method"] as? String, "S256")
        XCTAssertEqual(login["has_challenge"] as? Bool, true)
        XCTAssertEqual(login["has_nonce"] as? Bool, true)
        XCTAssertEqual(login["cookie"] as? [String], ["__Host-kvitto-login;HttpOnly;Max-Age=600;Path=/;SameSite=Lax;Secure"])
        XCTAssertEqual(result["callback_refusals"] as? [Int], [400, 400, 400])
        let pkce = result["pkce_at_provider"] as? [String: Any] ?? [:]
        XCTAssertEqual(pkce["without_challenge"] as? String, "refused")
        XCTAssertEqual(pkce["wrong_verifier"] as? Int, 400)
        XCTAssertEqual(pkce["no_verifier"] as? Int, 400)

        // Signed in as the person the ID token proved; found by a search without diacritics.
        XCTAssertEqual(result["actor"] as? String, anna.description)
        XCTAssertEqual(result["mailboxes"] as? [String], [p1.description])
        XCTAssertEqual(result["found"] as? [String], ["Ansökan Malmö"])
        let timeline = result["timeline"] as? [String] ?? []
        XCTAssertTrue(timeline.contains("message.received"), "\(timeline)")
        XCTAssertEqual(result["english_lang"] as? String, "en")
        XCTAssertEqual(result["english_title"] as? String, "Mailboxes")

        // The read is in the ledger (by the person, through the console, with the purpose) before
        // the access log showed it.
        let reads = try NodeFixture.events(node, "message.accessed", message: toOne)
        XCTAssertEqual(reads.count, 1)
        XCTAssertEqual(reads.first?.actor, anna.description)
        XCTAssertEqual(reads.first?.payload["interface"]?.stringValue, "console")
        XCTAssertEqual(reads.first?.payload["purpose"]?.stringValue, "Ärende 2026/14")
        let audit = result["audit"] as? [[String]] ?? []
        XCTAssertTrue(audit.contains { $0.contains("message.accessed") && $0.contains(toOne) && $0.contains(String(reads.first?.seq ?? 0)) }, "\(audit)")
        let content = try XCTUnwrap(FileManager.default.contents(atPath: try XCTUnwrap(result["content"] as? String)))
        XCTAssertTrue(String(decoding: content, as: UTF8.self).contains("Ansökan Malmö"))

        // The evidence bundle the browser downloaded verifies offline.
        let bundle = try XCTUnwrap(FileManager.default.contents(atPath: try XCTUnwrap(result["evidence"] as? String)))
        let report = await EvidenceVerifier().verify(Array(bundle))
        XCTAssertTrue(report.ok, "\(report.failure.map { "\($0)" } ?? "")")

        // Forged forms are refused and recorded; the session survives them; signing out ends it.
        XCTAssertEqual(result["forged_no_token"] as? Int, 403)
        XCTAssertEqual(result["forged_wrong_token"] as? Int, 403)
        XCTAssertEqual(result["forged_other_origin"] as? Int, 403)
        XCTAssertEqual(result["still_signed_in"] as? Bool, true)
        XCTAssertEqual(result["after_sign_out"] as? String, "sign-in page")
        XCTAssertEqual(result["signed_out_notice"] as? Bool, true)
        XCTAssertEqual(result["provider_sign_out"] as? Bool, true)
        // The server ended the session: its old cookie, replayed, is sent to sign in.
        XCTAssertEqual(result["old_session_replayed"] as? [AnyHashable], [303, "/console/"])
        // A page another site links to does not run in the person's name; a read needs a purpose.
        XCTAssertEqual(result["cross_site_get"] as? Int, 303)
        XCTAssertEqual(result["same_origin_get"] as? Int, 200)
        XCTAssertEqual(result["read_without_purpose"] as? Int, 400)
        let refusals = try NodeFixture.events(node, "access.denied").filter { $0.payload["action"]?.stringValue == "console_csrf" }
        XCTAssertFalse(refusals.isEmpty)
        XCTAssertTrue(refusals.allSatisfy { $0.actor == anna.description && $0.payload["reason"]?.stringValue == "forged_request" })

        // The other participant's user sees none of it.
        XCTAssertEqual(result["outsider_actor"] as? String, bo.description)
        XCTAssertEqual(result["outsider_mailboxes"] as? [String], [p2.description])
        XCTAssertEqual(result["outsider_message_title"] as? String, "Hittades inte")
        XCTAssertEqual(result["outsider_message_has_timeline"] as? Bool, false)
        XCTAssertEqual(result["outsider_audit_rows"] as? Int, 0)
        XCTAssertEqual(result["outsider_downloads"] as? [String], [])
        XCTAssertEqual(result["outsider_evidence_title"] as? String, "Hittades inte")
        XCTAssertTrue(try NodeFixture.events(node, "message.accessed", message: toTwo).isEmpty)

        // The operator's "retry now": recorded with the reason, then honoured by the scheduler.
        XCTAssertEqual(result["outsider_deliveries"] as? String, "403")
        XCTAssertEqual(result["operator_actor"] as? String, drift.description)
        XCTAssertTrue((result["pending"] as? [String] ?? []).contains(waiting), "\(result["pending"] ?? "")")
        XCTAssertEqual(result["retry_notice"] as? String, "Ett nytt försök är begärt och registrerat.")
        let requests = try NodeFixture.events(node, "message.retry.requested", message: waiting)
        XCTAssertEqual(requests.count, 1)
        XCTAssertEqual(requests.first?.actor, drift.description)
        XCTAssertEqual(requests.first?.payload["reason"]?["detail"]?.stringValue, "Mottagaren är tillbaka")
        let attempts = try NodeFixture.events(node, "message.dispatched", message: waiting)
        XCTAssertEqual(attempts.count, 2)
        XCTAssertGreaterThan(attempts.last?.seq ?? 0, requests.first?.seq ?? .max)
        let operatorRefusals = try NodeFixture.events(node, "access.denied").filter { $0.payload["action"]?.stringValue == "list" && $0.subject == "deliveries" }
        XCTAssertEqual(operatorRefusals.map(\.actor), [bo.description])

        for page in ["deliveries", "sign-in", "mailboxes", "search", "message", "audit", "reports", "report", "address-book", "outsider"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: Self.artefacts + "/screenshots/\(page).png"), page)
        }
    }

    /// The provider as the node's only issuer (API audience `kvitto-api`), and the console (client
    /// `kvitto-console`, the audience of its ID tokens).
    static func configure(_ directory: String, issuer: String, publicURL: String) throws {
        let path = directory + "/kvitto.json"
        var config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        config["identity"] = ["issuers": [["issuer": issuer, "audiences": ["kvitto-api"]]]]
        var api = try XCTUnwrap(config["api"] as? [String: Any])
        api["console"] = ["issuer": issuer, "client_id": "kvitto-console", "client_secret_file": "console-secret",
                          "public_url": publicURL, "session_minutes": 60, "idle_minutes": 15]
        config["api"] = api
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        let secret = directory + "/console-secret"
        FileManager.default.createFile(atPath: secret, contents: Data("console-test-secret\n".utf8), attributes: [.posixPermissions: 0o600])
    }
}

/// A Python helper of the project's .venv, spoken to one line at a time.
final class LineProcess: @unchecked Sendable {
    // Sendable: `process` and the pipes are set once in init; `lock` guards `buffer`; the test
    // talks to it from one task.
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let lock = NSLock()
    private var buffer = Data()

    init(script: String) throws {
        process.executableURL = NodeFixture.projectRoot.appendingPathComponent(".venv/bin/python")
        process.arguments = ["-W", "ignore", NodeFixture.projectRoot.appendingPathComponent(script).path]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func send(_ line: String) throws { try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8)) }

    /// One line of its stdout; kills it when none comes within `timeout` seconds.
    func readLine(timeout: TimeInterval) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        let watchdog = DispatchWorkItem { [process] in if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        defer { watchdog.cancel() }
        while true {
            if let nl = lock.withLock({ buffer.firstIndex(of: 0x0A) }) {
                return lock.withLock {
                    let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...nl)
                    return line
                }
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty || Date() > deadline { throw LineProcessError(text: "the helper stopped answering") }
            lock.withLock { buffer.append(chunk) }
        }
    }

    struct LineProcessError: Error { let text: String }

    func stop() {
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
