import XCTest
import Foundation
@testable import Ledger

final class CanonicalJSONTests: XCTestCase {
    /// RFC 3339 §5.8's examples, offsets, leap days, leap seconds, long fractions; and refusals.
    func testAnyRFC3339DateTimeIsRead() {
        func at(_ t: String) -> [Int64]? { Timestamp.rfc3339Seconds(t).map { [$0.seconds, $0.nanoseconds] } }
        XCTAssertEqual(at("1985-04-12T23:20:50.52Z"), [482_196_050, 520_000_000])
        XCTAssertEqual(at("1996-12-19T16:39:57-08:00"), [851_042_397, 0])
        XCTAssertEqual(at("1990-12-31T23:59:60Z"), [662_688_000, 0])
        XCTAssertEqual(at("1937-01-01T12:00:27.87+00:20"), [-1_041_337_173, 870_000_000])
        XCTAssertEqual(at("2024-02-29t00:00:00.1234567891z"), [1_709_164_800, 123_456_789])
        XCTAssertEqual(at("2188-01-12T03:09:35.5905-22:05")?.first, 6_880_468_475)
        XCTAssertNotNil(at("0598-04-23T15:28:48.3+16:09"))
        for bad in ["2023-02-29T00:00:00Z", "2023-13-01T00:00:00Z", "2023-01-01T24:00:00Z", "2023-01-01T00:00:00", "2023-01-01T00:00:00.Z",
                    "2023-01-01T00:00:00+2400", "2023-01-01 00:00:00Z", "2023-01-01T00:00:00Zx", "２023-01-01T00:00:00Z"] {
            XCTAssertNil(at(bad), bad)
        }
    }

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

    func testCanonicalParsingAcceptsExactlyTheCanonicalForm() throws {
        let v: JSONValue = ["b": ["\u{1F600}": 1, "\u{FB33}": -2, "a": "x\u{01}\n\"\\"], "a": [true, nil, 0]]
        let canonical = CanonicalJSON.encode(v)
        XCTAssertEqual(try JSONParser.parseCanonical(canonical), v)
        let variants = [
            "{\"a\": 1}",            // white space
            "{\"b\":1,\"a\":2}",    // member order
            "[\"\\/\"]",            // escaped solidus
            "[\"\\u0041\"]",        // needless \u escape
            "[\"\\u001F\"]",        // uppercase hex
            "[\"\\u000a\"]",        // \u escape where \n is the canonical form
            "[-0]",                   // negative zero
            "{\"a\":1,\"a\":1}",    // repeated member
        ]
        for text in variants {
            XCTAssertNoThrow(try JSONParser.parse(text.replacingOccurrences(of: "{\"a\":1,\"a\":1}", with: "{}")), text)
            do {
                _ = try JSONParser.parseCanonical(Array(text.utf8))
                XCTFail("accepted non-canonical \(text)")
            } catch {
                XCTAssertTrue(error.reason == .notCanonical || error.reason == .duplicateKey, "\(text): \(error)")
            }
        }
        XCTAssertEqual(try JSONParser.parseCanonical(Array("[\"\\u001f\"]".utf8)), ["\u{1F}"])
    }

