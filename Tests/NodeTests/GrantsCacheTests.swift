import Foundation
import Ledger
import Node
import Projections
import Workload
import XCTest

/// A caller's grants are reused while the ledger's head stays put — but not once the projections
/// were set back (a `kvitto projections rebuild` in another process clears them first): the next
/// read catches them up again and answers the whole mailbox, as before the rebuild.
final class GrantsCacheTests: XCTestCase {
    func testAReadAfterTheProjectionsWereClearedCatchesThemUp() async throws {
        let base = try NodeFixture.scratch("grants-cache")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let participant = "0203:one.example.se"
        let node = try await NodeFixture.apiNode(in: base, [.init(id: participant, name: "Kommun Ett", functions: [("registrator", "registrator")])])
        var history = SyntheticHistory(.init(participant: participant, functions: ["registrator"], counterparts: 5, seed: 3))
        history.appended(try await node.access.ledger.append(history.next(400)))
        let mailbox = FunctionalAddress(participant: participant, function: "registrator")
        let clerk = PrincipalName(kind: .pnr, value: "197001011234")
        _ = try await GrantAdministration(access: node.access).grant(.init(grantee: clerk, scope: .mailbox(mailbox), rights: [.read],
                                                                            reason: "handläggare"), by: OSUser.principal())
        let me = Principal(name: clerk, assurance: .strong, interface: .api)
        let access = node.access
        func listed() async throws -> Int {
            var n = 0
            _ = try await access.pageRows(mailbox, limit: 1000, as: me) { _, _, _ in n += 1 }
            return n
        }
        do {
            let before = try await listed()
            XCTAssertGreaterThan(before, 10)
            let head = try node.access.ledger.durableHead()
            XCTAssertEqual(try node.projections.lowestApplied(), head)
            // Set back as a rebuild elsewhere would, before it refolds; the head has not moved.
            try node.projections.clear()
            XCTAssertEqual(try node.projections.lowestApplied(), 0)
            let after = try await listed()
            XCTAssertEqual(after, before, "the whole mailbox, not the cleared one")
            XCTAssertEqual(try node.projections.lowestApplied(), head, "the read caught the projections up")
        } catch {
            await node.close()
            throw error
        }
        await node.close()
    }
}
