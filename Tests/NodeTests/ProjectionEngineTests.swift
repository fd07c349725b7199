import Foundation
import Ledger
import Node
@testable import Projections
import Workload
import XCTest

/// Persisted projections over a real ledger and a real LMDB store: catch-up in batches equals a
/// rebuild, the index answers what a scan of the ledger answers, a new fold version rebuilds, and
/// the store survives being reopened.
final class ProjectionEngineTests: XCTestCase {
    static let types = ["message.submitted", "message.dispatched", "message.accessed", "access.granted", "access.denied"]

    static var creating: LedgerOptions {
        var o = LedgerOptions()
        o.create = true
        return o
    }

    static func randomEvents(_ ledger: Ledger, count: Int) async throws {
        var rng = SystemRandomNumberGenerator()
        var drafts: [EventDraft] = []
        var grants: [UInt64] = []  // seqs of grants appended so far (revocations name them)
        let grantees = ["pnr:197001011234", "hsa:SE2321000016-A1", "os:root", "sub:https://idp.example.se#x"].compactMap(PrincipalName.init)
        let scopes: [AccessScope] = [.participant("0203:a.example.se"), .mailbox(FunctionalAddress(participant: "0203:a.example.se", function: "kansli")),
                                     .participant("0203:b.example.se")]
        func flush() async throws {
            let events = try await ledger.append(drafts)
            grants += events.filter { $0.type == AccessEventType.granted }.map(\.seq)
            drafts = []
        }
        for i in 0..<count {
            let actor = ["user:anna", "user:bo", "node", "os:root"][Int.random(in: 0..<4, using: &rng)]
            switch Int.random(in: 0..<20, using: &rng) {
            case 0:
                let request = Grant.Request(grantee: grantees.randomElement(using: &rng)!, scope: scopes.randomElement(using: &rng)!,
                                            rights: Set([AccessRight.read, .send, .audit].filter { _ in Bool.random(using: &rng) }).union([.read]),
                                            reason: "test \(i)")
                drafts.append(Grant.draft(request, actor: actor))
            case 1 where !grants.isEmpty:
                // Some revocations name a grant twice or one that does not exist: the fold ignores those.
                let id = Bool.random(using: &rng) ? grants.randomElement(using: &rng)! : UInt64.random(in: 1...UInt64(i + 2), using: &rng)
                drafts.append(EventDraft(type: AccessEventType.revoked, subject: "principal:x", actor: actor,
                                         payload: ["grant": .int(Int64(id)), "reason": "test"]))
            default:
                drafts.append(EventDraft(type: types[Int.random(in: 0..<types.count, using: &rng)],
                                         subject: "message:m\(Int.random(in: 0..<50, using: &rng))", actor: actor,
                                         payload: ["i": .int(Int64(i))]))
            }
            if drafts.count == 200 { try await flush() }
        }
        if !drafts.isEmpty { try await flush() }
    }

    func withScratch(_ body: (String) async throws -> Void) async throws {
        let dir = NSTemporaryDirectory() + "kvitto-projections-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await body(dir)
    }

    /// The node's projections are derived (commits not flushed, guarded by a marker); other
    /// stores flush every commit.
    func testTheNodesProjectionStoreIsOpenedAsDerived() async throws {
        guard (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) != nil else {
            throw XCTSkip("without a boot id, derived stores flush every commit")
        }
        try await withScratch { dir in
            let ledger = try Ledger.open(at: dir + "/ledger", options: Self.creating)
            defer { ledger.close() }
            let engine = try NodeProjectionStore.open(node: dir, ledger: ledger)
            XCTAssertEqual((engine.storage as? KeyValueStore)?.flushesCommits, false)
            XCTAssertEqual(try KeyValueStore(path: dir + "/other", tables: ["t"]).flushesCommits, true)
        }
    }

