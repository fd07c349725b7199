#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A reader/writer lock around `pthread_rwlock_t`.
///
/// LMDB's `mdb_env_set_mapsize` may only be called while no transaction of this process is open;
/// transactions hold this lock shared, a map resize holds it exclusively.
final class ReadWriteLock: @unchecked Sendable {
    // Sendable: the only state is the pthread lock, which is designed for concurrent use; it is
    // allocated once, never moved, and destroyed in deinit when no thread can hold a reference.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func withShared<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    func withExclusive<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
