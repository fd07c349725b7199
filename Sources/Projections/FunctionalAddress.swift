/// A functional mailbox: an organisation's participant id and the function inside it
/// (`0203:b.example.se` + `registrator`), written `registrator@0203:b.example.se`.
package struct FunctionalAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var participant: String
    package var function: String

    package init(participant: String, function: String) {
        self.participant = participant
        self.function = function
    }

    /// Parses `function@participant`.
    package init?(_ text: String) {
        guard let at = text.utf8.lastIndex(of: UInt8(ascii: "@")) else { return nil }
        let f = String(text[..<at]), p = String(text[text.utf8.index(after: at)...])
        guard !f.isEmpty, !p.isEmpty, !Self.hasWhitespace(f), !Self.hasWhitespace(p) else { return nil }
        self.init(participant: p, function: f)
    }

    /// Whether `s` holds whitespace (any Unicode whitespace; ASCII text is checked byte by byte).
    private static func hasWhitespace(_ s: String) -> Bool {
        var ascii = true
        for b in s.utf8 {
            if b >= 0x80 { ascii = false; break }
            if b == 0x20 || (0x09...0x0D).contains(b) { return true }
        }
        return ascii ? false : s.contains(where: \.isWhitespace)
    }

    /// Whether `scalar` may not appear in a participant id or a function written by a caller:
    /// `@`, `/`, control characters, whitespace and U+FEFF (the API document's
    /// `[^@/\s\x00-\x1f\x7f\u0085\ufeff]`, whichever regex dialect reads it).
    package static func refusedInIdentifiers(_ scalar: Unicode.Scalar) -> Bool {
        // ASCII first, without the Unicode tables: its whitespace is U+0009–U+000D and U+0020.
        if scalar.isASCII { return scalar.value <= 0x20 || scalar == "@" || scalar == "/" || scalar.value == 0x7F }
        return scalar == "@" || scalar == "/" || scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x85
            || scalar.value == 0xFEFF || scalar.properties.isWhitespace
    }

    package var description: String { function + "@" + participant }

    package static func < (a: Self, b: Self) -> Bool { (a.participant, a.function) < (b.participant, b.function) }
}