    /// After a machine stop with commits not yet on the disk (staged by a marker of another
    /// boot), the node's projections are started empty and refolded to the same rows.
    func testProjectionsDiscardedAfterAMachineStopAreRefoldedToTheSameRows() async throws {
        try await withScratch { dir in
            let ledger = try Ledger.open(at: dir + "/ledger", options: Self.creating)
            defer { ledger.close() }
            try await Self.randomEvents(ledger, count: 600)
            var before: [String] = []
            do {
                let engine = try NodeProjectionStore.open(node: dir, ledger: ledger)
                try engine.catchUp()
                before = try ["events", "grants", "node"].map { try engine.digest($0).sha256 }
            }
            try Data("00000000-0000-0000-0000-000000000000".utf8)
                .write(to: URL(fileURLWithPath: dir + "/" + NodeProjectionStore.folder + "/unflushed.4242.0badc0de"))
            let engine = try NodeProjectionStore.open(node: dir, ledger: ledger)
            XCTAssertEqual((engine.storage as? KeyValueStore)?.discardedAfterMachineStop, true)
            XCTAssertEqual(try engine.lowestApplied(), 0)
            try engine.catchUp()
            XCTAssertEqual(try ["events", "grants", "node"].map { try engine.digest($0).sha256 }, before)
        }
    }

    func testCatchUpInBatchesEqualsARebuildAndTheIndexAnswersLikeTheLedger() async throws {
        try await withScratch { dir in
            let ledger = try Ledger.open(at: dir + "/ledger", options: Self.creating)
            defer { ledger.close() }
            try await Self.randomEvents(ledger, count: 1_500)
            let engine = try NodeProjectionStore.open(node: dir, ledger: ledger)
            // Live: caught up in small batches, with more events appended in between.
            try engine.catchUp(batch: 97)
            try await Self.randomEvents(ledger, count: 700)
            let head = try engine.catchUp(batch: 13)
            XCTAssertEqual(head, try ledger.durableHead())
            let live = try engine.digest("events")
            let liveGrants = try engine.digest("grants")
            XCTAssertEqual(live.seq, head)
            XCTAssertGreaterThan(try GrantsProjection.all(in: engine.storage).filter { $0.revocation != nil }.count, 0, "the workload revokes grants")
            XCTAssertEqual(try engine.status().first?.rows["by_type"], Int(head))
            // Rebuilt from scratch in one go: the same rows.
            try engine.rebuild()
            XCTAssertEqual(try engine.digest("events").sha256, live.sha256)
            XCTAssertEqual(try engine.digest("grants").sha256, liveGrants.sha256)
            // The index answers what a scan of the ledger answers.
            let all = try ledger.events(from: 1, limit: Int(head))
            for lookup in [EventIndex.Lookup.type("message.accessed"), .actor("user:anna"), .subject("message:m7")] {
                let expected = all.filter {
                    switch lookup {
                    case .type(let t): $0.type == t
                    case .actor(let a): $0.actor == a
                    case .subject(let s): $0.subject == s
                    }
                }.map(\.seq)
                XCTAssertFalse(expected.isEmpty)
                XCTAssertEqual(try EventIndex.seqs(lookup, limit: 10_000, in: engine.storage), expected, "\(lookup)")
                // A window (after, upTo] and a limit.
                let mid = expected[expected.count / 2]
                XCTAssertEqual(try EventIndex.seqs(lookup, after: mid, upTo: head, limit: 3, in: engine.storage),
                               Array(expected.filter { $0 > mid }.prefix(3)))
            }
            XCTAssertEqual(try EventIndex.seqs(.actor("user:nobody"), in: engine.storage), [])
            var counts: [String: UInt64] = [:]
            for e in all { counts[e.type, default: 0] += 1 }
            XCTAssertEqual(try EventIndex.counts(in: engine.storage), counts)
        }
    }

