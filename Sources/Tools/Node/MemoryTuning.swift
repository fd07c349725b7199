#if canImport(Glibc)
import Glibc
#endif

/// How a node process asks glibc's allocator to give memory back.
///
/// A node works on payloads of tens of MB one after another on a pool of threads. With glibc's
/// defaults, a freed buffer of that size raises the threshold above which buffers are mapped
/// separately (up to 32 MB), so the next ones come from per-thread arenas that keep the memory
/// after it is freed, and resident memory grows with the number of threads that ever held a
/// large payload. A fixed threshold of 1 MiB returns every large buffer to the system when it is
/// freed, and four arenas (two per core here) bound what small allocations keep.
package enum MemoryTuning {
    /// Buffers at least this large are mapped on their own and unmapped when freed.
    package static let mmapThreshold: Int32 = 1 << 20
    /// glibc malloc arenas.
    package static let arenas: Int32 = 4

    /// Applies the settings (once, early in a node process; harmless to repeat). Returns false
    /// when the C library has no `mallopt` (not glibc), which leaves its defaults.
    @discardableResult
    package static func apply() -> Bool {
        #if canImport(Glibc)
        // `mallopt` is declared in <malloc.h>, which the Glibc module does not export; its
        // parameter numbers are glibc's ABI (M_MMAP_THRESHOLD -3, M_ARENA_MAX -8).
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        return mallopt(-3, mmapThreshold) == 1 && mallopt(-8, arenas) == 1
        #else
        return false
        #endif
    }
}
