import Foundation
import Ledger
import Node
import Projections
import XCTest

/// The mailbox index: pages newest first with a cursor, and search that is case- and
/// diacritic-insensitive for Swedish, under the same grants as every read.
final class MailboxSearchTests: XCTestCase {
    func testSwedishFoldingPagesAndSearchUnderGrants() async throws {
        XCTAssertEqual(SearchText.words("Kallelse till SIP-möte i Malmö, Östergötland!"),
                       ["kallelse", "till", "sip", "mote", "i", "malmo", "ostergotland"])
        XCTAssertEqual(SearchText.words("ÅÄÖ åäö Éé Üü"), ["aao", "ee", "uu"])

        let (base, a, _) = try await NodeFixture.network("search", tls: false)
        defer { try? FileManager.default.removeItem(atPath: base) }
        try await NodeFixture.with(a) { node in
            let labels = ["Kallelse till SIP-möte i Malmö", "Remiss från Östergötland", "Protokoll Malmö stad", "Beslut om bistånd",
                          "Hemlig utredning Malmö"]
            var ids: [String] = []
            for (i, label) in labels.enumerated() {
                var m = NodeFixture.message(label)
                m.confidential = i == 4
                ids.append(try await node.submit(m, actor: "test"))
            }
            let root = OSUser.principal()
            let admin = GrantAdministration(access: node.access)
            let reader = Principal(name: PrincipalName(kind: .pnr, value: "197001011234"), strongAuthentication: true, interface: .api)
            let auditor = Principal(name: PrincipalName(kind: .pnr, value: "198002022345"), strongAuthentication: true, interface: .api)
            let op = Principal(name: PrincipalName(kind: .os, value: "drift"), strongAuthentication: true, interface: .cli)
            let outsider = Principal(name: PrincipalName(kind: .pnr, value: "199003033456"), strongAuthentication: true, interface: .api)
            let mailbox = NodeFixture.a
            _ = try await admin.grant(.init(grantee: reader.names[0], scope: .mailbox(mailbox), rights: [.read], reason: "t"), by: root)
            _ = try await admin.grant(.init(grantee: auditor.names[0], scope: .participant(mailbox.participant), rights: [.audit], reason: "t"), by: root)
            _ = try await admin.grant(.init(grantee: op.names[0], scope: .node, rights: [.operate], reason: "t"), by: root)
            let access = node.access

            func search(_ q: String, as p: Principal) async throws -> [String] {
                try await access.page(mailbox, search: q, as: p).messages.map(\.record.id)
            }
            let malmo = try await search("malmo", as: reader)
            XCTAssertEqual(malmo, [ids[4], ids[2], ids[0]], "newest first")
            let ostergotland = try await search("ostergotland", as: reader)
            XCTAssertEqual(ostergotland, [ids[1]])
            let upper = try await search("MALMÖ protokoll", as: reader)
            XCTAssertEqual(upper, [ids[2]], "every word must match")
            let prefix = try await search("bista", as: reader)
            XCTAssertEqual(prefix, [ids[3]], "a word matches as a prefix")
            let counterpart = try await search("registrator", as: reader)
            XCTAssertEqual(counterpart.count, 5, "the counterpart's address is searchable")
            let none = try await search("göteborg", as: reader)
            XCTAssertTrue(none.isEmpty)
            let audited = try await search("malmo", as: auditor)
            XCTAssertEqual(audited, [ids[2], ids[0]], "an auditor finds no confidential message by its subject")
            let limited = try await access.page(mailbox, search: "malmo", limit: 2, as: auditor).messages.map(\.record.id)
            XCTAssertEqual(limited, [ids[2], ids[0]], "confidential hits are dropped before the limit")
            let confidentialTrace = try await access.trace(ids[4], as: auditor)
            XCTAssertFalse(confidentialTrace.isEmpty)
            XCTAssertTrue(confidentialTrace.allSatisfy { $0.payload["label"] == nil }, "an auditor's trace hides a confidential subject")
            let openTrace = try await access.trace(ids[2], as: auditor)
            XCTAssertTrue(openTrace.contains { $0.payload["label"]?.stringValue == "Protokoll Malmö stad" })
            do { _ = try await access.page(mailbox, search: "malmo", as: op); XCTFail("the operator searched subjects") } catch {
                XCTAssertEqual((error as? NodeError)?.code, .forbidden)
            }
            do { _ = try await access.page(mailbox, search: "malmo", as: outsider); XCTFail("an outsider searched") } catch {
                XCTAssertEqual((error as? NodeError)?.code, .notFound)
            }

            // Pages of two, newest first, with a cursor; together they are the whole mailbox.
            var seen: [String] = [], cursor: [UInt8]?
            for _ in 0..<10 {
                let page = try await access.page(mailbox, after: cursor, limit: 2, as: reader)
                seen += page.messages.map(\.record.id)
                guard let next = page.next else { break }
                cursor = next
            }
            XCTAssertEqual(seen, ids.reversed())
            let operated = try await access.page(mailbox, as: op).messages
            XCTAssertEqual(operated.count, 5)
            XCTAssertTrue(operated.allSatisfy { $0.label == nil })
        }
    }
}
