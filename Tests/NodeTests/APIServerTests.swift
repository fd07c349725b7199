import API
import AsyncHTTPClient
import Foundation
import Identity
import Ledger
import Node
import NIOCore
import NIOHTTP1
import NIOSSL
import Projections
import XCTest

/// The HTTP API over real TLS on 127.0.0.1, with tokens from the node's development issuer: every
/// request authenticated, every answer under the grants, content read audit-first, another
/// participant's message answered exactly like a missing one.
final class APIServerTests: XCTestCase {
    static let p1 = FunctionalAddress(participant: "0203:one.example.se", function: "kansli")
    static let p2 = FunctionalAddress(participant: "0203:two.example.se", function: "kansli")

    struct Answer {
        var status: UInt
        var contentType: String
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    }

    func testTheAPIAuthenticatesAuthorisesAndRecordsReads() async throws {
        let base = try NodeFixture.scratch("api")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let (p1, p2) = (Self.p1, Self.p2)
        try await NodeFixture.sharedAndOther(in: base, p1, p2)
        let node = try NodeFixture.open(base + "/shared")
        let remote = try NodeFixture.open(base + "/other")
        let (toOne, toTwo) = try await NodeFixture.deliverOneEach(node, from: remote, p1, p2, attachment: Array("bilaga ett".utf8))

        let issuer = try NodeIdentity.developmentIssuer(config: node.config, directory: node.directory)
        let pnrClaim = "https://id.oidc.se/claim/personalIdentityNumber"
        let loa3: ClaimValue = "http://id.elegnamnden.se/loa/1.0/loa3"
        let anna = try await issuer.mint(subject: "anna", claims: [pnrClaim: "197001011234", "acr": loa3])
        let bo = try await issuer.mint(subject: "bo", claims: [pnrClaim: "198002022345", "acr": loa3])
        let annaWeak = try await issuer.mint(subject: "anna", claims: [pnrClaim: "197001011234"])
        let drift = try await issuer.mint(subject: "drift", claims: [:])
        let expired = try await issuer.mint(subject: "anna", claims: [pnrClaim: "197001011234", "acr": loa3], lifetime: 60,
                                            now: Date().timeIntervalSince1970 - 3600)
        let admin = GrantAdministration(access: node.access)
        let annaGrant = try await admin.grant(.init(grantee: PrincipalName(kind: .pnr, value: "197001011234"), scope: .mailbox(p1),
                                                    rights: [.read], reason: "handläggare"), by: OSUser.principal())
        _ = try await admin.grant(.init(grantee: PrincipalName(kind: .pnr, value: "198002022345"), scope: .mailbox(p1),
                                        rights: [.read], reason: "handläggare"), by: OSUser.principal())
        _ = try await admin.grant(.init(grantee: PrincipalName(kind: .sub, value: issuer.config.issuer + "#drift"), scope: .node,
                                        rights: [.operate], reason: "drift"), by: OSUser.principal())

        var logger = node.logger
        logger.logLevel = .critical
        var configured = try XCTUnwrap(try APIServer.configured(for: node, port: 0, logger: logger))
        // No event stream: its feed would catch the projections up, and this test watches them behind.
        configured.streamsEnabled = false
        let server = configured
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let serverTask = Task { try await server.run { port in portContinuation.yield(port) } }
        var ports = portStream.makeAsyncIterator()
        let first = await ports.next()
        let port = try XCTUnwrap(first)

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(base + "/shared/pki/ca.crt")
        tls.certificateVerification = .fullVerification
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        func get(_ path: String, _ token: String?, method: HTTPMethod = .GET, accept: String? = nil, range: String? = nil) async throws -> Answer {
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)" + path)
            request.method = method
            if let token { request.headers.add(name: "Authorization", value: "Bearer " + token) }
            if let accept { request.headers.add(name: "Accept", value: accept) }
            if let range { request.headers.add(name: "Range", value: range) }
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 10 << 20)
            var headers: [String: String] = [:]
            for h in response.headers { headers[h.name.lowercased()] = h.value }
            return Answer(status: response.status.code, contentType: response.headers.first(name: "content-type") ?? "",
                          headers: headers, body: Array(body.readableBytesView))
        }
        func escape(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "@:"))) ?? s }

        do {
            // Health needs no token; everything else does, and a refused token is a problem document.
            let live = try await get("/health/live", nil)
            XCTAssertEqual(live.status, 200)
            // Ready only once the projections have caught up with the ledger (here nothing runs
            // the follower, so the test catches up by hand).
            let behind = try await get("/health/ready", nil)
            XCTAssertEqual(behind.status, 503, behind.text)
            XCTAssertEqual(behind.json["status"] as? String, "catching_up")
            _ = try node.projections.catchUp()
            let ready = try await get("/health/ready", nil)
            XCTAssertEqual(ready.status, 200, ready.text)
            for (token, code) in [(nil, "auth.missing_token"), ("abc", "auth.malformed_token"), (expired, "auth.expired")] as [(String?, String)] {
                let r = try await get("/v1/mailboxes", token)
                XCTAssertEqual(r.status, 401, r.text)
                XCTAssertEqual(r.contentType, "application/problem+json")
                XCTAssertEqual(r.json["code"] as? String, code)
                // RFC 6750: no error code when the request carried no token.
                XCTAssertEqual(r.headers["www-authenticate"], token == nil ? "Bearer" : "Bearer error=\"invalid_token\"")
            }

            let who = try await get("/v1/whoami", anna)
            XCTAssertEqual(who.json["actor"] as? String, "pnr:197001011234", who.text)
            let mailboxes = try await get("/v1/mailboxes", anna)
            let listed = (mailboxes.json["mailboxes"] as? [[String: Any]] ?? []).compactMap { $0["address"] as? String }
            XCTAssertEqual(listed, [p1.description], "anna's grants show her one mailbox only")

            let page = try await get("/v1/mailboxes/\(escape(p1.description))/messages", anna)
            let rows = page.json["messages"] as? [[String: Any]] ?? []
            XCTAssertEqual(rows.map { $0["id"] as? String }, [toOne], page.text)
            XCTAssertEqual(rows.first?["label"] as? String, "Ansökan Malmö")
            let found = try await get("/v1/mailboxes/\(escape(p1.description))/messages?q=malmo", anna)
            XCTAssertEqual((found.json["messages"] as? [[String: Any]])?.count, 1, found.text)
            let notFound = try await get("/v1/mailboxes/\(escape(p1.description))/messages?q=lund", anna)
            XCTAssertEqual((notFound.json["messages"] as? [[String: Any]])?.count, 0, notFound.text)

            // Methods the document does not list are 405; an Accept the operation cannot answer is
            // 406 before anything is read or recorded.
            let post = try await get("/v1/mailboxes", anna, method: .POST)
            XCTAssertEqual(post.status, 405)
            XCTAssertEqual(post.headers["allow"], "GET")
            let head = try await get("/v1/messages/\(toOne)/content", anna, method: .HEAD)
            XCTAssertEqual(head.status, 405, "HEAD would record a read and send nothing")
            let before406 = try node.ledger.durableHead()
            let wrongAccept = try await get("/v1/messages/\(toOne)/content", anna, accept: "text/plain")
            XCTAssertEqual(wrongAccept.status, 406, wrongAccept.text)
            XCTAssertEqual(try node.ledger.durableHead(), before406, "no read was recorded")

            // asOf: the message as it stood when it was first received, and before it existed.
            let now = try await get("/v1/messages/\(toOne)", anna)
            let firstSeq = try XCTUnwrap((now.json["event_seqs"] as? [Int])?.first)
            let then = try await get("/v1/messages/\(toOne)?asOf=\(firstSeq)", anna)
            XCTAssertEqual(then.json["status"] as? String, "received", then.text)
            XCTAssertEqual((then.json["event_seqs"] as? [Int]) ?? [], [firstSeq])
            let thenTrace = try await get("/v1/messages/\(toOne)/trace?asOf=\(firstSeq)", anna)
            XCTAssertEqual((thenTrace.json["events"] as? [[String: Any]])?.count, 1, thenTrace.text)
            let before = try await get("/v1/messages/\(toOne)?asOf=\(firstSeq - 1)", anna)
            XCTAssertEqual(before.status, 404)
            let beforePage = try await get("/v1/mailboxes/\(escape(p1.description))/messages?asOf=\(firstSeq - 1)", anna)
            XCTAssertEqual((beforePage.json["messages"] as? [[String: Any]])?.count, 0, beforePage.text)
            let ahead = try await get("/v1/messages/\(toOne)?asOf=999999999", anna)
            XCTAssertEqual(ahead.status, 409, ahead.text)
            let twoAsOperator = try await get("/v1/messages/\(toTwo)", drift)
            let twoSeq = try XCTUnwrap((twoAsOperator.json["event_seqs"] as? [Int])?.last)
            let theirsThen = try await get("/v1/messages/\(toTwo)?asOf=\(twoSeq)", anna)
            let missingThen = try await get("/v1/messages/00000000-0000-0000-0000-000000000000?asOf=\(twoSeq)", anna)
            XCTAssertEqual(theirsThen.status, 404, "asOf does not open another participant's message")
            XCTAssertEqual(theirsThen.text.replacingOccurrences(of: toTwo, with: "00000000-0000-0000-0000-000000000000"), missingThen.text)
            let searchThen = try await get("/v1/mailboxes/\(escape(p1.description))/messages?q=malmo&asOf=\(firstSeq)", anna)
            XCTAssertEqual((searchThen.json["messages"] as? [[String: Any]])?.first?["status"] as? String, "received", searchThen.text)
            let searchBefore = try await get("/v1/mailboxes/\(escape(p1.description))/messages?q=malmo&asOf=\(firstSeq - 1)", anna)
            XCTAssertEqual((searchBefore.json["messages"] as? [[String: Any]])?.count, 0, searchBefore.text)

            // Participant two's message and mailbox are "not found", word for word as a missing id.
            let missing = "00000000-0000-0000-0000-000000000000"
            for suffix in ["", "/trace", "/content", "/attachments/0"] {
                let theirs = try await get("/v1/messages/\(toTwo)\(suffix)", anna)
                let none = try await get("/v1/messages/\(missing)\(suffix)", anna)
                XCTAssertEqual(theirs.status, 404, "\(suffix): \(theirs.text)")
                XCTAssertEqual(none.status, 404, "\(suffix): \(none.text)")
                XCTAssertEqual(theirs.text.replacingOccurrences(of: toTwo, with: missing), none.text, suffix)
            }
            let otherBox = try await get("/v1/mailboxes/\(escape(p2.description))/messages", anna)
            let noBox = try await get("/v1/mailboxes/\(escape("kansli@0203:none.example.se"))/messages", anna)
            XCTAssertEqual(otherBox.status, 404)
            XCTAssertEqual(otherBox.text.replacingOccurrences(of: p2.participant, with: "0203:none.example.se"), noBox.text)

            // Read or unread is per person: nobody has read the message yet.
            func readSeq(_ token: String, asOf: UInt64? = nil) async throws -> (listed: Int?, metadata: Int?) {
                let position = asOf.map { "?asOf=\($0)" } ?? ""
                let page = try await get("/v1/mailboxes/\(escape(p1.description))/messages" + position, token)
                let row = (page.json["messages"] as? [[String: Any]])?.first { $0["id"] as? String == toOne }
                XCTAssertNotNil(row, page.text)
                let metadata = try await get("/v1/messages/\(toOne)" + position, token)
                XCTAssertEqual(metadata.status, 200, metadata.text)
                return (row?["read_seq"] as? Int, metadata.json["read_seq"] as? Int)
            }
            do { let unread = try await readSeq(anna); XCTAssertNil(unread.listed); XCTAssertNil(unread.metadata) }

            // Content: a weak login may list but not read; a strong one reads, recorded first.
            let weak = try await get("/v1/messages/\(toOne)/content", annaWeak)
            XCTAssertEqual(weak.status, 403, weak.text)
            XCTAssertEqual(weak.json["code"] as? String, "node.forbidden")
            let content = try await get("/v1/messages/\(toOne)/content?purpose=%C3%A4rende%202026-14", anna)
            XCTAssertEqual(content.status, 200, content.text)
            XCTAssertEqual(content.contentType, "application/xml")
            XCTAssertTrue(content.text.contains("Ansökan Malmö"))
            let accessSeq = try XCTUnwrap(content.headers["kvitto-access-seq"].flatMap(UInt64.init))
            let accessed = try XCTUnwrap(try node.ledger.event(accessSeq))
            XCTAssertEqual(accessed.type, "message.accessed")
            XCTAssertEqual(accessed.actor, "pnr:197001011234")
            XCTAssertEqual(accessed.payload["interface"], "api")
            XCTAssertEqual(accessed.payload["purpose"], "ärende 2026-14")
            // Now read by Anna (from that seq on), still unread by Bo.
            do {
                let read = try await readSeq(anna)
                XCTAssertEqual(read.listed, Int(accessSeq))
                XCTAssertEqual(read.metadata, Int(accessSeq))
                let before = try await readSeq(anna, asOf: accessSeq - 1)
                XCTAssertNil(before.listed, "as of before the read it was unread")
                XCTAssertNil(before.metadata)
                let bos = try await readSeq(bo)
                XCTAssertNil(bos.listed, "another person's read is not Bo's")
                XCTAssertNil(bos.metadata)
            }
            let attachment = try await get("/v1/messages/\(toOne)/attachments/0", anna)
            XCTAssertEqual(attachment.text, "bilaga ett")
            // As written (the generated layer would send header values percent-encoded).
            XCTAssertEqual(attachment.headers["content-disposition"], "attachment; filename=\"bilaga.txt\"; filename*=UTF-8''bilaga.txt")
            XCTAssertEqual(attachment.headers["accept-ranges"], "bytes")
            // Byte ranges of an attachment: one range is answered 206 and recorded with the range.
            for (asked, bytes, contentRange) in [("bytes=2-4", "lag", "bytes 2-4/10"), ("bytes=-3", "ett", "bytes 7-9/10"),
                                                 ("bytes=7-", "ett", "bytes 7-9/10"), ("bytes=8-99", "tt", "bytes 8-9/10")] {
                let part = try await get("/v1/messages/\(toOne)/attachments/0", anna, range: asked)
                XCTAssertEqual(part.status, 206, "\(asked): \(part.text)")
                XCTAssertEqual(part.text, bytes, asked)
                XCTAssertEqual(part.headers["content-range"], contentRange, asked)
                let seq = try XCTUnwrap(part.headers["kvitto-access-seq"].flatMap(UInt64.init))
                XCTAssertEqual(try node.ledger.event(seq)?.payload["range"]?.stringValue,
                               String(contentRange.dropFirst(6).prefix { $0 != "/" }), asked)
            }
            // A list of ranges or another unit is ignored: the whole attachment.
            for ignored in ["bytes=0-1,3-4", "items=0-1", "bytes=4-2"] {
                let whole = try await get("/v1/messages/\(toOne)/attachments/0", anna, range: ignored)
                XCTAssertEqual(whole.status, 200, ignored)
                XCTAssertEqual(whole.text, "bilaga ett", ignored)
            }
            // Beyond the end: 416 with the size, nothing read or recorded.
            let reads = try NodeFixture.events(node, "message.accessed").count
            let beyond = try await get("/v1/messages/\(toOne)/attachments/0", anna, range: "bytes=10-")
            XCTAssertEqual(beyond.status, 416, beyond.text)
            XCTAssertEqual(beyond.headers["content-range"], "bytes */10")
            XCTAssertEqual(try NodeFixture.events(node, "message.accessed").count, reads)
            // …and a caller who may not read learns nothing of the size.
            let boRange = try await get("/v1/messages/\(toOne)/attachments/0", annaWeak, range: "bytes=10-")
            XCTAssertEqual(boRange.status, 403, boRange.text)
            XCTAssertNil(boRange.headers["content-range"])
            let trace = try await get("/v1/messages/\(toOne)/trace", anna)
            let types = (trace.json["events"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            XCTAssertTrue(types.contains("message.received") && types.contains("message.accessed"), "\(types)")
            XCTAssertTrue(try NodeFixture.events(node, "access.denied").contains {
                $0.actor == "pnr:197001011234" && $0.subject == "message:\(toOne)" && $0.payload["reason"] == "weak_authentication"
            }, "the weak read was refused and recorded")

            // The operator sees transport metadata of every participant, never subjects or content.
            let opView = try await get("/v1/messages/\(toTwo)", drift)
            XCTAssertEqual(opView.status, 200, opView.text)
            XCTAssertNil(opView.json["label"])
            XCTAssertEqual(opView.json["visibility"] as? String, "transport")
            let opTrace = try await get("/v1/messages/\(toTwo)/trace", drift)
            XCTAssertEqual(opTrace.status, 200, opTrace.text)
            XCTAssertFalse((opTrace.json["events"] as? [[String: Any]] ?? []).isEmpty)
            XCTAssertFalse(opTrace.text.contains("Hemligt"), opTrace.text)
            let opContent = try await get("/v1/messages/\(toTwo)/content", drift)
            XCTAssertEqual(opContent.status, 403)
            let opSearch = try await get("/v1/mailboxes/\(escape(p2.description))/messages?q=hemligt", drift)
            XCTAssertEqual(opSearch.status, 403)

            // Metrics for the operator (operate on the node), refused to a mailbox user.
            let metrics = try await get("/metrics", drift)
            XCTAssertEqual(metrics.status, 200, metrics.text)
            XCTAssertTrue(metrics.text.contains("kvitto_ledger_events_total{type=\"message.accessed\"}"), metrics.text)
            XCTAssertTrue(metrics.text.contains("\nkvitto_retry_queue_depth "), metrics.text)
            XCTAssertTrue(metrics.text.contains("kvitto_projection_lag_events{projection=\"node\"}"), metrics.text)
            XCTAssertFalse(metrics.text.contains("kvitto_event_streams_open"), "this API streams no events: \(metrics.text)")
            // Each configured certificate's time to expiry: init's certificates last a year or more.
            let expiry = try XCTUnwrap(metrics.text.split(separator: "\n").first { $0.hasPrefix("kvitto_certificate_expiry_seconds{certificate=\"as4\"}") })
            XCTAssertGreaterThan(Double(expiry.split(separator: " ").last ?? "") ?? 0, 300 * 86_400, String(expiry))
            let annaMetrics = try await get("/metrics", anna)
            XCTAssertEqual(annaMetrics.status, 403, annaMetrics.text)

            // Evidence bundles: the bytes as written (they verify offline), content only with a
            // read grant and strong authentication, recorded as reads; the operator's redacted.
            let bundle = try await get("/v1/messages/\(toOne)/evidence?witness=1", anna)
            XCTAssertEqual(bundle.status, 200, bundle.text)
            XCTAssertEqual(bundle.contentType, "application/octet-stream")
            XCTAssertEqual(bundle.headers["content-disposition"]?.contains("evidence-\(toOne).json"), true)
            let verified = await EvidenceVerifier().verify(bundle.body)
            XCTAssertTrue(verified.ok, verified.text)
            XCTAssertTrue(bundle.text.contains("\"requester\":{\"actor\":\"pnr:197001011234\",\"interface\":\"api\",\"visibility\":\"full\"}"), bundle.text)
            let readsBefore = try NodeFixture.events(node, "message.accessed").count
            let withContent = try await get("/v1/messages/\(toOne)/evidence?content=true&purpose=tillsyn", anna)
            XCTAssertEqual(withContent.status, 200, withContent.text)
            let contentReport = await EvidenceVerifier().verify(withContent.body)
            XCTAssertTrue(contentReport.ok, contentReport.text)
            XCTAssertEqual(contentReport.checks["content"], .proven)
            XCTAssertTrue(withContent.text.contains(Data("bilaga ett".utf8).base64EncodedString()), "the attachment is in the bundle")
            XCTAssertEqual(try NodeFixture.events(node, "message.accessed").count, readsBefore + 2, "message and attachment recorded as reads")
            let weakContent = try await get("/v1/messages/\(toOne)/evidence?content=true", annaWeak)
            XCTAssertEqual(weakContent.status, 403, weakContent.text)
            XCTAssertTrue((weakContent.json["detail"] as? String)?.contains("strong authentication") == true, weakContent.text)
            let weakBundle = try await get("/v1/messages/\(toOne)/evidence", annaWeak)
            XCTAssertEqual(weakBundle.status, 200)
            let hidden = try await get("/v1/messages/\(toTwo)/evidence", anna)
            XCTAssertEqual(hidden.status, 404, "another mailbox's message is not found")
            let badWitness = try await get("/v1/messages/\(toOne)/evidence?witness=0", anna)
            XCTAssertEqual(badWitness.status, 400)
            let opBundle = try await get("/v1/messages/\(toTwo)/evidence", drift)
            XCTAssertEqual(opBundle.status, 200, opBundle.text)
            XCTAssertFalse(opBundle.text.contains("Hemligt"), "no subject for the operator")
            let opReport = await EvidenceVerifier().verify(opBundle.body)
            XCTAssertTrue(opReport.ok, opReport.text)
            XCTAssertEqual(opReport.checks["events"], .stated, "the operator's entries are redacted, so stated")

            // A case system submits with its own credential (client credentials) and a send grant;
            // a retry with the same Idempotency-Key answers with the same message.
            let system = try await issuer.mint(subject: "arende", claims: ["client_id": "arende"])
            _ = try await admin.grant(.init(grantee: PrincipalName(kind: .client, value: issuer.config.issuer + "#arende"), scope: .mailbox(p1),
                                            rights: [.send], reason: "ärendesystem"), by: OSUser.principal())
            func submit(_ body: String, _ token: String, key: String?) async throws -> Answer {
                var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/messages")
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer " + token)
                request.headers.add(name: "Content-Type", value: "application/json")
                if let key { request.headers.add(name: "Idempotency-Key", value: key) }
                request.body = .bytes(ByteBuffer(string: body))
                let response = try await client.execute(request, timeout: .seconds(30))
                let data = try await response.body.collect(upTo: 1 << 20)
                return Answer(status: response.status.code, contentType: response.headers.first(name: "content-type") ?? "", headers: [:],
                              body: Array(data.readableBytesView))
            }
            let submission = """
                {"from": "\(p1)", "to": "\(NodeFixture.b)", "label": "Svar från ett", "texts": ["Hej"],
                 "attachments": [{"file_name": "svar.txt", "content_type": "text/plain", "content_base64": "c3Zhcg=="}]}
                """
            let made = try await submit(submission, system, key: "ärende-14-svar")
            XCTAssertEqual(made.status, 201, made.text)
            let madeID = try XCTUnwrap(made.json["id"] as? String)
            let again = try await submit(submission, system, key: "ärende-14-svar")
            XCTAssertEqual(again.status, 200, again.text)
            XCTAssertEqual(again.json["id"] as? String, madeID, "the retry made no second message")
            XCTAssertEqual(try NodeFixture.events(node, "message.submitted").filter { $0.actor == "client:\(issuer.config.issuer)#arende" }.count, 1)
            let other = try await submit(submission, system, key: "ärende-15")
            XCTAssertEqual(other.status, 201)
            XCTAssertNotEqual(other.json["id"] as? String, madeID)
            let notAllowed = try await submit(submission, anna, key: "ärende-14-svar")
            XCTAssertEqual(notAllowed.status, 403, "anna may read p1, not send from it")
            let broken = try await submit("{\"from\": 1}", system, key: nil)
            XCTAssertEqual(broken.status, 400, broken.text)

            // Multipart: the attachments as files, sent by curl (a client we did not write). Binary
            // bytes that look like boundaries and line ends arrive exactly; a request whose parts do
            // not match the message part is refused whole (422, nothing recorded).
            var generator = SystemRandomNumberGenerator()
            var pdf = (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for at in stride(from: 1000, to: pdf.count - 100, by: 65_537) { pdf.replaceSubrange(at..<(at + 6), with: Array("\r\n--\r\n".utf8)) }
            try Data(pdf).write(to: URL(fileURLWithPath: base + "/beslut.pdf"))
            try Data("Kort text\n".utf8).write(to: URL(fileURLWithPath: base + "/tom.txt"))
            func curl(_ message: String, _ files: [String], token: String) throws -> (status: Int, body: String) {
                try message.write(toFile: base + "/message.json", atomically: true, encoding: .utf8)
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
                p.arguments = ["-sS", "--max-time", "60", "--cacert", base + "/shared/pki/ca.crt", "-H", "Authorization: Bearer " + token,
                               "-F", "message=<\(base)/message.json;type=application/json"] + files.flatMap { ["-F", $0] }
                    + ["-w", "\n%{http_code}", "https://127.0.0.1:\(port)/v1/messages"]
                let out = Pipe()
                p.standardOutput = out
                try p.run()
                let data = out.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                let text = String(decoding: data, as: UTF8.self)
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                return (Int(lines.last ?? "") ?? -1, lines.dropLast().joined(separator: "\n"))
            }
            let withFiles = #"{"from": "\#(p1)", "to": "\#(NodeFixture.b)", "label": "Beslut med bilagor", "attachments": [{"file_name": "beslut.pdf", "content_type": "application/pdf"}, {"file_name": "tom.txt", "content_type": "text/plain"}]}"#
            let submittedBefore = try NodeFixture.events(node, "message.submitted").count
            for (files, why) in [([base + "/beslut.pdf"], "one part for two listed attachments"),
                                 ([base + "/tom.txt", base + "/beslut.pdf"], "parts in another order than listed"),
                                 ([base + "/beslut.pdf", base + "/tom.txt", base + "/tom.txt"], "a part too many")] {
                let r = try curl(withFiles, files.map { "attachment=@" + $0 }, token: system)
                XCTAssertEqual(r.status, 422, "\(why): \(r.body)")
            }
            do {
                let r = try curl(withFiles, ["attachment=@\(base)/beslut.pdf", "attachment=@\(base)/tom.txt", "extra=x"], token: system)
                XCTAssertEqual(r.status, 400, "an undocumented part: \(r.body)")
                XCTAssertTrue(r.body.contains("http.invalid_request") || r.body.contains("node.invalid_request"), r.body)
            }
            XCTAssertEqual(try NodeFixture.events(node, "message.submitted").count, submittedBefore, "a refused multipart submission recorded nothing")
            let multipart = try curl(withFiles, ["attachment=@\(base)/beslut.pdf;type=application/pdf", "attachment=@\(base)/tom.txt;type=text/plain"],
                                     token: system)
            XCTAssertEqual(multipart.status, 201, multipart.body)
            let multipartID = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(multipart.body.utf8)) as? [String: Any])?["id"] as? String)
            let first = try await get("/v1/messages/\(multipartID)/attachments/0", anna)
            XCTAssertEqual(first.status, 200)
            XCTAssertTrue(first.body == pdf, "the 3 MiB file arrived altered (\(first.body.count) bytes)")
            let second = try await get("/v1/messages/\(multipartID)/attachments/1", anna)
            XCTAssertEqual(second.status, 200)
            XCTAssertEqual(second.text, "Kort text\n")
            let view = try await get("/v1/messages/\(multipartID)", anna)
            let listedFiles = (view.json["attachments"] as? [[String: Any]])?.map { "\($0["file_name"] ?? "")|\($0["content_type"] ?? "")" }
            XCTAssertEqual(listedFiles, ["beslut.pdf|application/pdf", "tom.txt|text/plain"], view.text)
            let submitted = try await get("/v1/messages/\(madeID)", anna)
            XCTAssertEqual(submitted.json["label"] as? String, "Svar från ett", submitted.text)
            // Conversations and references: a new message starts its own conversation; an answer in it
            // with a case number is listed with it and found by the number.
            XCTAssertEqual(submitted.json["conversation_id"] as? String, madeID, submitted.text)
            let reply = try await submit("""
                {"from": "\(p1)", "to": "\(NodeFixture.b)", "label": "Komplettering", "texts": ["Bifogas"],
                 "reference": "Dnr 2026/714", "conversation_id": "\(madeID)"}
                """, system, key: "ärende-14-komplettering")
            XCTAssertEqual(reply.status, 201, reply.text)
            let replyID = try XCTUnwrap(reply.json["id"] as? String)
            let thread = try await get("/v1/mailboxes/\(escape(p1.description))/messages?conversation=\(madeID)", anna)
            XCTAssertEqual(thread.status, 200, thread.text)
            XCTAssertEqual((thread.json["messages"] as? [[String: Any]])?.compactMap { $0["id"] as? String }, [replyID, madeID], thread.text)
            let byNumber = try await get("/v1/mailboxes/\(escape(p1.description))/messages?q=2026%2F714", anna)
            XCTAssertEqual((byNumber.json["messages"] as? [[String: Any]])?.compactMap { $0["id"] as? String }, [replyID], byNumber.text)
            let replyView = try await get("/v1/messages/\(replyID)", anna)
            XCTAssertEqual(replyView.json["reference"] as? String, "Dnr 2026/714", replyView.text)
            XCTAssertEqual(replyView.json["conversation_id"] as? String, madeID)
            let inboundView = try await get("/v1/messages/\(toOne)", anna)
            XCTAssertEqual(inboundView.json["conversation_id"] as? String, toOne, "an opened inbound message has the sender's conversation")
            let both = try await get("/v1/mailboxes/\(escape(p1.description))/messages?conversation=\(madeID)&q=svar", anna)
            XCTAssertEqual(both.status, 422, both.text)
            let opThread = try await get("/v1/messages/\(replyID)", drift)
            XCTAssertNil(opThread.json["reference"], "the operator sees no case numbers")

            // Content is streamed and checked against its hash as it goes: an attachment altered
            // on disk is cut off, never delivered whole.
            let record = try XCTUnwrap(try NodeStateProjection.message(toOne, in: node.projections.storage))
            let altered = try node.ledger.alterStoredBlob(record.attachments[0].blob.sha256)
            do {
                let cut = try await get("/v1/messages/\(toOne)/attachments/0", bo)
                XCTAssertNotEqual(cut.body, Array(altered), "an altered attachment was delivered whole")
            } catch {
                // The connection was closed before the end: what a client must see.
            }
            do {
                let cutRange = try await get("/v1/messages/\(toOne)/attachments/0", bo, range: "bytes=0-2")
                XCTAssertNotEqual(cutRange.body, Array(altered[0...2]), "a range of an altered attachment was delivered whole")
            } catch {
                // Cut off too: the whole attachment is checked before the range's last byte leaves.
            }

            // A revoked grant stops access from the revocation on.
            _ = try await admin.revoke(annaGrant.id, reason: "slutat", by: OSUser.principal())
            let revokedView = try await get("/v1/messages/\(toOne)", anna)
            XCTAssertEqual(revokedView.status, 404)
            let revokedContent = try await get("/v1/messages/\(toOne)/content", anna)
            XCTAssertEqual(revokedContent.status, 404)
            let revokedThen = try await get("/v1/messages/\(toOne)?asOf=\(firstSeq)", anna)
            XCTAssertEqual(revokedThen.status, 404, "an asOf before the revocation does not resurrect the grant for reads today")
        } catch {
            XCTFail("\(error)")
        }
        serverTask.cancel()
        _ = await serverTask.result
        let directory = node.directory, participants = node.config.participants
        await node.close()

        // Audit-first over HTTP: with the ledger refusing appends (opened read-only), a content
        // read by a reader in good standing answers 503 and not one byte of the content.
        var options = LedgerOptions()
        options.readOnly = true
        let ledger = try Ledger.open(at: directory + "/ledger", options: options)
        defer { ledger.close() }
        let frozen = MessageAccess(ledger: ledger, projections: try NodeProjectionStore.open(node: directory, ledger: ledger),
                                   denials: AccessDenials { _ in },
                                   vault: ContentVault(config: try NodeConfig.load(directory: directory), directory: directory, blobs: ledger.blobs))
        let frozenServer = APIServer(access: frozen, participants: participants, verifier: server.verifier, host: "127.0.0.1", port: 0,
                                     tls: server.tls, logger: logger)
        let (frozenPorts, frozenContinuation) = AsyncStream.makeStream(of: Int.self)
        let frozenTask = Task { try await frozenServer.run { port in frozenContinuation.yield(port) } }
        var frozenIterator = frozenPorts.makeAsyncIterator()
        let frozenFirst = await frozenIterator.next()
        let frozenPort = try XCTUnwrap(frozenFirst)
        do {
            let head = try ledger.durableHead()
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(frozenPort)/v1/messages/\(toOne)/attachments/0")
            request.headers.add(name: "Authorization", value: "Bearer " + bo)
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = String(decoding: Array(try await response.body.collect(upTo: 1 << 20).readableBytesView), as: UTF8.self)
            XCTAssertEqual(response.status.code, 503, body)
            XCTAssertTrue(body.contains("node.audit_unavailable"), body)
            XCTAssertFalse(body.contains("bilaga ett"))
            XCTAssertEqual(try ledger.durableHead(), head, "nothing was appended")
            var meta = HTTPClientRequest(url: "https://127.0.0.1:\(frozenPort)/v1/messages/\(toOne)")
            meta.headers.add(name: "Authorization", value: "Bearer " + bo)
            let metaAnswer = try await client.execute(meta, timeout: .seconds(30))
            XCTAssertEqual(metaAnswer.status.code, 200, "metadata needs no append")
        } catch {
            XCTFail("\(error)")
        }
        frozenTask.cancel()
        _ = await frozenTask.result
        try? await client.shutdown()
        await server.verifier.shutdown()
    }
}
