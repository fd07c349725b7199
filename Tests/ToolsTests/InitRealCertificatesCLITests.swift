import Foundation
import XCTest

/// `kvitto init`'s real-certificate mode and `kvitto route add` for any access point, from the
/// command line, with a federation CA made by the `openssl` command line: the node passes
/// `kvitto check` with no file edited by hand, and each mistake an operator makes is refused with
/// what to do — and leaves no half-made node behind.
final class InitRealCertificatesCLITests: XCTestCase {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("interop/federation/make-ca.sh").path

    func testInitWithAFederationsPKCS12FilesAndRefusalsOfCommonMistakes() throws {
        let dir = ScratchDir("init-real")
        defer { dir.remove() }
        let ca = dir.sub("ca")
        let made = try KvittoProcess.runTool("/bin/sh", [Self.script, ca])
        XCTAssertEqual(made.status, 0, made.stdout + made.stderr)
        func initArgs(_ node: String, o2o: String = "o2o.p12", password: String = "password", extra: [String] = []) -> [String] {
            ["init", dir.sub(node), "--name", "real", "--participant", "0203:k.example.se=Myndighet K",
             "--function", "registrator@0203:k.example.se=Registraturen", "--port", "0", "--api-port", "0",
             "--as4-p12", ca + "/as4.p12", "--tls-p12", ca + "/tls.p12", "--o2o-p12", "0203:k.example.se=" + ca + "/" + o2o,
             "--p12-password-file", ca + "/" + password, "--trust-as4", ca + "/ca.crt", "--trust-o2o", ca + "/ca.crt",
             "--trust-tls", ca + "/ca.crt"] + extra
        }
        let created = try KvittoProcess.run(initArgs("node"))
        XCTAssertEqual(created.status, 0, created.stdout + created.stderr)
        XCTAssertTrue(created.stdout.contains("party id ap-real-test"), created.stdout)
        XCTAssertFalse(created.stdout.contains("throwaway"), created.stdout)
        let config = try String(contentsOfFile: dir.sub("node/kvitto.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"throwaway_pki\" : false"), config)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.sub("node/pki/ca.key")))
        let checked = try KvittoProcess.run(["check", "--node", dir.sub("node")])
        XCTAssertEqual(checked.status, 0, checked.stdout + checked.stderr)
        XCTAssertTrue(checked.stdout.contains("OK:") && !checked.stdout.contains("warning"), checked.stdout)

        // A foreign access point: its endpoint, certificates and the organisation's functional addresses.
        let routeArgs = ["route", "add", "--node", dir.sub("node"), "--participant", "0203:sender.example.se", "--name", "Myndighet S",
                         "--function", "kansli=Kansliet", "--endpoint", "https://127.0.0.1:9/as4", "--as4-certificate", ca + "/peer-as4.crt"]
        let routed = try KvittoProcess.run(routeArgs + ["--o2o-certificate", ca + "/peer-o2o.crt"])
        XCTAssertEqual(routed.status, 0, routed.stdout + routed.stderr)
        let book = try KvittoProcess.run(["addressbook", "list", "--node", dir.sub("node")])
        XCTAssertTrue(book.stdout.contains("kansli@0203:sender.example.se"), book.stdout + book.stderr)
        XCTAssertEqual(try KvittoProcess.run(["check", "--node", dir.sub("node")]).status, 0)

        // Mistakes: each refused with what to do, and nothing left behind.
        let mistakes: [([String], String)] = [
            (initArgs("n1", o2o: "foreign-o2o.p12"), "not to 0203:k.example.se; give that organisation's own O2O certificate"),
            (initArgs("n2", password: "ca.crt"), "the password does not open the PKCS#12 file"),
            (initArgs("n3", extra: ["--party-id", "kvitto-ap-real"]), "is not the CN of the AS4 certificate (ap-real-test)"),
            (initArgs("n4", extra: ["--trust-as4", ca + "/ca-private/ca.key"]), "holds a private key; give the CA's certificate only"),
            (initArgs("n5").filter { $0 != "--tls-p12" && $0 != ca + "/tls.p12" }, "HTTPS needs the TLS identity"),
            (["init", dir.sub("n6"), "--participant", "0203:k.example.se=K", "--trust-as4", ca + "/ca.crt"], "go with --as4-p12"),
            (routeArgs + ["--o2o-certificate", ca + "/foreign-o2o.crt"], "not to 0203:sender.example.se"),
            (initArgs("n7", extra: ["--no-tls"]), "--tls-p12 and --no-tls contradict each other"),
            (["init", dir.sub("n8"), "--participant", "0203:k.example.se=K", "--p12-password-file", ca + "/password"], "go with --as4-p12"),
            (["route", "add", "--node", dir.sub("node"), "--peer", dir.sub("node"), "--trust-as4", ca + "/ca.crt"], "give either --peer or --participant"),
        ]
        for (args, expected) in mistakes {
            let r = try KvittoProcess.run(args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(expected), "\(args[0]) …: \(r.stderr)")
        }
        for n in ["n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.sub(n)), "\(n) left behind")
        }
        // A trust folder that went missing is named plainly.
        try FileManager.default.removeItem(atPath: dir.sub("node/trust/o2o"))
        let missing = try KvittoProcess.run(["check", "--node", dir.sub("node")])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stdout.contains("trust.o2o") && !missing.stdout.contains("NSCocoaErrorDomain"), missing.stdout)
    }
}
