import Foundation
import Ledger
import XCTest

/// `kvitto projections` against a node directory: a rebuild SIGKILLed at random moments leaves a
/// store that catches up to exactly what a rebuild from scratch gives (each projection's rows and
/// its position are committed together), and status shows where each projection stands.
final class ProjectionsCLITests: XCTestCase {
    /// The JSON objects `projections status --json` prints, one per line.
    static func statusLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
    }

    func testRebuildKilledAtRandomMomentsCatchesUpToTheSameDigest() async throws {
        let dir = ScratchDir("projections")
        defer { if (testRun?.failureCount ?? 0) == 0 { dir.remove() } else { print("kept: \(dir.path)") } }
        let node = dir.sub("node")
        let r = try KvittoProcess.run(["init", node, "--name", "node", "--participant", "0203:a.example.se=Kommun A",
                                       "--function", "socialtjansten@0203:a.example.se=Socialtjänsten"])
        XCTAssertEqual(r.status, 0, r.stderr)
        do {
            let ledger = try Ledger.open(at: node + "/ledger")
            defer { ledger.close() }
            var drafts: [EventDraft] = []
            for i in 0..<40_000 {
                drafts.append(EventDraft(type: ["message.accessed", "access.denied", "message.submitted"][i % 3],
                                         subject: "message:m\(i % 97)", actor: "user:u\(i % 13)", payload: ["i": .int(Int64(i))]))
                if drafts.count == 500 { _ = try await ledger.append(drafts); drafts = [] }
            }
        }
        // How long an uninterrupted rebuild takes here (it is fast: its commits are not flushed one
        // by one), so that the kills land inside one rather than at fixed moments.
        let started = Date()
        let full = try KvittoProcess.run(["projections", "rebuild", "--node", node])
        XCTAssertEqual(full.status, 0, full.stderr)
        let took = Date().timeIntervalSince(started)
        var interrupted: [Int] = []
        for _ in 0..<6 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: KvittoProcess.binary)
            p.arguments = ["projections", "rebuild", "--node", node]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(useconds_t(took * Double.random(in: 0.3...0.95) * 1e6))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let status = try KvittoProcess.run(["projections", "status", "--node", node, "--json"])
            XCTAssertEqual(status.status, 0, status.stderr)
            interrupted.append(try Self.statusLines(status.stdout).map { $0["applied_seq"] as? Int ?? -1 }.min() ?? -1)
        }
        let lines = try Self.statusLines(try KvittoProcess.run(["projections", "status", "--node", node, "--json"]).stdout)
        XCTAssertEqual(lines.compactMap { $0["projection"] as? String }, ["events", "node", "grants", "webhooks"])
        let total = lines.first?["ledger_seq"] as? Int ?? 0
        print("projections: rebuild killed at applied seqs \(interrupted) of \(total)")
        XCTAssertTrue(interrupted.contains { $0 > 0 && $0 < total }, "no kill landed during a catch-up: \(interrupted)")
        // Catching up from wherever the last kill left it…
        let caughtUp = try KvittoProcess.run(["projections", "digest", "--node", node, "--catch-up"])
        XCTAssertEqual(caughtUp.status, 0, caughtUp.stderr)
        // …gives what a rebuild from scratch gives.
        let rebuilt = try KvittoProcess.run(["projections", "rebuild", "--node", node])
        XCTAssertEqual(rebuilt.status, 0, rebuilt.stderr)
        let fresh = try KvittoProcess.run(["projections", "digest", "--node", node])
        XCTAssertEqual(caughtUp.stdout, fresh.stdout)
        XCTAssertTrue(fresh.stdout.hasPrefix("events \(total) "), fresh.stdout)
        XCTAssertTrue(fresh.stdout.contains("\nnode \(total) "), fresh.stdout)
        let status = try KvittoProcess.run(["projections", "status", "--node", node])
        XCTAssertTrue(status.stdout.contains("events v1: at seq \(total) of \(total) (lag 0)"), status.stdout)
        XCTAssertNotEqual(try KvittoProcess.run(["projections", "digest", "--node", node, "nosuch"]).status, 0)
    }
}
