/// The form of message and conversation ids a caller may name: 1–200 ASCII letters, digits and
/// `._:@-` (what the node makes, and what the API document's pattern admits).
package enum MessageIdentifier {
    package static func isValid(_ text: String) -> Bool {
        (1...200).contains(text.utf8.count)
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._:@-".unicodeScalars.contains($0)) }
    }
}
