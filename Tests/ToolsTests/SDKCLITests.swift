import Foundation
import XCTest

/// `kvitto sdk …` through the real binary: exit codes, JSON, and a sign → verify → tamper cycle
/// with keys made by openssl (software we did not write).
final class SDKCLITests: XCTestCase {
    static let sdk: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.deletingLastPathComponent().appendingPathComponent("shared/reference/sdk").path
    }()

    func testValidateExitCodesAndJSON() throws {
        let ok = try KvittoProcess.run(["sdk", "validate", Self.sdk + "/receipt/examples/Kvittens_RE-SIG.xml"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("valid meddelandekvittens"))
        let bad = try KvittoProcess.run(["sdk", "validate", "--json", Self.sdk + "/message-v3/testdata/TF2.4.2.xml"])
        XCTAssertEqual(bad.status, 1)
        let json = try JSONSerialization.jsonObject(with: Data(bad.stdout.utf8)) as? [String: Any]
        let violations = json?["violations"] as? [[String: Any]]
        XCTAssertEqual(violations?.first?["rule"] as? String, "senderIdvalue")
        XCTAssertEqual(violations?.first?["kind"] as? String, "BV")
        let hostile = try KvittoProcess.run(["sdk", "validate", "-"], stdin: "<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><a>&e;</a>")
        XCTAssertEqual(hostile.status, 2)
        XCTAssertTrue(hostile.stderr.contains("xml.doctype_forbidden"), hostile.stderr)
        let missing = try KvittoProcess.run(["sdk", "validate", "/nonexistent.xml"])
        XCTAssertEqual(missing.status, 2)
    }

    func testSignVerifyTamperWithOpensslKeys() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvitto-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func sh(_ command: String) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", command]
            p.currentDirectoryURL = URL(fileURLWithPath: dir)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, command)
        }
        try sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=CLI-CA "
            + "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign")
        try sh("openssl req -newkey rsa:2048 -nodes -keyout org.key -out org.csr -subj /CN=Org")
        try sh("printf 'keyUsage=critical,digitalSignature,keyEncipherment\\n' > ext.cnf && "
            + "openssl x509 -req -in org.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out org.pem -days 10 -extfile ext.cnf")
        let signed = try KvittoProcess.run(["sdk", "sign", "--key", dir + "/org.key", "--cert", dir + "/org.pem",
                                            "-o", dir + "/signed.xml", Self.sdk + "/xhe/examples/XHE-tm-base.xml"])
        XCTAssertEqual(signed.status, 0, signed.stderr)
        let verified = try KvittoProcess.run(["sdk", "verify", "--trust", dir + "/ca.pem", dir + "/signed.xml"])
        XCTAssertEqual(verified.status, 0, verified.stdout + verified.stderr)
        XCTAssertTrue(verified.stdout.contains("CN=Org"))
        // Too late: the leaf expired.
        let late = try KvittoProcess.run(["sdk", "verify", "--trust", dir + "/ca.pem", "--at", "2099-01-01T00:00:00Z", dir + "/signed.xml"])
        XCTAssertEqual(late.status, 1)
        XCTAssertTrue(late.stdout.contains("signature.untrusted"), late.stdout)
        // Tampered.
        var text = try String(contentsOfFile: dir + "/signed.xml", encoding: .utf8)
        text = text.replacingOccurrences(of: "0203:myndighetB.org", with: "0203:myndighetC.org")
        try text.write(toFile: dir + "/tampered.xml", atomically: true, encoding: .utf8)
        let tampered = try KvittoProcess.run(["sdk", "verify", "--json", "--trust", dir + "/ca.pem", dir + "/tampered.xml"])
        XCTAssertEqual(tampered.status, 1)
        XCTAssertTrue(tampered.stdout.contains("\"code\":\"signature.digest_mismatch\""), tampered.stdout)
    }
}
