import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Data-parallel loops over all cores with dynamic scheduling: workers take blocks of indices
/// from a shared counter, so a worker slowed by another thread (the committer, the sequential
/// verifier) does not hold up the others.
package enum Parallel {
    /// Cores available to this process.
    package static let cores: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 2
        #endif
    }()

    /// Computes `out[i] = work(i)` for every index of `out`.
    package static func map<T>(into out: inout [T], block: Int = 32, _ work: (Int) -> T) {
        out.withUnsafeMutableBufferPointer { buffer in
            // Every index belongs to exactly one block, so writes are disjoint.
            nonisolated(unsafe) let shared = buffer
            forEachBlock(count: shared.count, block: block) { range in
                for i in range { shared[i] = work(i) }
            }
        }
    }

    /// Calls `work` once for each block of `block` consecutive indices in `0..<count`, on all
    /// cores. Per-block work lets a worker copy what it shares with the others once per block
    /// instead of retaining shared objects once per element (which makes their reference counts
    /// bounce between cores).
    static func forEachBlock(count n: Int, block: Int = 32, _ work: (Range<Int>) -> Void) {
        let workers = min(cores, (n + block - 1) / block)
        if workers <= 1 {
            if n > 0 { work(0..<n) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(work) { work in
            // concurrentPerform returns only after all workers finished, so `work` does not escape.
            nonisolated(unsafe) let work = work
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let start = next.add(block, ordering: .relaxed).oldValue
                    if start >= n { return }
                    work(start..<min(start + block, n))
                }
            }
        }
    }

    /// A copy of `bytes` with storage of its own, for one worker: what a worker reads for every
    /// element then is not shared with the other workers, whose reference counting would make it
    /// bounce between cores. (`Array(bytes)` would share the storage.)
    static func ownCopy(_ bytes: [UInt8]) -> [UInt8] {
        Array(unsafeUninitializedCapacity: bytes.count) { buffer, n in
            n = bytes.withUnsafeBufferPointer { buffer.initialize(fromContentsOf: $0) }
        }
    }
}
