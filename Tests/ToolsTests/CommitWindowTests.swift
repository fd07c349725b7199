import Foundation
import Ledger
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A writer killed after its commit reached data.mdb but before LMDB published the new
/// transaction id in lock.mdb (while another process keeps the lock table alive) leaves readers one
/// commit behind. A restarted writer must build on the last commit — not append at a seq that
/// already exists, and never on an older tree. (Found by the node's kill -9 test.)
final class CommitWindowTests: XCTestCase {
    func testWriterRestartedAfterDyingInTheCommitWindowAppendsAfterTheLastCommit() throws {
        let dir = ScratchDir("commit-window")
        defer { dir.remove() }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let holder = dir.sub("lmdb_commit_window")
        let cc = try KvittoProcess.runTool("/usr/bin/cc", ["-o", holder, root.appendingPathComponent("fixtures/lmdb_commit_window.c").path, "-llmdb"])
        XCTAssertEqual(cc.status, 0, "cannot build the fixture: \(cc.stderr)")
        let ledger = dir.sub("ledger")
        let first = try KvittoProcess.run(["ledger", "append", "--ledger", ledger],
                                          stdin: [draftLine("message:a"), draftLine("message:b"), draftLine("message:c")].joined(separator: "\n") + "\n")
        XCTAssertEqual(first.status, 0, first.stderr)
        let lastSeq = try XCTUnwrap(first.stdout.split(separator: "\n").last.flatMap { UInt64($0) })
        // Another process has the ledger open (as `kvitto ledger tail` or a node's reader would).
        var options = LedgerOptions()
        options.readOnly = true
        let reader = try Ledger.open(at: ledger, options: options)
        defer { reader.close() }
        // The writer dies in the commit window, holding LMDB's writer mutex.
        let ready = dir.sub("ready")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: holder)
        p.arguments = [ledger, ready]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: ready) {
            guard p.isRunning, Date() < deadline else {
                return XCTFail("fixture failed: " + String(decoding: err.fileHandleForReading.availableData, as: UTF8.self))
            }
            usleep(10_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // A new writer appends after the last commit.
        let next = try KvittoProcess.run(["ledger", "append", "--ledger", ledger], stdin: draftLine("message:d") + "\n")
        XCTAssertEqual(next.status, 0, next.stderr)
        XCTAssertEqual(next.stdout.trimmingCharacters(in: .whitespacesAndNewlines), String(lastSeq + 1))
        let verify = try KvittoProcess.run(["ledger", "verify", "--ledger", ledger])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.contains("\(lastSeq + 1) events"), verify.stdout)
    }
}
