import Ledger
@testable import Projections
import Workload
import XCTest

/// The binary message row: every record reads back equal, and anything encoding did not write
/// (truncated, extended, another format, bad UTF-8) is refused as corrupt, never misread.
final class MessageRowTests: XCTestCase {
    func testRecordsRoundTripAndDamagedRowsAreRefused() throws {
        var rng = SeededRandom(seed: 0x5EED)
        let statuses: [MessageStatus] = [.submitted, .dispatched, .delivered, .received, .accepted, .rejected, .failed]
        func text(_ n: Int) -> String {
            let alphabet = Array("abcåäöÅÄÖ é-_.@:/0123456789🙂")
            return String((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        }
        func blob() -> BlobRef {
            BlobRef(sha256: Digest32(bytes: (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) })!, size: Int64(rng.next() % 1_000_000_000))
        }
        func maybe<T>(_ make: () -> T) -> T? { rng.next() % 2 == 0 ? make() : nil }
        for round in 0..<500 {
            var r = MessageRecord(id: text(1 + round % 40), participant: text(12), direction: rng.next() % 2 == 0 ? .inbound : .outbound,
                                  status: statuses[Int(rng.next() % 7)],
                                  createdAt: Timestamp(nanoseconds: Int64(bitPattern: rng.next()) / 4))
            r.from = maybe { FunctionalAddress(participant: text(10), function: text(6)) }
            r.to = maybe { FunctionalAddress(participant: text(10), function: text(6)) }
            r.label = maybe { text(Int(rng.next() % 200)) }
            r.confidential = rng.next() % 2 == 0
            var seq = rng.next() % 1_000_000
            r.eventSeqs = (0..<Int(rng.next() % 30)).map { _ in
                // Mostly increasing, as the fold appends them; sometimes not.
                seq = rng.next() % 10 == 0 ? rng.next() % 1_000_000 : seq + rng.next() % 5000
                return seq
            }
            r.as4MessageId = maybe { text(30) }
            r.verdict = maybe {
                MessageRecord.Verdict(status: text(8), lines: (0..<Int(rng.next() % 4)).map { _ in .init(code: text(5), lineID: text(3), reason: text(40)) },
                                      receiptID: maybe { text(20) })
            }
            r.failure = maybe { text(60) }
            r.xhe = maybe(blob)
            r.sdkMessage = maybe(blob)
            r.attachments = (0..<Int(rng.next() % 4)).map { _ in .init(fileName: text(12), contentType: text(10), blob: blob()) }
            r.receiptDispatch = maybe { text(30) }
            r.conversation = maybe { text(36) }
            r.reference = maybe { text(Int(rng.next() % 40)) }

            let row = r.row
            XCTAssertEqual(try MessageRecord(row: row), r, "round \(round)")
            // Every truncation, one byte more, and another format byte are refused.
            for cut in [0, 1, row.count / 2, row.count - 1] {
                XCTAssertThrowsError(try MessageRecord(row: Array(row.prefix(cut)))) { XCTAssertEqual(($0 as? LedgerError)?.code, .corrupt) }
            }
            XCTAssertThrowsError(try MessageRecord(row: row + [0]))
            XCTAssertThrowsError(try MessageRecord(row: [0x7B] + row.dropFirst()), "a JSON row of an older build")
        }
        // A string that is not UTF-8.
        var bad = MessageRecord(id: "ab", participant: "p", direction: .inbound, status: .received, createdAt: Timestamp(nanoseconds: 0)).row
        bad[2] = 0xFF
        XCTAssertThrowsError(try MessageRecord(row: bad))
    }
}
