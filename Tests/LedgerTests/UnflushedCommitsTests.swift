import Foundation
@testable import Ledger
import XCTest

/// A derived store does not flush its commits; its marker makes sure a store a machine stop may
/// have damaged is never read again (a stop is staged by a marker holding another boot id).
final class UnflushedCommitsTests: XCTestCase {
    func withScratch(_ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "kvitto-unflushed-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    func markers(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0.hasPrefix(UnflushedCommits.prefix) && $0 != UnflushedCommits.lockName }.sorted()
    }

    func put(_ dir: String, _ value: String) throws {
        let store = try KeyValueStore(path: dir, tables: ["t"], derived: true)
        try store.write { try $0.put("t", Array("k".utf8), Array(value.utf8)) }
    }

    func value(_ store: KeyValueStore) throws -> String? {
        try store.read { try $0.get("t", Array("k".utf8)) }.map { String(decoding: $0, as: UTF8.self) }
    }

    func plantMarker(_ dir: String, pid: String, boot: String) throws {
        try Data(boot.utf8).write(to: URL(fileURLWithPath: dir + "/\(UnflushedCommits.prefix)\(pid).0badc0de"))
    }

    func testAnOpenStoreIsMarkedAndAClosedOneIsNotAndKeepsItsRows() throws {
        let boot = try XCTUnwrap(UnflushedCommits.currentBootID(), "this machine has no boot id to test with")
        try withScratch { dir in
            do {
                let store = try KeyValueStore(path: dir, tables: ["t"], derived: true)
                XCTAssertFalse(store.flushesCommits)
                XCTAssertFalse(store.discardedAfterMachineStop)
                try store.write { try $0.put("t", Array("k".utf8), Array("v1".utf8)) }
                let marks = try markers(dir)
                XCTAssertEqual(marks.count, 1)
                XCTAssertTrue(marks[0].hasPrefix("\(UnflushedCommits.prefix)\(getpid())."))
                XCTAssertEqual(try String(contentsOfFile: dir + "/" + marks[0], encoding: .utf8), boot)
            }
            XCTAssertEqual(try markers(dir), [])
            let again = try KeyValueStore(path: dir, tables: ["t"], derived: true)
            XCTAssertFalse(again.discardedAfterMachineStop)
            XCTAssertEqual(try value(again), "v1")
            // A store that is not derived flushes every commit and leaves no marker.
            let plain = try KeyValueStore(path: dir + "/plain", tables: ["t"])
            XCTAssertTrue(plain.flushesCommits)
            XCTAssertEqual(try markers(dir + "/plain"), [])
        }
    }

    func testAMarkerOfAnotherBootDiscardsTheStore() throws {
        try withScratch { dir in
            try put(dir, "v1")
            try plantMarker(dir, pid: "4242", boot: "00000000-0000-0000-0000-000000000000")
            let store = try KeyValueStore(path: dir, tables: ["t"], derived: true)
            XCTAssertTrue(store.discardedAfterMachineStop)
            XCTAssertNil(try value(store), "a store the machine's stop may have damaged was read")
            XCTAssertEqual(try markers(dir).count, 1, "the stale marker stays after the store was discarded")
            try store.write { try $0.put("t", Array("k".utf8), Array("v2".utf8)) }
            XCTAssertEqual(try value(store), "v2")
        }
        // An unreadable marker counts as another boot's.
        try withScratch { dir in
            try put(dir, "v1")
            try FileManager.default.createDirectory(atPath: dir + "/\(UnflushedCommits.prefix)1.0badc0de", withIntermediateDirectories: false)
            XCTAssertThrowsError(try KeyValueStore(path: dir, tables: ["t"], derived: true), "a marker that cannot be removed must refuse the open")
        }
    }

    func testMarkersOfThisBootAreKeptForRunningProcessesAndRemovedForGoneOnes() throws {
        let boot = try XCTUnwrap(UnflushedCommits.currentBootID())
        try withScratch { dir in
            try put(dir, "v1")
            // pid 1 runs; a pid above the kernel's limit never does.
            try plantMarker(dir, pid: "1", boot: boot)
            try plantMarker(dir, pid: "2147483647", boot: boot)
            let store = try KeyValueStore(path: dir, tables: ["t"], derived: true)
            XCTAssertFalse(store.discardedAfterMachineStop)
            XCTAssertEqual(try value(store), "v1")
            let marks = try markers(dir)
            XCTAssertEqual(marks.count, 2)
            XCTAssertTrue(marks.contains("\(UnflushedCommits.prefix)1.0badc0de"))
            XCTAssertFalse(marks.contains("\(UnflushedCommits.prefix)2147483647.0badc0de"))
        }
    }

    func testSettleFlushesEachLaterCommitAndRemovesTheMarker() throws {
        try withScratch { dir in
            let store = try KeyValueStore(path: dir, tables: ["t"], derived: true)
            try store.write { try $0.put("t", Array("k".utf8), Array("v1".utf8)) }
            try store.settle()
            XCTAssertTrue(store.flushesCommits)
            XCTAssertEqual(try markers(dir), [])
            try store.write { try $0.put("t", Array("k".utf8), Array("v2".utf8)) }
            XCTAssertEqual(try value(store), "v2")
        }
    }

    func testWithoutABootIDThereIsNoMarker() throws {
        try withScratch { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let claim = try UnflushedCommits.claim(directory: dir, bootID: nil)
            XCTAssertNil(claim.claim)
            XCTAssertFalse(claim.discarded)
            XCTAssertEqual(try markers(dir), [])
        }
    }
}
