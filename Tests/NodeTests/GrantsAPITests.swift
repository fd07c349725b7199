import Foundation
import Identity
import Ledger
import Node
import Projections
import XCTest

/// Grants through the HTTP API: a participant administrator grants and revokes inside its own
/// participant only; everyone else is refused (and the refusal recorded); a revocation stops
/// access from its seq on, and the grants in force at a past position are answered by asOf/at.
final class GrantsAPITests: XCTestCase {
    static let one = FunctionalAddress(participant: "0203:one.example.se", function: "kansli")
    static let two = FunctionalAddress(participant: "0203:two.example.se", function: "kansli")

    func testAdministratorsGrantAndRevokeOnlyInsideTheirParticipant() async throws {
        let base = try NodeFixture.scratch("grants-api")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try await NodeFixture.apiNode(in: base, [
            .init(id: Self.one.participant, name: "Kommun Ett", functions: [(Self.one.function, "Kansliet")]),
            .init(id: Self.two.participant, name: "Kommun Två", functions: [(Self.two.function, "Kansliet")]),
        ])
        let issuer = try NodeIdentity.developmentIssuer(config: node.config, directory: node.directory)
        let pnr = "https://id.oidc.se/claim/personalIdentityNumber"
        let admin = try await issuer.mint(subject: "admin", claims: [pnr: "196001011234"])
        let clerk = try await issuer.mint(subject: "clerk", claims: [pnr: "197001011234"])
        _ = try await GrantAdministration(access: node.access).grant(
            .init(grantee: PrincipalName(kind: .pnr, value: "196001011234"), scope: .participant(Self.one.participant), rights: [.manage],
                  reason: "förvaltare"), by: OSUser.principal())
        let api = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt")
        do {
            func grantBody(_ scope: String, _ rights: String = "[\"read\"]") -> String {
                #"{"grantee": "pnr:197001011234", "scope": "\#(scope)", "rights": \#(rights), "reason": "handläggare"}"#
            }
            let mailbox = "/v1/mailboxes/\(APITestClient.escape(Self.one.description))/messages"
            do { let r = try await api.get(mailbox, token: clerk); XCTAssertEqual(r.status, 404, "no grant yet: like a missing mailbox") }

            // The administrator grants inside its participant.
            let made = try await api.send(.POST, "/v1/grants", token: admin, json: grantBody("mailbox:\(Self.one)"))
            XCTAssertEqual(made.status, 201, made.text)
            let id = try XCTUnwrap(made.json["id"] as? Int)
            XCTAssertEqual(made.json["granted_by"] as? String, "pnr:196001011234", "the caller is the actor, not a name in the body")
            XCTAssertEqual(made.json["rights"] as? [String], ["read"])
            do { let r = try await api.get(mailbox, token: clerk); XCTAssertEqual(r.status, 200, r.text) }

            // Outside it, and without manage, refusals — each recorded as access.denied.
            let denials = try EventIndex.seqs(.type(AccessEventType.denied), in: node.projections.storage).count
            let outside = try await api.send(.POST, "/v1/grants", token: admin, json: grantBody("mailbox:\(Self.two)"))
            XCTAssertEqual(outside.status, 403, outside.text)
            let byClerk = try await api.send(.POST, "/v1/grants", token: clerk, json: grantBody("mailbox:\(Self.one)", "[\"send\"]"))
            XCTAssertEqual(byClerk.status, 403, byClerk.text)
            _ = try node.projections.catchUp()
            XCTAssertEqual(try EventIndex.seqs(.type(AccessEventType.denied), in: node.projections.storage).count, denials + 2)

            // Requests the document or the rules refuse.
            for (body, status, why) in [(grantBody("mailbox:nothing"), 400, "scope"), (grantBody("mailbox:\(Self.one)", "[]"), 400, "no rights"),
                                        (#"{"grantee": "anna", "scope": "node", "rights": ["audit"], "reason": "x"}"#, 400, "grantee"),
                                        (grantBody("participant:\(Self.one.participant)", "[\"operate\"]"), 422, "operate on a participant"),
                                        (#"{"grantee": "pnr:197001011234", "scope": "mailbox:\#(Self.one)", "rights": ["read"], "reason": "x", "valid_from": "2030-01-01T00:00:00Z", "valid_until": "2029-01-01T00:00:00Z"}"#, 422, "period"),
                                        (#"{"grantee": "pnr:197001011234", "scope": "mailbox:\#(Self.one)", "rights": ["read"], "reason": "x", "valid_from": "0598-04-23T15:28:48.3+16:09"}"#, 400, "year 598")] {
                let r = try await api.send(.POST, "/v1/grants", token: admin, json: body)
                XCTAssertEqual(r.status, UInt(status), "\(why): \(r.text)")
                XCTAssertTrue(r.contentType.hasPrefix("application/problem+json"), why)
            }

            // Listing: the administrator sees the grants of its participant; the clerk its own.
            let listed = try await api.get("/v1/grants?scope=\(APITestClient.escape("participant:\(Self.one.participant)"))", token: admin)
            XCTAssertEqual(listed.status, 200, listed.text)
            XCTAssertEqual((listed.json["grants"] as? [[String: Any]])?.compactMap { $0["id"] as? Int }.contains(id), true)
            let own = try await api.get("/v1/grants", token: clerk)
            XCTAssertEqual((own.json["grants"] as? [[String: Any]])?.compactMap { $0["id"] as? Int }, [id], own.text)

            // Revocation: by the administrator, with a reason; then the clerk sees nothing again.
            do { let r = try await api.send(.POST, "/v1/grants/\(id)/revocation", token: clerk, json: #"{"reason": "själv"}"#); XCTAssertEqual(r.status, 403, r.text) }
            let revoked = try await api.send(.POST, "/v1/grants/\(id)/revocation", token: admin, json: #"{"reason": "slutat"}"#)
            XCTAssertEqual(revoked.status, 200, revoked.text)
            let revocation = try XCTUnwrap(revoked.json["revocation"] as? [String: Any])
            let revokedAt = try XCTUnwrap(revocation["seq"] as? Int)
            XCTAssertEqual(revocation["by"] as? String, "pnr:196001011234")
            do { let r = try await api.get(mailbox, token: clerk); XCTAssertEqual(r.status, 404, r.text) }
            do { let r = try await api.get(mailbox + "?asOf=\(revokedAt - 1)", token: clerk); XCTAssertEqual(r.status, 404,
                           "asOf before the revocation does not bring today's access back") }
            do { let r = try await api.send(.POST, "/v1/grants/\(id)/revocation", token: admin, json: #"{"reason": "igen"}"#); XCTAssertEqual(r.status, 409, r.text) }
            // The OS user's grant on the participant is not the clerk's to see: 404 like a missing one.
            do { let r = try await api.send(.POST, "/v1/grants/1/revocation", token: clerk, json: #"{"reason": "x"}"#); XCTAssertEqual(r.status, 404, r.text) }
            do { let r = try await api.send(.POST, "/v1/grants/999999/revocation", token: admin, json: #"{"reason": "x"}"#); XCTAssertEqual(r.status, 404, r.text) }

            // Who could read the mailbox then, and now.
            let readers = "/v1/grants?scope=\(APITestClient.escape("mailbox:\(Self.one)"))&right=read"
            let then = try await api.get(readers + "&asOf=\(revokedAt - 1)", token: admin)
            XCTAssertEqual((then.json["grants"] as? [[String: Any]])?.compactMap { $0["id"] as? Int }, [id], then.text)
            XCTAssertEqual(then.json["as_of"] as? Int, revokedAt - 1)
            let now = try await api.get(readers + "&asOf=\(revokedAt)", token: admin)
            XCTAssertEqual((now.json["grants"] as? [[String: Any]])?.count, 0, now.text)
            let early = try await api.get(readers + "&at=0598-04-23T15:28:48.3%2B16:09", token: admin)
            XCTAssertEqual((early.json["grants"] as? [[String: Any]])?.count, 0, early.text)
            do { let r = try await api.get(readers + "&asOf=99999999", token: admin); XCTAssertEqual(r.status, 409, r.text) }
            do { let r = try await api.get(readers + "&asOf=1&at=2001-01-01T00:00:00Z", token: admin); XCTAssertEqual(r.status, 422, r.text) }
        } catch {
            XCTFail("\(error)")
        }
        await api.stop()
        await node.close()
    }
}
