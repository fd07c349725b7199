import Foundation
import Node
import Projections
import Transport
import XCTest

/// The memory goal of the hardening issue for the one input the hostile-peer suite cannot send
/// as garbage: an authenticated access point sending several maximal *valid* messages at once.
/// Node A (in this process) submits eight SDK messages, each with a 20 MB attachment (an XHE of
/// about 37 MB after the SDK and the O2O encodings), and dispatches them all at the same moment
/// to a `kvitto serve` node B. Every message must be accepted, and B's peak resident memory
/// (VmHWM) must stay under 300 MB.
final class HostilePeerMemoryTests: XCTestCase {
    static let messages = Int(ProcessInfo.processInfo.environment["KVITTO_MEMORY_MESSAGES"] ?? "") ?? 8
    static let attachmentBytes = 20_000_000

    func testParallelMaximalMessagesStayUnderTheMemoryGoal() async throws {
        let dir = ScratchDir("hostile-memory")
        defer { if (testRun?.failureCount ?? 0) == 0 { dir.remove() } else { print("kept: \(dir.path)") } }
        let (a, b, _) = try await HostilePeerTests.twoNodes(dir)
        let server = try NodeCrashTests.Server(node: b, log: dir.sub("b.log"), logLevel: "notice")
        defer { server.kill() }
        let nodeA = try Node.open(directory: a)
        var ids: [String] = []
        // Random bytes, so that no layer can compress them away.
        var content = [UInt8](repeating: 0, count: Self.attachmentBytes)
        var rng = SystemRandomNumberGenerator()
        content.withUnsafeMutableBytes { raw in
            for i in stride(from: 0, to: raw.count - 7, by: 8) { raw.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self) }
        }
        for i in 0..<Self.messages {
            ids.append(try await nodeA.submit(OutboundMessage(
                from: FunctionalAddress(participant: "0203:a.example.se", function: "socialtjansten"),
                to: FunctionalAddress(participant: "0203:b.example.se", function: "registrator"),
                label: "Stor bilaga \(i + 1)", texts: ["Se bilagan."],
                attachments: [.init(fileName: "bilaga-\(i + 1).bin", contentType: "application/octet-stream", content: content)]),
                actor: "test", validate: false))
        }
        let wanted = ids
        let start = Date()
        let done = try await DemoNetwork.running([nodeA]) { _ in
            try await DemoNetwork.wait(timeout: 600) {
                let s = try nodeA.snapshot()
                return wanted.allSatisfy { s.messages[$0]?.status == .accepted || s.messages[$0]?.status == .rejected || s.messages[$0]?.status == .failed }
            }
        }
        let elapsed = Date().timeIntervalSince(start)
        let statuses = try ids.map { try nodeA.snapshot().messages[$0]?.status }
        let hwm = HostilePeerTests.peakResidentMiB(server.process.processIdentifier)
        print("maximal valid messages: \(Self.messages) × \(Self.attachmentBytes / 1_000_000) MB attachment in \(String(format: "%.1f", elapsed)) s; server VmHWM \(hwm) MiB")
        XCTAssertTrue(done, "not every message was answered: \(statuses)")
        XCTAssertEqual(statuses.filter { $0 == .accepted }.count, Self.messages, "\(statuses)")
        XCTAssertGreaterThan(hwm, 0, "VmHWM of the server could not be read")
        XCTAssertLessThan(hwm, 300, "peak resident memory of the server")
        await nodeA.close()
        XCTAssertTrue(server.stop())
    }
}
