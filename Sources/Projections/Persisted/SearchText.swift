import Foundation

/// Text as the search index keeps it: case- and diacritic-insensitive for Swedish ("malmo" finds
/// "Malmö", "ostergotland" finds "Östergötland"; å, ä, ö fold to a, a, o), split into words of
/// letters and digits.
package enum SearchText {
    /// Longest word kept (bytes); longer words are cut, so a search for their beginning still finds them.
    static let maxWordBytes = 64
    /// Most words indexed per message.
    static let maxWords = 64

    /// The folded words of `text`, in order of first appearance, without repeats.
    package static func words(_ text: String) -> [String] {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil).lowercased()
        var out: [String] = [], seen: Set<String> = [], current = ""
        func flush() {
            guard !current.isEmpty else { return }
            var w = current
            while w.utf8.count > maxWordBytes { w.removeLast() }
            if seen.insert(w).inserted, out.count < maxWords { out.append(w) }
            current = ""
        }
        for ch in folded {
            if ch.isLetter || ch.isNumber { current.append(ch) } else { flush() }
        }
        flush()
        return out
    }
}
