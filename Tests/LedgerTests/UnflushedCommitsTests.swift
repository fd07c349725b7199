import Foundation
@testable import Ledger
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A derived store does not flush its commits; markers make sure a store a machine stop may have
/// damaged is never read again. A stop is staged by a marker nobody holds that names another boot.
final class UnflushedCommitsTests: XCTestCase {
    static let otherBoot = "00000000-0000-0000-0000-000000000000"

    func withScratch(_ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "kvitto-unflushed-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    func bootID() throws -> String {
        guard let id = UnflushedCommits.currentBootID() else { throw XCTSkip("this machine has no readable boot id") }
        return id
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

    /// Plants a marker nobody holds; returns its name.
    @discardableResult
    func plantMarker(_ dir: String, pid: String, text: String) throws -> String {
        let name = "\(UnflushedCommits.prefix)\(pid).0badc0de"
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        return name
    }

    func testAnOpenStoreIsMarkedAndAClosedOneIsNotAndKeepsItsRows() throws {
        let boot = try bootID()
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
                // Its process holds the marker's lock: another opener sees it running.
                let fd = open(dir + "/" + marks[0], O_RDONLY)
                defer { close(fd) }
                XCTAssertNotEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
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

    func testAMarkerOfAnotherBootOrAnEmptyOneDiscardsTheStore() throws {
        _ = try bootID()
        for text in [Self.otherBoot, "", UnflushedCommits.poison] {
            try withScratch { dir in
                try put(dir, "v1")
                let planted = try plantMarker(dir, pid: "4242", text: text)
                let store = try KeyValueStore(path: dir, tables: ["t"], derived: true)
                XCTAssertTrue(store.discardedAfterMachineStop, "marker text \(text.debugDescription)")
                XCTAssertNil(try value(store), "a store a machine stop may have damaged was read (marker text \(text.debugDescription))")
                XCTAssertFalse(try markers(dir).contains(planted))
                try store.write { try $0.put("t", Array("k".utf8), Array("v2".utf8)) }
                XCTAssertEqual(try value(store), "v2")
            }
        }
    }

    func testADamagedStoreThatAnotherProcessHasOpenIsRefusedNotDeleted() throws {
        let boot = try bootID()
        try withScratch { dir in
            try put(dir, "v1")
            try plantMarker(dir, pid: "4242", text: Self.otherBoot)
            // Another opener, running: its marker's lock is held (a second open file description
            // conflicts even within this process).
            let running = try plantMarker(dir, pid: "4343", text: boot)
            let fd = open(dir + "/" + running, O_RDONLY)
            defer { close(fd) }
            XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
            XCTAssertThrowsError(try KeyValueStore(path: dir, tables: ["t"], derived: true)) { error in
                XCTAssertTrue("\(error)".contains("other process"), "\(error)")
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/data.mdb"))
        }
    }

    func testADamagedStoreThatAProcessWithoutAMarkerHasOpenIsRefusedNotDeleted() throws {
        try withScratch { dir in
            try put(dir, "v1")
            try plantMarker(dir, pid: "4242", text: Self.otherBoot)
            // A reader (a backup) or a writer without a boot id holds only open.lock, shared.
            let fd = open(dir + "/" + UnflushedCommits.openLockName, O_RDWR | O_CREAT, 0o600)
            defer { close(fd) }
            XCTAssertEqual(flock(fd, LOCK_SH | LOCK_NB), 0)
            XCTAssertThrowsError(try UnflushedCommits.claim(directory: dir, bootID: UnflushedCommits.currentBootID() ?? "b"))
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/data.mdb"))
            flock(fd, LOCK_UN)
            XCTAssertTrue(try UnflushedCommits.claim(directory: dir, bootID: UnflushedCommits.currentBootID() ?? "b").discarded)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/data.mdb"))
        }
    }

    func testMarkersOfThisBootAreKeptWhileHeldAndRemovedWhenNobodyHoldsThem() throws {
        let boot = try bootID()
        try withScratch { dir in
            try put(dir, "v1")
            let ended = try plantMarker(dir, pid: "4242", text: boot)
            let running = try plantMarker(dir, pid: "4343", text: boot)
            let fd = open(dir + "/" + running, O_RDONLY)
            defer { close(fd) }
            XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
            let store = try KeyValueStore(path: dir, tables: ["t"], derived: true)
            XCTAssertFalse(store.discardedAfterMachineStop)
            XCTAssertEqual(try value(store), "v1")
            let marks = try markers(dir)
            XCTAssertTrue(marks.contains(running))
            XCTAssertFalse(marks.contains(ended))
            XCTAssertEqual(marks.count, 2)  // the running one and the opener's own
        }
    }

    func testSettleFlushesEachLaterCommitAndRemovesTheMarker() throws {
        _ = try bootID()
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

    func testAMarkerPoisonedByAFailedFlushStaysAndDiscardsTheStoreAtTheNextOpen() throws {
        let boot = try bootID()
        try withScratch { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let claim = try UnflushedCommits.claim(directory: dir, bootID: boot).claim
            claim.poisonAfterFailedFlush()
            claim.release()
            XCTAssertEqual(try String(contentsOfFile: try XCTUnwrap(claim.marker), encoding: .utf8), UnflushedCommits.poison)
            XCTAssertEqual(try UnflushedCommits.claim(directory: dir, bootID: boot).discarded, false, "held by a running claim: not judged yet")
        }
        try withScratch { dir in
            try put(dir, "v1")
            try plantMarker(dir, pid: "4242", text: UnflushedCommits.poison)
            XCTAssertTrue(try KeyValueStore(path: dir, tables: ["t"], derived: true).discardedAfterMachineStop)
        }
    }

    func testWithoutABootIDThereIsNoMarkerAndAnyMarkerNobodyHoldsDiscards() throws {
        try withScratch { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            do {
                let claim = try UnflushedCommits.claim(directory: dir, bootID: nil)
                XCTAssertNil(claim.claim.marker)
                XCTAssertFalse(claim.discarded)
                XCTAssertEqual(try markers(dir), [])
            }
            try plantMarker(dir, pid: "4242", text: "any boot")
            XCTAssertTrue(try UnflushedCommits.claim(directory: dir, bootID: nil).discarded)
        }
    }

    func testABackupCopiesATrustedStoreAndLeavesOutADamagedOne() throws {
        _ = try bootID()
        try withScratch { dir in
            try put(dir + "/store", "v1")
            try FileManager.default.createDirectory(atPath: dir + "/copy1", withIntermediateDirectories: true)
            XCTAssertTrue(try KeyValueStore.copy(storeAt: dir + "/store", to: dir + "/copy1", derived: true))
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/copy1/data.mdb"))
            try plantMarker(dir + "/store", pid: "4242", text: Self.otherBoot)
            try FileManager.default.createDirectory(atPath: dir + "/copy2", withIntermediateDirectories: true)
            XCTAssertFalse(try KeyValueStore.copy(storeAt: dir + "/store", to: dir + "/copy2", derived: true))
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/copy2/data.mdb"))
        }
    }
}
