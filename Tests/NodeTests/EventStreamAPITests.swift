import AsyncHTTPClient
import Foundation
import Identity
import Ledger
import Node
import Projections
import Synchronization
import Workload
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `GET /v1/events` over real HTTPS on 127.0.0.1, on a node serving two participants with
/// randomised histories: a subscriber receives exactly the public events of the mailboxes its
/// grants show, as of each event's seq (so a revocation ends delivery at its seq), in ledger order,
/// resumable by `Last-Event-ID`; the other participant's events never arrive; the operator gets
/// transport members only. An independent Python subscriber (httpx-sse, the CloudEvents SDK,
/// the JSON Schema), killed at random moments during a 10k-event burst, ends with every event once.
final class EventStreamAPITests: XCTestCase {
    static let one = "0203:one.example.se", two = "0203:two.example.se"
    static let registrator = FunctionalAddress(participant: one, function: "registrator")
    static let pnrClaim = "https://id.oidc.se/claim/personalIdentityNumber"
    static let functions = ["registrator", "socialtjansten"]
    static let participants: [NodeSetup.ParticipantSpec] = [
        .init(id: one, name: "Kommun Ett", functions: functions.map { ($0, $0) }),
        .init(id: two, name: "Kommun Två", functions: functions.map { ($0, $0) }),
    ]

    struct Frame {
        var id: UInt64?
        var event: String?
        var data: [String: Any]?
        var comment: String?
    }

    /// Reads an event stream frame by frame; `read(until:)` may be called again to go on.
    final class Reader {
        private var body: HTTPClientResponse.Body.AsyncIterator
        private var buffer: [UInt8] = []
        /// Every frame read so far.
        private(set) var frames: [Frame] = []

        init(_ response: HTTPClientResponse) { body = response.body.makeAsyncIterator() }

        /// The ids of the event frames (those with data) read so far.
        var eventIDs: [UInt64] { frames.filter { $0.data != nil }.compactMap(\.id) }
        var events: [Frame] { frames.filter { $0.data != nil } }

