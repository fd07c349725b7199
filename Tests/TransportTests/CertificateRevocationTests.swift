import Foundation
import XCTest
import X509
@testable import Transport

/// CRL checking against CRLs made by `openssl ca` (software we did not write).
final class CertificateRevocationTests: XCTestCase {
    func makePKI(_ dir: String) throws {
        let script = """
            set -e
            cd "\(dir)"
            mk_ca() { openssl req -x509 -newkey rsa:2048 -nodes -keyout $1.key -out $1.pem -days 30 -subj /CN=CRL-CA \\
              -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null; }
            mk_ca ca; mk_ca impostor
            printf 'keyUsage=critical,digitalSignature,keyEncipherment\\n' > ext.cnf
            for n in good bad; do
              openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n 2>/dev/null
              openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 10 -extfile ext.cnf 2>/dev/null
            done
            for c in ca impostor; do
              mkdir -p db-$c; : > db-$c/index.txt; echo 01 > db-$c/crlnumber
              printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=db-%s/index.txt\\ncrlnumber=db-%s/crlnumber\\ndefault_md=sha256\\ndefault_crl_days=7\\n' $c $c > $c.cnf
            done
            openssl ca -config ca.cnf -revoke bad.pem -keyfile ca.key -cert ca.pem 2>/dev/null
            openssl ca -config ca.cnf -gencrl -keyfile ca.key -cert ca.pem -out ca.crl 2>/dev/null
            openssl ca -config impostor.cnf -gencrl -keyfile impostor.key -cert impostor.pem -out impostor.crl 2>/dev/null
            openssl crl -in ca.crl -outform DER -out ca.crl.der
            """
        let r = try runTool("sh", ["-c", script])
        XCTAssertEqual(r.status, 0, r.output)
    }

    func testRevokedStaleMissingAndForgedCRLs() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvitto-crl-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try makePKI(dir)
        let ca = try CertificateFile.read(path: dir + "/ca.pem")[0]
        let good = try CertificateFile.read(path: dir + "/good.pem")[0]
        let bad = try CertificateFile.read(path: dir + "/bad.pem")[0]
        let crl = try CertificateRevocationList(path: dir + "/ca.crl")
        let der = try CertificateRevocationList(path: dir + "/ca.crl.der")
        let forged = try CertificateRevocationList(path: dir + "/impostor.crl")
        XCTAssertTrue(crl.isIssued(by: ca))
        XCTAssertTrue(try der.lists(bad))
        XCTAssertFalse(forged.isIssued(by: ca), "a CRL signed by another key with the same issuer name")
        XCTAssertTrue(try crl.lists(bad))
        XCTAssertFalse(try crl.lists(good))

        func check(_ leaf: Certificate, _ lists: [CertificateRevocationList], required: Bool, at time: Date = Date()) async -> String? {
            do {
                try await CertificateTrust(role: .as4, anchors: [ca], revocationLists: lists, revocationRequired: required)
                    .evaluate(leaf, at: time)
                return nil
            } catch { return error.description }
        }
        let ok = await check(good, [crl], required: true)
        XCTAssertNil(ok)
        let revoked = await check(bad, [crl], required: true)
        XCTAssertTrue(revoked?.contains("revoked") == true, revoked ?? "accepted")
        let revokedOptional = await check(bad, [crl], required: false)
        XCTAssertTrue(revokedOptional?.contains("revoked") == true, "a listed certificate is refused even when CRLs are optional")
        let stale = await check(good, [crl], required: true, at: Date().addingTimeInterval(8 * 86_400))
        XCTAssertTrue(stale?.contains("not current") == true, stale ?? "accepted")
        let missing = await check(good, [], required: true)
        XCTAssertTrue(missing?.contains("no CRL") == true, missing ?? "accepted")
        let onlyForged = await check(bad, [forged], required: true)
        XCTAssertTrue(onlyForged?.contains("no CRL") == true, onlyForged ?? "accepted")
        let optionalMissing = await check(good, [], required: false)
        XCTAssertNil(optionalMissing)
        XCTAssertThrowsError(try CertificateRevocationList(bytes: Array("not a crl".utf8)))
    }

    func evaluate(_ trust: CertificateTrust, _ leaf: Certificate, at time: Date = Date()) async -> String? {
        do { try await trust.evaluate(leaf, at: time); return nil } catch { return error.description }
    }

    /// Several CRLs of one issuer in the folder: the newest current one (by thisUpdate) decides,
    /// whatever the file names; one not yet valid is ignored.
    func testTheNewestCurrentCRLOfAnIssuerDecides() async throws {
        let dir = try crlScenario("""
            crl -crl_lastupdate $(t -7200) -out a-old.crl
            crl -crl_lastupdate $(t 3600) -crl_nextupdate $(t 86400) -out c-future.crl
            revoke bad.pem
            crl -crl_lastupdate $(t -3600) -out b-new.crl
            mkdir trust; cp ca.pem a-old.crl b-new.crl c-future.crl trust/
            """)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let trust = try CertificateTrust.load(role: .as4, directory: dir + "/trust", revocationRequired: true)
        XCTAssertEqual(trust.revocationLists.count, 3)
        let good = try CertificateFile.read(path: dir + "/good.pem")[0]
        let bad = try CertificateFile.read(path: dir + "/bad.pem")[0]
        let revoked = await evaluate(trust, bad)
        XCTAssertTrue(revoked?.contains("revoked") == true, revoked ?? "accepted: the older CRL a-old.crl was used")
        let accepted = await evaluate(trust, good)
        XCTAssertNil(accepted)
    }

    /// removeFromCRL belongs in delta CRLs only (RFC 5280 5.3.1); on a complete CRL the entry
    /// cannot be read as "not revoked", so the check fails and the certificate is refused.
    func testARemoveFromCRLEntryRefusesTheCertificate() async throws {
        let dir = try crlScenario("""
            revoke good.pem -crl_reason removeFromCRL
            crl -out ca.crl
            """)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ca = try CertificateFile.read(path: dir + "/ca.pem")[0]
        let good = try CertificateFile.read(path: dir + "/good.pem")[0]
        let crl = try CertificateRevocationList(path: dir + "/ca.crl")
        XCTAssertThrowsError(try crl.lists(good))
        for required in [true, false] {
            let trust = CertificateTrust(role: .o2o, anchors: [ca], revocationLists: [crl], revocationRequired: required)
            let outcome = await evaluate(trust, good)
            XCTAssertTrue(outcome?.contains("revocation") == true, outcome ?? "accepted (required: \(required))")
        }
    }

    /// A lookup that cannot be made is an error, never "not listed".
    func testALookupErrorIsNotNotListed() throws {
        let dir = try crlScenario("crl -out ca.crl")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let crl = try CertificateRevocationList(path: dir + "/ca.crl")
        XCTAssertThrowsError(try crl.listing(serial: []))
        XCTAssertThrowsError(try crl.listing(serial: Array(repeating: 1, count: 200)))
        XCTAssertEqual(try crl.listing(serial: [0x01]), .notListed)
    }

    /// Delta CRLs are not supported; one is refused when loaded rather than read as complete.
    func testADeltaCRLIsRefused() throws {
        let dir = try crlScenario("crl -crlexts delta -out delta.crl")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try CertificateRevocationList(path: dir + "/delta.crl"))
    }
}
