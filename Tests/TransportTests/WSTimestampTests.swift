import Foundation
@testable import Transport
import XCTest

/// `wsu:Created` / `wsu:Expires` parsing: the xs:dateTime forms AS4 peers send, and refusals.
final class WSTimestampTests: XCTestCase {
    func testParsesUTCWithAndWithoutFraction() throws {
        XCTAssertEqual(WSTimestamp.parse("2026-12-03T17:42:58Z"), Date(timeIntervalSince1970: 1_796_319_778))
        XCTAssertEqual(try XCTUnwrap(WSTimestamp.parse("2026-12-03T17:42:58.250Z")).timeIntervalSince1970,
                       1_796_319_778.25, accuracy: 1e-6)
        // phase4 and Domibus write milliseconds; WSS4J up to nanoseconds.
        XCTAssertEqual(try XCTUnwrap(WSTimestamp.parse("2026-12-03T17:42:58.123456789Z")).timeIntervalSince1970,
                       1_796_319_778.123456789, accuracy: 1e-6)
    }

    func testNumericOffsetIsTheSameInstant() {
        XCTAssertEqual(WSTimestamp.parse("2026-12-03T18:42:58+01:00"), WSTimestamp.parse("2026-12-03T17:42:58Z"))
        XCTAssertEqual(WSTimestamp.parse("2026-12-03T12:42:58-05:00"), WSTimestamp.parse("2026-12-03T17:42:58Z"))
    }

    func testRefusesWhatIsNotADateTime() {
        for text in ["", "2026-12-03", "2026-12-03T17:42:58", "2026-12-03 17:42:58Z", "2026-13-03T17:42:58Z",
                     "2026-02-30T17:42:58Z", "2026-12-03T24:00:00Z", "2026-12-03T17:42:58.Z", "2026-12-03T17:42:58Zjunk",
                     "yesterday", "2026-12-03T17:42:58+1:00"] {
            XCTAssertNil(WSTimestamp.parse(text), text)
        }
    }
}