    /// The scheduler's question — which dispatches are due at a time — answered from the `due`
    /// index equals the in-memory fold's answer over every pending dispatch, at times before, among
    /// and after the recorded retry times.
    func testDueDispatchesFromTheIndexEqualTheFold() async throws {
        try await withScratch { dir in
            let ledger = try Ledger.open(at: dir + "/ledger", options: Self.creating)
            defer { ledger.close() }
            var history = SyntheticHistory(.init(participant: "0203:a.example.se", functions: ["kansli", "ekonomi"], seed: 11))
            while history.messages < 1_500 {
                history.appended(try await ledger.append(history.next(256)))
            }
            let engine = try NodeProjectionStore.open(node: dir, ledger: ledger)
            try engine.catchUp(batch: 101)
            let fold = try Projector(ledger: ledger).snapshot()
            let retryTimes = fold.dispatches.values.compactMap(\.nextAttemptAt).sorted()
            XCTAssertGreaterThan(retryTimes.count, 2, "the history schedules retries")
            var sizes: Set<Int> = []
            for t in [Timestamp(nanoseconds: 0), Timestamp.now()] + retryTimes + [Timestamp(nanoseconds: Int64.max)] {
                let indexed = try engine.currentNodeState { try $0.dueDispatches(at: t) }.map(\.as4MessageId)
                XCTAssertEqual(indexed, fold.dueDispatches(at: t).map(\.as4MessageId), "at \(t)")
                sizes.insert(indexed.count)
            }
            XCTAssertGreaterThanOrEqual(sizes.count, 2, "the times chosen do not tell due-now from scheduled dispatches")
        }
    }

    /// A store is tied to its ledger: opened over another ledger, or over this ledger restored to
    /// an earlier state, every projection starts again from seq 1.
    func testAStoreOverAnotherLedgerOrAnEarlierStateStartsAgain() async throws {
        try await withScratch { dir in
            do {
                let first = try Ledger.open(at: dir + "/ledger", options: Self.creating)
                defer { first.close() }
                try await Self.randomEvents(first, count: 300)
                let engine = try NodeProjectionStore.open(node: dir, ledger: first)
                try engine.catchUp()
                let h = try first.durableHead()
                XCTAssertEqual(try engine.status().map(\.appliedSeq), Array(repeating: h, count: PersistedProjections.all.count))
            }
            try FileManager.default.moveItem(atPath: dir + "/ledger", toPath: dir + "/first-ledger")
            let other = try Ledger.open(at: dir + "/ledger", options: Self.creating)
            defer { other.close() }
            try await Self.randomEvents(other, count: 400)
            let engine = try NodeProjectionStore.open(node: dir, ledger: other)
            XCTAssertEqual(try engine.status().map(\.appliedSeq), Array(repeating: 0, count: PersistedProjections.all.count), "rows of another ledger were kept")
            let h = try other.durableHead()
            XCTAssertEqual(try engine.catchUp(), h)
            XCTAssertEqual(try EventIndex.counts(in: engine.storage).values.reduce(0, +), h)
        }
    }

    /// Identifiers longer than LMDB's key limit (or empty) do not stop the projections: they are
    /// hashed into keys, looked up the same way, and read back whole.
    func testLongAndEmptyIdentifiersDoNotStopTheProjections() async throws {
        try await withScratch { dir in
            let ledger = try Ledger.open(at: dir + "/ledger", options: Self.creating)
            defer { ledger.close() }
            let longID = String(repeating: "x", count: 600), longActor = String(repeating: "a", count: 700)
            _ = try await ledger.append([
                EventDraft(type: "message.submitted", subject: "message:" + longID, actor: longActor, payload: ["participant": "0203:a.example.se"]),
                EventDraft(type: "message.submitted", subject: "message:", actor: "user:anna", payload: ["participant": "0203:a.example.se"]),
                EventDraft(type: "message.accessed", subject: "message:" + longID, actor: longActor),
            ])
            let engine = try NodeProjectionStore.open(node: dir, ledger: ledger)
            let head = try engine.catchUp()
            XCTAssertEqual(head, try ledger.durableHead())
            XCTAssertEqual(try EventIndex.seqs(.actor(longActor), in: engine.storage).count, 2)
            XCTAssertEqual(try EventIndex.seqs(.subject("message:" + longID), in: engine.storage).count, 2)
            let persisted = try NodeStateProjection.load(from: engine.storage, seq: head)
            XCTAssertEqual(persisted, try Projector(ledger: ledger).snapshot())
            XCTAssertEqual(persisted.messages[longID]?.eventSeqs.count, 2)
            XCTAssertNotNil(persisted.messages[""])
        }
    }

