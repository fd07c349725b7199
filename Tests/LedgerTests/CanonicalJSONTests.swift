import XCTest
@testable import Ledger

final class CanonicalJSONTests: XCTestCase {
    func testSortsMembersByUTF16AndEscapesMinimally() throws {
        // RFC 8785 §3.2.3 ordering: by UTF-16 code units, so U+1F600 (surrogates D83D…) sorts before U+FB33.
        let v: JSONValue = ["\u{FB33}": 1, "\u{1F600}": 2, "b": 3, "a": ["x\n\"\\\u{01}/é": true, "z": nil]]
        let text = String(decoding: CanonicalJSON.encode(v), as: UTF8.self)
        XCTAssertTrue(text == "{\"a\":{\"x\\n\\\"\\\\\\u0001/é\":true,\"z\":null},\"b\":3,\"\u{1F600}\":2,\"\u{FB33}\":1}")
    }

    func testRoundTripsThroughTheParser() throws {
        let v: JSONValue = ["list": [1, -2, 0, "s", false, nil, [:], []], "max": .int(JSONValue.maxSafeInteger)]
        let bytes = CanonicalJSON.encode(v)
        XCTAssertTrue(try JSONParser.parse(bytes) == v)
        XCTAssertTrue(try JSONParser.parse(" { \"a\" : [ 1 , 2 ] } ") == ["a": [1, 2]])
        XCTAssertTrue(try JSONParser.parse("\"\\ud83d\\ude00\\u00e5\"") == .string("\u{1F600}å"))
    }

    func testRefusesWhatIsNotInTheSubset() {
        let cases: [(String, JSONParseError.Reason)] = [
            ("{\"a\":1,\"a\":2}", .duplicateKey),
            ("{\"a\":1.5}", .notAnInteger),
            ("{\"a\":1e3}", .notAnInteger),
            ("9007199254740992", .integerOutOfRange),
            ("\"\\ud800\"", .invalidEscape),
            ("\"\\x\"", .invalidEscape),
            ("{\"a\":1} x", .trailingData),
            ("[01]", .syntax),
            ("{\"a\" 1}", .syntax),
            ("\"tab\there\"", .syntax),
        ]
        for (text, reason) in cases {
            do { _ = try JSONParser.parse(text); XCTFail("accepted \(text)") } catch { XCTAssertEqual(error.reason, reason, text) }
        }
    }

    func testRefusesInvalidUTF8AndDeepNesting() {
        XCTAssertThrowsError(try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]))
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        do { _ = try JSONParser.parse(deep); XCTFail("accepted deep nesting") } catch { XCTAssertTrue(error.reason == .tooDeep) }
    }

    func testTimestampsRoundTripAndSort() throws {
        let samples: [Int64] = [0, 1, 999_999_999, 1_795_000_000_123_456_789, -1, 951_782_400_000_000_000]
        for ns in samples {
            let t = Timestamp(nanoseconds: ns)
            XCTAssertTrue(Timestamp(rfc3339: t.rfc3339) == t, "\(t)")
        }
        XCTAssertTrue(Timestamp(nanoseconds: 951_782_400_000_000_000).rfc3339 == "2000-02-29T00:00:00.000000000Z")
        XCTAssertTrue(Timestamp(rfc3339: "2001-02-29T00:00:00.000000000Z") == nil)
        XCTAssertTrue(Timestamp(rfc3339: "2026-11-22T11:22:00Z") == nil)
        XCTAssertTrue(Timestamp(nanoseconds: 5).rfc3339 < Timestamp(nanoseconds: 6).rfc3339)
    }
}
