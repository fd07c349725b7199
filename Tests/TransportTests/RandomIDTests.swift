import XCTest
@testable import Transport

/// Random identifiers: their form, and that every byte of them is random.
final class RandomIDTests: XCTestCase {
    func testHexOfEveryLengthIsLowerCaseHexOfTwiceTheBytes() {
        for bytes in 0...20 {
            let id = RandomID.hex(bytes)
            XCTAssertEqual(id.utf8.count, 2 * bytes)
            XCTAssertTrue(id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }, id)
        }
    }

    func testEveryPositionVaries() {
        // 12 bytes take two draws of the generator; a position that stayed fixed (a byte not
        // taken from a draw, or a draw reused) would show one value in all 400 identifiers.
        let ids = (0..<400).map { _ in Array(RandomID.hex(12).utf8) }
        XCTAssertEqual(Set(ids.map { String(decoding: $0, as: UTF8.self) }).count, ids.count)
        for position in 0..<24 {
            let seen = Set(ids.map { $0[position] })
            XCTAssertGreaterThanOrEqual(seen.count, 12, "position \(position) took only \(seen.sorted()) in 400 identifiers")
        }
    }
}
