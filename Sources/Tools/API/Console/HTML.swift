import Node

/// HTML text built by the console: every value goes through ``escape(_:)`` (text and attribute
/// values alike), and only the console's own fixed markup is written unescaped.
struct HTML: Sendable {
    private(set) var text = ""

    init() {}

    /// Appends fixed markup (never a value).
    mutating func raw(_ markup: String) { text += markup }

    /// Appends `value`, escaped.
    mutating func add(_ value: String) { text += Self.escape(value) }

    /// `value` safe inside an element or a double-quoted attribute (``HTMLText``).
    static func escape(_ value: String) -> String { HTMLText.escape(value) }
}