    /// A fold at a new version is dropped and rebuilt; one at the same version keeps its rows
    /// and position across a reopen.
    func testANewFoldVersionRebuildsAndAReopenKeepsThePosition() async throws {
        struct Counting: PersistedProjection {
            let name = "counting"
            let version: Int
            let tables = ["n"]
            func apply(_ event: Event, to rows: ProjectionRows) throws {
                // Version 1 counts every event; version 2 only grants.
                guard version == 1 || event.type == "access.granted" else { return }
                try rows.put("n", withUnsafeBytes(of: event.seq.bigEndian) { Array($0) }, [])
            }
        }
        try await withScratch { dir in
            let ledger = try Ledger.open(at: dir + "/ledger", options: Self.creating)
            defer { ledger.close() }
            try await Self.randomEvents(ledger, count: 400)
            let head = try ledger.durableHead()
            let grants = try ledger.events(from: 1, limit: Int(head)).filter { $0.type == "access.granted" }.count
            let v1 = try NodeProjectionStore.open(node: dir, ledger: ledger, projections: [EventIndex(), Counting(version: 1)])
            try v1.catchUp()
            XCTAssertEqual(try v1.status().first { $0.name == "counting" }?.rows["n"], Int(head))
            let again = try NodeProjectionStore.open(node: dir, ledger: ledger, projections: [EventIndex(), Counting(version: 1)])
            XCTAssertEqual(try again.status().map(\.appliedSeq), [head, head], "a reopen lost the position")
            let v2 = try NodeProjectionStore.open(node: dir, ledger: ledger, projections: [EventIndex(), Counting(version: 2)])
            XCTAssertEqual(try v2.status().first { $0.name == "counting" }?.appliedSeq, 0, "the old version's rows were kept")
            XCTAssertEqual(try v2.status().first { $0.name == "events" }?.appliedSeq, head, "an unchanged projection was reset")
            // The first engine (the old fold) may not write into what the new one reset.
            XCTAssertThrowsError(try v1.catchUp()) { XCTAssertEqual(($0 as? LedgerError)?.code, .unsupportedFormat) }
            try v2.catchUp()
            XCTAssertEqual(try v2.status().first { $0.name == "counting" }?.rows["n"], grants)
        }
    }

    /// A reader's marks found row by row (a mailbox page's way, the key made on the stack, or
    /// hashed when actor and id are long) are the ones the index writes, and `upTo` hides later
    /// ones; the in-place scan lends the same rows as the copying one.
    func testReadMarksLookedUpInPlace() throws {
        let dir = NSTemporaryDirectory() + "kvitto-marks-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try KeyValueStore(path: dir, tables: [ReadMarks.qualifiedTable])
        let short = "clerk@example", long = String(repeating: "ä", count: 140)
        let rows: [(actor: String, message: String, seq: UInt64)] = [(short, "m1", 7), (short, "m2", 900), (long, "m1", 12), (long, "m3", 3)]
        try store.write { w in
            for r in rows {
                try w.put(ReadMarks.qualifiedTable, ReadMarks.key(actor: r.actor, message: r.message), withUnsafeBytes(of: r.seq.bigEndian) { Array($0) })
            }
        }
        XCTAssertEqual(ReadMarks.key(actor: long, message: "m1").count, 33, "the long pair is hashed")
        try store.read { (r: any ProjectionReading) in
            for actor in [short, long] {
                let all = ReadMarks.Lookup(actor: actor, reading: r), early = ReadMarks.Lookup(actor: actor, upTo: 10, reading: r)
                for message in ["m1", "m2", "m3", "m4"] {
                    let stored = rows.first { $0.actor == actor && $0.message == message }?.seq
                    XCTAssertEqual(try all.firstRead(of: message), stored, "\(actor.prefix(5)) \(message)")
                    XCTAssertEqual(try early.firstRead(of: message), stored.flatMap { $0 <= 10 ? $0 : nil })
                    var bytes = Array(message.utf8)
                    XCTAssertEqual(try bytes.withUnsafeMutableBufferPointer { try all.firstRead(of: UnsafeBufferPointer($0)) }, stored)
                }
            }
            var copied: [[UInt8]] = [], lent: [[UInt8]] = []
            try r.scan(ReadMarks.qualifiedTable, from: nil) { k, v in copied.append(k + v); return true }
            try r.scanInPlace(ReadMarks.qualifiedTable, from: nil) { k, v in lent.append(Array(k) + Array(v)); return true }
            XCTAssertEqual(copied, lent)
            XCTAssertEqual(copied.count, rows.count)
        }
    }
}
