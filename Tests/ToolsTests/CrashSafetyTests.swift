import Foundation
import XCTest
@testable import Ledger

/// Acceptance 2: a child process appends and reports each acknowledged seq; it is SIGKILLed at
/// random moments, 20 rounds. After each restart every acknowledged event is present, seqs stay
/// dense and the ledger verifies.
final class CrashSafetyTests: XCTestCase {
    func testAcknowledgedEventsSurviveSIGKILL() throws {
        signal(SIGPIPE, SIG_IGN)
        let dir = ScratchDir("crash")
        defer { dir.remove() }
        let ledger = dir.sub("ledger")
        var acknowledged: [(seq: UInt64, subject: String)] = []
        var rng = SystemRandomNumberGenerator()
        for round in 0..<20 {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: KvittoProcess.binary)
            child.arguments = ["ledger", "append", "--ledger", ledger, "--batch", "64", "--checkpoint-every", "100"]
            let input = Pipe()
            let output = Pipe()
            child.standardInput = input
            child.standardOutput = output
            child.standardError = FileHandle.nullDevice
            try child.run()

            // Feed drafts until the child dies (bounded: at most 200 000 lines).
            let writer = input.fileHandleForWriting
            let feeding = DispatchSemaphore(value: 0)
            let roundNumber = round
            Thread.detachNewThread {
                var i = 0
                while i < 200_000 {
                    var chunk = ""
                    for _ in 0..<50 { chunk += draftLine("crash:\(roundNumber):\(i)") + "\n"; i += 1 }
                    let bytes = Array(chunk.utf8)
                    let fd = writer.fileDescriptor
                    var off = 0
                    var dead = false
                    while off < bytes.count {
                        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
                        if n <= 0 { dead = true; break }
                        off += n
                    }
                    if dead { break }
                }
                feeding.signal()
            }
            // Collect acknowledgements while the child runs.
            let reader = output.fileHandleForReading
            let received = DataBox()
            let readDone = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                while true {
                    let d = reader.availableData
                    if d.isEmpty { break }
                    received.append(d)
                }
                readDone.signal()
            }
            usleep(UInt32.random(in: 150_000...600_000, using: &rng))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            XCTAssertEqual(child.terminationReason, .uncaughtSignal)
            try? writer.close()
            _ = feeding.wait(timeout: .now() + 10)
            _ = readDone.wait(timeout: .now() + 10)
            let text = String(decoding: received.data, as: UTF8.self)
            // Only complete lines are acknowledgements; the k-th seq answers the k-th line.
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if !text.hasSuffix("\n") { lines.removeLast() } else { lines.removeLast() }
            for (k, line) in lines.enumerated() {
                guard let seq = UInt64(line) else { XCTFail("bad ack line \(line)"); continue }
                acknowledged.append((seq, "crash:\(round):\(k)"))
            }

            // Restart: everything acknowledged is there, dense, verified.
            var options = LedgerOptions()
            options.readOnly = true
            let opened = try Ledger.open(at: ledger, options: options)
            let head = try opened.head().seq
            for a in acknowledged {
                let e = try XCTUnwrap(try opened.event(a.seq), "acknowledged seq \(a.seq) is missing after round \(round)")
                XCTAssertEqual(e.subject, a.subject)
            }
            let report = LedgerVerifier(ledger: opened).run()
            XCTAssertTrue(report.ok, "round \(round): \(String(describing: report.failure))")
            XCTAssertEqual(report.events, head, "seqs are not dense")
        }
        XCTAssertGreaterThan(acknowledged.count, 1000, "the child should have acknowledged events before being killed")
        // And a writer can go on after the last kill.
        let after = try KvittoProcess.run(["ledger", "append", "--ledger", ledger], stdin: draftLine("after") + "\n")
        XCTAssertEqual(after.status, 0, after.stderr)
    }
}
