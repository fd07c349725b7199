/// Text made safe for HTML, in an element or a double-quoted attribute: `& < > " '` as entities;
/// C0 controls (but tab, LF and CR) and DEL, which HTML does not allow, dropped. The printable
/// audit report and the web console escape every value with it.
package enum HTMLText {
    package static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for s in value.unicodeScalars {
            switch s {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(s)
            default:
                if s.value < 0x20 || s.value == 0x7F { continue }
                out.unicodeScalars.append(s)
            }
        }
        return out
    }
}
