import Foundation

/// Base64 as XML carries it (whitespace allowed between characters).
package enum Base64 {
    package static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// Decodes, ignoring XML whitespace; nil when anything else is wrong.
    package static func decode(_ text: String) -> [UInt8]? {
        let compact = text.filter { !($0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t") }
        return Data(base64Encoded: compact).map(Array.init)
    }
}
