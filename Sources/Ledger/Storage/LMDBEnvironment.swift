import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// A handle to one named LMDB database inside an environment.
package struct LMDBDatabase: Sendable, Hashable {
    let dbi: MDB_dbi
}

/// An LMDB environment: one memory-mapped file holding several named databases.
///
/// All unsafe LMDB calls of Kvitto live in this folder. Transactions are scoped to closures, so a
/// transaction can never outlive its closure or be used after commit/abort.
final class LMDBEnvironment: @unchecked Sendable {
    // Sendable: MDB_env is documented thread-safe for opening transactions when MDB_NOTLS is set
    // (read transactions are not bound to threads). Write transactions are serialised by LMDB's
    // own writer mutex. `mdb_env_set_mapsize` is guarded by `resizeLock` (exclusive) while every
    // transaction holds it shared, and so is `unmapped`. `mapSizeLimit` is immutable after init.
    private let env: OpaquePointer
    private let resizeLock = ReadWriteLock()
    /// Set (under `resizeLock`, exclusive) when a resize lost the map; read under it, shared.
    private var unmapped = false
    let path: String
    let mapSizeLimit: Int

    /// How a commit reaches the disk.
    enum CommitFlush: Sendable, Equatable {
        /// Data pages and then the meta page are flushed: durable and intact after any stop.
        case full
        /// Data pages only (`MDB_NOMETASYNC`): intact after any stop; a machine stop may undo the
        /// last commit.
        case dataPages
        /// Nothing (`MDB_NOSYNC`): intact after a killed process; after a machine stop the file
        /// may be damaged, so only for stores guarded by ``UnflushedCommits``.
        case none
    }

    /// Opens (and with `create`, creates) the environment in directory `path`, its commits
    /// flushed as `flush` says.
    init(path: String, initialMapSize: Int, mapSizeLimit: Int, maxDatabases: Int, readOnly: Bool, flush: CommitFlush = .full) throws {
        var handle: OpaquePointer?
        try lmdbCheck(mdb_env_create(&handle), "mdb_env_create")
        guard let handle else { throw LMDBError(code: EINVAL, operation: "mdb_env_create") }
        self.env = handle
        self.path = path
        self.mapSizeLimit = max(initialMapSize, mapSizeLimit)
        do {
            try lmdbCheck(mdb_env_set_maxdbs(handle, MDB_dbi(maxDatabases)), "mdb_env_set_maxdbs")
            try lmdbCheck(mdb_env_set_maxreaders(handle, 256), "mdb_env_set_maxreaders")
            try lmdbCheck(mdb_env_set_mapsize(handle, initialMapSize), "mdb_env_set_mapsize")
            var flags = UInt32(MDB_NOTLS)
            if readOnly { flags |= UInt32(MDB_RDONLY) }
            switch flush {
            case .full: break
            case .dataPages: flags |= UInt32(MDB_NOMETASYNC)
            case .none: flags |= UInt32(MDB_NOSYNC)
            }
            try lmdbCheck(mdb_env_open(handle, path, flags, 0o600), "mdb_env_open(\(path))")
            // Clear reader slots left behind by processes that died (e.g. SIGKILL).
            var dead: Int32 = 0
            mdb_reader_check(handle, &dead)
            // A map recorded larger than we ask for (grown by another process, or by an earlier
            // run) is adopted up to our limit: LMDB itself maps only what we asked for, or the
            // pages in use if more, so the first writes would double the map again step by step.
            // Size 0 adopts the recorded size; a smaller recorded one gives way to ours.
            try lmdbCheck(mdb_env_set_mapsize(handle, 0), "mdb_env_set_mapsize")
            let adopted = Self.mapSize(of: handle)
            let wanted = min(max(adopted, initialMapSize), self.mapSizeLimit)
            if wanted != adopted {
                // LMDB raises a size below the pages in use to them.
                try lmdbCheck(mdb_env_set_mapsize(handle, wanted), "mdb_env_set_mapsize")
            }
        } catch {
            // Every stored property is set, so `deinit` runs when this initializer throws and
            // closes the handle: closing it here as well would close it twice.
            throw error
        }
    }

    deinit {
        mdb_env_close(env)
    }

    struct Info {
        var mapSize: Int
        var lastPage: Int
        var pageSize: Int
    }

