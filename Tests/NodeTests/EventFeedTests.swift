import Foundation
import Ledger
import Node
import Projections
import Workload
import XCTest

/// The shared window of the event streams (``EventFeed``) against the ledger itself: from every
/// position, in pages of any size, a feed whose window holds four entries (trimmed all the time,
/// so readers keep crossing between the window and the ledger), one that holds everything, and
/// one that reads only the ledger give the same entries.
final class EventFeedTests: XCTestCase {
    func testEveryPositionReadsTheSameEntriesWhateverTheWindow() async throws {
        let base = try NodeFixture.scratch("event-feed")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try await NodeFixture.apiNode(in: base, EventStreamAPITests.participants)
        let ledger = node.ledger, projections = node.access.projections
        let source = EventFeed.source(forNode: "test")
        let small = try EventFeed(ledger: ledger, projections: projections, source: source, capacity: 4, backfill: 0)
        let large = try EventFeed(ledger: ledger, projections: projections, source: source, capacity: 1_000_000, backfill: 0)
        let following = [Task { await small.run() }, Task { await large.run() }]
        do {
            var histories = [SyntheticHistory(.init(participant: EventStreamAPITests.one, functions: EventStreamAPITests.functions, counterparts: 5, seed: 41)),
                             SyntheticHistory(.init(participant: EventStreamAPITests.two, functions: EventStreamAPITests.functions, counterparts: 5, seed: 42))]
            for _ in 0..<4 {
                for i in histories.indices {
                    let events = try await ledger.append(histories[i].next(150))
                    histories[i].appended(events)
                }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            // The OS user may read a mailbox (for the subscriber below); then a tail of events no
            // stream publishes (address-book changes).
            try await NodeFixture.grant(node, [.read], on: EventStreamAPITests.registrator)
            _ = try await ledger.append(histories[0].addressBook())
            let head = try ledger.durableHead()
            let deadline = Date().addingTimeInterval(30)
            while small.head < head || large.head < head {
                guard Date() < deadline else { return XCTFail("the feeds did not reach \(head): \(small.head), \(large.head)") }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            // Not running: its window stays empty at the head, so every read goes to the ledger.
            let direct = try EventFeed(ledger: ledger, projections: projections, source: source, capacity: 4, backfill: 0)
            func all(_ feed: EventFeed, after start: UInt64, page: Int) throws -> [UInt64] {
                var at = start, out: [UInt64] = []
                for _ in 0..<10_000 {
                    let (entries, through) = try feed.events(after: at, limit: page)
                    XCTAssertGreaterThanOrEqual(through, at, "a position never goes back")
                    XCTAssertTrue(entries.allSatisfy { $0.seq > at && $0.seq <= through })
                    out += entries.map(\.seq)
                    if through == at { return out }
                    at = through
                }
                XCTFail("more than 10,000 pages")
                return out
            }
            let everything = try all(direct, after: 0, page: 1024)
            XCTAssertGreaterThan(everything.count, 300)
            XCTAssertEqual(everything, everything.sorted())
            var starts = Array(stride(from: UInt64(0), to: head, by: 29))
            starts += [head - 3, head - 1, head]
            for start in starts {
                let expected = Array(everything.drop { $0 <= start })
                for page in start < 100 ? [1, 3, 1024] : [3, 1024] {
                    XCTAssertEqual(try all(small, after: start, page: page), expected, "small window, from \(start), pages of \(page)")
                    XCTAssertEqual(try all(large, after: start, page: page), expected, "whole window, from \(start), pages of \(page)")
                }
                XCTAssertEqual(try all(direct, after: start, page: 7), expected, "ledger only, from \(start)")
            }
            // A subscriber past the last published entry moves on to the head through pages with
            // nothing in them (its heartbeats name that position).
            let last = try XCTUnwrap(everything.last)
            for feed in [small, large, direct] {
                var subscription = try await EventSubscription(feed: feed, access: node.access, principal: OSUser.principal(),
                                                               filter: .init(), after: last)
                for _ in 0..<100 where subscription.position < head { _ = try subscription.next() }
                XCTAssertEqual(subscription.position, head)
            }
        } catch {
            for t in following { t.cancel() }
            await node.close()
            throw error
        }
        for t in following { t.cancel(); await t.value }
        await node.close()
    }
}
