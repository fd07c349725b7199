/// Events from a position onwards: first the stored ones, then live appends as they become
/// durable — in order, without gaps or duplicates, at the pace of the consumer (events are read
/// from the log in pages, never buffered without bound).
public struct LedgerSubscription: AsyncSequence, Sendable {
    public typealias Element = Event
    let ledger: Ledger
    let from: UInt64
    let pageSize: Int

    public func makeAsyncIterator() -> Iterator {
        Iterator(ledger: ledger, next: Swift.max(from, 1), pageSize: pageSize)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let ledger: Ledger
        var next: UInt64
        let pageSize: Int
        var page: [Event] = []
        var index = 0

        public mutating func next() async throws -> Event? {
            while index >= page.count {
                try Task.checkCancellation()
                let head = try ledger.durableHead()
                if head >= next {
                    page = try ledger.events(from: next, limit: Swift.min(pageSize, Int(head - next + 1)))
                    index = 0
                    if page.isEmpty {
                        throw LedgerError(.corrupt, "event \(next) is below the head \(head) but missing; run `kvitto ledger verify`")
                    }
                } else if ledger.writer != nil {
                    _ = try await ledger.broadcaster.wait(after: next - 1)
                } else {
                    // Read-only: another process writes; look at the head again shortly.
                    try await Task.sleep(nanoseconds: 100_000_000)
                }
            }
            let e = page[index]
            index += 1
            next = e.seq + 1
            return e
        }
    }
}
