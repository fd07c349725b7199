import Foundation
import XCTest
@testable import Ledger

/// Growing an LMDB map when a write finds it full.
final class MapGrowthTests: XCTestCase {
    /// Two threads that both found the map full double it once between them: the second grows
    /// only if the size it saw is still the size.
    func testAStaleObservationDoesNotGrowAgain() throws {
        let dir = TempDir("grow")
        defer { dir.remove() }
        let env = try LMDBEnvironment(path: dir.path, initialMapSize: 1 << 20, mapSizeLimit: 16 << 20, maxDatabases: 2, readOnly: false)
        let first = env.info.mapSize
        try env.grow(from: first, to: first * 2)
        XCTAssertEqual(env.info.mapSize, first * 2)
        // A second writer that saw the old size asks for the doubling it computed from it.
        try env.grow(from: first, to: first * 4)
        XCTAssertEqual(env.info.mapSize, first * 2)
        try env.grow(from: first * 2, to: first * 4)
        XCTAssertEqual(env.info.mapSize, first * 4)
    }

    /// A map grown in an earlier run (or by another process) is the size a later opening maps,
    /// even when it asks for less, but never beyond that opening's limit; a map recorded smaller
    /// than asked for gives way to the request.
    func testAGrownMapIsAdoptedWhenOpenedAgain() throws {
        let dir = TempDir("grow-reopen")
        defer { dir.remove() }
        do {
            let env = try LMDBEnvironment(path: dir.path, initialMapSize: 1 << 20, mapSizeLimit: 64 << 20, maxDatabases: 2, readOnly: false)
            try env.grow(from: env.info.mapSize, to: 8 << 20)
            // The grown size is recorded with the next commit that changes something.
            try env.write { txn in try txn.put(try txn.openDatabase("t", create: true), [1], [2]) }
        }
        // One environment of a file at a time in a process (LMDB's rule).
        do {
            let again = try LMDBEnvironment(path: dir.path, initialMapSize: 1 << 20, mapSizeLimit: 64 << 20, maxDatabases: 2, readOnly: false)
            XCTAssertEqual(again.info.mapSize, 8 << 20)
        }
        do {
            let reader = try LMDBEnvironment(path: dir.path, initialMapSize: 1 << 20, mapSizeLimit: 64 << 20, maxDatabases: 2, readOnly: true)
            XCTAssertEqual(reader.info.mapSize, 8 << 20)
        }
        do {
            // A limit below the recorded size is kept (the pages in use are far fewer).
            let limited = try LMDBEnvironment(path: dir.path, initialMapSize: 1 << 20, mapSizeLimit: 4 << 20, maxDatabases: 2, readOnly: false)
            XCTAssertEqual(limited.info.mapSize, 4 << 20)
        }
        let asksMore = try LMDBEnvironment(path: dir.path, initialMapSize: 16 << 20, mapSizeLimit: 64 << 20, maxDatabases: 2, readOnly: false)
        XCTAssertEqual(asksMore.info.mapSize, 16 << 20)
    }

    /// A resize whose new map cannot be made (here: larger than the address space) leaves LMDB
    /// with no map; every later transaction, resize and size read is refused with an error
    /// instead of reaching the missing map.
    func testAResizeThatLosesTheMapRefusesWhatFollows() throws {
        let dir = TempDir("grow-lost")
        defer { dir.remove() }
        let env = try LMDBEnvironment(path: dir.path, initialMapSize: 1 << 20, mapSizeLimit: 1 << 62, maxDatabases: 2, readOnly: false)
        try env.write { txn in try txn.put(try txn.openDatabase("t", create: true), [1], [2]) }
        XCTAssertThrowsError(try env.grow(from: env.info.mapSize, to: 1 << 62))
        XCTAssertThrowsError(try env.read { _ in }) { e in XCTAssertTrue("\(e)".contains("lost"), "\(e)") }
        XCTAssertThrowsError(try env.write { _ in })
        XCTAssertEqual(env.info.mapSize, 0)
        XCTAssertThrowsError(try env.grow(from: 0, to: 2 << 20))
        try FileManager.default.createDirectory(atPath: dir.sub("copy"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try env.copy(to: dir.sub("copy"), compact: true)) { e in
            XCTAssertTrue("\(e)".contains("mdb_env_copyfd2"), "\(e)")
        }
    }

    /// Writers on several threads fill a store from a small map, growing it several times, while
    /// they read its size (through the map, which a growth remaps): nothing is lost, and the map
    /// is doubled once per time it was found full.
    func testConcurrentWritersGrowTheMapWhileReadingItsSize() throws {
        let dir = TempDir("grow-concurrent")
        defer { dir.remove() }
        let store = try KeyValueStore(path: dir.path, tables: ["t"], initialMapSize: 1 << 20, mapSizeLimit: 256 << 20)
        let value = [UInt8](repeating: 0x5A, count: 3000)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for i in 0..<600 {
                _ = store.usedBytes
                do { try store.write { w in try w.put("t", Array("\(worker)-\(i)".utf8), value) } } catch {
                    XCTFail("worker \(worker), write \(i): \(error)")
                    return
                }
            }
        }
        let count = try store.read { r in try r.count("t") }
        XCTAssertEqual(count, 2400)
        XCTAssertGreaterThan(store.mapSize, 4 << 20, "the map grew past its first size")
        // Every growth doubles a map a transaction found full, so the map is at most twice what was
        // in use then (plus a transaction's pages); a writer doubling a map another had already
        // doubled would leave it four times as large.
        XCTAssertLessThanOrEqual(store.mapSize, 2 * store.usedBytes + (1 << 20))
    }
}
