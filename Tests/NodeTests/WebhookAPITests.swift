import AsyncHTTPClient
import Foundation
import Identity
import Ledger
import Node
import NIOCore
import NIOSSL
import Projections
import Workload
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Webhooks over real HTTPS on 127.0.0.1, received by an independent Python receiver
/// (`Tests/interop/webhook_receiver.py`: the Standard Webhooks package verifies every delivery,
/// the CloudEvents SDK parses it, the JSON Schema checks it). The receiver is SIGKILLed at random
/// moments during a 10k-event burst and started again on its port: deduplicated by `webhook-id`,
/// it ends with exactly the events its owner may see, each at least once, first seen in ledger
/// order. A failing endpoint is disabled (`webhook.disabled`) and, resumed, gets everything it
/// missed; a slow endpoint does not hold up another; a rotated secret is used at once, the old one
/// during its overlap; a revoked grant ends deliveries at the revocation.
final class WebhookAPITests: XCTestCase {
    static let one = EventStreamAPITests.one, two = EventStreamAPITests.two
    static let pnrClaim = EventStreamAPITests.pnrClaim
    static let functions = EventStreamAPITests.functions

    /// One Python receiver process, restartable on its port.
    final class Receiver {
        let directory: String
        let arguments: [String]
        private(set) var process: Process
        private(set) var port: Int
        var record: String { directory + "/record.txt" }
        var refused: String { directory + "/refused.txt" }
        var secrets: String { directory + "/secrets.txt" }
        var url: String { "https://127.0.0.1:\(port)/hook" }

        init(_ directory: String, pki: String, extra: [String] = []) throws {
            self.directory = directory
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: directory + "/secrets.txt", contents: nil)
            let root = NodeFixture.projectRoot
            arguments = [root.appendingPathComponent("Tests/interop/webhook_receiver.py").path,
                         "--port-file", directory + "/port", "--cert", pki + "/tls.crt", "--key", pki + "/tls.key",
                         "--secrets", directory + "/secrets.txt", "--record", directory + "/record.txt",
                         "--refused", directory + "/refused.txt",
                         "--schema", root.appendingPathComponent("Schemas/event-data.schema.json").path, "--seconds", "400"] + extra
            (process, port) = try Self.start(arguments, directory, port: 0)
        }

