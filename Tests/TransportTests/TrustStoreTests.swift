import Foundation
import XCTest
import X509
@testable import Transport

/// A trust folder reloaded while running: changed files are picked up, the newest CRL per issuer
/// sets the earliest nextUpdate, and a folder that does not load keeps the previous trust.
final class TrustStoreTests: XCTestCase {
    /// The CRL scenario of ``CertificateRevocationTests`` with `script` run after it.
    func scenario(_ script: String) throws -> String {
        try crlScenario(script)
    }

    func testChangedFilesAreReloadedAndAFailedReloadKeepsThePreviousTrust() async throws {
        let dir = try scenario("""
            crl -crl_lastupdate $(t -7200) -crl_nextupdate $(t 86400) -out a.crl
            revoke bad.pem
            crl -crl_lastupdate $(t -3600) -crl_nextupdate $(t 259200) -out b.crl
            mkdir trust; cp ca.pem a.crl trust/
            """)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = dir + "/trust"
        let bad = try CertificateFile.read(path: dir + "/bad.pem")[0]
        let store = try TrustStore(role: .as4, directory: folder, revocationRequired: true)
        XCTAssertEqual(store.summary.anchors, 1)
        XCTAssertEqual(store.summary.intermediates, 0)
        XCTAssertEqual(store.summary.revocationLists, 1)
        XCTAssertEqual(try XCTUnwrap(store.earliestNextUpdate).timeIntervalSinceNow, 86_400, accuracy: 600)
        try await store.current.evaluate(bad, at: Date())
        guard case .unchanged = store.refresh() else { return XCTFail("reloaded unchanged files") }

        // A newer CRL that lists `bad`: picked up on the next refresh; it is the one in use, so
        // its nextUpdate (3 days), not the older CRL's (1 day), is the earliest.
        try FileManager.default.copyItem(atPath: dir + "/b.crl", toPath: folder + "/b.crl")
        guard case .reloaded(let summary) = store.refresh() else { return XCTFail("the new CRL was not loaded") }
        XCTAssertEqual(summary.revocationLists, 2)
        XCTAssertEqual(try XCTUnwrap(summary.earliestNextUpdate).timeIntervalSinceNow, 259_200, accuracy: 600)
        do {
            try await store.current.evaluate(bad, at: Date())
            XCTFail("the reloaded CRL was not used")
        } catch { XCTAssertTrue(error.description.contains("revoked"), error.description) }

        // A CRL that does not parse: refused once, the previous trust stays.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: folder + "/c.crl"))
        guard case .failed(let error, let keeping) = store.refresh() else { return XCTFail("a broken CRL was loaded") }
        XCTAssertTrue(error.description.contains(folder), error.description)
        XCTAssertEqual(keeping, summary)
        XCTAssertEqual(store.current.revocationLists.count, 2)
        guard case .unchanged = store.refresh() else { return XCTFail("the same failure was reported twice") }
        guard case .failed = store.refresh(force: true) else { return XCTFail("a forced reload loaded a broken CRL") }

        // Without an anchor the folder is refused too; once fixed it loads again.
        try FileManager.default.removeItem(atPath: folder + "/c.crl")
        try FileManager.default.removeItem(atPath: folder + "/ca.pem")
        guard case .failed = store.refresh() else { return XCTFail("a folder without anchors was loaded") }
        XCTAssertEqual(store.current.anchors.count, 1)
        try FileManager.default.copyItem(atPath: dir + "/ca.pem", toPath: folder + "/ca.pem")
        guard case .reloaded = store.refresh() else { return XCTFail("the fixed folder was not loaded") }

        // A folder that is gone keeps the trust too.
        try FileManager.default.removeItem(atPath: folder)
        guard case .failed = store.refresh() else { return XCTFail("a missing folder was accepted") }
        XCTAssertEqual(store.current.revocationLists.count, 2)
        XCTAssertThrowsError(try TrustStore(role: .as4, directory: folder, revocationRequired: false))
    }

    func testTheEarliestNextUpdateOfAStaleCRLIsInThePast() throws {
        let dir = try scenario("""
            crl -crl_lastupdate $(t -86400) -crl_nextupdate $(t -3600) -out stale.crl
            mkdir trust; cp ca.pem stale.crl trust/
            """)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try TrustStore(role: .o2o, directory: dir + "/trust", revocationRequired: false)
        XCTAssertLessThan(try XCTUnwrap(store.earliestNextUpdate), Date())
        XCTAssertNil(TrustStore(CertificateTrust(role: .o2o, anchors: store.current.anchors)).earliestNextUpdate)
    }
}
