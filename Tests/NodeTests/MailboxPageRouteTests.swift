import API
import Foundation
import Identity
import Ledger
import Node
import Projections
import Workload
import XCTest

/// The mailbox page written without the generated layer (``MailboxPageRoute``) answers exactly
/// what the generated handler answers: two API servers on one node, one with the direct route and
/// one without, asked the same requests over real TLS — every page of a randomised history (all
/// statuses, confidential messages, conversations, the caller's own reads), at every visibility
/// (read, audit, operate), and the refusals — must give the same status, media type and bytes.
final class MailboxPageRouteTests: XCTestCase {
    static let one = "0203:one.example.se", two = "0203:two.example.se"

    func testTheDirectMailboxPageIsTheGeneratedOneByteForByte() async throws {
        let base = try NodeFixture.scratch("mailbox-page")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let functions = ["socialtjansten", "registrator"]
        let node = try await NodeFixture.apiNode(in: base, [
            .init(id: Self.one, name: "Kommun Ett", functions: functions.map { ($0, $0) }),
            .init(id: Self.two, name: "Kommun Två", functions: functions.map { ($0, $0) }),
        ])
        let clerkName = "pnr:197001011234"
        var settings = SyntheticHistory.Settings(participant: Self.one, functions: functions, counterparts: 20, seed: 5)
        settings.busyReader = clerkName
        settings.busyShare = 0.5
        settings.awkwardTexts = true
        var history = SyntheticHistory(settings)
        var other = SyntheticHistory(.init(participant: Self.two, functions: functions, counterparts: 20, seed: 6))
        for _ in 0..<4 {
            let mine = try await node.access.ledger.append(history.next(300))
            history.appended(mine)
            let theirs = try await node.access.ledger.append(other.next(100))
            other.appended(theirs)
        }
        let issuer = try NodeIdentity.developmentIssuer(config: node.config, directory: node.directory)
        let pnr = "https://id.oidc.se/claim/personalIdentityNumber"
        let loa3: ClaimValue = "http://id.elegnamnden.se/loa/1.0/loa3"
        let clerk = try await issuer.mint(subject: "clerk", claims: [pnr: "197001011234", "acr": loa3])
        let auditor = try await issuer.mint(subject: "revisor", claims: [pnr: "195001011234", "acr": loa3])
        let operator_ = try await issuer.mint(subject: "drift", claims: [:])
        let stranger = try await issuer.mint(subject: "okand", claims: [pnr: "199001011234", "acr": loa3])
        let admin = GrantAdministration(access: node.access)
        let socialtjansten = FunctionalAddress(participant: Self.one, function: "socialtjansten")
        let clerkGrant = try await admin.grant(.init(grantee: PrincipalName(clerkName)!, scope: .mailbox(socialtjansten), rights: [.read],
                                        reason: "handläggare"), by: OSUser.principal())
        _ = try await admin.grant(.init(grantee: PrincipalName(kind: .pnr, value: "195001011234"), scope: .participant(Self.one),
                                        rights: [.audit], reason: "internrevision"), by: OSUser.principal())
        _ = try await admin.grant(.init(grantee: PrincipalName(kind: .sub, value: issuer.config.issuer + "#drift"), scope: .node,
                                        rights: [.operate], reason: "drift"), by: OSUser.principal())

        let direct = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt") { $0.streamsEnabled = false }
        let generated = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt") {
            $0.streamsEnabled = false
            $0.directMailboxPages = false
        }
        try await direct.closing(node) {
            defer { Task { await generated.stop() } }
            var compared = 0
            let directBefore = APIServer.directMailboxPagesAnswered
            /// The same request to both servers: the same answer, byte for byte.
            func same(_ path: String, _ token: String, headers: [(String, String)] = []) async throws -> APITestClient.Answer {
                let a = try await direct.send(.GET, path, token: token, headers: headers)
                let b = try await generated.send(.GET, path, token: token, headers: headers)
                XCTAssertEqual(a.status, b.status, path)
                XCTAssertEqual(a.contentType, b.contentType, path)
                XCTAssertEqual(a.body, b.body, "\(path): \(a.text.prefix(300)) | \(b.text.prefix(300))")
                compared += 1
                return a
            }
            let path = "/v1/mailboxes/" + APITestClient.escape(socialtjansten.description) + "/messages"
            // Every page, for each visibility, in small pages and in the largest.
            var labels = 0, confidential = 0, reads = 0, statuses = Set<String>()
            for (token, limit) in [(clerk, 7), (clerk, 500), (auditor, 13), (operator_, 50)] {
                var cursor: String?
                for _ in 0..<200 {
                    let page = try await same(path + "?limit=\(limit)" + (cursor.map { "&cursor=" + $0 } ?? ""), token)
                    XCTAssertEqual(page.status, 200, page.text)
                    let messages = page.json["messages"] as? [[String: Any]] ?? []
                    labels += messages.filter { $0["label"] != nil }.count
                    confidential += messages.filter { $0["confidential"] as? Bool == true }.count
                    reads += messages.filter { $0["read_seq"] != nil }.count
                    statuses.formUnion(messages.compactMap { $0["status"] as? String })
                    cursor = page.json["next_cursor"] as? String
                    if cursor == nil { break }
                }
                XCTAssertNil(cursor, "more than 200 pages")
            }
            // The direct route wrote those pages (the generated server wrote its own).
            let pages = APIServer.directMailboxPagesAnswered - directBefore
            XCTAssertEqual(pages, compared, "every page above was written by the direct route")
            XCTAssertGreaterThan(labels, 0)
            var escapes = 0
            for token in [clerk] {
                let all = try await same(path + "?limit=500", token)
                escapes += ["\\\"", "\\/", "\\n", "\\t", "\\u0007", "\\u001f", "\\\\"].filter { all.text.contains($0) }.count
                XCTAssertTrue(all.text.contains("\"conversation_id\""), "conversations written")
                XCTAssertTrue(all.text.contains("\"reference\""), "references written")
            }
            XCTAssertEqual(escapes, 7, "every kind of escape was written")
            XCTAssertGreaterThan(confidential, 0)
            XCTAssertGreaterThan(reads, 0, "the clerk's own reads are marked")
            XCTAssertGreaterThanOrEqual(statuses.count, 4, "\(statuses)")

            // One conversation; the address written out; the parameters in another order.
            let first = try await same(path + "?limit=50", clerk)
            // (The synthetic history's messages name no SDK conversation; MessagePageJSONTests
            // covers conversation_id. Here the filter's path, on a message id.)
            let conversation = try XCTUnwrap((first.json["messages"] as? [[String: Any]])?.first?["id"] as? String)
            let thread = try await same(path + "?conversation=" + APITestClient.escape(conversation), clerk)
            XCTAssertEqual(thread.status, 200)
            _ = try await same("/v1/mailboxes/socialtjansten@" + Self.one + "/messages?limit=3", clerk)
            _ = try await same(path + "?limit=2&cursor=" + (first.json["next_cursor"] as? String ?? ""), clerk)
            _ = try await same(path, clerk, headers: [("Accept", "application/json")])
            // A refusal to a caller that accepts JSON is a problem document, not a failure.
            let refusedJSON = try await same("/v1/mailboxes/nobody@0203:none.example.se/messages", clerk, headers: [("Accept", "application/json")])
            XCTAssertEqual(refusedJSON.status, 404, refusedJSON.text)

            // Refusals: a mailbox of the other participant, one that does not exist, no grant,
            // malformed parameters, q with conversation, a position not reached.
            let theirs = "/v1/mailboxes/" + APITestClient.escape("socialtjansten@" + Self.two) + "/messages"
            let refused = try await same(theirs, clerk)
            XCTAssertEqual(refused.status, 404)
            let missing = try await same("/v1/mailboxes/nobody@0203:none.example.se/messages", clerk)
            XCTAssertEqual(missing.status, 404)
            let ungranted = try await same(path, stranger)
            XCTAssertEqual(ungranted.status, 404)
            for bad in ["?limit=0", "?limit=501", "?limit=abc", "?cursor=zz", "?cursor=a", "?conversation=" + APITestClient.escape("a b"),
                        "?limit=", "?q=malmo&conversation=x", "?asOf=999999999"] {
                let r = try await same(path + bad, clerk)
                XCTAssertGreaterThanOrEqual(r.status, 400, bad)
            }
            _ = try await same("/v1/mailboxes/" + APITestClient.escape("ingen-snabel-a") + "/messages", clerk)
            // Forms the route leaves to the generated handler answer as it does.
            for passed in ["?q=" + APITestClient.escape("malmö"), "?asOf=5", "?limit=3&unknown=1", "?limit=+3", "?cursor=00&cursor=01"] {
                _ = try await same(path + passed, clerk)
            }
            _ = try await same(path, clerk, headers: [("Accept", "text/html")])
            XCTAssertGreaterThan(compared, 40)

            // A revocation ends the clerk's pages at once, on both routes.
            _ = try await admin.revoke(clerkGrant.id, reason: "flyttat", by: OSUser.principal())
            let revoked = try await same(path, clerk)
            XCTAssertEqual(revoked.status, 404, revoked.text)
        }
    }
}
