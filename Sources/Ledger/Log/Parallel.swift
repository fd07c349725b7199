import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Data-parallel loops over all cores with dynamic scheduling: workers take blocks of indices
/// from a shared counter, so a worker slowed by another thread (the committer, the sequential
/// verifier) does not hold up the others.
enum Parallel {
    /// Cores available to this process.
    static let cores: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 2
        #endif
    }()

    /// Computes `out[i] = work(i)` for every index of `out`.
    static func map<T>(into out: inout [T], block: Int = 32, _ work: (Int) -> T) {
        let n = out.count
        let workers = min(cores, (n + block - 1) / block)
        if workers <= 1 {
            for i in 0..<n { out[i] = work(i) }
            return
        }
        let next = Atomic<Int>(0)
        out.withUnsafeMutableBufferPointer { buffer in
            // Every index is claimed by exactly one worker through `next`, so writes are disjoint,
            // and concurrentPerform returns only after all workers finished.
            nonisolated(unsafe) let shared = buffer
            withoutActuallyEscaping(work) { work in
                nonisolated(unsafe) let work = work
                DispatchQueue.concurrentPerform(iterations: workers) { _ in
                    while true {
                        let start = next.add(block, ordering: .relaxed).oldValue
                        if start >= n { return }
                        for i in start..<min(start + block, n) { shared[i] = work(i) }
                    }
                }
            }
        }
    }
}
