import Foundation
import XCTest
@testable import Ledger

/// Acceptance: bad input gets a clear typed error, never a crash, and never loses stored data.
final class BadInputTests: XCTestCase {
    func expectCode(_ expected: LedgerError.Code, file: StaticString = #filePath, line: UInt = #line,
        _ body: () async throws -> Void) async
    {
        do {
            try await body()
            XCTFail("no error, expected \(expected.rawValue)", file: file, line: line)
        } catch let e as LedgerError {
            XCTAssertEqual(e.code, expected, "\(e)", file: file, line: line)
        } catch {
            XCTFail("untyped error \(error), expected \(expected.rawValue)", file: file, line: line)
        }
    }

    func testOversizedEventIsRefused() async throws {
        let dir = TempDir("big")
        defer { dir.remove() }
        let ledger = try openLedger(dir.path) { $0.maxEventBytes = 4096 }
        defer { ledger.close() }
        await expectCode(.eventTooLarge) { _ = try await ledger.append(draft(1, size: 8000)) }
        // The batch is all-or-nothing, and the ledger goes on.
        await expectCode(.eventTooLarge) { _ = try await ledger.append([draft(2), draft(3, size: 8000)]) }
        XCTAssertTrue(try ledger.head().seq == 1)
        let appended = try await ledger.append(draft(4))
        XCTAssertEqual(appended.seq, 2)
    }

    func testUnknownTypesVersionsAndReservedTypesAreRefused() async throws {
        let dir = TempDir("types")
        defer { dir.remove() }
        let ledger = try openLedger(dir.path)
        defer { ledger.close() }
        await expectCode(.unsupportedEventVersion) { _ = try await ledger.append(EventDraft(type: "message.submitted", typeVersion: 2, subject: "s", actor: "a")) }
        await expectCode(.unknownEventType) { _ = try await ledger.append(EventDraft(type: "message.teleported", subject: "s", actor: "a")) }
        await expectCode(.reservedEventType) { _ = try await ledger.append(EventDraft(type: "ledger.checkpoint", subject: "s", actor: "a")) }
        await expectCode(.invalidDraft) { _ = try await ledger.append(EventDraft(type: "message.submitted", subject: "", actor: "a")) }
        await expectCode(.invalidDraft) { _ = try await ledger.append(EventDraft(type: "message.submitted", subject: "s", actor: "a", payload: [1])) }
        XCTAssertThrowsError(try EventDraft(json: JSONParser.parse("{\"type\":\"message.submitted\",\"subject\":\"s\"}")))
        XCTAssertThrowsError(try EventDraft(json: JSONParser.parse("{\"type\":\"x\",\"subject\":\"s\",\"actor\":\"a\",\"extra\":1}")))
        XCTAssertTrue(try ledger.head().seq == 1)
    }

