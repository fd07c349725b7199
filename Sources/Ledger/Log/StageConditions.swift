#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One mutex with one condition variable per waiting thread, around `pthread_mutex_t` and
/// `pthread_cond_t`.
///
/// A pipeline whose stages share one lock but wait for different things: a change wakes only the
/// stage that can act on it. (One `NSCondition` for all of them wakes every stage on every change,
/// and most go back to sleep: on a busy node that was a few per cent of the CPU.)
final class StageConditions: @unchecked Sendable {
    // Sendable: the only state is the pthread mutex and conditions, designed for concurrent use;
    // allocated once, never moved, destroyed in deinit when no thread can hold a reference.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    /// How many condition variables there are (waiters are numbered from 0).
    let count: Int

    init(count: Int) {
        precondition(count > 0, "StageConditions needs at least one condition")
        self.count = count
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        conditions = .allocate(capacity: count)
        conditions.initialize(repeating: pthread_cond_t(), count: count)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if canImport(Glibc)
        // Timed waits measure a duration, not a wall-clock time a clock change could move.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        for i in 0..<count { pthread_cond_init(conditions + i, &attributes) }
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        for i in 0..<count { pthread_cond_destroy(conditions + i) }
        conditions.deinitialize(count: count)
        conditions.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    /// Waits on condition `stage` (the mutex held); may return without a signal, so the caller
    /// re-checks what it waits for.
    func wait(_ stage: Int) {
        pthread_cond_wait(conditions + stage, mutex)
    }

    /// Like ``wait(_:)``, for at most `nanoseconds`.
    func wait(_ stage: Int, nanoseconds: UInt64) {
        var now = timespec()
        #if canImport(Glibc)
        clock_gettime(CLOCK_MONOTONIC, &now)
        #else
        clock_gettime(CLOCK_REALTIME, &now)
        #endif
        let total = UInt64(now.tv_nsec) + nanoseconds % 1_000_000_000
        var deadline = timespec()
        deadline.tv_sec = now.tv_sec + Int(nanoseconds / 1_000_000_000) + Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        _ = pthread_cond_timedwait(conditions + stage, mutex, &deadline)
    }

    /// Wakes the thread waiting on condition `stage`, if any.
    func signal(_ stage: Int) {
        pthread_cond_signal(conditions + stage)
    }

    /// Wakes every waiting thread.
    func signalAll() {
        for i in 0..<count { pthread_cond_broadcast(conditions + i) }
    }
}
