import Foundation
@testable import Ledger
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A store that does not flush its commits writes them through the shared map: its file is as
/// long as the map, its blocks are reserved before the map covers them, and opening it again
/// never cuts the file short. A store that flushes writes page by page, as before.
final class WriteMapTests: XCTestCase {
    func withScratch(_ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "kvitto-writemap-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    /// (length, bytes allocated on the disk) of `dir/data.mdb`.
    func file(_ dir: String) throws -> (length: Int, allocated: Int) {
        var st = stat()
        guard stat(dir + "/data.mdb", &st) == 0 else { throw XCTSkip("no data.mdb: errno \(errno)") }
        return (Int(st.st_size), Int(st.st_blocks) * 512)
    }

    func key(_ i: Int) -> [UInt8] { Array(String(format: "k%06d", i).utf8) }

    func testAStoreThatDoesNotFlushWritesThroughTheMapWithItsBlocksReserved() throws {
        guard UnflushedCommits.currentBootID() != nil else { throw XCTSkip("no boot id: the store flushes its data pages") }
        try withScratch { dir in
            let store = try KeyValueStore(path: dir, tables: ["t"], initialMapSize: 4 << 20, derived: true)
            XCTAssertFalse(store.flushesCommits)
            XCTAssertTrue(store.writesThroughMap)
            try store.write { try $0.put("t", key(1), Array("v".utf8)) }
            let f = try file(dir)
            XCTAssertEqual(f.length, 4 << 20, "the file is as long as the map")
            XCTAssertGreaterThanOrEqual(f.allocated, 4 << 20, "the map's blocks are reserved on the disk")
            XCTAssertEqual(try store.read { try $0.get("t", key(1)) }, Array("v".utf8))
        }
    }

    func testGrowingReservesTheNewLengthAndReopeningNeverShortensTheFile() throws {
        guard UnflushedCommits.currentBootID() != nil else { throw XCTSkip("no boot id: the store flushes its data pages") }
        try withScratch { dir in
            let value = [UInt8](repeating: 0x5a, count: 1500)
            let grown: Int
            do {
                let store = try KeyValueStore(path: dir, tables: ["t"], initialMapSize: 1 << 20, derived: true)
                for batch in 0..<10 {
                    try store.write { w in for i in 0..<300 { try w.put("t", key(batch * 300 + i), value) } }
                }
                let f = try file(dir)
                XCTAssertGreaterThan(f.length, 1 << 20, "the map grew beyond its first megabyte")
                XCTAssertGreaterThanOrEqual(f.allocated, f.length, "the grown map's blocks are reserved too")
                grown = f.length
                try store.settle()
            }
            // Opened again with a smaller first map: LMDB would cut the file to that map (or to
            // the pages in use), where another process may still use pages up to the file's end.
            let again = try KeyValueStore(path: dir, tables: ["t"], initialMapSize: 1 << 20, derived: true)
            XCTAssertEqual(try file(dir).length, grown, "the file keeps its length")
            try again.read { r in
                for i in [0, 1499, 2999] { XCTAssertEqual(try r.get("t", key(i)), value, "row \(i)") }
            }
            try again.write { try $0.put("t", key(3000), value) }
            XCTAssertEqual(try again.read { try $0.get("t", key(3000)) }, value)
        }
    }

    func testAStoreThatFlushesWritesPageByPage() throws {
        try withScratch { dir in
            let store = try KeyValueStore(path: dir, tables: ["t"], initialMapSize: 4 << 20)
            XCTAssertTrue(store.flushesCommits)
            XCTAssertFalse(store.writesThroughMap)
            try store.write { try $0.put("t", key(1), Array("v".utf8)) }
            XCTAssertLessThan(try file(dir).length, 4 << 20, "only the pages written, not the whole map")
        }
    }
}
