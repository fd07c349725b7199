import Foundation
import Ledger
import Node
import Projections
import Workload
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Acceptance (issue 13, point 1): after a randomised history of 100k events — messages in both
/// directions, AS4 attempts, transport receipts, failures and retries, Meddelandekvittens, grants
/// and revocations, content reads, refusals, erasures, address-book changes — with the node
/// (`kvitto serve`) SIGKILLed during its catch-up several times, every persisted projection the
/// node maintained incrementally has the same digest as the same projection rebuilt from scratch,
/// and the node's working state equals the in-memory reference fold.
final class RebuildEqualsLiveTests: XCTestCase {
    func testProjectionsKeptByANodeKilledDuringCatchUpEqualARebuildFromScratch() async throws {
        let dir = ScratchDir("rebuild-live")
        defer { if (testRun?.failureCount ?? 0) == 0 { dir.remove() } else { print("kept: \(dir.path)") } }
        let node = dir.sub("node")
        let participant = "0203:a.example.se"
        let port = try await DemoNetwork.freePorts(1)[0]
        let initialised = try KvittoProcess.run(["init", node, "--name", "node", "--participant", participant + "=Kommun A",
                                                 "--function", "socialtjansten@\(participant)=Socialtjänsten",
                                                 "--function", "registrator@\(participant)=Registraturen",
                                                 "--port", "\(port)", "--api-port", "0"])
        XCTAssertEqual(initialised.status, 0, initialised.stderr)
        let seed = UInt64.random(in: 1...UInt64.max)
        print("rebuild-live: seed \(seed)")
        var history = SyntheticHistory(.init(participant: participant, functions: ["socialtjansten", "registrator"], seed: seed))
        let rounds = 8, perRound = 12_500
        var killedAt: [(applied: UInt64, head: UInt64)] = []
        for round in 0..<rounds {
            // The node is stopped: the history grows by one round's events…
            let t00 = Date()
            let head = try await Self.append(to: node + "/ledger", &history, events: perRound, addressBook: round == 0)
            let t1 = Date()
            // …then the node starts, and is killed once its projections are part-way through them.
            let t0 = Date()
            let server = try Self.serve(node, log: dir.sub("serve.log"))
            defer { if server.isRunning { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() } }
            // A kill point somewhere in what is left to apply.
            let from = killedAt.last?.applied ?? 0
            let target = UInt64.random(in: from + 1...max(from + 1, head - 1))
            let started = try Self.waitForProgress(node: node, reaching: target, timeout: 120)
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
            print("rebuild-live: round \(round) appended in \(t1.timeIntervalSince(t00)) s, killed after \(Date().timeIntervalSince(t0)) s")
            let applied = try Self.lowestApplied(node: node)
            killedAt.append((applied, head))
            XCTAssertTrue(started, "round \(round): the node did not reach seq \(target) within 120 s")
        }
        print("rebuild-live: killed at (applied, head) \(killedAt)")
        let interrupted = killedAt.filter { $0.applied < $0.head }.count
        XCTAssertGreaterThanOrEqual(interrupted, 3, "too few kills landed during a catch-up: \(killedAt)")

        // The history goes on once more (ending every message in flight), and the node, started
        // and stopped cleanly, catches up to the head.
        let head = try await Self.append(to: node + "/ledger", &history, events: 0, addressBook: false)
        XCTAssertGreaterThanOrEqual(head, UInt64(rounds * perRound))
        let portFile = dir.sub("port")
        let server = try Self.serve(node, log: dir.sub("serve.log"), portFile: portFile)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() } }
        XCTAssertTrue(try Self.waitForProgress(node: node, reaching: head, timeout: 300), "the node did not catch up")
        // SIGTERM once the node runs (its port written): the history may already be caught up when
        // the process starts, and a signal before its handlers exist would end it by default action.
        let listening = Date().addingTimeInterval(60)
        while server.isRunning, !FileManager.default.fileExists(atPath: portFile), Date() < listening { usleep(20_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: portFile), "kvitto serve did not listen within 60 s")
        server.terminate()
        let stopBy = Date().addingTimeInterval(30)
        while server.isRunning, Date() < stopBy { usleep(20_000) }
        XCTAssertFalse(server.isRunning, "kvitto serve did not stop within 30 s of SIGTERM")
        if !server.isRunning { XCTAssertEqual(server.terminationStatus, 0, NodeCrashTests.tail(dir.sub("serve.log"))) }

        let live = try KvittoProcess.run(["projections", "digest", "--node", node])
        XCTAssertEqual(live.status, 0, live.stderr)
        // A rebuild from scratch, in a store of its own over the same ledger.
        var options = LedgerOptions()
        options.readOnly = true
        let ledger = try Ledger.open(at: node + "/ledger", options: options)
        defer { ledger.close() }
        let store = try KeyValueStore(path: dir.sub("fresh"), tables: ProjectionEngine.tables(for: PersistedProjections.all))
        let fresh = try ProjectionEngine(ledger: ledger, storage: store, projections: PersistedProjections.all)
        // The node's own appends on top of the history: the certificates it recorded at its first start.
        let end = try ledger.durableHead()
        XCTAssertEqual(try fresh.catchUp(), end)
        var rebuilt = ""
        for p in fresh.projections {
            let d = try fresh.digest(p.name)
            rebuilt += "\(p.name) \(d.seq) \(d.sha256)\n"
        }
        XCTAssertEqual(live.stdout, rebuilt, "a projection maintained by the killed node differs from its rebuild")
        // The node's working state (read by key) is what the in-memory reference fold holds.
        let kept = try NodeProjectionStore.open(node: node, ledger: ledger)
        let reference = try Projector(ledger: ledger).snapshot()
        XCTAssertEqual(try NodeStateProjection.load(from: kept.storage, seq: end), reference)
        // The history was what it claims: every kind of event, and enough of each.
        let counts = try EventIndex.counts(in: kept.storage)
        XCTAssertEqual(end - head, counts["node.certificate.changed"] ?? 0, "the node appended something besides its certificates")
        for type in ["message.submitted", "message.received", "transport.attempt.failed", "transport.error.received",
                     "message.rejected", "addressbook.function.removed", "message.delivery.failed",
                     "message.receipt.received", "message.receipt.sent", "access.granted", "access.revoked",
                     "message.accessed", "access.denied", "blob.erased", "addressbook.function.added", "message.retry.requested"] {
            XCTAssertGreaterThan(counts[type] ?? 0, 20, "too few \(type) events in the history: \(counts)")
        }
        XCTAssertTrue(reference.pending.isEmpty && reference.unansweredIDs.isEmpty, "the history left work for the node")
        XCTAssertFalse(reference.rejections.isEmpty)
        // The mailbox index, which the live node and the rebuild fold alike, holds every message of
        // the reference fold under its mailbox, newest first.
        let mailbox = FunctionalAddress(participant: participant, function: "socialtjansten")
        let expected = reference.messages.values.filter { $0.mailbox == mailbox }
            .sorted { ($0.eventSeqs.first ?? 0) > ($1.eventSeqs.first ?? 0) }.map(\.id)
        var listed: [String] = [], cursor: [UInt8]?
        for _ in 0..<10_000 {
            let page = try MailboxIndex.page(mailbox, after: cursor, limit: 500, in: kept.storage)
            listed += page.ids
            guard let next = page.next else { break }
            cursor = next
        }
        XCTAssertGreaterThan(expected.count, 1000)
        XCTAssertEqual(listed, expected, "the persisted mailbox index differs from the reference fold's records")
    }

    /// Starts `kvitto serve` on `node` without waiting for its listener (its catch-up may come first).
    static func serve(_ node: String, log: String, portFile: String? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: KvittoProcess.binary)
        p.arguments = ["serve", "--node", node, "--log-level", "warning"] + (portFile.map { ["--port-file", $0] } ?? [])
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    /// Appends about `events` events of `history` (and the address book first, or every message
    /// in flight when `events` is 0) to the ledger at `path`; returns the head.
    static func append(to path: String, _ history: inout SyntheticHistory, events: Int, addressBook: Bool) async throws -> UInt64 {
        let ledger = try Ledger.open(at: path)
        defer { ledger.close() }
        if addressBook { history.appended(try await ledger.append(history.addressBook())) }
        var written = 0
        while written < events {
            let drafts = history.next(500)
            history.appended(try await ledger.append(drafts))
            written += drafts.count
        }
        // A round ends with nothing in flight, so the node started on it has no work but catching up.
        let rest = history.drain()
        if !rest.isEmpty { history.appended(try await ledger.append(rest)) }
        return try ledger.durableHead()
    }

    /// Waits (at most `timeout` seconds) until the running node's projections have all applied
    /// `seq`; false when they did not get there.
    static func waitForProgress(node: String, reaching seq: UInt64, timeout: Double) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try lowestApplied(node: node) >= seq { return true }
            usleep(10_000)
        }
        return false
    }

    /// The lowest seq any of the node's projections has applied, read beside the running node.
    static func lowestApplied(node: String) throws -> UInt64 {
        let store = try KeyValueStore(path: node + "/" + NodeProjectionStore.folder, tables: ProjectionEngine.tables(for: PersistedProjections.all))
        return try ProjectionEngine.appliedSeqs(in: store, of: PersistedProjections.all).values.min() ?? 0
    }
}