        private static func start(_ arguments: [String], _ directory: String, port: Int) throws -> (Process, Int) {
            try? FileManager.default.removeItem(atPath: directory + "/port")
            let log = directory + "/receiver.log"
            let p = try WebhookAPITests.launch(NodeFixture.projectRoot.appendingPathComponent(".venv/bin/python"),
                                               arguments + ["--port", String(port)], log: log)
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if let text = try? String(contentsOfFile: directory + "/port", encoding: .utf8), let n = Int(text) { return (p, n) }
                if !p.isRunning { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            kill(p.processIdentifier, SIGKILL)
            throw NodeError(.storage, "the receiver did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }

        func killAndRestart(extra: [String] = []) throws {
            stop()
            (process, port) = try Self.start(arguments + extra, directory, port: port)
        }

        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }

        /// The recorded deliveries: (webhook-id, seq, first).
        func lines() -> [(id: String, seq: UInt64, first: Bool)] {
            let text = (try? String(contentsOfFile: record, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { l in
                let f = l.split(separator: " ")
                guard f.count == 4, let seq = UInt64(f[1]) else { return nil }
                return (String(f[0]), seq, f[3] == "first")
            }
        }

        func firstSeqs() -> [UInt64] { lines().filter(\.first).map(\.seq) }
        func refusals() -> String { (try? String(contentsOfFile: refused, encoding: .utf8)) ?? "" }
    }

    /// Starts `executable arguments…` with its output appended to `log`.
    static func launch(_ executable: URL, _ arguments: [String], log: String) throws -> Process {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    static func settings() -> NodeConfig.Webhooks {
        var s = NodeConfig.Webhooks()
        s.retryFirstSeconds = 0.05
        s.retryMaxSeconds = 0.4
        s.timeoutSeconds = 5
        return s
    }

    static func apiWithWebhooks(_ node: Node, _ base: String, _ settings: NodeConfig.Webhooks = settings()) async throws -> APITestClient {
        try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt") {
            $0.webhooks = settings
            $0.webhookTrustRoots = base + "/node/pki/ca.crt"
        }
    }

    static func create(_ api: APITestClient, token: String, url: String, extra: String = "") async throws -> (id: Int, secret: String) {
        let answer = try await api.send(.POST, "/v1/webhooks", token: token, json: #"{"url": "\#(url)", "description": "test"\#(extra)}"#)
        XCTAssertEqual(answer.status, 201, answer.text)
        let webhook = try XCTUnwrap(answer.json["webhook"] as? [String: Any])
        return (try XCTUnwrap(webhook["id"] as? Int), try XCTUnwrap(answer.json["secret"] as? String))
    }

    /// Waits (bounded) until `done`.
    static func eventually(_ seconds: Double = 120, _ what: String, _ done: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await done() { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        XCTFail("not within \(seconds) s: \(what)")
        throw CancellationError()
    }

    /// Acceptance: a receiver SIGKILLed at random moments during a 10k-event burst ends with every
    /// event its owner may see, at least once, with a stable webhook-id; tampered and replayed
    /// deliveries are refused by it.
    func testAReceiverKilledDuringABurstGetsEveryEventAtLeastOnce() async throws {
        let base = try NodeFixture.scratch("webhooks-resume")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try await NodeFixture.apiNode(in: base, EventStreamAPITests.participants)
        let token = try await EventStreamAPITests.clerkToken(node, .participant(Self.one))
        let receiver = try Receiver(base + "/receiver", pki: base + "/node/pki")
        let api = try await Self.apiWithWebhooks(node, base)
        do {
            let (id, secret) = try await Self.create(api, token: token, url: receiver.url)
            XCTAssertTrue(secret.hasPrefix("whsec_"))
            try (secret + "\n").write(toFile: receiver.secrets, atomically: true, encoding: .utf8)
            // The ledger names the secret by its SHA-256 only.
            let created = try XCTUnwrap(try node.ledger.event(UInt64(id)))
            XCTAssertEqual(created.type, WebhookEventType.created)
            let key = try XCTUnwrap(Data(base64Encoded: String(secret.dropFirst(6))))
            XCTAssertEqual(created.payload["secret_sha256"]?.stringValue, WebhookSecret(key: Array(key)).sha256)
            XCTAssertFalse(String(decoding: CanonicalJSON.encode(created.payload), as: UTF8.self).contains(String(secret.dropFirst(6))))

            var histories = [SyntheticHistory(.init(participant: Self.one, functions: Self.functions, counterparts: 10, seed: 17)),
                             SyntheticHistory(.init(participant: Self.two, functions: Self.functions, counterparts: 10, seed: 18))]
            var random = SeededRandom(seed: 5)
            var appended = 0, kills = 0
            while appended < 10_000 {
                for i in histories.indices {
                    let events = try await node.ledger.append(histories[i].next(100))
                    histories[i].appended(events)
                    appended += events.count
                }
                if random.chance(0.1), kills < 20 {
                    try receiver.killAndRestart()
                    kills += 1
                }
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            let end = try node.ledger.durableHead()
            let expected = try EventStreamAPITests.expected(node, (UInt64(id) + 1)...end) { r, _ in r.participant == Self.one }
            XCTAssertGreaterThan(expected.count, 2000)
            let wanted = Set(expected)
            try await Self.eventually(240, "every event delivered") { wanted.isSubset(of: Set(receiver.firstSeqs())) }
            let lines = receiver.lines()
            XCTAssertEqual(lines.filter(\.first).map(\.seq), expected, "each event first seen once, in ledger order, after \(kills) kills")
            XCTAssertTrue(Set(lines.map(\.seq)).isSubset(of: wanted), "nothing of the other participant")
            for l in lines { XCTAssertEqual(l.id, "kvitto-\(id)-\(l.seq)") }
            XCTAssertEqual(receiver.refusals(), "")
            XCTAssertGreaterThan(kills, 3)

            // The receiver refuses a tampered body, a replayed old timestamp and a forged signature.
            let signer = WebhookSecret(key: Array(key))
            let body = Array(#"{"specversion":"1.0"}"#.utf8)
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(base + "/node/pki/ca.crt")
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            func post(_ wid: String, _ timestamp: Int64, _ signature: String, _ payload: [UInt8]) async throws -> UInt {
                var request = HTTPClientRequest(url: receiver.url)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/cloudevents+json")
                request.headers.add(name: "webhook-id", value: wid)
                request.headers.add(name: "webhook-timestamp", value: String(timestamp))
                request.headers.add(name: "webhook-signature", value: signature)
                request.body = .bytes(ByteBuffer(bytes: payload))
                return try await client.execute(request, timeout: .seconds(10)).status.code
            }
            let now = Int64(Date().timeIntervalSince1970)
            let tampered = try await post("t1", now, signer.signature(id: "t1", timestamp: now, body: body), body + [0x20])
            let replayed = try await post("t2", now - 600, signer.signature(id: "t2", timestamp: now - 600, body: body), body)
            let forged = try await post("t3", now, WebhookSecret.generate().signature(id: "t3", timestamp: now, body: body), body)
            let genuine = try await post("t4", now, signer.signature(id: "t4", timestamp: now, body: body), body)
            try await client.shutdown()
            XCTAssertEqual([tampered, replayed, forged], [401, 401, 401])
            XCTAssertEqual(genuine, 400, "verified, then refused as no CloudEvent (the signature check passed)")
            let refusals = receiver.refusals()
            XCTAssertTrue(refusals.contains("t1 ") && refusals.contains("t2 ") && refusals.contains("t3 "), refusals)
        } catch {
            receiver.stop()
            await api.stop()
            await node.close()
            throw error
        }
        receiver.stop()
        await api.stop()
        await node.close()
    }

    func testFailingSlowRotatedAndRevokedWebhooks() async throws {
        let base = try NodeFixture.scratch("webhooks-life")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try await NodeFixture.apiNode(in: base, EventStreamAPITests.participants)
        let admin = GrantAdministration(access: node.access)
        let clerk = try await admin.grant(.init(grantee: PrincipalName(kind: .pnr, value: "197001011234"), scope: .participant(Self.one),
                                                rights: [.read], reason: "test"), by: OSUser.principal())
        _ = try await admin.grant(.init(grantee: PrincipalName(kind: .pnr, value: "195501011234"), scope: .node, rights: [.operate],
                                        reason: "test"), by: OSUser.principal())
        let issuer = try NodeIdentity.developmentIssuer(config: node.config, directory: node.directory)
        let token = try await issuer.mint(subject: "case-system", claims: [Self.pnrClaim: "197001011234"])
        let operatorToken = try await issuer.mint(subject: "operator", claims: [Self.pnrClaim: "195501011234"])
        let strangerToken = try await issuer.mint(subject: "stranger", claims: [Self.pnrClaim: "196001011234"])
        let fast = try Receiver(base + "/fast", pki: base + "/node/pki")
        let slow = try Receiver(base + "/slow", pki: base + "/node/pki", extra: ["--delay", "3"])
        let failing = try Receiver(base + "/failing", pki: base + "/node/pki", extra: ["--fail", "1000000"])
        var settings = Self.settings()
        settings.disableAfterSeconds = 2
        let api = try await Self.apiWithWebhooks(node, base, settings)
        do {
            // Refusals: no grant (403, recorded), a plain-http URL (422), someone else's webhook (404).
            let refused = try await api.send(.POST, "/v1/webhooks", token: strangerToken, json: #"{"url": "\#(fast.url)"}"#)
            XCTAssertEqual(refused.status, 403, refused.text)
            let plain = try await api.send(.POST, "/v1/webhooks", token: token, json: #"{"url": "http://127.0.0.1:9/x"}"#)
            XCTAssertEqual(plain.status, 422, plain.text)

            var hooks: [String: (id: Int, secret: String)] = [:]
            for (name, r) in [("fast", fast), ("slow", slow), ("failing", failing)] {
                hooks[name] = try await Self.create(api, token: token, url: r.url)
                try (hooks[name]!.secret + "\n").write(toFile: r.secrets, atomically: true, encoding: .utf8)
            }
            let other = try await api.send(.GET, "/v1/webhooks/\(hooks["fast"]!.id)", token: strangerToken)
            XCTAssertEqual(other.status, 404, other.text)
            let listed = try await api.send(.GET, "/v1/webhooks", token: operatorToken)
            XCTAssertEqual((listed.json["webhooks"] as? [Any])?.count, 3, "an operator sees every webhook")

            var history = SyntheticHistory(.init(participant: Self.one, functions: Self.functions, counterparts: 5, seed: 3))
            func burst(_ n: Int) async throws -> [UInt64] {
                let start = try node.ledger.durableHead()
                let events = try await node.ledger.append(history.next(n))
                history.appended(events)
                return try EventStreamAPITests.expected(node, (start + 1)...(try node.ledger.durableHead())) { _, _ in true }
            }
            let first = try await burst(60)
            XCTAssertGreaterThan(first.count, 10)
            // A slow endpoint (3 s per delivery) does not hold up the fast one.
            try await Self.eventually(30, "the fast receiver has the burst") { Set(first).isSubset(of: Set(fast.firstSeqs())) }
            XCTAssertLessThan(slow.lines().count, 5, "the slow one is still at its first deliveries")

            // Failing for longer than disable_after_seconds: disabled, recorded, then resumed with nothing lost.
            let failingID = UInt64(hooks["failing"]!.id)
            try await Self.eventually(30, "webhook.disabled") {
                try node.ledger.events(from: failingID, limit: 100_000).contains { $0.type == WebhookEventType.disabled && $0.payload["webhook"]?.intValue == Int64(failingID) }
            }
            let disabled = try await api.send(.GET, "/v1/webhooks/\(failingID)", token: token)
            XCTAssertEqual(disabled.json["state"] as? String, "disabled")
            XCTAssertEqual(disabled.json["disabled_reason"] as? String, "failing")
            XCTAssertEqual((disabled.json["delivery"] as? [String: Any])?["last_error"] as? String, "HTTP 503")
            XCTAssertTrue(failing.firstSeqs().isEmpty)
            try failing.killAndRestart(extra: ["--fail", "0"])
            let resumed = try await api.send(.POST, "/v1/webhooks/\(failingID)/resumption", token: operatorToken)
            XCTAssertEqual(resumed.status, 200, resumed.text)
            XCTAssertEqual(resumed.json["state"] as? String, "active")
            let again = try await api.send(.POST, "/v1/webhooks/\(failingID)/resumption", token: operatorToken)
            XCTAssertEqual(again.status, 409, again.text)
            try await Self.eventually(30, "the resumed webhook has everything it missed") { Set(first).isSubset(of: Set(failing.firstSeqs())) }
            XCTAssertEqual(failing.firstSeqs(), first)

            // Rotation with an overlap: each delivery carries a signature with either secret, so a
            // receiver that knows only the old one, or only the new one, verifies it.
            let fastID = hooks["fast"]!.id
            let rotated = try await api.send(.POST, "/v1/webhooks/\(fastID)/secret", token: token, json: #"{"overlap_seconds": 3600}"#)
            XCTAssertEqual(rotated.status, 200, rotated.text)
            let newSecret = try XCTUnwrap(rotated.json["secret"] as? String)
            XCTAssertNotEqual(newSecret, hooks["fast"]!.secret)
            XCTAssertEqual(((rotated.json["webhook"] as? [String: Any])?["secrets"] as? [Any])?.count, 2)
            let notOwner = try await api.send(.POST, "/v1/webhooks/\(fastID)/secret", token: operatorToken, json: "{}")
            XCTAssertEqual(notOwner.status, 403, notOwner.text)
            for secret in [hooks["fast"]!.secret, newSecret] {
                try (secret + "\n").write(toFile: fast.secrets, atomically: true, encoding: .utf8)
                let burstEvents = try await burst(30)
                try await Self.eventually(30, "delivered to a receiver knowing one of the two secrets") { Set(burstEvents).isSubset(of: Set(fast.firstSeqs())) }
            }
            XCTAssertEqual(fast.refusals(), "")
            // Without an overlap the old secrets stop signing at once: the receiver refuses until it has the new one.
            let abrupt = try await api.send(.POST, "/v1/webhooks/\(fastID)/secret", token: token, json: #"{"overlap_seconds": 0}"#)
            XCTAssertEqual(((abrupt.json["webhook"] as? [String: Any])?["secrets"] as? [Any])?.count, 1, abrupt.text)
            let newest = try XCTUnwrap(abrupt.json["secret"] as? String)
            let refusedBurst = try await burst(30)
            try await Self.eventually(30, "a delivery refused by a receiver with the replaced secret") { !fast.refusals().isEmpty }
            try (newest + "\n").write(toFile: fast.secrets, atomically: true, encoding: .utf8)
            try await Self.eventually(30, "delivered once the receiver has the new secret") { Set(refusedBurst).isSubset(of: Set(fast.firstSeqs())) }

            // Revocation while the endpoint is down: what waited is not sent once it is back (the
            // grants are read again for the retried page), though the webhook goes on past it.
            let delivered = fast.firstSeqs().count
            fast.stop()
            let waiting = try await burst(30)
            XCTAssertFalse(waiting.isEmpty)
            try await Task.sleep(nanoseconds: 500_000_000)
            let revoked = try await admin.revoke(clerk.id, reason: "left", by: OSUser.principal())
            let after = try await burst(30)
            XCTAssertFalse(after.isEmpty)
            let end = try node.ledger.durableHead()
            // An attempt begun before the revocation may still complete (the HTTP client keeps
            // trying to connect until its deadline); none begun after it sends anything.
            try await Task.sleep(nanoseconds: UInt64((settings.timeout + 0.5) * 1e9))
            try fast.killAndRestart()
            try await Self.eventually(30, "the fast webhook's position passes the revocation") {
                let answer = try await api.send(.GET, "/v1/webhooks/\(fastID)", token: operatorToken)
                return ((answer.json["delivery"] as? [String: Any])?["position"] as? Int).map { UInt64($0) >= end } ?? false
            }
            XCTAssertEqual(fast.firstSeqs().count, delivered, "nothing was sent after the revocation \(revoked.revocation?.seq ?? 0), not even what waited for the endpoint (\(waiting)): \(fast.firstSeqs().dropFirst(delivered))")

            let deleted = try await api.send(.DELETE, "/v1/webhooks/\(hooks["slow"]!.id)", token: token)
            XCTAssertEqual(deleted.status, 200, deleted.text)
            XCTAssertEqual(deleted.json["state"] as? String, "deleted")
            let gone = try await api.send(.GET, "/v1/webhooks/\(hooks["slow"]!.id)", token: token)
            XCTAssertEqual(gone.status, 404)
        } catch {
            for r in [fast, slow, failing] { r.stop() }
            await api.stop()
            await node.close()
            throw error
        }
        for r in [fast, slow, failing] { r.stop() }
        await api.stop()
        await node.close()
    }
    /// A webhook's position survives SIGKILL of `kvitto serve`: the node is killed at random moments
    /// while it delivers (and events are appended while it is down); the receiver ends with every
    /// event at least once, first seen in ledger order, and redeliveries stay a small part of the
    /// whole (deliveries go on from the written position, not from the webhook's creation).
    func testDeliveriesGoOnFromTheWrittenPositionAfterSIGKILL() async throws {
        let base = try NodeFixture.scratch("webhooks-kill")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let directory = base + "/node"
        let node = try await NodeFixture.apiNode(in: base, EventStreamAPITests.participants)
        await node.close()
        var config = try NodeConfig.load(directory: directory)
        var settings = Self.settings()
        settings.trustRoots = "pki/ca.crt"
        config.api?.webhooks = settings
        try config.save(directory: directory)
        let receiver = try Receiver(base + "/receiver", pki: directory + "/pki")
        var history = SyntheticHistory(.init(participant: Self.one, functions: Self.functions, counterparts: 10, seed: 21))
        // Appends `n` synthetic events while the node is not running.
        func appendOffline(_ n: Int) async throws {
            try await NodeFixture.with(directory) { node in
                let events = try await node.ledger.append(history.next(n))
                history.appended(events)
            }
        }
        let webhookID: UInt64 = try await NodeFixture.with(directory) { node in
            _ = try await GrantAdministration(access: node.access).grant(
                .init(grantee: OSUser.principalName(), scope: .participant(Self.one), rights: [.read], reason: "test"), by: OSUser.principal())
            let admin = WebhookAdministration(access: node.access, store: node.webhooks, settings: settings)
            let (w, secret) = try await admin.create(.init(url: receiver.url, mailboxes: [], types: [], description: "crash"), by: OSUser.principal())
            try (secret.text + "\n").write(toFile: receiver.secrets, atomically: true, encoding: .utf8)
            return w.id
        }
        try await appendOffline(3000)
        var server: Process?
        func serve() throws -> Process {
            let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            let binary = [dir, dir.deletingLastPathComponent()].map { $0.appendingPathComponent("kvitto").path }
                .first { FileManager.default.isExecutableFile(atPath: $0) } ?? NodeFixture.projectRoot.appendingPathComponent(".build/debug/kvitto").path
            return try Self.launch(URL(fileURLWithPath: ProcessInfo.processInfo.environment["KVITTO_BIN"] ?? binary),
                                   ["serve", "--node", directory, "--log-level", "error"], log: base + "/serve.log")
        }
        do {
            var random = SeededRandom(seed: 11)
            var kills = 0
            for _ in 0..<5 {
                server = try serve()
                // Killed once 150 events were seen for the first time since it started (a node that
                // went back to the webhook's creation would send everything before again first).
                let before = receiver.firstSeqs().count
                try await Self.eventually(120, "new deliveries after a start") { receiver.firstSeqs().count >= before + 150 }
                try await Task.sleep(nanoseconds: 100_000_000 + UInt64.random(in: 0..<400, using: &random) * 1_000_000)
                kill(server!.processIdentifier, SIGKILL)
                server!.waitUntilExit()
                kills += 1
                try await appendOffline(600)
            }
            let expected: [UInt64] = try await NodeFixture.with(directory) { node in
                try EventStreamAPITests.expected(node, (webhookID + 1)...(try node.ledger.durableHead())) { r, _ in r.participant == Self.one }
            }
            server = try serve()
            let wanted = Set(expected)
            try await Self.eventually(240, "every event delivered") { wanted.isSubset(of: Set(receiver.firstSeqs())) }
            let lines = receiver.lines()
            XCTAssertEqual(lines.filter(\.first).map(\.seq), expected, "each event first seen once, in ledger order, after \(kills) kills")
            let again = lines.count - expected.count
            // Each kill may cost what was delivered since the position was last written (at most 64
            // deliveries) and the one in flight; going back to the creation would cost at least
            // 150 × (1 + 2 + 3 + 4).
            print("webhooks: \(again) redeliveries of \(expected.count) events after \(kills) kills")
            XCTAssertLessThan(again, 100 * kills, "redeliveries after \(kills) kills: \(again) of \(expected.count)")
            XCTAssertEqual(receiver.refusals(), "")
        } catch {
            if let server, server.isRunning { kill(server.processIdentifier, SIGKILL) }
            receiver.stop()
            throw error
        }
        if let server, server.isRunning {
            server.terminate()
            server.waitUntilExit()
        }
        receiver.stop()
    }
    /// A webhook gets only the mailboxes and types it asked for; one whose secret is missing from
    /// the store sends nothing (never unsigned) and says why.
    func testFiltersAndNoDeliveryWithoutASecret() async throws {
        let base = try NodeFixture.scratch("webhooks-filters")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try await NodeFixture.apiNode(in: base, EventStreamAPITests.participants)
        let token = try await EventStreamAPITests.clerkToken(node, .participant(Self.one))
        let filtered = try Receiver(base + "/filtered", pki: base + "/node/pki")
        let unsigned = try Receiver(base + "/unsigned", pki: base + "/node/pki")
        let api = try await Self.apiWithWebhooks(node, base)
        do {
            let registrator = FunctionalAddress(participant: Self.one, function: "registrator")
            let f = try await Self.create(api, token: token, url: filtered.url,
                                          extra: #", "mailboxes": ["\#(registrator)"], "types": ["se.sdk.message.received", "se.sdk.receipt.sent"]"#)
            try (f.secret + "\n").write(toFile: filtered.secrets, atomically: true, encoding: .utf8)
            let u = try await Self.create(api, token: token, url: unsigned.url)
            try (u.secret + "\n").write(toFile: unsigned.secrets, atomically: true, encoding: .utf8)
            let key = try XCTUnwrap(Data(base64Encoded: String(u.secret.dropFirst(6))))
            try node.webhooks.removeSecrets([WebhookSecret(key: Array(key)).sha256])

            let start = try node.ledger.durableHead()
            var history = SyntheticHistory(.init(participant: Self.one, functions: Self.functions, counterparts: 5, seed: 41))
            let events = try await node.ledger.append(history.next(400))
            history.appended(events)
            let expected = try EventStreamAPITests.expected(node, (start + 1)...(try node.ledger.durableHead())) { r, e in
                r.mailbox == registrator && [.messageReceived, .receiptSent].contains(PublicEventType(e))
            }
            XCTAssertGreaterThan(expected.count, 5)
            try await Self.eventually(30, "the filtered webhook has its events") { Set(expected).isSubset(of: Set(filtered.firstSeqs())) }
            XCTAssertEqual(filtered.firstSeqs(), expected, "only registrator's arrivals and receipts sent")
            try await Self.eventually(30, "the webhook without a secret reports why") {
                let answer = try await api.send(.GET, "/v1/webhooks/\(u.id)", token: token)
                let delivery = answer.json["delivery"] as? [String: Any]
                return (delivery?["last_error"] as? String)?.contains("no signing secret") == true && (delivery?["attempts"] as? Int ?? 0) > 1
            }
            XCTAssertTrue(unsigned.lines().isEmpty && unsigned.refusals().isEmpty, "nothing was posted unsigned")
        } catch {
            filtered.stop()
            unsigned.stop()
            await api.stop()
            await node.close()
            throw error
        }
        filtered.stop()
        unsigned.stop()
        await api.stop()
        await node.close()
    }

    /// The per-owner limit holds for creations that arrive at once (counted and recorded one at a
    /// time): of 12 concurrent requests with a limit of 3, exactly 3 are created, the rest 422.
    func testThePerOwnerLimitHoldsUnderConcurrentCreations() async throws {
        let base = try NodeFixture.scratch("webhooks-limit")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try await NodeFixture.apiNode(in: base, EventStreamAPITests.participants)
        let token = try await EventStreamAPITests.clerkToken(node, .participant(Self.one))
        var settings = Self.settings()
        settings.maxPerOwner = 3
        let api = try await Self.apiWithWebhooks(node, base, settings)
        try await api.closing(node) {
            let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
                for i in 0..<12 {
                    group.addTask {
                        try await api.send(.POST, "/v1/webhooks", token: token,
                                           json: #"{"url": "https://127.0.0.1:9/hook\#(i)", "description": "samtidigt"}"#).status
                    }
                }
                return try await group.reduce(into: [UInt]()) { $0.append($1) }
            }
            XCTAssertEqual(statuses.filter { $0 == 201 }.count, 3, "created: \(statuses.sorted())")
            XCTAssertEqual(statuses.filter { $0 == 422 }.count, 9, "\(statuses.sorted())")
            let listed = try await api.get("/v1/webhooks", token: token)
            XCTAssertEqual((listed.json["webhooks"] as? [[String: Any]])?.count, 3, listed.text)
            // Without HTTP in between (the most concurrency there can be): another owner, limit 3.
            _ = try await GrantAdministration(access: node.access).grant(
                .init(grantee: PrincipalName(kind: .pnr, value: "196501011234"), scope: .participant(Self.one), rights: [.read], reason: "test"),
                by: OSUser.principal())
            let other = Principal(name: PrincipalName(kind: .pnr, value: "196501011234"), strongAuthentication: true, interface: .api)
            let administration = WebhookAdministration(access: node.access, store: node.webhooks, settings: settings)
            let created = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<48 {
                    group.addTask {
                        let request = Webhook.Request(url: "https://127.0.0.1:9/other\(i)", mailboxes: [], types: [], description: "samtidigt")
                        do { _ = try await administration.create(request, by: other); return true } catch { return false }
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            XCTAssertEqual(created, 3, "48 creations at once under a limit of 3")
        }
    }

    /// An endpoint answering 410 Gone is disabled at once (`reason: gone`); one answering 503 with
    /// `Retry-After: 2` is tried again no sooner than that, though the backoff would be 50 ms.
    func testGoneDisablesAtOnceAndRetryAfterIsHonoured() async throws {
        let base = try NodeFixture.scratch("webhooks-gone")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try await NodeFixture.apiNode(in: base, EventStreamAPITests.participants)
        let token = try await EventStreamAPITests.clerkToken(node, .participant(Self.one))
        let gone = try Receiver(base + "/gone", pki: base + "/node/pki", extra: ["--fail", "1000", "--fail-status", "410"])
        let later = try Receiver(base + "/later", pki: base + "/node/pki", extra: ["--fail", "2", "--retry-after", "2"])
        var settings = Self.settings()
        settings.retryMaxSeconds = 10  // Retry-After is honoured up to retry_max
        let api = try await Self.apiWithWebhooks(node, base, settings)
        defer { gone.stop(); later.stop() }
        try await api.closing(node) {
            let g = try await Self.create(api, token: token, url: gone.url)
            try (g.secret + "\n").write(toFile: gone.secrets, atomically: true, encoding: .utf8)
            let l = try await Self.create(api, token: token, url: later.url)
            try (l.secret + "\n").write(toFile: later.secrets, atomically: true, encoding: .utf8)
            var history = SyntheticHistory(.init(participant: Self.one, functions: Self.functions, counterparts: 5, seed: 43))
            let start = Date()
            history.appended(try await node.ledger.append(history.next(60)))
            try await Self.eventually(30, "the 410 endpoint's webhook disabled") {
                let answer = try await api.send(.GET, "/v1/webhooks/\(g.id)", token: token)
                return answer.json["state"] as? String == "disabled"
            }
            let disabled = try await api.send(.GET, "/v1/webhooks/\(g.id)", token: token)
            XCTAssertEqual(disabled.json["disabled_reason"] as? String, "gone", disabled.text)
            XCTAssertEqual((disabled.json["delivery"] as? [String: Any])?["attempts"] as? Int, 1, "disabled at the first 410: \(disabled.text)")
            try await Self.eventually(60, "the Retry-After endpoint gets its first event") { !later.firstSeqs().isEmpty }
            let waited = Date().timeIntervalSince(start)
            XCTAssertGreaterThanOrEqual(waited, 3.9, "two 503s with Retry-After: 2 were retried after \(waited) s")
        }
    }
}

