import Foundation
import Node
import Projections
import Transport
import XCTest

/// Trust folders are reloaded while the node runs: a CRL placed in a folder takes effect on the
/// next reload (SIGHUP, the poll, or ``Node/reloadTrust(force:reason:)``) for the O2O and AS4
/// checks, and a folder that no longer loads keeps the previous trust.
final class NodeTrustReloadTests: XCTestCase {
    /// A CRL signed by the demo CA in `caDirectory` (its `ca.crt` and `ca.key`) listing the
    /// certificates in `revoked`, written to `output`.
    static func makeCRL(revoking revoked: [String], caDirectory: String, output: String) throws {
        let work = output + ".work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let script = """
            set -e
            cd "\(work)"
            : > index.txt; echo 01 > crlnumber
            printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\ncrlnumber=crlnumber\\ndefault_md=sha256\\ndefault_crl_days=7\\n' > ca.cnf
            for c in \(revoked.map { "\"\($0)\"" }.joined(separator: " ")); do
              openssl ca -config ca.cnf -keyfile "\(caDirectory)/ca.key" -cert "\(caDirectory)/ca.crt" -revoke "$c" 2>/dev/null
            done
            openssl ca -config ca.cnf -gencrl -keyfile "\(caDirectory)/ca.key" -cert "\(caDirectory)/ca.crt" -out "\(output)" 2>/dev/null
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "openssl ca failed")
    }

    func testACRLPlacedInTheTrustFolderTakesEffectWithoutARestart() async throws {
        let net = try await NodeFixture.network("trust-reload", retries: 0, interval: 1)
        defer { try? FileManager.default.removeItem(atPath: net.base) }
        try Self.makeCRL(revoking: [net.a + "/pki/o2o-0203-a-example-se.crt"], caDirectory: net.a + "/pki", output: net.base + "/o2o.crl")
        try Self.makeCRL(revoking: [net.a + "/pki/as4.crt"], caDirectory: net.a + "/pki", output: net.base + "/as4.crl")
        let nodeA = try NodeFixture.open(net.a)
        let nodeB = try NodeFixture.open(net.b)
        let fm = FileManager.default
        try await DemoNetwork.running([nodeA, nodeB]) { _ in
            func send(_ label: String, until status: MessageStatus) async throws -> MessageRecord {
                let id = try await nodeA.submit(NodeFixture.message(label), actor: "user@" + NodeFixture.a.participant)
                let done = try await DemoNetwork.wait(timeout: 60) { try nodeA.snapshot().messages[id]?.status == status }
                let record = try XCTUnwrap(try nodeA.snapshot().messages[id])
                XCTAssertTrue(done, "\(label): \(record.status), not \(status), within 60 s: \(String(describing: record.verdict))")
                return record
            }
            _ = try await send("Före", until: .accepted)

            // The O2O CRL goes into B's folder; B reloads (what SIGHUP and the poll do).
            try fm.copyItem(atPath: net.base + "/o2o.crl", toPath: net.b + "/trust/o2o/demo.crl")
            let reloaded = nodeB.reloadTrust(reason: "test")
            guard case .reloaded(let summary)? = reloaded[.o2o] else { return XCTFail("o2o: \(String(describing: reloaded[.o2o]))") }
            XCTAssertEqual(summary.revocationLists, 1)
            XCTAssertEqual(summary.unmatchedRevocationLists, 0)
            let due = try XCTUnwrap(nodeB.keys.o2oTrustStore.earliestNextUpdate)
            XCTAssertEqual(due.timeIntervalSinceNow, 7 * 86_400, accuracy: 3600)
            let rejected = try await send("Efter", until: .rejected)
            XCTAssertEqual(rejected.verdict?.lines.map(\.code), ["SIG"])
            XCTAssertTrue(rejected.verdict?.lines.first?.reason.contains("revoked") == true, "\(String(describing: rejected.verdict))")

            // A CRL that does not parse: the reload is refused, the previous trust stays.
            try Data("not a CRL".utf8).write(to: URL(fileURLWithPath: net.b + "/trust/o2o/broken.crl"))
            guard case .failed? = nodeB.reloadTrust(force: false, reason: "test")[.o2o] else { return XCTFail("a broken CRL was loaded") }
            XCTAssertEqual(nodeB.keys.o2oTrust.revocationLists.count, 1)
            guard case .unchanged? = nodeB.reloadTrust(force: false, reason: "test")[.o2o] else { return XCTFail("reloaded unchanged files") }
            try fm.removeItem(atPath: net.b + "/trust/o2o/broken.crl")
            try fm.removeItem(atPath: net.b + "/trust/o2o/demo.crl")
            guard case .reloaded? = nodeB.reloadTrust(force: false, reason: "test")[.o2o] else { return XCTFail("o2o folder not reloaded") }
            XCTAssertEqual(nodeB.keys.o2oTrust.revocationLists.count, 0)

            // The AS4 CRL: B's running endpoint refuses A's access point from the next message on.
            try fm.copyItem(atPath: net.base + "/as4.crl", toPath: net.b + "/trust/as4/demo.crl")
            guard case .reloaded? = nodeB.reloadTrust(force: false, reason: "test")[.as4] else { return XCTFail("as4 folder not reloaded") }
            let refused = try await send("Spärrad accesspunkt", until: .failed)
            XCTAssertNil(try nodeB.snapshot().messages[refused.id], "B stored a message from a revoked access point")
        }
        await nodeA.close()
        await nodeB.close()
    }
}