        /// Reads until `done` says so (after each frame), the stream ends, or `seconds` pass.
        func read(seconds: Double = 60, until done: (Reader) -> Bool) async throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                while let end = buffer.indices.dropLast().first(where: { buffer[$0] == 0x0A && buffer[$0 + 1] == 0x0A }) {
                    var f = Frame()
                    for line in String(decoding: buffer[..<end], as: UTF8.self).split(separator: "\n") {
                        if line.hasPrefix(":") { f.comment = line.dropFirst().trimmingCharacters(in: .whitespaces) }
                        if line.hasPrefix("id: ") { f.id = UInt64(line.dropFirst(4)) }
                        if line.hasPrefix("event: ") { f.event = String(line.dropFirst(7)) }
                        if line.hasPrefix("data: ") {
                            f.data = try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any]
                        }
                    }
                    buffer.removeSubrange(...(end + 1))
                    frames.append(f)
                    if done(self) { return }
                }
                guard let chunk = try await body.next() else { return }
                buffer += chunk.readableBytesView
            }
        }

        /// Reads until the event `id` has arrived.
        func read(through id: UInt64?, seconds: Double = 60) async throws {
            try await read(seconds: seconds) { r in r.frames.last.map { $0.data != nil && $0.id == id } ?? false }
        }
    }

    /// Grants the clerk (personal identity number 197001011234) `rights` on `scope`, by the node's
    /// administrator, and returns a development token of theirs.
    static func clerkToken(_ node: Node, _ scope: AccessScope, _ rights: Set<AccessRight> = [.read]) async throws -> String {
        _ = try await GrantAdministration(access: node.access).grant(
            .init(grantee: PrincipalName(kind: .pnr, value: "197001011234"), scope: scope, rights: rights, reason: "test"), by: OSUser.principal())
        let issuer = try NodeIdentity.developmentIssuer(config: node.config, directory: node.directory)
        return try await issuer.mint(subject: "case-system", claims: [pnrClaim: "197001011234"])
    }

    /// The ledger events of the documented public types.
    static func isPublic(_ e: Event) -> Bool {
        switch e.type {
        case "message.submitted", "message.received", "message.receipt.received", "message.receipt.sent", "message.delivery.failed",
             "message.accessed": true
        case "transport.receipt.received": e.payload["kind"]?.stringValue == "message"
        default: false
        }
    }

    /// The seqs in `range` of public events of a message (one of its folded events) that `visible`
    /// admits, read from the ledger and the projection.
    static func expected(_ node: Node, _ range: ClosedRange<UInt64>, _ visible: (MessageRecord, Event) -> Bool) throws -> [UInt64] {
        _ = try node.projections.catchUp()
        var out: [UInt64] = []
        for seq in range {
            guard let e = try node.ledger.event(seq), isPublic(e), e.subject.hasPrefix("message:"),
                  let r = try NodeStateProjection.message(String(e.subject.dropFirst(8)), in: node.projections.storage),
                  r.eventSeqs.contains(seq), visible(r, e) else { continue }
            out.append(seq)
        }
        return out
    }

    func testStreamsShowWhatTheGrantsShowAsOfEachEvent() async throws {
        let base = try NodeFixture.scratch("events-api")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try await NodeFixture.apiNode(in: base, Self.participants)
        let admin = GrantAdministration(access: node.access)
        func grant(_ pnr: String, _ scope: AccessScope, _ rights: Set<AccessRight>) async throws -> Grant {
            try await admin.grant(.init(grantee: PrincipalName(kind: .pnr, value: pnr), scope: scope, rights: rights, reason: "test"),
                                  by: OSUser.principal())
        }
        let clerkGrant = try await grant("197001011234", .mailbox(Self.registrator), [.read])
        _ = try await grant("197101011234", .participant(Self.two), [.read])
        _ = try await grant("195501011234", .node, [.operate])
        _ = try await grant("195001011234", .participant(Self.one), [.audit])
        let ledger = node.ledger
        var histories = [SyntheticHistory(.init(participant: Self.one, functions: Self.functions, counterparts: 10, seed: 5)),
                         SyntheticHistory(.init(participant: Self.two, functions: Self.functions, counterparts: 10, seed: 6))]
        func burst(_ rounds: Int) async throws {
            for _ in 0..<rounds {
                for i in histories.indices {
                    let events = try await ledger.append(histories[i].next(200))
                    histories[i].appended(events)
                }
            }
        }
        try await burst(3)
        let issuer = try NodeIdentity.developmentIssuer(config: node.config, directory: node.directory)
        func token(_ pnr: String) async throws -> String { try await issuer.mint(subject: pnr, claims: [Self.pnrClaim: .string(pnr)]) }
        let clerk = try await token("197001011234"), clerkTwo = try await token("197101011234")
        let operatorToken = try await token("195501011234"), stranger = try await token("198001011234")
        let auditor = try await token("195001011234")
        let api = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt")
        do {
            let head = try ledger.durableHead()
            func open(_ query: String, _ token: String, headers: [(String, String)] = []) async throws -> Reader {
                let r = try await api.open("/v1/events?heartbeat=1" + query, token: token, headers: headers)
                XCTAssertEqual(r.status.code, 200, query)
                return Reader(r)
            }
            // The clerk of participant one's registrator, from the beginning: exactly its mailbox's events, in order.
            let mine = try Self.expected(node, 1...head) { r, _ in r.mailbox == Self.registrator }
            XCTAssertGreaterThan(mine.count, 100)
            let response = try await api.open("/v1/events?after=0&heartbeat=1", token: clerk)
            XCTAssertEqual(response.headers.first(name: "content-type"), "text/event-stream")
            XCTAssertEqual(response.headers.first(name: "cache-control"), "no-store")
            let stream = Reader(response)
            try await stream.read(through: mine.last)
            XCTAssertEqual(stream.eventIDs, mine, "every event of the mailbox once, in ledger order, nothing else")
            XCTAssertEqual(stream.frames.first?.comment, "kvitto events after seq 0")
            XCTAssertEqual(stream.frames.first?.id, 0, "the opening frame names the position")
            var labelled = 0
            for f in stream.events {
                let data = try XCTUnwrap(f.data)
                XCTAssertEqual(data["specversion"] as? String, "1.0")
                XCTAssertEqual(data["id"] as? String, String(f.id!))
                XCTAssertEqual(data["type"] as? String, f.event)
                let d = try XCTUnwrap(data["data"] as? [String: Any])
                XCTAssertEqual(d["participant"] as? String, Self.one)
                XCTAssertEqual(d["mailbox"] as? String, Self.registrator.description)
                XCTAssertNil(d["content"])
                // An arrival is shown as it arrived: no subject before the message is opened.
                if f.event == "se.sdk.message.received" { XCTAssertNil(d["label"], "event \(f.id!)") }
                if d["label"] != nil { labelled += 1 }
            }
            XCTAssertGreaterThan(labelled, 10, "the reader sees subjects")

            // Resuming: Last-Event-ID takes over from after=.
            let middle = mine[mine.count / 2]
            let resumed = try await open("&after=0", clerk, headers: [("Last-Event-ID", String(middle))])
            try await resumed.read(through: mine.last)
            XCTAssertEqual(resumed.eventIDs, Array(mine.drop { $0 <= middle }))

            // Filters: one type; a mailbox it may not see is not found (recorded), like one that does not exist.
            let received = try Self.expected(node, 1...head) { r, e in r.mailbox == Self.registrator && e.type == "message.received" }
            XCTAssertGreaterThan(received.count, 10)
            let typed = try await open("&after=0&type=se.sdk.message.received", clerk)
            try await typed.read(through: received.last)
            XCTAssertEqual(typed.eventIDs, received)
            for mailbox in ["registrator@\(Self.two)", "registrator@0203:nobody.example.se"] {
                let r = try await api.get("/v1/events?mailbox=\(APITestClient.escape(mailbox))", token: clerk)
                XCTAssertEqual(r.status, 404, r.text)
                XCTAssertEqual(r.code, "node.not_found")
            }
            let refused = try await api.get("/v1/events", token: stranger)
            XCTAssertEqual(refused.status, 403, "no grant at all: nothing to stream")
            let ahead = try await api.get("/v1/events?after=\(head + 1000)", token: clerk)
            XCTAssertEqual(ahead.status, 409, ahead.text)
            let badHeartbeat = try await api.get("/v1/events?heartbeat=0", token: clerk)
            XCTAssertEqual(badHeartbeat.status, 400, badHeartbeat.text)
            let unauthenticated = try await api.get("/v1/events", token: nil)
            XCTAssertEqual(unauthenticated.status, 401)

            // The other participant's clerk never receives participant one's events.
            let theirs = try Self.expected(node, 1...head) { r, _ in r.participant == Self.two }
            let other = try await open("&after=0", clerkTwo)
            try await other.read(through: theirs.last)
            XCTAssertEqual(other.eventIDs, theirs)
            XCTAssertTrue(Set(other.eventIDs).isDisjoint(with: mine))

            // The operator: every participant's transport events, never a subject or a reference,
            // and no access events.
            let transport = try Self.expected(node, 1...head) { _, e in e.type != "message.accessed" }
            let op = try await open("&after=0", operatorToken)
            try await op.read(through: transport.last)
            XCTAssertEqual(op.eventIDs, transport)
            for f in op.events {
                let d = try XCTUnwrap(f.data?["data"] as? [String: Any])
                XCTAssertNil(d["label"], "event \(f.id!)")
                XCTAssertNil(d["reference"], "event \(f.id!)")
            }

            // The auditor of participant one: all of it, reads included; no subject of a confidential message.
            let audited = try Self.expected(node, 1...head) { r, _ in r.participant == Self.one }
            let audit = try await open("&after=0", auditor)
            try await audit.read(through: audited.last)
            XCTAssertEqual(audit.eventIDs, audited)
            XCTAssertTrue(audit.events.contains { $0.event == "se.sdk.message.accessed" })
            var confidential = 0
            for f in audit.events {
                let d = try XCTUnwrap(f.data?["data"] as? [String: Any])
                let record = try XCTUnwrap(try NodeStateProjection.message(try XCTUnwrap(d["message_id"] as? String), in: node.projections.storage))
                if record.confidential {
                    confidential += 1
                    XCTAssertNil(d["label"], "confidential message \(record.id), event \(f.id!)")
                    XCTAssertNil(d["reference"])
                }
            }
            XCTAssertGreaterThan(confidential, 0)

            // Live: the clerk's stream is open while more happens; it reads everything up to now,
            // then the grant is revoked and nothing more arrives.
            let socialGrant = try await grant("197001011234", .mailbox(FunctionalAddress(participant: Self.one, function: "socialtjansten")), [.read])
            let opened = try ledger.durableHead()
            let live = try await open("", clerk)
            try await burst(2)
            let now = try ledger.durableHead()
            let before = try Self.expected(node, (opened + 1)...now) { r, _ in r.participant == Self.one }
            XCTAssertFalse(before.isEmpty)
            try await live.read(through: before.last)
            XCTAssertEqual(live.eventIDs, before)
            let revocation = try await admin.revoke(clerkGrant.id, reason: "slutat", by: OSUser.principal())
            let revokedAt = try XCTUnwrap(revocation.revocation?.seq)
            try await burst(2)
            let end = try ledger.durableHead()
            let after = try Self.expected(node, (revokedAt + 1)...end) { r, _ in r.mailbox?.function == "socialtjansten" && r.participant == Self.one }
            XCTAssertFalse(after.isEmpty)
            var heartbeats = 0
            try await live.read { r in
                if r.frames.last?.comment == "heartbeat", r.eventIDs.last == after.last { heartbeats += 1 }
                return heartbeats >= 2
            }
            // A heartbeat names the position reached: the ledger's head, past the events it could not see.
            XCTAssertEqual(live.frames.last?.comment, "heartbeat")
            XCTAssertEqual(live.frames.last?.id, end)
            XCTAssertEqual(live.eventIDs, before + after, "registrator's events end at the revocation (seq \(revokedAt)); the other grant goes on")
            // Replaying the past after the revocation shows nothing of the revoked mailbox.
            let replay = try await open("&after=0", clerk)
            let social = try Self.expected(node, 1...end) { r, e in
                r.mailbox?.function == "socialtjansten" && r.participant == Self.one && e.seq > socialGrant.id
            }
            try await replay.read(through: social.last)
            XCTAssertEqual(replay.eventIDs, social, "only the grant in force now, from its seq on")
        } catch {
            await api.stop()
            await node.close()
            throw error
        }
        await api.stop()
        await node.close()
    }

    /// Streams are bounded per caller (429 beyond, and the place is given back when a stream is
    /// released), and a caller whose grants show no events (send only) is refused.
    func testStreamLimitsAndRefusals() async throws {
        let base = try NodeFixture.scratch("events-limits")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try await NodeFixture.apiNode(in: base, Self.participants)
        let admin = GrantAdministration(access: node.access)
        _ = try await admin.grant(.init(grantee: PrincipalName(kind: .pnr, value: "197001011234"), scope: .mailbox(Self.registrator), rights: [.read],
                                        reason: "test"), by: OSUser.principal())
        _ = try await admin.grant(.init(grantee: PrincipalName(kind: .pnr, value: "196001011234"), scope: .mailbox(Self.registrator), rights: [.send],
                                        reason: "test"), by: OSUser.principal())
        _ = try await admin.grant(.init(grantee: PrincipalName(kind: .pnr, value: "195001011234"), scope: .node, rights: [.operate],
                                        reason: "test"), by: OSUser.principal())
        let issuer = try NodeIdentity.developmentIssuer(config: node.config, directory: node.directory)
        let clerk = try await issuer.mint(subject: "clerk", claims: [Self.pnrClaim: .string("197001011234")])
        let sender = try await issuer.mint(subject: "sender", claims: [Self.pnrClaim: .string("196001011234")])
        let operatorToken = try await issuer.mint(subject: "operator", claims: [Self.pnrClaim: .string("195001011234")])
        let api = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt") { $0.streamsPerCaller = 2 }
        func openStreams() async throws -> Int? {
            let metrics = try await api.get("/metrics", token: operatorToken)
            let line = metrics.text.split(separator: "\n").first { $0.hasPrefix("kvitto_event_streams_open ") }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) }
        }
        do {
            let refused = try await api.get("/v1/events", token: sender)
            XCTAssertEqual(refused.status, 403, "send only shows no events: \(refused.text)")
            let first = Reader(try await api.open("/v1/events?heartbeat=1", token: clerk))
            try await first.read { $0.frames.count >= 1 }
            // A heartbeat a minute: the node has nothing to write to it within this test. Its
            // client is another process (openssl s_client), killed below: the kernel closes its
            // connection (AsyncHTTPClient would close it only when more data arrives).
            let second = Process()
            second.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            second.arguments = ["s_client", "-quiet", "-connect", "127.0.0.1:\(api.port)", "-CAfile", base + "/node/pki/ca.crt"]
            let input = Pipe()
            second.standardInput = input
            second.standardOutput = FileHandle.nullDevice
            second.standardError = FileHandle.nullDevice
            try second.run()
            defer { if second.isRunning { second.terminate() } }
            input.fileHandleForWriting.write(Data("GET /v1/events?heartbeat=60 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(clerk)\r\n\r\n".utf8))
            var open = try await openStreams()
            for _ in 0..<50 where open != 2 {
                try await Task.sleep(nanoseconds: 100_000_000)
                open = try await openStreams()
            }
            XCTAssertEqual(open, 2, "the metric counts the open streams")
            let third = try await api.get("/v1/events", token: clerk)
            XCTAssertEqual(third.status, 429, third.text)
            XCTAssertEqual(third.code, "node.too_many_streams")
            XCTAssertTrue(third.contentType.hasPrefix("application/problem+json"))
            // The second stream's client goes away: its place is free as soon as its connection
            // closes, not at the node's next write to it (a minute away).
            kill(second.processIdentifier, SIGKILL)
            second.waitUntilExit()
            for _ in 0..<25 where open != 1 {
                try await Task.sleep(nanoseconds: 200_000_000)
                open = try await openStreams()
            }
            XCTAssertEqual(open, 1, "a stream whose client went away is closed at once")
            var status: UInt = 0
            for _ in 0..<25 where status != 200 {
                try await Task.sleep(nanoseconds: 200_000_000)
                let r = try await api.open("/v1/events?heartbeat=1", token: clerk, seconds: 5)
                status = r.status.code
            }
            XCTAssertEqual(status, 200, "a released stream gives its place back")
            _ = first
        } catch {
            await api.stop()
            await node.close()
            throw error
        }
        await api.stop()
        await node.close()
    }

    /// Acceptance: an independent subscriber, SIGKILLed at random moments during a 10k-event
    /// burst and started again each time, ends with every event it may see exactly once, in order.
    func testAnIndependentSubscriberKilledDuringABurstEndsWithEveryEventOnce() async throws {
        let base = try NodeFixture.scratch("events-resume")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try await NodeFixture.apiNode(in: base, Self.participants)
        let token = try await Self.clerkToken(node, .participant(Self.one))
        // A small window: a resumed subscriber often starts behind it and reads the ledger, and
        // the window is trimmed all the time.
        let api = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt") { $0.eventWindow = 64 }
        let record = base + "/received.txt", until = base + "/until.txt", log = base + "/subscriber.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let python = NodeFixture.projectRoot.appendingPathComponent(".venv/bin/python").path
        let script = NodeFixture.projectRoot.appendingPathComponent("Tests/interop/sse_subscriber.py").path
        let schema = NodeFixture.projectRoot.appendingPathComponent("Schemas/event-data.schema.json").path
        func start() throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = [script, "--url", "https://127.0.0.1:\(api.port)/v1/events?heartbeat=1", "--token", token,
                           "--ca", base + "/node/pki/ca.crt", "--record", record, "--until", until, "--schema", schema, "--seconds", "180"]
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            handle.seekToEndOfFile()
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            return p
        }
        var subscriber = try start()
        var kills = 0
        do {
            let first = try node.ledger.durableHead()
            var histories = [SyntheticHistory(.init(participant: Self.one, functions: Self.functions, counterparts: 10, seed: 7)),
                             SyntheticHistory(.init(participant: Self.two, functions: Self.functions, counterparts: 10, seed: 8))]
            var random = SeededRandom(seed: 99)
            var appended = 0
            while appended < 10_000 {
                for i in histories.indices {
                    let events = try await node.ledger.append(histories[i].next(100))
                    histories[i].appended(events)
                    appended += events.count
                }
                if random.chance(0.08), kills < 25 {
                    kill(subscriber.processIdentifier, SIGKILL)
                    subscriber.waitUntilExit()
                    kills += 1
                    subscriber = try start()
                }
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            let end = try node.ledger.durableHead()
            let expected = try Self.expected(node, (first + 1)...end) { r, _ in r.participant == Self.one }
            XCTAssertGreaterThan(expected.count, 2000)
            try String(try XCTUnwrap(expected.last)).write(toFile: until, atomically: true, encoding: .utf8)
            // Bounded: the subscriber is started again whenever its stream ends early.
            let deadline = Date().addingTimeInterval(180)
            while true {
                while subscriber.isRunning, Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
                if subscriber.isRunning { kill(subscriber.processIdentifier, SIGKILL); subscriber.waitUntilExit() }
                let status = subscriber.terminationStatus
                if status == 0 { break }
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                guard status == 3, Date() < deadline else { throw NodeError(.storage, "subscriber exit \(status): \(output.suffix(3000))") }
                subscriber = try start()
            }
            let lines = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n")
            let ids = lines.compactMap { UInt64($0.split(separator: " ")[0]) }
            let missing = try Set(expected).subtracting(ids).sorted().prefix(10).map { s in try node.ledger.event(s).map { "\($0.seq) \($0.type) \($0.subject)" } ?? "" }
            let extra = Set(ids).subtracting(expected).sorted().prefix(10)
            let connects = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains("connecting") }
            XCTAssertTrue(missing.isEmpty && extra.isEmpty, "missing \(missing), extra \(Array(extra)); \(connects)")
            XCTAssertEqual(ids, expected, "every event once, in ledger order, after \(kills) kills")
            XCTAssertGreaterThan(kills, 3)
        } catch {
            if subscriber.isRunning { kill(subscriber.processIdentifier, SIGKILL) }
            await api.stop()
            await node.close()
            throw error
        }
        await api.stop()
        await node.close()
    }
}
