import Foundation
import Logging
import Projections

extension Node {
    /// Keeps the persisted projections up with the ledger until the task is cancelled: catches up
    /// in slices of at most ``projectionSlice`` events (so a long history never holds a thread of
    /// the pool for long, and the node serves while it catches up), then waits for the next append.
    /// At most every ``projectionFlushInterval`` it puts the store's commits on the disk: they are
    /// not flushed one by one (see `KeyValueStore`'s `derived`), and a backlog left to the kernel
    /// would be written by the ledger's next blob sync (`syncfs`), on the appends' path.
    /// A storage error is logged and retried after 5 s; the projections stay as of their last seq.
    func followProjections() async {
        var reached: UInt64 = 0
        var failures = 0
        let clock = ContinuousClock()
        var lastFlush = clock.now
        while !Task.isCancelled {
            do {
                reached = try projections.catchUp(batch: 1024, limit: Self.projectionSlice)
                failures = 0
                if clock.now - lastFlush >= Self.projectionFlushInterval {
                    lastFlush = clock.now
                    try projections.storage.flush()
                }
                if try reached < ledger.durableHead() {
                    await Task.yield()
                    continue
                }
                _ = try await ledger.waitForHead(after: reached)
            } catch {
                if Task.isCancelled { return }
                failures += 1
                if failures == 1 || failures % 60 == 0 {
                    logger.error("the persisted projections cannot catch up; retrying every 5 s",
                                 metadata: ["at_seq": .stringConvertible(reached), "error": .string("\(error)")])
                }
                try? await Task.sleep(nanoseconds: 5_000_000_000)
            }
        }
    }

    /// Most events applied before the follower yields.
    static let projectionSlice = 8192
    /// How often the follower flushes the projections while they change (not needed for their
    /// safety; it keeps the ledger's blob sync from writing their pages).
    static let projectionFlushInterval: Duration = .seconds(1)
}
