import Foundation
import Identity
import Ledger
import NIOHTTP1
import Node
import Projections
import XCTest

/// The address book through the HTTP API: searched case- and diacritic-insensitively by anyone
/// holding a grant (nobody else, and the refusal is recorded); changed only by those who manage
/// the organisation's participant or the node, each change an event by the caller; a past
/// position answers the book as it stood then.
final class AddressBookAPITests: XCTestCase {
    static let one = FunctionalAddress(participant: "0203:one.example.se", function: "kansli")

    func testSearchAndAdministration() async throws {
        let base = try NodeFixture.scratch("addressbook-api")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try await NodeFixture.apiNode(in: base, [
            .init(id: Self.one.participant, name: "Kommun Ett", functions: [(Self.one.function, "Kansliet")]),
        ])
        let issuer = try NodeIdentity.developmentIssuer(config: node.config, directory: node.directory)
        let pnr = "https://id.oidc.se/claim/personalIdentityNumber"
        let operatorToken = try await issuer.mint(subject: "op", claims: [pnr: "195501011234"])
        let admin = try await issuer.mint(subject: "admin", claims: [pnr: "196001011234"])
        let clerk = try await issuer.mint(subject: "clerk", claims: [pnr: "197001011234"])
        let stranger = try await issuer.mint(subject: "stranger", claims: [pnr: "198001011234"])
        for (who, scope, right) in [("195501011234", AccessScope.node, AccessRight.manage),
                                    ("196001011234", .participant(Self.one.participant), .manage),
                                    ("197001011234", .mailbox(Self.one), .read)] {
            _ = try await GrantAdministration(access: node.access).grant(
                .init(grantee: PrincipalName(kind: .pnr, value: who), scope: scope, rights: [right], reason: "test"), by: OSUser.principal())
        }
        let api = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt")
        do {
            func names(_ a: APITestClient.Answer) -> [String] {
                (a.json["organizations"] as? [[String: Any]])?.compactMap { $0["participant"] as? String } ?? []
            }
            func functions(_ a: APITestClient.Answer, _ participant: String) -> [String] {
                let o = (a.json["organizations"] as? [[String: Any]])?.first { $0["participant"] as? String == participant }
                return (o?["functions"] as? [[String: Any]])?.compactMap { $0["address"] as? String } ?? []
            }
            func search(_ q: String) async throws -> [String] {
                let r = try await api.get("/v1/address-book?q=" + APITestClient.escape(q), token: clerk)
                XCTAssertEqual(r.status, 200, r.text)
                return names(r)
            }
            func denials() throws -> Int {
                _ = try node.projections.catchUp()
                return try EventIndex.seqs(.type(AccessEventType.denied), in: node.projections.storage).count
            }
            // The node operator adds organisations in other participants (Swedish names).
            for (p, name) in [("0203:malmo.example.se", "Malmö stad"), ("0203:ostergotland.example.se", "Region Östergötland"),
                              ("0203:umea.example.se", "Umeå kommun")] {
                let r = try await api.send(.PUT, "/v1/address-book/\(APITestClient.escape(p))", token: operatorToken, json: #"{"name": "\#(name)"}"#)
                XCTAssertEqual(r.status, 201, r.text)
                XCTAssertEqual(r.json["name"] as? String, name)
            }
            let put = try await api.send(.PUT, "/v1/address-book/\(APITestClient.escape("0203:malmo.example.se"))/functions/socialtjanst",
                                         token: operatorToken, json: #"{"name": "Socialtjänsten"}"#)
            XCTAssertEqual(put.status, 201, put.text)
            XCTAssertEqual((put.json["functions"] as? [[String: Any]])?.first?["address"] as? String, "socialtjanst@0203:malmo.example.se")
            let added = try node.ledger.durableHead()
            // Naming an entry as it is named records nothing.
            let again = try await api.send(.PUT, "/v1/address-book/\(APITestClient.escape("0203:malmo.example.se"))", token: operatorToken,
                                           json: #"{"name": "Malmö stad"}"#)
            XCTAssertEqual(again.status, 200, again.text)
            XCTAssertEqual(try node.ledger.durableHead(), added)
            let change = try XCTUnwrap(try node.ledger.event(added))
            XCTAssertEqual(change.type, NodeEventType.functionAdded)
            XCTAssertEqual(change.actor, "pnr:195501011234", "the caller is the actor")
            // Search: case- and diacritic-insensitive prefixes of words, by anyone holding a grant.
            let malmo = try await api.get("/v1/address-book?q=malmo", token: clerk)
            XCTAssertEqual(malmo.status, 200, malmo.text)
            XCTAssertEqual(names(malmo), ["0203:malmo.example.se"])
            XCTAssertEqual(functions(malmo, "0203:malmo.example.se"), ["socialtjanst@0203:malmo.example.se"])
            let found1 = try await search("OSTERGOTL")
            XCTAssertEqual(found1, ["0203:ostergotland.example.se"])
            let found2 = try await search("umeå kom")
            XCTAssertEqual(found2, ["0203:umea.example.se"])
            let found3 = try await search("socialtjansten")
            XCTAssertEqual(found3, ["0203:malmo.example.se"],
                           "a function's name finds its organisation")
            let found4 = try await search("kansliet")
            XCTAssertEqual(found4, [Self.one.participant])
            let found5 = try await search("goteborg")
            XCTAssertEqual(found5, [])
            let punctuation = try await search("!!")
            XCTAssertEqual(punctuation, [], "a text without words finds nothing")
            // Pages in participant order.
            var seen: [String] = []
            var cursor: String?
            for _ in 0..<10 {
                let r = try await api.get("/v1/address-book?limit=2" + (cursor.map { "&cursor=" + APITestClient.escape($0) } ?? ""), token: clerk)
                XCTAssertEqual(r.status, 200, r.text)
                seen += names(r)
                cursor = r.json["next_cursor"] as? String
                if cursor == nil { break }
            }
            XCTAssertEqual(seen, ["0203:malmo.example.se", Self.one.participant, "0203:ostergotland.example.se", "0203:umea.example.se"])
            // A past position: before Umeå was added.
            let before = try await api.get("/v1/address-book?asOf=\(added - 2)", token: clerk)
            XCTAssertEqual(before.status, 200, before.text)
            XCTAssertFalse(names(before).contains("0203:umea.example.se"), before.text)
            XCTAssertTrue(names(before).contains("0203:ostergotland.example.se"), before.text)
            XCTAssertEqual(functions(before, "0203:malmo.example.se"), [], "the function came later")

            // Without any grant: refused, and recorded.
            var recorded = try denials()
            let refused = try await api.get("/v1/address-book?q=malmo", token: stranger)
            XCTAssertEqual(refused.status, 403, refused.text)
            XCTAssertEqual(try denials(), recorded + 1)
            let anonymous = try await api.get("/v1/address-book", token: nil)
            XCTAssertEqual(anonymous.status, 401)

            // A participant administrator changes its own participant's entry, nobody else's.
            let own = try await api.send(.PUT, "/v1/address-book/\(APITestClient.escape(Self.one.participant))/functions/registrator",
                                         token: admin, json: #"{"name": "Registraturen"}"#)
            XCTAssertEqual(own.status, 201, own.text)
            recorded = try denials()
            for (method, path, token) in [(HTTPMethod.PUT, "/v1/address-book/\(APITestClient.escape("0203:malmo.example.se"))", admin),
                                          (.DELETE, "/v1/address-book/\(APITestClient.escape("0203:malmo.example.se"))", admin),
                                          (.PUT, "/v1/address-book/\(APITestClient.escape(Self.one.participant))", clerk),
                                          (.DELETE, "/v1/address-book/\(APITestClient.escape(Self.one.participant))/functions/kansli", clerk)] {
                let r = try await api.send(method, path, token: token, json: method == .PUT ? #"{"name": "Kapad"}"# : nil)
                XCTAssertEqual(r.status, 403, "\(method) \(path): \(r.text)")
                XCTAssertTrue(r.contentType.hasPrefix("application/problem+json"))
            }
            XCTAssertEqual(try denials(), recorded + 2, "one per actor and reason (the rest are coalesced, Schemas/access.md)")
            let found6 = try await search("kapad")
            XCTAssertEqual(found6, [], "no refused change took effect")

            // Requests the document refuses, and entries that are not there.
            for (method, path, body, status) in [
                (HTTPMethod.PUT, "/v1/address-book/\(APITestClient.escape("0203:x.example.se"))", #"{"name": ""}"#, UInt(400)),
                (.PUT, "/v1/address-book/\(APITestClient.escape("0203:x.example.se"))", #"{"name": "a\u0007b"}"#, 400),
                // Ids must be in NFC (so that two spellings of one id are not stored apart) and free
                // of control characters.
                (.PUT, "/v1/address-book/\(APITestClient.escape("0203:mo\u{308}lndal.example.se"))", #"{"name": "Mölndal"}"#, 400),
                (.PUT, "/v1/address-book/\(APITestClient.escape("0203:malmo.example.se"))/functions/\(APITestClient.escape("a\u{1C}"))", #"{"name": "A"}"#, 400),
                (.PUT, "/v1/address-book/\(APITestClient.escape("0203:nowhere.example.se"))/functions/kansli", #"{"name": "K"}"#, 404),
                (.DELETE, "/v1/address-book/\(APITestClient.escape("0203:nowhere.example.se"))", nil, 404),
                (.DELETE, "/v1/address-book/\(APITestClient.escape("0203:malmo.example.se"))/functions/nothing", nil, 404),
            ] {
                let r = try await api.send(method, path, token: operatorToken, json: body)
                XCTAssertEqual(r.status, status, "\(method) \(path) \(body ?? ""): \(r.text)")
            }

            // Removal.
            let removedFunction = try await api.send(.DELETE, "/v1/address-book/\(APITestClient.escape("0203:malmo.example.se"))/functions/socialtjanst",
                                                     token: operatorToken)
            XCTAssertEqual(removedFunction.status, 200, removedFunction.text)
            XCTAssertEqual((removedFunction.json["functions"] as? [[String: Any]])?.count, 0)
            let removed = try await api.send(.DELETE, "/v1/address-book/\(APITestClient.escape("0203:umea.example.se"))", token: operatorToken)
            XCTAssertEqual(removed.status, 204, removed.text)
            let found7 = try await search("umea")
            XCTAssertEqual(found7, [])
            let rebuilt = try node.projections.currentNodeState { try $0.addressBook() }
            XCTAssertNil(rebuilt.organization("0203:umea.example.se"))
            XCTAssertEqual(rebuilt.organization(Self.one.participant)?.functions["registrator"], "Registraturen")
        } catch {
            XCTFail("\(error)")
        }
        await api.stop()
        await node.close()
    }
}