    func testDirectoryThatIsNotALedgerIsRefused() async throws {
        let dir = TempDir("notledger")
        defer { dir.remove() }
        // A directory with unrelated files.
        let other = dir.sub("documents")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try Data("hello".utf8).write(to: URL(fileURLWithPath: other + "/notes.txt"))
        await expectCode(.notALedger) { _ = try openLedger(other) }
        // A data.mdb that is not LMDB.
        let fake = dir.sub("fake")
        try FileManager.default.createDirectory(atPath: fake, withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 16384).write(to: URL(fileURLWithPath: fake + "/data.mdb"))
        await expectCode(.notALedger) { _ = try openLedger(fake, create: false) }
        // An LMDB environment of some other program.
        let foreign = dir.sub("foreign")
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        do {
            let env = try LMDBEnvironment(path: foreign, initialMapSize: 1 << 20, mapSizeLimit: 1 << 20, maxDatabases: 2, readOnly: false)
            let db = try env.openDatabase("theirs", create: true)
            try env.write { try $0.put(db, [1], [2]) }
        }
        await expectCode(.notALedger) { _ = try openLedger(foreign, create: false) }
        // Even when asked to create, Kvitto does not write into another program's environment.
        await expectCode(.notALedger) { _ = try openLedger(foreign, create: true) }
        let untouched = try LMDBEnvironment(path: foreign, initialMapSize: 1 << 20, mapSizeLimit: 1 << 20, maxDatabases: 4, readOnly: false)
        XCTAssertEqual(try untouched.namedDatabaseCount(), 1)
        // A missing ledger without create.
        await expectCode(.ledgerNotFound) { _ = try openLedger(dir.sub("missing"), create: false) }
        // A file where the directory should be.
        await expectCode(.notALedger) { _ = try openLedger(other + "/notes.txt") }
        // Nothing was written into the foreign directories.
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: other) == ["notes.txt"])
    }

    func testFullMapGrowsThenFailsClearlyAndLosesNothing() async throws {
        let dir = TempDir("full")
        defer { dir.remove() }
        var acknowledged: [Event] = []
        var failure: LedgerError?
        do {
            // Starts at 256 KiB, may grow to 2 MiB: the map grows (MDB_MAP_FULL handled) until the limit.
            let ledger = try openLedger(dir.path) { $0.initialMapSize = 256 << 10; $0.maxMapSize = 2 << 20 }
            for i in 0..<400 {
                do {
                    acknowledged += try await ledger.append((0..<20).map { draft(i * 20 + $0, size: 200) })
                } catch {
                    failure = error
                    break
                }
            }
            ledger.close()
        }
        XCTAssertTrue(failure?.code == .storageFull, "\(String(describing: failure))")
        XCTAssertTrue(acknowledged.count > 400, "the map should have grown past its initial size first")
        // Every acknowledged event is there and the ledger verifies; with a larger limit appends go on.
        let ledger = try openLedger(dir.path, create: false) { $0.initialMapSize = 256 << 10; $0.maxMapSize = 64 << 20 }
        for e in acknowledged { XCTAssertTrue(try ledger.event(e.seq) == e) }
        let next = try await ledger.append(draft(1))
        XCTAssertTrue(next.seq == acknowledged.last!.seq + 1)
        ledger.close()
        XCTAssertTrue(try verify(dir.path).ok)
    }

    /// Storage full while batches are in flight in every pipeline stage: failed batches are
    /// answered with the error, batches built on them are rebuilt (and fail or succeed on their
    /// own), every acknowledged event is stored, nothing unacknowledged is, and closing returns.
    func testFullMapWithManyConcurrentAppendersLosesNothingAndDoesNotHang() async throws {
        let dir = TempDir("fullconcurrent")
        defer { dir.remove() }
        let ledger = try openLedger(dir.path) { $0.initialMapSize = 256 << 10; $0.maxMapSize = 1 << 20 }
        let outcomes = await withTaskGroup(of: ([Event], Int).self) { group in
            for w in 0..<16 {
                group.addTask {
                    var mine: [Event] = []
                    var failures = 0
                    for r in 0..<200 where failures < 3 {
                        do {
                            mine += try await ledger.append((0..<8).map { draft(w * 100_000 + r * 8 + $0, size: 120) })
                        } catch let e as LedgerError {
                            XCTAssertEqual(e.code, .storageFull, "\(e)")
                            failures += 1
                        } catch {
                            XCTFail("untyped error \(error)")
                            failures += 1
                        }
                    }
                    return (mine, failures)
                }
            }
            var all: [([Event], Int)] = []
            for await o in group { all.append(o) }
            return all
        }
        ledger.close()
        let acknowledged = outcomes.flatMap { $0.0 }
        XCTAssertGreaterThan(outcomes.map { $0.1 }.reduce(0, +), 0, "the map limit should have been reached")
        XCTAssertGreaterThan(acknowledged.count, 100)
        let report = try verify(dir.path)
        XCTAssertTrue(report.ok, "\(String(describing: report.failure))")
        var options = LedgerOptions()
        options.readOnly = true
        let reader = try Ledger.open(at: dir.path, options: options)
        for e in acknowledged { XCTAssertEqual(try reader.event(e.seq), e) }
        // Every stored message event was acknowledged to someone.
        let stored = try reader.events(from: 1, limit: 1_000_000).filter { $0.type == "message.submitted" }
        XCTAssertEqual(Set(stored.map { $0.seq }), Set(acknowledged.map { $0.seq }))
    }

    func testSecondWriterIsRefusedReadersAreNot() async throws {
        let dir = TempDir("lock")
        defer { dir.remove() }
        let ledger = try openLedger(dir.path)
        defer { ledger.close() }
        _ = try await ledger.append(draft(1))
        // flock is per open file: a second writer in any process is refused.
        XCTAssertThrowsError(try WriterLock(directory: dir.path))
    }
}
