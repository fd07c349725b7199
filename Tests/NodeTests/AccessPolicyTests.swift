import Ledger
import Projections
import XCTest

/// The authorisation rules as values: scopes, rights, validity, revocation, visibility.
final class AccessPolicyTests: XCTestCase {
    let mailbox = FunctionalAddress(participant: "0203:a.example.se", function: "registrator")
    let other = FunctionalAddress(participant: "0203:a.example.se", function: "socialtjansten")
    let anna = PrincipalName(kind: .pnr, value: "197001011234")

    func grant(_ id: UInt64, _ scope: AccessScope, _ rights: Set<AccessRight>, from: Timestamp? = nil, until: Timestamp? = nil,
               revokedAt: UInt64? = nil) -> Grant {
        Grant(id: id, grantee: anna, scope: scope, rights: rights, grantedBy: "os:root", grantedAt: Timestamp(nanoseconds: 0),
              reason: "test", validFrom: from, validUntil: until,
              revocation: revokedAt.map { .init(seq: $0, by: "os:root", at: Timestamp(nanoseconds: 0), reason: "slut") })
    }

    func policy(_ grants: [Grant], seq: UInt64 = 100, time: Timestamp = Timestamp(nanoseconds: 1_000), strong: Bool = true) -> AccessPolicy {
        AccessPolicy(principal: Principal(name: anna, strongAuthentication: strong, interface: .api), grants: grants, seq: seq, time: time)
    }

    func testScopesContainAndRightsFollowThem() {
        XCTAssertTrue(AccessScope.node.contains(.mailbox(mailbox)))
        XCTAssertTrue(AccessScope.participant(mailbox.participant).contains(.mailbox(other)))
        XCTAssertFalse(AccessScope.mailbox(mailbox).contains(.mailbox(other)))
        XCTAssertFalse(AccessScope.participant("0203:b.example.se").contains(.mailbox(mailbox)))
        XCTAssertFalse(AccessScope.mailbox(mailbox).contains(.participant(mailbox.participant)))
        let p = policy([grant(1, .mailbox(mailbox), [.read])])
        XCTAssertEqual(p.visibility(of: mailbox), .full)
        XCTAssertEqual(p.visibility(of: other), AccessPolicy.Visibility.none)
        XCTAssertNil(p.contentRefusal(mailbox: mailbox))
        XCTAssertEqual(p.contentRefusal(mailbox: other), .notVisible)
        XCTAssertFalse(p.maySend(from: mailbox))
        XCTAssertFalse(p.mayManage(.mailbox(mailbox)))
    }

    func testAuditAndOperateNeverReadContent() {
        let auditor = policy([grant(1, .participant(mailbox.participant), [.audit])])
        XCTAssertEqual(auditor.visibility(of: mailbox), .audit)
        XCTAssertEqual(auditor.contentRefusal(mailbox: mailbox), .noReadGrant)
        let op = policy([grant(1, .node, [.operate])])
        XCTAssertEqual(op.visibility(of: FunctionalAddress(participant: "0203:z.example.se", function: "x")), .transport)
        XCTAssertEqual(op.contentRefusal(mailbox: mailbox), .noReadGrant)
        XCTAssertEqual(policy([grant(1, .mailbox(mailbox), [.read])], strong: false).contentRefusal(mailbox: mailbox), .weakAuthentication)
    }

    func testRevocationAndValidityAreEvaluatedAtThePosition() {
        let revoked = grant(10, .mailbox(mailbox), [.read], revokedAt: 20)
        XCTAssertEqual(policy([revoked], seq: 9).visibility(of: mailbox), AccessPolicy.Visibility.none, "not yet granted")
        XCTAssertEqual(policy([revoked], seq: 19).visibility(of: mailbox), .full)
        XCTAssertEqual(policy([revoked], seq: 20).visibility(of: mailbox), AccessPolicy.Visibility.none, "revoked from its seq on")
        let window = grant(1, .mailbox(mailbox), [.read], from: Timestamp(nanoseconds: 500), until: Timestamp(nanoseconds: 900))
        XCTAssertEqual(policy([window], time: Timestamp(nanoseconds: 499)).visibility(of: mailbox), AccessPolicy.Visibility.none)
        XCTAssertEqual(policy([window], time: Timestamp(nanoseconds: 500)).visibility(of: mailbox), .full)
        XCTAssertEqual(policy([window], time: Timestamp(nanoseconds: 900)).visibility(of: mailbox), AccessPolicy.Visibility.none, "until is exclusive")
        let someoneElse = Grant(id: 1, grantee: PrincipalName(kind: .pnr, value: "198002022345"), scope: .node, rights: [.manage],
                                grantedBy: "x", grantedAt: Timestamp(nanoseconds: 0), reason: "r", validFrom: nil, validUntil: nil, revocation: nil)
        XCTAssertFalse(policy([someoneElse]).mayManage(.node), "another principal's grant does not count")
    }

