import Foundation
import XCTest

/// `kvitto route add` while the node runs: a peer under a CA the node did not trust before is
/// routed to at once — its AS4 and TLS anchors trusted for the next connection, its certificates
/// recorded — and a message to it is delivered without a restart. The peer's answer comes over
/// mutual TLS, whose accepted client CAs the endpoint reads at start: the command says so, and
/// after a restart the Meddelandekvittens is accepted.
final class RouteCLITests: XCTestCase {
    private func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try KvittoProcess.ok(args, file: file, line: line)
    }

    private func fails(_ args: [String], code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try KvittoProcess.fails(args, code: code, file: file, line: line)
    }

    func testRouteToAPeerUnderANewCAWhileTheNodeRuns() throws {
        let dir = ScratchDir("route-live")
        defer { dir.remove() }
        let a = dir.sub("a"), b = dir.sub("b"), me = "os:\(NSUserName())"
        // Two nodes with throwaway CAs of their own: neither trusts the other yet.
        _ = try ok(["init", a, "--name", "a", "--participant", "0203:a.example.se=Kommun A", "--function", "kansli@0203:a.example.se=Kansliet",
                    "--port", "18641"])
        _ = try ok(["init", b, "--name", "b", "--participant", "0203:b.example.se=Region B", "--function", "registrator@0203:b.example.se",
                    "--port", "18646", "--retry-interval", "1"])
        _ = try ok(["grant", "--node", a, "--grantee", me, "--scope", "participant:0203:a.example.se", "--rights", "read,send", "--reason", "t"])
        _ = try ok(["route", "add", "--node", b, "--peer", a])
        let serverA = try NodeCrashTests.Server(node: a, log: dir.sub("a.log"))
        defer { serverA.kill() }
        let send = ["send", "--node", a, "--from", "kansli@0203:a.example.se", "--to", "registrator@0203:b.example.se", "--label", "Ny väg",
                    "--text", "Hej B"]
        try fails(send, code: "node.unknown_address")

        let added = try ok(["route", "add", "--node", a, "--peer", b])
        XCTAssertTrue(added.contains("route to 0203:b.example.se at https://127.0.0.1:18646/as4 added"), added)
        XCTAssertTrue(added.contains("at the next start"), "the limit of mutual TLS is not said: \(added)")
        let trusted = try FileManager.default.contentsOfDirectory(atPath: a + "/trust/tls").filter { $0.hasPrefix("route-") }
        XCTAssertEqual(trusted.count, 1, "b's CA is trusted for TLS: \(trusted)")
        let serverB = try NodeCrashTests.Server(node: b, log: dir.sub("b.log"))
        defer { serverB.kill() }
        let id = try ok(send).trimmingCharacters(in: .whitespacesAndNewlines)
        func reached(_ status: String) throws -> Bool {
            for _ in 0..<150 {
                if try ok(["mailbox", "--node", a]).contains("\(id)  out  \(status)") { return true }
                usleep(200_000)
            }
            return false
        }
        XCTAssertTrue(try reached("delivered"), "not delivered without a restart: \(NodeCrashTests.tail(dir.sub("a.log")))")
        XCTAssertTrue(serverA.stop())
        let restarted = try NodeCrashTests.Server(node: a, log: dir.sub("a.log"))
        defer { restarted.kill() }
        XCTAssertTrue(try reached("accepted"), "the Meddelandekvittens did not arrive after the restart: \(NodeCrashTests.tail(dir.sub("b.log")))")
        XCTAssertTrue(restarted.stop())
        XCTAssertTrue(serverB.stop())

        // On record by the OS user: the address book and both certificates of the route, once.
        let events = try ok(["ledger", "show", "--ledger", a + "/ledger", "--json"]).split(separator: "\n")
        for name in ["route_as4:0203:b.example.se", "route_o2o:0203:b.example.se"] {
            let recorded = events.filter { $0.contains("\"certificate\":\"\(name)\"") }
            XCTAssertEqual(recorded.count, 1, name)
            XCTAssertTrue(recorded.first?.contains("\"actor\":\"\(me)\"") == true, name)
        }
        XCTAssertTrue(events.contains { $0.contains("addressbook.function.added") && $0.contains("registrator") && $0.contains("\"actor\":\"\(me)\"") })
        let route = try XCTUnwrap(events.first { $0.contains("\"type\":\"route.changed\"") })
        XCTAssertTrue(route.contains("\"change\":\"added\"") && route.contains("\"trust_added\":[{") && route.contains("\"actor\":\"\(me)\""), String(route))

        // A route whose certificates chain to nothing the node trusts would stop it from starting: refused, nothing written.
        let config = try String(contentsOfFile: a + "/kvitto.json", encoding: .utf8)
        for name in ["rogue-as4", "rogue-o2o"] {
            let made = try KvittoProcess.runTool("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.sub(name + ".key"),
                                                                       "-out", dir.sub(name + ".crt"), "-days", "30", "-subj", "/CN=0203:x.example.se"])
            XCTAssertEqual(made.status, 0, made.stderr)
        }
        let rogue = try KvittoProcess.run(["route", "add", "--node", a, "--participant", "0203:x.example.se", "--name", "X", "--function", "x=X",
                                           "--endpoint", "https://127.0.0.1:9/as4", "--as4-certificate", dir.sub("rogue-as4.crt"),
                                           "--o2o-certificate", dir.sub("rogue-o2o.crt")])
        XCTAssertNotEqual(rogue.status, 0)
        XCTAssertTrue(rogue.stderr.contains("check.untrusted_certificate"), rogue.stderr)
        XCTAssertEqual(try String(contentsOfFile: a + "/kvitto.json", encoding: .utf8), config)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: a + "/routes").contains { $0.hasPrefix("0203-x-example-se") })
        // Without the manage right on the node, a route is refused.
        let nodeGrant = try XCTUnwrap(try ok(["grants", "--node", a, "--json"]).split(separator: "\n")
            .first { $0.contains("\"scope\":\"node\"") && $0.contains("\"manage\"") }
            .flatMap { $0.split(separator: ",").first { $0.hasPrefix("\"id\":") } }.flatMap { UInt64($0.dropFirst(5)) })
        _ = try ok(["revoke", "--node", a, String(nodeGrant), "--reason", "t"])
        try fails(["route", "add", "--node", a, "--peer", b], code: "node.forbidden")
    }
}
