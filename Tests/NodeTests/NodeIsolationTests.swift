import Foundation
import Ledger
import Node
import Projections
import XCTest

/// One node serving two participants, read through ``MessageAccess`` by principals whose rights
/// come only from grants in the ledger: isolation between participants, auditors and the
/// operator without content, audit-first content reads, revocation, and recorded refusals.
final class NodeIsolationTests: XCTestCase {
    static let p1 = FunctionalAddress(participant: "0203:one.example.se", function: "kansli")
    static let p2 = FunctionalAddress(participant: "0203:two.example.se", function: "kansli")

    static func person(_ pnr: String, strong: Bool = true) -> Principal {
        Principal(name: PrincipalName(kind: .pnr, value: pnr), strongAuthentication: strong, interface: .api)
    }

    func testGrantsDecideWhatEachPrincipalSeesAndEveryContentReadIsRecordedFirst() async throws {
        let base = try NodeFixture.scratch("isolation")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let (p1, p2) = (Self.p1, Self.p2)
        var shared = NodeSetup.Options(name: "shared", participants: [
            .init(id: p1.participant, name: "Kommun Ett", functions: [(p1.function, "Kansliet")]),
            .init(id: p2.participant, name: "Kommun Två", functions: [(p2.function, "Kansliet")]),
        ])
        shared.tls = false
        shared.port = try await DemoNetwork.freePorts(1)[0]
        _ = try await NodeSetup.initialize(directory: base + "/shared", options: shared)
        try await NodeFixture.addOther(in: base, tls: false)
        let node = try NodeFixture.open(base + "/shared")
        let remote = try NodeFixture.open(base + "/other")
        let secret = Array("endast för kommun ett".utf8)
        let (inbound, outbound) = try await DemoNetwork.running([node, remote]) { _ in
            let inbound = try await remote.submit(NodeFixture.message("Till ett", from: NodeFixture.b, to: p1, attachment: secret), actor: "test")
            let outbound = try await node.submit(NodeFixture.message("Från ett", from: p1, to: NodeFixture.b, attachment: secret), actor: "test")
            let done = try await DemoNetwork.wait(timeout: 60) {
                let s = try node.snapshot()
                return s.messages[inbound]?.status == .accepted && s.messages[outbound]?.status == .accepted
            }
            XCTAssertTrue(done)
            return (inbound, outbound)
        }
        let access = node.access
        let admin = GrantAdministration(access: access)
        let root = OSUser.principal()  // `kvitto init` made this user the node administrator
        let user1 = Self.person("197001011234"), user2 = Self.person("198002022345")
        let auditor = Principal(name: PrincipalName(kind: .hsa, value: "SE2321000016-A1"), strongAuthentication: true, interface: .api)
        let operatorName = PrincipalName(kind: .sub, value: "https://idp.example.se#drift")
        let op = Principal(name: operatorName, strongAuthentication: true, interface: .api)
        let stranger = Self.person("199003033456")

        // Nobody but the administrator can grant; the administrator's grants are events.
        let readGrant = try await admin.grant(.init(grantee: user1.names[0], scope: .mailbox(p1), rights: [.read], reason: "handläggare"), by: root)
        _ = try await admin.grant(.init(grantee: user2.names[0], scope: .participant(p2.participant), rights: [.read, .send], reason: "kommun två"), by: root)
        _ = try await admin.grant(.init(grantee: auditor.names[0], scope: .participant(p1.participant), rights: [.audit], reason: "granskning"), by: root)
        _ = try await admin.grant(.init(grantee: operatorName, scope: .node, rights: [.operate], reason: "drift"), by: root)
        await assertCode(.forbidden) { _ = try await admin.grant(.init(grantee: user1.names[0], scope: .participant(p1.participant), rights: [.manage], reason: "själv"), by: user1) }
        await assertCode(.unprocessable) { _ = try await admin.grant(.init(grantee: user1.names[0], scope: .node, rights: [.read], reason: "allt"), by: root) }

        // The mailbox user sees both messages with subjects, and reads content — recorded first.
        let listed = try await access.messages(as: user1)
        XCTAssertEqual(Set(listed.map(\.record.id)), [inbound, outbound])
        let seen = try await access.message(inbound, as: user1)
        XCTAssertEqual(seen.label, "Till ett")
        let content = try await access.content(inbound, part: .attachment(0), purpose: "KS 2026/14", as: user1)
        XCTAssertEqual(content.bytes, secret)
        let accessed = try XCTUnwrap(try node.ledger.event(content.accessSeq))
        XCTAssertEqual(accessed.type, AccessEventType.accessed)
        XCTAssertEqual(accessed.actor, "pnr:197001011234")
        XCTAssertEqual(accessed.subject, "message:" + inbound)
        XCTAssertEqual(accessed.payload["purpose"]?.stringValue, "KS 2026/14")
        XCTAssertEqual(accessed.payload["interface"]?.stringValue, "api")
        let traced = try await access.trace(inbound, as: user1)
        XCTAssertTrue(traced.contains { $0.event.seq == content.accessSeq }, "the read is in the message's trace")
        let sdk = try await access.content(outbound, part: .message, as: user1)
        XCTAssertFalse(sdk.bytes.isEmpty)

        // Participant two's user: the other participant's messages are exactly "not found".
        let missing = await errorOf { _ = try await access.message("no-such-id", as: user2) }
        XCTAssertEqual(missing?.code, .notFound)
        for id in [inbound, outbound] {
            let foreign = await errorOf { _ = try await access.message(id, as: user2) }
            XCTAssertEqual(foreign?.message, missing?.message.replacingOccurrences(of: "no-such-id", with: id))
            XCTAssertEqual(foreign?.code, .notFound)
            await assertCode(.notFound) { _ = try await access.trace(id, as: user2) }
            await assertCode(.notFound) { _ = try await access.content(id, part: .attachment(0), as: user2) }
        }
        let none = try await access.messages(as: user2)
        XCTAssertTrue(none.isEmpty)
        await assertCode(.notFound) { _ = try await access.messages(mailbox: p1, as: user2) }
        let nothing = try await access.messages(as: stranger)
        XCTAssertTrue(nothing.isEmpty)

        // The auditor sees events whole, never content.
        let audited = try await access.trace(inbound, as: auditor)
        XCTAssertTrue(audited.allSatisfy { $0.redacted.isEmpty })
        let auditedRecord = try await access.message(inbound, as: auditor)
        XCTAssertEqual(auditedRecord.label, "Till ett")
        await assertCode(.forbidden) { _ = try await access.content(inbound, part: .message, as: auditor) }

        // The operator sees every participant's transport metadata, no subjects, no content.
        let operated = try await access.messages(as: op)
        XCTAssertEqual(Set(operated.map(\.record.id)), [inbound, outbound])
        XCTAssertTrue(operated.allSatisfy { $0.label == nil })
        let operatorTrace = try await access.trace(outbound, as: op) + (try await access.trace(inbound, as: op))
        XCTAssertTrue(operatorTrace.contains { $0.event.type == NodeEventType.receiptSent }, "a Meddelandekvittens we issued is traced")
        for e in operatorTrace {
            for member in e.payload.objectValue?.keys.map({ $0 }) ?? [] {
                XCTAssertTrue(VisibleEvent.operatorMembers.contains(member), "\(e.event.type) shows \(member) to the operator")
            }
            for member in ["label", "content", "texts", "attachments", "internal_detail", "purpose", "file_name"] {
                XCTAssertNil(e.payload[member], "\(e.event.type) shows \(member) to the operator")
            }
        }
        XCTAssertTrue(operatorTrace.contains { !$0.redacted.isEmpty })
        await assertCode(.forbidden) { _ = try await access.content(outbound, part: .attachment(0), as: op) }

        // Weak authentication lists, never reads.
        let weak = Self.person("197001011234", strong: false)
        let weakList = try await access.messages(mailbox: p1, as: weak)
        XCTAssertEqual(weakList.count, 2)
        await assertCode(.forbidden) { _ = try await access.content(inbound, part: .message, as: weak) }

        // Refusals are recorded, coalesced per actor and reason.
        let denied = try NodeFixture.events(node, AccessEventType.denied)
        func reasons(_ actor: String) -> [String] { denied.filter { $0.actor == actor }.compactMap { $0.payload["reason"]?.stringValue } }
        XCTAssertEqual(reasons("pnr:198002022345"), ["not_visible"], "seven refusals, one event")
        XCTAssertEqual(reasons("hsa:SE2321000016-A1"), ["no_read_grant"])
        XCTAssertEqual(reasons("pnr:197001011234"), ["no_manage_grant", "weak_authentication"])
        XCTAssertEqual(reasons(operatorName.description), ["no_read_grant"])

        // Revocation ends the right from its seq on; the past still shows it.
        let revoked = try await admin.revoke(readGrant.id, reason: "slutat", by: root)
        let revokedAt = try XCTUnwrap(revoked.revocation?.seq)
        await assertCode(.notFound) { _ = try await access.content(inbound, part: .message, as: user1) }
        let before = try admin.grants(concerning: .mailbox(p1), right: .read, asOf: revokedAt - 1, by: root)
        XCTAssertEqual(before.map(\.id), [readGrant.id])
        XCTAssertTrue(try admin.grants(concerning: .mailbox(p1), right: .read, asOf: revokedAt, by: root).isEmpty)
        XCTAssertTrue(try admin.grants(by: user2).allSatisfy { $0.grantee == user2.names[0] }, "a user sees only its own grants")
        let reader = Self.person("198504044567")
        _ = try await admin.grant(.init(grantee: reader.names[0], scope: .mailbox(p1), rights: [.read], reason: "registrator"), by: root)
        let readerContent = try await access.content(inbound, part: .attachment(0), as: reader)
        XCTAssertEqual(readerContent.bytes, secret)
        await node.close()
        await remote.close()

        // Audit-first: with the ledger refusing appends (opened read-only), the same read by the
        // same principal returns no byte, and nothing is appended.
        var options = LedgerOptions()
        options.readOnly = true
        let ledger = try Ledger.open(at: base + "/shared/ledger", options: options)
        defer { ledger.close() }
        let frozen = MessageAccess(ledger: ledger, projections: try NodeProjectionStore.open(node: base + "/shared", ledger: ledger),
                                   denials: AccessDenials { _ in },
                                   vault: ContentVault(config: try NodeConfig.load(directory: base + "/shared"), directory: base + "/shared", blobs: ledger.blobs))
        let head = try ledger.durableHead()
        var bytes: [UInt8]?
        let failure = await errorOf { bytes = try await frozen.content(inbound, part: .attachment(0), as: reader).bytes }
        XCTAssertEqual(failure?.code, .auditUnavailable)
        XCTAssertNil(bytes)
        XCTAssertEqual(try ledger.durableHead(), head)
        let frozenRecord = try await frozen.message(inbound, as: reader)
        XCTAssertEqual(frozenRecord.label, "Till ett", "metadata reads need no append")
    }

    private func errorOf(_ body: () async throws -> Void) async -> NodeError? {
        do { try await body(); return nil } catch { return error as? NodeError }
    }

    private func assertCode(_ code: NodeError.Code, file: StaticString = #filePath, line: UInt = #line, _ body: () async throws -> Void) async {
        let e = await errorOf(body)
        XCTAssertEqual(e?.code, code, "got \(String(describing: e))", file: file, line: line)
    }
}
