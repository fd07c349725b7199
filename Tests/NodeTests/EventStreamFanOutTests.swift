import AsyncHTTPClient
import Foundation
import Node
import NIOCore
import NIOSSL
import Projections
import Synchronization
import Workload
import XCTest

/// Acceptance (fan-out): 1,000 concurrent subscribers on 127.0.0.1, connected before a
/// 10k-event burst, each receive every event of it they may see, once and in ledger order.
final class EventStreamFanOutTests: XCTestCase {
    static let subscribers = 1000

    /// What the subscribers' tasks share with the test.
    final class Shared: Sendable {
        let opened = Mutex(0)
        /// The last event of the burst a subscriber may see, once known: it stops when it has it.
        let target = Mutex<UInt64?>(nil)
    }

    func testAThousandSubscribersEachReceiveEveryEventOfABurst() async throws {
        let base = try NodeFixture.scratch("events-fanout")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try await NodeFixture.apiNode(in: base, EventStreamAPITests.participants)
        let token = try await EventStreamAPITests.clerkToken(node, .participant(EventStreamAPITests.one))
        let api = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt") { $0.streamsPerCaller = Self.subscribers }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(base + "/node/pki/ca.crt")
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 2 * Self.subscribers)
        // A thousand TLS handshakes at once on a busy two-core machine can take longer than the
        // client's default 10 s wait for a connection (the test then fails for the client's sake).
        configuration.timeout.connect = .seconds(120)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let shared = Shared()
        let port = api.port
        do {
            let start = try node.ledger.durableHead()
            let received: [[UInt64]] = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for _ in 0..<Self.subscribers {
                    group.addTask {
                        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/events?after=\(start)&heartbeat=1")
                        request.headers.add(name: "Authorization", value: "Bearer " + token)
                        let response = try await client.execute(request, timeout: .seconds(600))
                        guard response.status == .ok else { throw NodeError(.storage, "the stream answered \(response.status.code)") }
                        shared.opened.withLock { $0 += 1 }
                        var ids: [UInt64] = []
                        var carry: (line: [UInt8], id: UInt64?) = ([], nil)
                        for try await chunk in response.body {
                            chunk.withUnsafeReadableBytes { bytes in ids += SSEScan.eventIDs(bytes, carry: &carry) }
                            // Heartbeats (every second) wake it up once the last event is known.
                            if let t = shared.target.withLock({ $0 }), (ids.last ?? 0) >= t { return ids }
                        }
                        throw NodeError(.storage, "a stream ended after \(ids.count) events")
                    }
                }
                let deadline = Date().addingTimeInterval(180)
                while shared.opened.withLock({ $0 }) < Self.subscribers, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
                XCTAssertEqual(shared.opened.withLock { $0 }, Self.subscribers, "every subscriber connected before the burst")
                var histories = [SyntheticHistory(.init(participant: EventStreamAPITests.one, functions: EventStreamAPITests.functions, counterparts: 10, seed: 31)),
                                 SyntheticHistory(.init(participant: EventStreamAPITests.two, functions: EventStreamAPITests.functions, counterparts: 10, seed: 32))]
                var appended = 0
                let burstAt = Date()
                while appended < 10_000 {
                    for i in histories.indices {
                        let events = try await node.ledger.append(histories[i].next(250))
                        histories[i].appended(events)
                        appended += events.count
                    }
                }
                let end = try node.ledger.durableHead()
                let expected = try EventStreamAPITests.expected(node, (start + 1)...end) { r, _ in r.participant == EventStreamAPITests.one }
                shared.target.withLock { $0 = expected.last }
                defer { print("fan-out: \(Self.subscribers) subscribers × \(expected.count) events appended and read in \(Int(Date().timeIntervalSince(burstAt))) s") }
                var all: [[UInt64]] = []
                for try await ids in group { all.append(ids) }
                return all
            }
            let expected = try EventStreamAPITests.expected(node, (start + 1)...(try node.ledger.durableHead())) { r, _ in
                r.participant == EventStreamAPITests.one
            }
            XCTAssertGreaterThan(expected.count, 2000)
            XCTAssertEqual(received.count, Self.subscribers)
            let wrong = received.filter { $0 != expected }
            XCTAssertTrue(wrong.isEmpty, "\(wrong.count) subscribers did not receive exactly the \(expected.count) events; first: \(wrong.first?.count ?? 0) events")
        } catch {
            try? await client.shutdown()
            await api.stop()
            await node.close()
            throw error
        }
        try await client.shutdown()
        await api.stop()
        await node.close()
    }
}
