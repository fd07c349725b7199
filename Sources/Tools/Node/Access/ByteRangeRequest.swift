/// One byte range asked for with HTTP's `Range: bytes=…` (RFC 9110 §14.1.2): from `first` through
/// `last` (to the end when nil), or the last `suffix` bytes.
package enum ByteRangeRequest: Sendable, Equatable {
    case from(Int64, through: Int64?)
    case suffix(Int64)

    /// Parses a `Range` header that names exactly one byte range; nil for anything else (a list of
    /// ranges, another unit, bad syntax), which the caller answers with the whole content.
    package init?(header: String) {
        let text = header.trimmingSpaces
        guard text.lowercased().hasPrefix("bytes=") else { return nil }
        let spec = text.dropFirst(6).trimmingSpaces
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingSpaces, last = spec[spec.index(after: dash)...].trimmingSpaces
        func number(_ s: Substring) -> Int64? {
            guard !s.isEmpty, s.count <= 18, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int64(s)
        }
        if first.isEmpty {
            guard let n = number(last), n > 0 else { return nil }
            self = .suffix(n)
        } else {
            guard let a = number(first) else { return nil }
            if last.isEmpty {
                self = .from(a, through: nil)
            } else {
                guard let b = number(last), b >= a else { return nil }
                self = .from(a, through: b)
            }
        }
    }

    /// The bytes it selects of content of `size` bytes; nil when it selects none (it starts at or
    /// beyond the end, or the content is empty).
    package func resolved(size: Int64) -> ClosedRange<Int64>? {
        guard size > 0 else { return nil }
        switch self {
        case .from(let a, let b):
            guard a < size else { return nil }
            return a...min(b ?? size - 1, size - 1)
        case .suffix(let n):
            return max(0, size - n)...(size - 1)
        }
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: Substring {
        let s = self[...].drop { $0 == " " || $0 == "\t" }
        return Substring(s.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
