/// A streaming parser for `multipart/related` bodies: fed the HTTP body chunk by chunk, it
/// splits the parts, parses their headers and spools their content (large parts go to a
/// temporary file). Limits: header block size and part count.
package final class MIMEMultipartParser {
    package enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case tooManyParts(Int)

        package var description: String {
            switch self {
            case .malformed(let d): "malformed multipart body: \(d)"
            case .tooManyParts(let n): "more than \(n) MIME parts"
            }
        }
    }

    private let delimiter: [UInt8]  // "\r\n--boundary"
    private let maxParts: Int
    private let maxHeaderBytes = 16 << 10
    private var buffer: [UInt8] = []
    private var state: State = .preamble
    private var current: (headers: [(name: String, value: String)], body: Spool)?
    package private(set) var parts: [MIMEPart] = []

    private enum State { case preamble, headers, body, epilogue }

    package init(boundary: String, maxParts: Int = 64) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        self.maxParts = maxParts
        // The first delimiter may come without the leading CRLF.
        buffer = Array("\r\n".utf8)
    }

    package func feed(_ chunk: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: chunk)
        try process(final: false)
    }

    /// Ends the body; returns the parts.
    package func finish() throws -> [MIMEPart] {
        try process(final: true)
        guard state == .epilogue else { throw Failure.malformed("the closing boundary is missing") }
        return parts
    }

    private func process(final: Bool) throws {
        var consumed = 0
        defer { if consumed > 0 { buffer.removeFirst(consumed) } }
        while true {
            switch state {
            case .preamble:
                guard let at = find(delimiter, from: consumed) else {
                    // Keep only what could still be the start of a delimiter.
                    consumed = max(consumed, buffer.count - delimiter.count)
                    return
                }
                consumed = at + delimiter.count
                state = .headers
            case .headers:
                // After the delimiter: "--" closes, else optional whitespace then CRLF, headers, CRLF CRLF.
                guard buffer.count - consumed >= 2 else { return }
                if buffer[consumed] == UInt8(ascii: "-"), buffer[consumed + 1] == UInt8(ascii: "-") {
                    state = .epilogue
                    continue
                }
                guard let end = find(Array("\r\n\r\n".utf8), from: consumed) else {
                    if buffer.count - consumed > maxHeaderBytes { throw Failure.malformed("part headers too large") }
                    return
                }
                let block = String(decoding: buffer[consumed..<end], as: UTF8.self)
                var lines = block.components(separatedBy: "\r\n")
                guard lines.first?.trimmingCharacters(in: " \t").isEmpty == true else {
                    throw Failure.malformed("garbage after a boundary")
                }
                lines.removeFirst()
                var headers: [(name: String, value: String)] = []
                for line in lines {
                    if let f = line.first, f == " " || f == "\t", !headers.isEmpty {
                        headers[headers.count - 1].value += " " + line.trimmingCharacters(in: " \t")
                        continue
                    }
                    guard let colon = line.firstIndex(of: ":") else { throw Failure.malformed("header line without a colon") }
                    headers.append((String(line[..<colon]).lowercased(), String(line[line.index(after: colon)...]).trimmingCharacters(in: " \t")))
                }
                if let te = headers.first(where: { $0.name == "content-transfer-encoding" })?.value.lowercased(),
                   !["binary", "8bit", "7bit"].contains(te) {
                    throw Failure.malformed("Content-Transfer-Encoding \(te) is not supported (binary expected)")
                }
                guard parts.count < maxParts else { throw Failure.tooManyParts(maxParts) }
                current = (headers, Spool())
                consumed = end + 4
                state = .body
            case .body:
                if let at = find(delimiter, from: consumed) {
                    try buffer.withUnsafeBytes { try current!.body.append(UnsafeRawBufferPointer(rebasing: $0[consumed..<at])) }
                    current!.body.finish()
                    parts.append(MIMEPart(headers: current!.headers, body: current!.body))
                    current = nil
                    consumed = at + delimiter.count
                    state = .headers
                } else {
                    // Everything except a possible partial delimiter at the end is content.
                    let safe = buffer.count - (delimiter.count - 1)
                    if safe > consumed {
                        try buffer.withUnsafeBytes { try current!.body.append(UnsafeRawBufferPointer(rebasing: $0[consumed..<safe])) }
                        consumed = safe
                    }
                    if final { throw Failure.malformed("a part is not terminated by a boundary") }
                    return
                }
            case .epilogue:
                consumed = buffer.count
                return
            }
        }
    }

    /// Index of `needle` in `buffer` at or after `from`.
    private func find(_ needle: [UInt8], from: Int) -> Int? {
        guard buffer.count - from >= needle.count else { return nil }
        let first = needle[0]
        return buffer.withUnsafeBufferPointer { b -> Int? in
            var i = from
            let last = b.count - needle.count
            while i <= last {
                if b[i] == first {
                    var j = 1
                    while j < needle.count && b[i + j] == needle[j] { j += 1 }
                    if j == needle.count { return i }
                }
                i += 1
            }
            return nil
        }
    }
}