    /// How commits reach the disk, as LMDB reports its flags.
    var commitFlush: CommitFlush {
        var flags: UInt32 = 0
        mdb_env_get_flags(env, &flags)
        if flags & UInt32(MDB_NOSYNC) != 0 { return .none }
        return flags & UInt32(MDB_NOMETASYNC) != 0 ? .dataPages : .full
    }

    /// From now on, each commit flushes its data pages (`MDB_NOMETASYNC`) instead of nothing. The
    /// flags change inside a write transaction, so no commit of this process is between reading
    /// them and flushing.
    func flushDataPagesOfEachCommit() throws {
        try write { _ in
            try lmdbCheck(mdb_env_set_flags(env, UInt32(MDB_NOMETASYNC), 1), "mdb_env_set_flags(\(path))")
            try lmdbCheck(mdb_env_set_flags(env, UInt32(MDB_NOSYNC), 0), "mdb_env_set_flags(\(path))")
        }
    }

    /// Flushes every commit not yet on the disk (of any process writing this file).
    func flush() throws {
        try lmdbCheck(mdb_env_sync(env, 1), "mdb_env_sync(\(path))")
    }

    /// LMDB reads these from the meta pages through the memory map, so never while another
    /// thread of this process remaps it (``grow(from:to:)`` holds the resize lock exclusively).
    var info: Info {
        resizeLock.withShared { unlockedInfo }
    }

    private var unlockedInfo: Info {
        // LMDB reads the meta pages through the map: none to read once it is lost.
        guard !unmapped else { return Info(mapSize: 0, lastPage: 0, pageSize: 0) }
        var i = MDB_envinfo()
        mdb_env_info(env, &i)
        var s = MDB_stat()
        mdb_env_stat(env, &s)
        return Info(mapSize: i.me_mapsize, lastPage: i.me_last_pgno, pageSize: Int(s.ms_psize))
    }

    /// Where a value stored in overflow pages lies in the data file.
    enum OverflowPlace: Equatable {
        /// No value under the key.
        case absent
        /// The bytes of its pages after the first page's header: the value and the slack after it.
        case bytes(Range<Int>)
        /// It is not a committed overflow value, or its header does not match the file.
        case unknown
    }

