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
        guard let at = text.lastIndex(of: "@") else { return nil }
        let f = String(text[..<at]), p = String(text[text.index(after: at)...])
        guard !f.isEmpty, !p.isEmpty, !f.contains(where: \.isWhitespace), !p.contains(where: \.isWhitespace) else { return nil }
        self.init(participant: p, function: f)
    }

    package var description: String { function + "@" + participant }

    package static func < (a: Self, b: Self) -> Bool { (a.participant, a.function) < (b.participant, b.function) }
}
