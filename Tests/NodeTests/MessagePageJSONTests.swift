@testable import API
import Foundation
import Ledger
@testable import Node
@testable import Projections
import XCTest

/// The mailbox page written from stored rows (``MessagePageJSON`` over ``MessageRowSummary``) is
/// byte for byte what the generated layer writes for the same messages (`JSONEncoder` with the
/// API's configuration over ``Representation/summary(_:)``): for every status, direction and
/// visibility, with and without each optional member, and with texts that need every kind of
/// JSON escape. Damaged rows are refused, like ``MessageRecord/init(row:)`` refuses them.
final class MessagePageJSONTests: XCTestCase {
    /// Texts that exercise the escapes: every control character, quotes, backslash, slash, DEL,
    /// Swedish letters, a combining mark, an emoji, an empty string.
    static let texts: [String] = [
        "Ansökan om bygglov – Malmö", "", "\"citat\" \\ omvänt / snedstreck", String((0..<32).map { Character(Unicode.Scalar($0)!) }),
        "del\u{7f}tecken", "e\u{301} kombinerad", "🙂 emoji", "</script>", "a/b/c", "tab\tny\nrad\r",
    ]

    func testRowsRenderAsTheGeneratedLayerRendersRecords() throws {
        var random = SystemRandomNumberGenerator()
        let statuses: [MessageStatus] = [.submitted, .dispatched, .delivered, .received, .accepted, .rejected, .failed]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.dateEncodingStrategy = .custom { date, e in
            var c = e.singleValueContainer()
            try c.encode(try TimestampTranscoder().encode(date))
        }
        var checked = 0
        for round in 0..<300 {
            var records: [MessageRecord] = []
            for i in 0..<Int.random(in: 0...6, using: &random) {
                func text() -> String { Self.texts.randomElement(using: &random)! + (Bool.random(using: &random) ? "\(i)" : "") }
                // Whole nanoseconds and values near a millisecond boundary, before and after 1970.
                let ns: Int64 = [Int64.random(in: -4_000_000_000_000_000_000...4_000_000_000_000_000_000, using: &random),
                                 1_764_000_000_000_000_000 + Int64.random(in: -2...2, using: &random) * 1_000_000 + [0, 1, 999_999].randomElement(using: &random)!,
                                 0, -1].randomElement(using: &random)!
                var r = MessageRecord(id: "m-\(round)-\(i)-" + text(), participant: "0203:one.example.se",
                                      direction: Bool.random(using: &random) ? .inbound : .outbound,
                                      status: statuses.randomElement(using: &random)!, createdAt: Timestamp(nanoseconds: ns))
                func address() -> FunctionalAddress? {
                    Bool.random(using: &random) ? FunctionalAddress(participant: "0203:" + text(), function: text()) : nil
                }
                r.from = address()
                r.to = address()
                r.label = Bool.random(using: &random) ? text() : nil
                r.confidential = Bool.random(using: &random)
                r.eventSeqs = (0..<Int.random(in: 0...5, using: &random)).map { _ in UInt64.random(in: 1...1 << 40, using: &random) }.sorted()
                r.as4MessageId = Bool.random(using: &random) ? text() : nil
                if Bool.random(using: &random) {
                    r.verdict = .init(status: text(), lines: [.init(code: text(), lineID: text(), reason: text())], receiptID: nil)
                }
                r.failure = Bool.random(using: &random) ? text() : nil
                let blob = BlobRef(sha256: Digest32(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })!, size: 42)
                r.xhe = Bool.random(using: &random) ? blob : nil
                r.sdkMessage = Bool.random(using: &random) ? blob : nil
                r.attachments = Bool.random(using: &random) ? [.init(fileName: text(), contentType: "application/pdf", blob: blob)] : []
                r.receiptDispatch = Bool.random(using: &random) ? text() : nil
                r.conversation = Bool.random(using: &random) ? text() : nil
                r.reference = Bool.random(using: &random) ? text() : nil
                records.append(r)
            }
            let visibility = [AccessPolicy.Visibility.full, .audit, .transport].randomElement(using: &random)!
            let readSeqs = records.map { _ in Bool.random(using: &random) ? UInt64.random(in: 1...9_007_199_254_740_991, using: &random) : nil }
            let next: [UInt8]? = Bool.random(using: &random) ? (0..<Int.random(in: 1...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) } : nil

            let visible = zip(records, readSeqs).map { MessageAccess.Visible(record: $0, visibility: visibility, readSeq: $1) }
            let expected = Array(try encoder.encode(Components.Schemas.MessagePage(messages: visible.map(Representation.summary),
                                                                                   nextCursor: next.map(Hex.encode))))
            // From the message rows and from the listing rows the mailbox index keeps.
            for listing in [false, true] {
                var page = MessagePageJSON()
                for (r, read) in zip(records, readSeqs) {
                    try MessageRowSummary.read(listing ? r.listingRow : r.row) { page.add($0, visibility: visibility, readSeq: read) }
                    if listing { XCTAssertEqual(try MessageRowSummary.id(ofListing: r.listingRow), r.id) }
                }
                let written = Array(page.finish(next: next).readableBytesView)
                XCTAssertEqual(String(decoding: written, as: UTF8.self), String(decoding: expected, as: UTF8.self), "listing: \(listing)")
                XCTAssertEqual(written, expected)
            }
            checked += records.count
        }
        XCTAssertGreaterThan(checked, 500)
    }

    func testDamagedRowsAreRefused() throws {
        var r = MessageRecord(id: "m1", participant: "0203:one.example.se", direction: .inbound, status: .received,
                              createdAt: Timestamp(nanoseconds: 1))
        r.label = "Ansökan Malmö"
        r.reference = "Dnr 1"
        let row = r.row
        XCTAssertNoThrow(try MessageRowSummary.read(row) { _ in })
        // Every truncation, one byte more, and a label whose UTF-8 is broken.
        for n in 0..<row.count {
            XCTAssertThrowsError(try MessageRowSummary.read(Array(row.prefix(n))) { _ in }, "truncated to \(n)")
            XCTAssertThrowsError(try MessageRecord(row: Array(row.prefix(n))), "truncated to \(n)")
        }
        XCTAssertThrowsError(try MessageRowSummary.read(row + [0]) { _ in })
        let listing = r.listingRow
        XCTAssertNoThrow(try MessageRowSummary.read(listing) { _ in })
        for n in 0..<listing.count {
            XCTAssertThrowsError(try MessageRowSummary.read(Array(listing.prefix(n))) { _ in }, "listing truncated to \(n)")
        }
        XCTAssertThrowsError(try MessageRowSummary.read(listing + [0]) { _ in })
        XCTAssertThrowsError(try MessageRowSummary.id(ofListing: row), "a message row is no listing row")
        let at = try XCTUnwrap(row.firstIndex(of: 0xC3))  // the ö of the label
        var broken = row
        broken[at] = 0xFF
        XCTAssertThrowsError(try MessageRowSummary.read(broken) { _ in })
        XCTAssertThrowsError(try MessageRecord(row: broken))
    }

    /// The in-place UTF-8 check agrees with the standard library on valid text, every one- and
    /// two-byte sequence, the edges of the three- and four-byte forms, and random bytes.
    func testTheUTF8CheckAgreesWithTheStandardLibrary() {
        func agrees(_ bytes: [UInt8]) {
            let valid = bytes.withUnsafeBufferPointer(UTF8Text.isValid)
            XCTAssertEqual(valid, String(validating: bytes, as: UTF8.self) != nil, "\(bytes.map { String($0, radix: 16) })")
            XCTAssertEqual(bytes.withUnsafeBufferPointer(UTF8Text.exact) != nil, valid)
        }
        for t in Self.texts { agrees(Array(t.utf8)) }
        for a in 0...255 {
            agrees([UInt8(a)])
            for b in 0...255 { agrees([UInt8(a), UInt8(b)]) }
        }
        for lead in [0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5] {
            for second in [0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0] {
                for third in [0x7F, 0x80, 0xBF, 0xC0] {
                    agrees([UInt8(lead), UInt8(second), UInt8(third)])
                    for fourth in [0x7F, 0x80, 0xBF, 0xC0] { agrees([UInt8(lead), UInt8(second), UInt8(third), UInt8(fourth)]) }
                }
            }
        }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            agrees((0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8.random(in: 0x70...0xFF, using: &random) })
        }
        // Longer texts, mostly ASCII (the eight-bytes-at-a-time path), with a stray byte anywhere.
        for _ in 0..<20_000 {
            var bytes = (0..<Int.random(in: 8...40, using: &random)).map { _ in UInt8.random(in: 0x20...0x7E, using: &random) }
            for _ in 0..<Int.random(in: 0...2, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0x80...0xFF, using: &random)
            }
            if Bool.random(using: &random) { bytes += Array("ö🙂".utf8) }
            agrees(bytes)
        }
    }

    /// The eight-bytes-at-a-time escape test finds every byte JSON escapes, at every position.
    func testTheEscapeTestSeesEveryByteThatNeedsOne() {
        func needs(_ b: UInt8) -> Bool { b < 0x20 || b == 0x22 || b == 0x5C || b == 0x2F }
        for b in 0...255 {
            for at in 0..<8 {
                var word = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                word[at] = UInt8(b)
                let w = word.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                XCTAssertEqual(JSONWriter.needsEscape(w), needs(UInt8(b)), "byte \(b) at \(at)")
            }
        }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<100_000 {
            let word = (0..<8).map { _ in UInt8.random(in: 0...255, using: &random) }
            let w = word.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            if word.contains(where: needs) { XCTAssertTrue(JSONWriter.needsEscape(w), "\(word)") }
        }
    }

    /// The writer never writes past the room it was given: a write that does not fit writes
    /// nothing and marks the writer, and every later write is dropped, so a caller that gave
    /// too little room sees it and writes the part again; text escaped to six bytes a byte fits
    /// ``JSONWriter/escapedBound(_:)``.
    func testTheWriterStaysInsideItsRoom() {
        let text = Array("\u{01}\u{1F}\u{02}".utf8)
        let bound = JSONWriter.escapedBound(text.count)
        var memory = [UInt8](repeating: 0xEE, count: bound + 8)
        for room in 0...(bound + 8) {
            memory.withUnsafeMutableBytes { all in
                for i in all.indices { all[i] = 0xEE }
                var w = JSONWriter(UnsafeMutableRawBufferPointer(rebasing: all[..<room]))
                text.withUnsafeBufferPointer { w.string($0) }
                w.raw("!")
                XCTAssertLessThanOrEqual(w.count, room)
                XCTAssertEqual(w.overflowed, room < bound + 1, "room \(room)")
                XCTAssertTrue(all[room...].allSatisfy { $0 == 0xEE }, "room \(room): written past the end")
                if !w.overflowed {
                    XCTAssertEqual(String(decoding: all[..<w.count], as: UTF8.self), "\"\\u0001\\u001f\\u0002\"!")
                }
            }
        }
    }

    /// The identifiers' refused characters (ASCII checked without the Unicode tables) are the
    /// document's pattern's, for every scalar up to U+2FFF and a few beyond.
    func testRefusedIdentifierCharactersFollowTheDocument() {
        func documented(_ s: Unicode.Scalar) -> Bool {
            s == "@" || s == "/" || s.value < 0x20 || s.value == 0x7F || s.value == 0x85 || s.value == 0xFEFF || s.properties.isWhitespace
        }
        for v in Array(0..<0x3000) + [0xFEFF, 0x1_0000, 0x10_FFFF] {
            guard let s = Unicode.Scalar(UInt32(v)) else { continue }
            XCTAssertEqual(FunctionalAddress.refusedInIdentifiers(s), documented(s), "U+\(String(v, radix: 16))")
        }
    }
}
