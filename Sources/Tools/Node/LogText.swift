/// Log values that came from outside (message ids, party ids, reasons, certificate names) made
/// safe for a line-oriented log: every control character — newline, carriage return, escape,
/// NUL, and the Unicode line and paragraph separators — is written as a visible escape (`\n`,
/// `\u{1B}`), and backslashes are doubled so an escape in the input cannot pass for one of ours.
/// A peer can therefore never start a new log line or forge a record.
package enum LogText {
    package static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if needsEscape(scalar) {
                    out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    private static func needsEscape(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || s.value == 0x7F || (0x80...0x9F).contains(s.value) || s.value == 0x2028 || s.value == 0x2029
            || s == "\\"
    }
}
