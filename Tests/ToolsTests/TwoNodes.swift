import Foundation
import Node
import Projections
import XCTest

/// Two `kvitto init` nodes, A (Kommun A, socialtjansten) and B (Region B, registrator), that trust
/// each other, with routes both ways and fast retries (200 × 0.5 s): the set-up of the tests that
/// run `kvitto serve` processes.
enum TwoNodes {
    /// Initialises both in `dir` (`node-a`, `node-b`); nothing is started.
    static func initialise(_ dir: ScratchDir) async throws -> (a: String, b: String, from: FunctionalAddress, to: FunctionalAddress) {
        let a = dir.sub("node-a"), b = dir.sub("node-b")
        let ports = try await DemoNetwork.freePorts(2)
        func kvitto(_ args: [String]) throws {
            let r = try KvittoProcess.run(args)
            XCTAssertEqual(r.status, 0, "kvitto \(args.joined(separator: " ")): \(r.stderr)")
        }
        try kvitto(["init", a, "--name", "node-a", "--participant", "0203:a.example.se=Kommun A",
                    "--function", "socialtjansten@0203:a.example.se=Socialtjänsten", "--port", "\(ports[0])", "--api-port", "0",
                    "--retries", "200", "--retry-interval", "0.5"])
        try kvitto(["init", b, "--name", "node-b", "--participant", "0203:b.example.se=Region B",
                    "--function", "registrator@0203:b.example.se=Registraturen", "--port", "\(ports[1])", "--api-port", "0", "--ca", a,
                    "--retries", "200", "--retry-interval", "0.5"])
        try kvitto(["route", "add", "--node", a, "--peer", b])
        try kvitto(["route", "add", "--node", b, "--peer", a])
        return (a, b, FunctionalAddress(participant: "0203:a.example.se", function: "socialtjansten"),
                FunctionalAddress(participant: "0203:b.example.se", function: "registrator"))
    }
}
