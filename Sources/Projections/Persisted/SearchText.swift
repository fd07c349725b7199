/// Text as the search index keeps it: case- and diacritic-insensitive for Swedish ("malmo" finds
/// "Malmö", "ostergotland" finds "Östergötland"; å, ä, ö fold to a, a, o), split into words of
/// letters and digits.
///
/// The folding is an explicit table over Latin letters plus the standard library's lower-casing,
/// not the platform's collation data, so the index a rebuild makes is the index the live node
/// made, whatever the toolchain (changing the table changes the node projection's version).
package enum SearchText {
    /// Longest word kept (bytes); longer words are cut, so a search for their beginning still finds them.
    static let maxWordBytes = 64
    /// Most words indexed per message.
    static let maxWords = 64

    /// Latin letters with diacritics (lower case) and what they fold to.
    private static let table: [Character: String] = {
        var t: [Character: String] = ["æ": "ae", "œ": "oe", "ß": "ss", "ø": "o", "ð": "d", "þ": "th", "ł": "l", "đ": "d"]
        let groups: [(String, String)] = [
            ("àáâãäåāăą", "a"), ("çćĉċč", "c"), ("ďđ", "d"), ("èéêëēĕėęě", "e"), ("ĝğġģ", "g"), ("ĥħ", "h"),
            ("ìíîïĩīĭįı", "i"), ("ĵ", "j"), ("ķ", "k"), ("ĺļľŀ", "l"), ("ñńņňŉ", "n"), ("òóôõöōŏő", "o"),
            ("ŕŗř", "r"), ("śŝşšș", "s"), ("ţťŧț", "t"), ("ùúûüũūŭůűų", "u"), ("ŵ", "w"), ("ýÿŷ", "y"), ("źżž", "z"),
        ]
        for (letters, base) in groups { for c in letters { t[c] = base } }
        return t
    }()

    /// The folded words of `text`, in order of first appearance, without repeats.
    package static func words(_ text: String) -> [String] {
        var out: [String] = [], seen: Set<String> = [], current = ""
        func flush() {
            guard !current.isEmpty else { return }
            var w = current
            while w.utf8.count > maxWordBytes { w.removeLast() }
            if seen.insert(w).inserted, out.count < maxWords { out.append(w) }
            current = ""
        }
        for ch in text.lowercased() {
            if let folded = table[ch] {
                current += folded
            } else if ch.isLetter || ch.isNumber {
                current.append(ch)
            } else {
                flush()
            }
        }
        flush()
        return out
    }
}