    /// The event streams' compiled grants answer exactly as the policy's rule over the grants in
    /// force, for random grants, scopes, positions and times.
    func testGrantTableAnswersAsThePolicy() {
        var rng = SystemRandomNumberGenerator()
        let scopes: [AccessScope] = [.node, .participant(mailbox.participant), .participant("0203:b.example.se"), .mailbox(mailbox), .mailbox(other),
                                     .mailbox(FunctionalAddress(participant: "0203:b.example.se", function: "registrator"))]
        let rightSets: [Set<AccessRight>] = [[.read], [.audit], [.operate], [.send], [.manage], [.read, .audit], [.audit, .operate], []]
        func time(_ n: Int64) -> Timestamp? { n < 0 ? nil : Timestamp(nanoseconds: n) }
        for _ in 0..<2000 {
            let grants = (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                grant(UInt64.random(in: 1...50, using: &rng), scopes.randomElement(using: &rng)!, rightSets.randomElement(using: &rng)!,
                      from: time(Int64.random(in: -10...60, using: &rng) * 10), until: time(Int64.random(in: -10...100, using: &rng) * 10),
                      revokedAt: Bool.random(using: &rng) ? UInt64.random(in: 1...60, using: &rng) : nil)
            }
            let seq = UInt64.random(in: 0...60, using: &rng), at = Timestamp(nanoseconds: Int64.random(in: 0...1_000, using: &rng))
            let scope = scopes.randomElement(using: &rng)!
            let expected = AccessPolicy.visibility(on: scope, granting: grants.filter { $0.isEffective(atSeq: seq, time: at) })
            XCTAssertEqual(GrantTable(grants).visibility(on: scope, atSeq: seq, time: at), expected, "\(grants) at \(seq), \(at): \(scope)")
            XCTAssertEqual(GrantTable(grants).inForce(atSeq: seq, time: at).visibility(on: scope), expected, "\(grants) in force at \(seq), \(at)")
        }
    }

    func testAGrantMayNotOutlastTheGrantersManageRight() {
        let until = Timestamp(nanoseconds: 5_000)
        let limited = policy([grant(1, .participant(mailbox.participant), [.manage], until: until)])
        XCTAssertTrue(limited.mayManage(.mailbox(mailbox)))
        XCTAssertEqual(limited.manageEnds(on: .mailbox(mailbox)), .some(until))
        let open = policy([grant(1, .participant(mailbox.participant), [.manage], until: until), grant(2, .node, [.manage])])
        XCTAssertEqual(open.manageEnds(on: .mailbox(mailbox)), .some(nil), "one unlimited manage grant lifts the cap")
        XCTAssertEqual(policy([]).manageEnds(on: .node), .none)
    }

    func testRequestsAreCheckedAndNamesParsed() {
        XCTAssertNotNil(Grant.Request(grantee: anna, scope: .node, rights: [.read], reason: "x").problem, "no content rights on the node")
        XCTAssertNotNil(Grant.Request(grantee: anna, scope: .mailbox(mailbox), rights: [.operate], reason: "x").problem)
        XCTAssertNotNil(Grant.Request(grantee: anna, scope: .mailbox(mailbox), rights: [], reason: "x").problem)
        XCTAssertNotNil(Grant.Request(grantee: anna, scope: .mailbox(mailbox), rights: [.read], reason: "").problem)
        XCTAssertNil(Grant.Request(grantee: anna, scope: .mailbox(mailbox), rights: [.read, .send], reason: "x").problem)
        XCTAssertEqual(PrincipalName("pnr:197001011234"), anna)
        XCTAssertNil(PrincipalName("pnr:1970"))
        XCTAssertNil(PrincipalName("user@0203:a.example.se"), "a typed name is not a principal")
        XCTAssertNil(PrincipalName("cert:ABCDEF"))
        XCTAssertNotNil(PrincipalName("sub:https://idp.example.se#abc"))
        XCTAssertNil(PrincipalName("sub:#abc"))
        XCTAssertEqual(AccessScope("mailbox:registrator@0203:a.example.se"), .mailbox(mailbox))
        XCTAssertEqual(AccessScope("participant:0203:a.example.se"), .participant("0203:a.example.se"))
        XCTAssertNil(AccessScope("participant:"))
        XCTAssertEqual(AccessRight.parseList("send, read"), [.read, .send])
        XCTAssertNil(AccessRight.parseList("read,admin"))
    }
}