    func testRefusesInvalidUTF8AndDeepNesting() {
        XCTAssertThrowsError(try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]))
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        do { _ = try JSONParser.parse(deep); XCTFail("accepted deep nesting") } catch { XCTAssertTrue(error.reason == .tooDeep) }
    }

    /// Strings are scanned eight bytes at a time; every character that must be escaped is found
    /// at every position of a long string, next to multi-byte UTF-8 and other escapes.
    func testEscapesAreFoundAtEveryPositionOfLongStrings() {
        func reference(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\u{08}": out += "\\b"
                case "\u{0C}": out += "\\f"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }
        let specials: [Character] = ["\"", "\\", "\u{00}", "\u{01}", "\u{1F}", "\n", "\t", "\u{08}"]
        let harmless: [Character] = ["\u{20}", "\u{21}", "\u{23}", "\u{5B}", "\u{5D}", "\u{7F}", "é", "\u{1F600}", "ÿ"]
        var checked = 0
        for length in [8, 9, 15, 16, 17, 31, 40] {
            for position in 0..<length {
                for special in specials {
                    for filler in harmless {
                        var chars = [Character](repeating: filler, count: length)
                        chars[position] = special
                        if position + 3 < length { chars[position + 3] = specials[(position + length) % specials.count] }
                        let s = String(chars)
                        var out: [UInt8] = []
                        CanonicalJSON.appendString(s, into: &out)
                        XCTAssertEqual(String(decoding: out, as: UTF8.self), reference(s), "length \(length), at \(position)")
                        checked += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 9000)
        // The word test itself: exact for every single byte value in every lane.
        for lane in 0..<8 {
            for byte in 0...255 {
                let word = UInt64(0x4141_4141_4141_4141) & ~(UInt64(0xFF) << (8 * UInt64(lane))) | UInt64(byte) << (8 * UInt64(lane))
                let expected = byte < 0x20 || byte == 0x22 || byte == 0x5C
                XCTAssertEqual(CanonicalJSON.mayNeedEscape(word), expected, "byte \(byte) in lane \(lane)")
            }
        }
    }

    func testControlBytesAreFoundAtEveryPosition() {
        let harmless: [Character] = ["a", "\u{20}", "\u{7F}", "é", "\u{1F600}", "ÿ"]
        var checked = 0
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 33] {
            for filler in harmless {
                let clean = String([Character](repeating: filler, count: length))
                XCTAssertFalse(CanonicalJSON.containsControlByte(clean), "\(length) × \(filler)")
                for position in 0..<length {
                    for control in ["\u{00}", "\u{01}", "\n", "\u{1F}"] as [Character] {
                        var chars = [Character](repeating: filler, count: length)
                        chars[position] = control
                        XCTAssertTrue(CanonicalJSON.containsControlByte(String(chars)), "length \(length), at \(position)")
                        checked += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 500)
    }

    /// The single-pass member order equals comparing UTF-16 code units, for every pair drawn from
    /// names mixing ASCII, Latin-1, U+E000…U+FFFF and characters above U+FFFF, prefixes included.
    func testMemberOrderEqualsUTF16Order() {
        let pieces = ["", "a", "b", "é", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}", "\u{FB33}", "\u{FFFD}",
            "\u{10000}", "\u{1F600}", "\u{10FFFF}"]
        var names: [String] = []
        for p in pieces { for q in pieces { names.append(p + q); names.append("x" + p + "y" + q) } }
        var checked = 0
        for a in names {
            for b in names {
                XCTAssertEqual(CanonicalJSON.utf16Precedes(a, b), a.utf16.lexicographicallyPrecedes(b.utf16),
                    "\(a.unicodeScalars.map(\.value)) vs \(b.unicodeScalars.map(\.value))")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 100_000)
    }

    /// Objects with many members (beyond the sizes the append path sees) come out in order too.
    func testLargeObjectsAreOrdered() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "b", "z", "é", "\u{E000}", "\u{FB33}", "\u{1F600}", "0", "_"]
        var object: [String: JSONValue] = [:]
        while object.count < 3000 {
            let length = Int.random(in: 1...6, using: &generator)
            object[String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })] = .int(Int64(object.count))
        }
        let encoded = CanonicalJSON.encode(.object(object))
        guard case .object(let back)? = try? JSONParser.parseCanonical(encoded) else {
            return XCTFail("the encoding of a large object is not canonical JSON")
        }
        XCTAssertEqual(back.count, object.count)
    }

    func testIntegersInDecimal() {
        for i: Int64 in [0, 1, -1, 9, 10, -10, 99, 100, 1_234_567_890, .max, .min, .max - 1, .min + 1] {
            var out: [UInt8] = [0x41]
            CanonicalJSON.appendInteger(i, into: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), "A" + String(i))
        }
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

final class EnvelopeEncodingTests: XCTestCase {
    /// The direct envelope writer used on the append path produces exactly the generic canonical
    /// encoding, for awkward subjects, actors and payloads too.
    func testDirectEnvelopeEncodingEqualsGenericCanonicalEncoding() {
        let drafts = [
            EventDraft(type: "message.submitted", subject: "mailbox:\"quoted\"\\back", actor: "tab\there",
                payload: ["\u{FB33}": 1, "\u{1F600}": ["x": nil], "a": "\u{7F}\u{80}"]),
            EventDraft(type: "access.denied", typeVersion: 12, subject: "grant:ÅÄÖ", actor: "\u{1F600}", payload: [:]),
        ]
        let prev = Digest32.sha256([9, 9])
        let seqs: [UInt64] = [1, 9, 10, 99, 100, 1000, 4_294_967_296, UInt64(Int64.max)]
        for (i, d) in drafts.enumerated() {
            for seq in seqs {
                let time = Timestamp(nanoseconds: 1_795_000_000_000_000_000 + Int64(i))
                var (body, at) = Event.encodeBody(seq: seq, timeBytes: time.rfc3339Bytes,
                    content: EncodedDraft(d), key: KeyPiece("0123456789abcdef"))
                Event.patchPrev(&body, at: at, prev)
                let generic = CanonicalJSON.encode(Event.bodyObject(seq: seq, time: time, type: d.type,
                    typeVersion: d.typeVersion, subject: d.subject, actor: d.actor, payload: d.payload, prev: prev,
                    key: "0123456789abcdef"))
                XCTAssertEqual(String(decoding: body, as: UTF8.self), String(decoding: generic, as: UTF8.self))
            }
        }
    }
}
