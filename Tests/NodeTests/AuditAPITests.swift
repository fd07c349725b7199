import Foundation
import Identity
import Ledger
import Node
import Projections
import Workload
import XCTest

/// Audit queries through the HTTP API over a node serving two participants, each with a
/// randomised history (messages both ways, reads, refusals, grants, erasures): an auditor of one
/// participant gets every event of it and nothing of the other, by participant, mailbox, actor,
/// type, period and position; whoever does not audit is refused or answered "not found".
final class AuditAPITests: XCTestCase {
    static let one = "0203:one.example.se", two = "0203:two.example.se"

    func testAnAuditorSeesAllOfItsParticipantAndNothingOfAnother() async throws {
        let base = try NodeFixture.scratch("audit-api")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let functions = ["socialtjansten", "registrator"]
        let node = try await NodeFixture.apiNode(in: base, [
            .init(id: Self.one, name: "Kommun Ett", functions: functions.map { ($0, $0) }),
            .init(id: Self.two, name: "Kommun Två", functions: functions.map { ($0, $0) }),
        ])
        let ledger = node.access.ledger
        // Two histories, one per participant, interleaved; the same people act in both.
        var histories = [SyntheticHistory(.init(participant: Self.one, functions: functions, counterparts: 20, seed: 11)),
                         SyntheticHistory(.init(participant: Self.two, functions: functions, counterparts: 20, seed: 22))]
        var mine = Set<UInt64>(), theirs = Set<UInt64>()
        for round in 0..<6 {
            for i in histories.indices {
                let events = try await ledger.append(histories[i].next(250))
                histories[i].appended(events)
                if i == 0 { mine.formUnion(events.map(\.seq)) } else { theirs.formUnion(events.map(\.seq)) }
                _ = round
            }
        }
        let issuer = try NodeIdentity.developmentIssuer(config: node.config, directory: node.directory)
        let pnr = "https://id.oidc.se/claim/personalIdentityNumber"
        let auditor = try await issuer.mint(subject: "revisor", claims: [pnr: "195001011234"])
        let clerk = try await issuer.mint(subject: "clerk", claims: [pnr: "197001011234"])
        let admin = GrantAdministration(access: node.access)
        _ = try await admin.grant(.init(grantee: PrincipalName(kind: .pnr, value: "195001011234"), scope: .participant(Self.one), rights: [.audit],
                                        reason: "internrevision"), by: OSUser.principal())
        _ = try await admin.grant(.init(grantee: PrincipalName(kind: .pnr, value: "197001011234"), scope: .mailbox(FunctionalAddress(participant: Self.one, function: "registrator")),
                                        rights: [.read], reason: "handläggare"), by: OSUser.principal())
        _ = try node.projections.catchUp()
        let storage = node.projections.storage
        let api = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt")
        do {
            /// Every page of a query, following next_cursor (bounded).
            func all(_ query: String, _ token: String) async throws -> [[String: Any]] {
                var out: [[String: Any]] = [], cursor: Int?
                for _ in 0..<200 {
                    let r = try await api.get("/v1/audit/events?limit=1000&" + query + (cursor.map { "&cursor=\($0)" } ?? ""), token: token)
                    XCTAssertEqual(r.status, 200, r.text)
                    out += r.json["events"] as? [[String: Any]] ?? []
                    cursor = r.json["next_cursor"] as? Int
                    // Where a scan stopped is one of the auditor's events, never another's.
                    if let c = cursor { XCTAssertFalse(theirs.contains(UInt64(c)), "next_cursor \(c) is the other participant's") }
                    if cursor == nil { return out }
                }
                XCTFail("more than 200 pages")
                return out
            }
            func seqs(_ events: [[String: Any]]) -> [UInt64] { events.compactMap { ($0["seq"] as? Int).map(UInt64.init) } }
            /// Whether event `seq` belongs to participant one, by what the ledger and the records say.
            func ownedByOne(_ seq: UInt64) throws -> Bool {
                let e = try XCTUnwrap(try ledger.event(seq))
                if e.subject.hasPrefix("message:"), let r = try NodeStateProjection.message(String(e.subject.dropFirst(8)), in: storage) {
                    return r.participant == Self.one
                }
                let text = String(decoding: CanonicalJSON.encode(e.payload), as: UTF8.self)
                return text.contains(Self.one) && !text.contains(Self.two)
            }

            let byParticipant = try await all("participant=\(APITestClient.escape(Self.one))", auditor)
            let found = seqs(byParticipant)
            XCTAssertEqual(found, found.sorted(), "in ledger order")
            XCTAssertEqual(Set(found).count, found.count, "each once across pages")
            XCTAssertTrue(Set(found).isDisjoint(with: theirs), "nothing of the other participant's history")
            // Every event of participant one's own messages is there.
            var expected = Set<UInt64>()
            for seq in mine {
                let e = try XCTUnwrap(try ledger.event(seq))
                if e.subject.hasPrefix("message:"), try NodeStateProjection.message(String(e.subject.dropFirst(8)), in: storage) != nil { expected.insert(seq) }
            }
            XCTAssertGreaterThan(expected.count, 500)
            let missing = try expected.subtracting(found).sorted().prefix(5).map { s in try ledger.event(s).map { "\($0.seq) \($0.type) \($0.subject) \(String(decoding: CanonicalJSON.encode($0.payload), as: UTF8.self).prefix(300))" } ?? "" }
            XCTAssertTrue(expected.isSubset(of: Set(found)), "\(expected.subtracting(found).count) of one's message events missing: \(missing)")
            for seq in found.prefix(400) { XCTAssertTrue(try ownedByOne(seq), "event \(seq)") }

            // The other participant, and one that does not exist, are answered alike.
            let other = try await api.get("/v1/audit/events?participant=\(APITestClient.escape(Self.two))", token: auditor)
            let none = try await api.get("/v1/audit/events?participant=0203:nobody.example.se", token: auditor)
            XCTAssertEqual(other.status, 404, other.text)
            XCTAssertEqual(none.status, 404)
            XCTAssertEqual(other.code, none.code)

            // One person's access log, one type, one mailbox: only participant one's events.
            // The case system submits in both participants.
            let person = "client:arendesystem"
            XCTAssertTrue(try EventIndex.seqs(.actor(person), limit: 10_000, in: storage).contains(where: theirs.contains))
            let log = try await all("actor=\(APITestClient.escape(person))", auditor)
            XCTAssertFalse(log.isEmpty)
            XCTAssertTrue(log.allSatisfy { $0["actor"] as? String == person })
            XCTAssertTrue(Set(seqs(log)).isDisjoint(with: theirs))
            let reads = try await all("type=message.accessed", auditor)
            XCTAssertTrue(reads.allSatisfy { $0["type"] as? String == "message.accessed" })
            XCTAssertEqual(Set(seqs(reads)), Set(seqs(byParticipant.filter { $0["type"] as? String == "message.accessed" })))
            let mailbox = FunctionalAddress(participant: Self.one, function: "registrator")
            let inMailbox = try await all("mailbox=\(APITestClient.escape(mailbox.description))", auditor)
            XCTAssertFalse(inMailbox.isEmpty)
            XCTAssertTrue(Set(seqs(inMailbox)).isSubset(of: Set(found)))
            for event in inMailbox.prefix(200) {
                let seq = UInt64(event["seq"] as! Int)
                let e = try XCTUnwrap(try ledger.event(seq))
                if e.subject.hasPrefix("message:") {
                    XCTAssertEqual(try NodeStateProjection.message(String(e.subject.dropFirst(8)), in: storage)?.mailbox, mailbox)
                }
            }

            // Confidential messages: the auditor sees their events without the subject.
            let confidential = byParticipant.first { ($0["payload"] as? [String: Any])?["confidential"] as? Bool == true && $0["type"] as? String == "message.submitted" }
            XCTAssertNotNil(confidential, "the history has confidential messages")
            if let confidential {
                XCTAssertNil((confidential["payload"] as? [String: Any])?["label"])
                XCTAssertTrue((confidential["redacted"] as? [String])?.contains("label") ?? false)
            }

            // Position and period.
            let cut = found[found.count / 2]
            let upTo = try await all("participant=\(APITestClient.escape(Self.one))&asOf=\(cut)", auditor)
            XCTAssertEqual(seqs(upTo), found.filter { $0 <= cut })
            // Times in a query count to the microsecond.
            let middle = Timestamp(nanoseconds: try XCTUnwrap(try ledger.event(cut)).time.nanoseconds / 1000 * 1000)
            let since = try await all("participant=\(APITestClient.escape(Self.one))&since=\(APITestClient.escape(middle.rfc3339))", auditor)
            XCTAssertTrue(try seqs(since).allSatisfy { try XCTUnwrap(try ledger.event($0)).time >= middle })
            XCTAssertTrue(seqs(since).contains(cut))

            // Without the audit right: refused (and recorded); a query naming nothing: 422.
            let refused = try await api.get("/v1/audit/events?participant=\(APITestClient.escape(Self.one))", token: clerk)
            XCTAssertEqual(refused.status, 403, refused.text)
            let theirsByClerk = try await api.get("/v1/audit/events?participant=\(APITestClient.escape(Self.two))", token: clerk)
            XCTAssertEqual(theirsByClerk.status, 404, theirsByClerk.text)
            let byClerk = try await api.get("/v1/audit/events?type=message.accessed", token: clerk)
            XCTAssertEqual(byClerk.status, 200)
            XCTAssertEqual((byClerk.json["events"] as? [Any])?.count, 0, "no audit right: no events")
            let nothing = try await api.get("/v1/audit/events", token: auditor)
            XCTAssertEqual(nothing.status, 422, nothing.text)

            // The report: the same events, complete, at one checkpoint it names; recomputed at that
            // checkpoint, the same document in every format; the same grants.
            let reportPath = "/v1/audit/report?participant=\(APITestClient.escape(Self.one))"
            let report = try await api.get(reportPath, token: auditor)
            XCTAssertEqual(report.status, 200, String(report.text.prefix(300)))
            let checkpoint = try XCTUnwrap((report.json["checkpoint"] as? [String: Any])?["seq"] as? Int)
            XCTAssertEqual(report.json["format"] as? String, "kvitto-audit-report/1")
            // What the pages held (and the refusals recorded since, as the report is computed later).
            XCTAssertEqual(Array(seqs(report.json["events"] as? [[String: Any]] ?? []).prefix(found.count)), found, "the report holds what the pages held")
            for format in ["json", "csv", "html"] {
                let once = try await api.get(reportPath + "&checkpoint=\(checkpoint)&format=\(format)", token: auditor)
                let twice = try await api.get(reportPath + "&checkpoint=\(checkpoint)&format=\(format)", token: auditor)
                XCTAssertEqual(once.status, 200, format)
                XCTAssertEqual(once.body, twice.body, format)
                XCTAssertTrue(once.contentType.hasPrefix(format == "json" ? "application/json" : "text/\(format)"), once.contentType)
            }
            let refusedReport = try await api.get(reportPath, token: clerk)
            XCTAssertEqual(refusedReport.status, 403, refusedReport.text)
            let notACheckpoint = try await api.get(reportPath + "&checkpoint=1", token: auditor)
            XCTAssertEqual(notACheckpoint.status, 404, notACheckpoint.text)
        } catch {
            XCTFail("\(error)")
        }
        await api.stop()
        await node.close()
    }
}