    /// Where the value under `key`, as committed before `txn` began, lies in the data file. Call it
    /// before `txn` writes anything (a page it changed is a copy in memory: then `.unknown`).
    ///
    /// LMDB keeps a value larger than half a page in overflow pages of its own, the value right
    /// after the first page's 16-byte header (`mp_pgno` u64, `mp_pad` u16, `mp_flags` u16,
    /// `mp_pages` u32). The header is read in memory, checked (an overflow page, not a dirty copy,
    /// within the used pages, as long as the value) and compared with the same 16 bytes read from
    /// the file at `mp_pgno`; anything else is `.unknown`.
    func overflowPlace(of db: LMDBDatabase, _ key: [UInt8], in txn: LMDBTransaction) throws -> OverflowPlace {
        let header = 16, overflowFlag: UInt16 = 0x04, dirtyFlag: UInt16 = 0x10
        // `txn` holds the resize lock shared already (taking it again would rely on the lock
        // preferring readers).
        let i = unlockedInfo
        var place = OverflowPlace.absent
        var expected = [UInt8](repeating: 0, count: header)
        try key.withUnsafeBytes { k in
            try txn.withValue(db, k) { value in
                guard let value else { return }
                place = .unknown
                guard let start = value.baseAddress else { return }
                let page = start - header
                let pgno = page.loadUnaligned(as: UInt64.self)
                let flags = page.loadUnaligned(fromByteOffset: 10, as: UInt16.self)
                let pages = Int(page.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                guard flags & overflowFlag != 0, flags & dirtyFlag == 0, pages >= 1, pgno <= UInt64(i.lastPage),
                      Int(pgno) + pages <= i.lastPage + 1,
                      header + value.count <= pages * i.pageSize, header + value.count > (pages - 1) * i.pageSize
                else { return }
                expected.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: page, count: header)) }
                place = .bytes((Int(pgno) * i.pageSize + header)..<((Int(pgno) + pages) * i.pageSize))
            }
        }
        guard case .bytes(let range) = place else { return place }
        // The same header at that place in the file, or the place is not trusted.
        let fd = Glibc.open(path + "/data.mdb", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .unknown }
        defer { close(fd) }
        var found = [UInt8](repeating: 0, count: header)
        let n = found.withUnsafeMutableBytes { pread(fd, $0.baseAddress, header, off_t(range.lowerBound - header)) }
        return n == header && found == expected ? place : .unknown
    }

    /// Overwrites `ranges` of the data file with zeros and flushes them. Only for pages the last
    /// commit freed, called by the environment's only writer before its next write transaction:
    /// LMDB reuses a freed page only in a later write transaction.
    func overwriteWithZeros(_ ranges: [Range<Int>]) throws {
        guard !ranges.isEmpty else { return }
        let fd = Glibc.open(path + "/data.mdb", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LMDBError(code: errno, operation: "open(\(path)/data.mdb)") }
        defer { close(fd) }
        for range in ranges {
            let zeros = [UInt8](repeating: 0, count: range.count)
            var done = 0
            while done < zeros.count {
                let n = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(range.lowerBound + done)) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw LMDBError(code: n < 0 ? errno : EIO, operation: "pwrite(\(path)/data.mdb)") }
                done += n
            }
        }
        guard fdatasync(fd) == 0 else { throw LMDBError(code: errno, operation: "fdatasync(\(path)/data.mdb)") }
    }

    /// Bytes of the data file that LMDB's meta page says are in use.
    var usedBytes: Int {
        let i = info
        return (i.lastPage + 1) * i.pageSize
    }

    /// Grows the memory map to `newSize` bytes unless it is no longer `observed` bytes (another
    /// thread that also found the map full grew it first: one doubling, not two). Waits until no
    /// transaction of this process is open.
    func grow(from observed: Int, to newSize: Int) throws {
        try resizeLock.withExclusive { () throws -> Void in
            guard unlockedInfo.mapSize == observed else { return }
            try remap(to: newSize)
        }
    }

    /// After `MDB_MAP_FULL` (`full`): doubles the map from the size the failed transaction had,
    /// up to the limit. Returns false, growing nothing, when the map is already at its limit.
    func growAfterMapFull(_ full: LMDBError) throws -> Bool {
        let current = full.mapSize ?? info.mapSize
        guard current < mapSizeLimit else { return false }
        try grow(from: current, to: min(current * 2, mapSizeLimit))
        return true
    }

    /// Adopts a map size grown by another process (after `MDB_MAP_RESIZED`), up to the limit
    /// (or the pages in use, if more).
    private func adoptMapSize() throws {
        try resizeLock.withExclusive { () throws -> Void in
            try remap(to: 0)
            if unlockedInfo.mapSize > mapSizeLimit { try remap(to: mapSizeLimit) }
        }
    }

    /// `mdb_env_set_mapsize` with the resize lock held exclusively. LMDB unmaps the file before it
    /// maps it again: if that fails the environment has no map, and every later transaction is
    /// refused (``unmapped``) instead of reaching it.
    private func remap(to size: Int) throws {
        guard !unmapped else { throw LMDBError(code: EIO, operation: "mdb_env_set_mapsize: the map was lost in an earlier resize; reopen") }
        let rc = mdb_env_set_mapsize(env, size)
        // With no transaction open (the lock sees to it) LMDB fails here only after unmapping.
        if rc != 0 { unmapped = true }
        try lmdbCheck(rc, "mdb_env_set_mapsize")
    }

    /// The size LMDB maps (`me_mapsize`); only while the environment has its map.
    private static func mapSize(of env: OpaquePointer) -> Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return Int(info.me_mapsize)
    }

    /// Runs `body` with a new transaction, holding the resize lock shared for the transaction's
    /// whole life (from begin to commit or abort), so a map resize never overlaps a transaction.
    /// `MDB_MAP_RESIZED` (another process grew the map) is handled by adopting the new size.
    private func withTransaction<T>(readOnly: Bool, _ body: (OpaquePointer) throws -> T) throws -> T {
        var attempts = 0
        while true {
            let outcome: T? = try resizeLock.withShared { () throws -> T? in
                guard !unmapped else { throw LMDBError(code: EIO, operation: "mdb_txn_begin: the map was lost in an earlier resize; reopen") }
                var txn: OpaquePointer?
                let rc = mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
                if rc == MDB_MAP_RESIZED && attempts < 3 { return nil }
                try lmdbCheck(rc, "mdb_txn_begin")
                guard let txn else { throw LMDBError(code: EINVAL, operation: "mdb_txn_begin") }
                do {
                    return try body(txn)
                } catch var e as LMDBError where e.isMapFull {
                    // Still under the shared lock: the size this transaction found too small.
                    e.mapSize = unlockedInfo.mapSize
                    throw e
                }
            }
            if let outcome { return outcome }
            attempts += 1
            try adoptMapSize()
        }
    }

    /// Runs `body` in a read-only transaction.
    func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        try withTransaction(readOnly: true) { txn in
            defer { mdb_txn_abort(txn) }
            return try body(LMDBTransaction(txn: txn))
        }
    }

    /// Runs `body` in a write transaction and commits it durably when `body` returns.
    /// If `body` throws, or the commit fails, nothing of it is stored.
    func write<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        try withTransaction(readOnly: false) { txn in
            let result: T
            do {
                result = try body(LMDBTransaction(txn: txn))
            } catch {
                mdb_txn_abort(txn)
                throw error
            }
            try lmdbCheck(mdb_txn_commit(txn), "mdb_txn_commit")
            return result
        }
    }

    /// Writes a consistent copy of the environment — the state of one read transaction, so
    /// writers (in this or another process) go on meanwhile — to `directory/data.mdb`, which must
    /// not exist yet. `compact` leaves out free pages and renumbers the rest (`MDB_CP_COMPACT`).
    /// The copy is flushed to disk before this returns (mode 0600).
    ///
    /// The copy goes through a descriptor opened here (`mdb_env_copyfd2`) rather than
    /// `mdb_env_copy2`, which opens its file with `O_DIRECT`: every 1 MiB it writes would wait for
    /// the disk, where buffered writes and one `fsync` at the end let the kernel stream them.
    func copy(to directory: String, compact: Bool) throws {
        let path = directory + "/data.mdb"
        // A writer that grew the map since this environment was opened makes the copy's read
        // transaction fail with MDB_MAP_RESIZED: adopt the new size and copy again.
        var attempts = 0
        while true {
            let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw LMDBError(code: errno, operation: "open(\(path))") }
            let rc = resizeLock.withShared { () -> Int32 in
                unmapped ? EIO : mdb_env_copyfd2(env, fd, compact ? UInt32(MDB_CP_COMPACT) : 0)
            }
            if rc == MDB_MAP_RESIZED && attempts < 3 {
                close(fd)
                attempts += 1
                unlink(path)
                try adoptMapSize()
                continue
            }
            defer { close(fd) }
            do {
                try lmdbCheck(rc, "mdb_env_copyfd2(\(path))")
                guard fsync(fd) == 0 else { throw LMDBError(code: errno, operation: "fsync(\(path))") }
            } catch {
                unlink(path)  // no partial copy is left behind
                throw error
            }
            break
        }
    }

    /// The environment in `path` opened read-only, for a copy (``copy(to:compact:)``). Not for an
    /// environment this process already holds open: LMDB allows one handle per file and process
    /// (its POSIX locks would be released when the second one closes).
    static func openForCopy(at path: String) throws -> LMDBEnvironment {
        try LMDBEnvironment(path: path, initialMapSize: 1 << 20, mapSizeLimit: 1 << 20, maxDatabases: 64, readOnly: true)
    }

    /// How many named databases the environment holds (entries of LMDB's main database).
    func namedDatabaseCount() throws -> Int {
        try read { txn in
            var dbi: MDB_dbi = 0
            try lmdbCheck(mdb_dbi_open(txn.txn, nil, 0, &dbi), "mdb_dbi_open(main)")
            return try txn.count(LMDBDatabase(dbi: dbi))
        }
    }

    /// The handle stays valid for the environment's lifetime because the transaction that opened
    /// it is committed (an aborted transaction would close it again).
    func openDatabase(_ name: String, create: Bool) throws -> LMDBDatabase {
        if create {
            return try write { try $0.openDatabase(name, create: true) }
        }
        return try withTransaction(readOnly: true) { txn in
            let db: LMDBDatabase
            do {
                db = try LMDBTransaction(txn: txn).openDatabase(name, create: false)
            } catch {
                mdb_txn_abort(txn)
                throw error
            }
            try lmdbCheck(mdb_txn_commit(txn), "mdb_txn_commit")
            return db
        }
    }
}
