import Foundation
import XCTest
@testable import Transport

/// Our copy-free base64 against Foundation's, for every length remainder, and its strictness.
final class Base64Tests: XCTestCase {
    func testMatchesFoundation() {
        var rng = SystemRandomNumberGenerator()
        for n in 0..<300 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let ours = Base64.encode(bytes)
            XCTAssertEqual(ours, Data(bytes).base64EncodedString(), "length \(n)")
            XCTAssertEqual(Base64.decode(ours), bytes, "length \(n)")
            // Line-wrapped, as XML producers often write it.
            let wrapped = Data(bytes).base64EncodedString(options: [.lineLength64Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
            XCTAssertEqual(Base64.decode("\n  " + wrapped + "\n"), bytes, "wrapped length \(n)")
        }
    }

    func testRejectsGarbage() {
        XCTAssertNil(Base64.decode("QUJD*"))
        XCTAssertNil(Base64.decode("QUJ"))
        XCTAssertNil(Base64.decode("QQ==QUJD"))
        XCTAssertNil(Base64.decode("Q==="))
        XCTAssertEqual(Base64.decode(""), [])
    }
}
