import Foundation
import XCTest

/// `kvitto check` prints each problem with its member and exits 1 on an error; `kvitto serve`
/// runs the same checks and refuses to start.
final class CheckCLITests: XCTestCase {
    func testCheckAndServeRefuseAMisconfiguredNode() throws {
        let dir = ScratchDir("check")
        defer { dir.remove() }
        let node = dir.sub("node")
        let initialised = try KvittoProcess.run(["init", node, "--name", "node-a", "--participant", "0203:a.example.se=Kommun A",
                                                 "--function", "socialtjansten@0203:a.example.se=Socialtjänsten", "--port", "0", "--api-port", "0"])
        XCTAssertEqual(initialised.status, 0, initialised.stderr)
        let ok = try KvittoProcess.run(["check", "--node", node])
        XCTAssertEqual(ok.status, 0, ok.stdout + ok.stderr)
        XCTAssertTrue(ok.stdout.contains("OK:"), ok.stdout)

        let url = URL(fileURLWithPath: node + "/kvitto.json")
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var as4 = try XCTUnwrap(config["as4"] as? [String: Any])
        as4["party_id"] = "kvitto-ap-someone-else"
        config["as4"] = as4
        try JSONSerialization.data(withJSONObject: config).write(to: url)

        let bad = try KvittoProcess.run(["check", "--node", node, "--json"])
        XCTAssertEqual(bad.status, 1, bad.stdout + bad.stderr)
        XCTAssertTrue(bad.stdout.contains("\"code\":\"check.party_id_mismatch\"") && bad.stdout.contains("\"member\":\"as4.party_id\""), bad.stdout)
        let serve = try KvittoProcess.run(["serve", "--node", node, "--log-level", "error"], timeout: 60)
        XCTAssertEqual(serve.status, 2, serve.stdout + serve.stderr)
        XCTAssertTrue(serve.stderr.contains("node.config_invalid") && serve.stderr.contains("as4.party_id"), serve.stderr)
    }
}
