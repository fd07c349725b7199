#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A UTC instant with nanosecond precision, written as RFC 3339 with exactly nine fractional
/// digits (`2026-11-22T11:22:00.123456789Z`) so that the text sorts like the instant.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public let nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanoseconds < b.nanoseconds }

    public var description: String { rfc3339 }

    /// The RFC 3339 text with nine fractional digits.
    public var rfc3339: String {
        String(decoding: rfc3339Bytes, as: UTF8.self)
    }

    /// The 30 UTF-8 bytes of ``rfc3339``, written without intermediate strings.
    package var rfc3339Bytes: [UInt8] {
        var out: [UInt8] = []
        withRFC3339Bytes { out = Array($0) }
        return out
    }

    /// The bytes of ``rfc3339`` with the first `fractionDigits` (1 to 9) of its nine fractional
    /// digits (3: milliseconds, rounded down), handed to `body` from the stack.
    /// Not generic, so that a caller in another module runs it specialised.
    package func withRFC3339Bytes(fractionDigits: Int = 9, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        let (secs, nanos) = nanoseconds.quotientAndRemainderFlooring(by: 1_000_000_000)
        let (days, secOfDay) = secs.quotientAndRemainderFlooring(by: 86_400)
        let (y, m, d) = Self.civil(fromDays: days)
        let digits = max(1, min(fractionDigits, 9))
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 30) { out in
            func put(_ v: Int64, _ at: Int, _ width: Int) {
                var v = v
                for i in stride(from: at + width - 1, through: at, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            put(y, 0, 4); out[4] = UInt8(ascii: "-"); put(m, 5, 2); out[7] = UInt8(ascii: "-"); put(d, 8, 2)
            out[10] = UInt8(ascii: "T")
            put(secOfDay / 3600, 11, 2); out[13] = UInt8(ascii: ":")
            put(secOfDay / 60 % 60, 14, 2); out[16] = UInt8(ascii: ":")
            put(secOfDay % 60, 17, 2); out[19] = UInt8(ascii: ".")
            var fraction = nanos
            for _ in digits..<9 { fraction /= 10 }
            put(fraction, 20, digits); out[20 + digits] = UInt8(ascii: "Z")
            body(UnsafeBufferPointer(rebasing: out[..<(21 + digits)]))
        }
    }

    /// Parses exactly the form ``rfc3339`` writes; anything else is nil.
    public init?(rfc3339 text: String) {
        let b = Array(text.utf8)
        guard b.count == 30, b[10] == UInt8(ascii: "T"), b[19] == UInt8(ascii: "."), b[29] == UInt8(ascii: "Z"),
              let (seconds, nanos) = Self.rfc3339Seconds(text), b[17] != UInt8(ascii: "6") else { return nil }
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow, case let (total, false) = ns.addingReportingOverflow(nanos) else { return nil }
        nanoseconds = total
    }

    /// Any RFC 3339 `date-time` (`1996-12-19T16:39:57-08:00`, `t`/`z` in lower case, 1 to 9
    /// fractional digits — more are cut — and a leap second `60`), as whole seconds since 1970 in
    /// UTC and the nanoseconds beyond them; nil for anything else. Years 0000–9999, so the result
    /// may lie outside the range of a ``Timestamp``.
    public static func rfc3339Seconds(_ text: String) -> (seconds: Int64, nanoseconds: Int64)? {
        let b = Array(text.utf8)
        guard b.count >= 20, b.count <= 64 else { return nil }
        func num(_ r: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in r {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) else { return nil }
                v = v * 10 + Int64(b[i] - UInt8(ascii: "0"))
            }
            return v
        }
        guard b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), [UInt8(ascii: "T"), UInt8(ascii: "t")].contains(b[10]),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13), let mi = num(14..<16), let s = num(17..<19),
              (1...12).contains(mo), d >= 1, h < 24, mi < 60, s <= 60 else { return nil }
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
        let monthDays: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard d <= monthDays[Int(mo - 1)] else { return nil }
        var i = 19, nanos: Int64 = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) {
                if digits < 9 { nanos = nanos * 10 + Int64(b[i] - UInt8(ascii: "0")) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { nanos *= 10 }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            guard i + 1 == b.count else { return nil }
        } else {
            guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"),
                  let oh = num((i + 1)..<(i + 3)), let om = num((i + 4)..<(i + 6)), oh < 24, om < 60 else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        }
        let seconds = days(fromCivil: y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset
        return (seconds, nanos)
    }

    // Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

extension Int64 {
    fileprivate func quotientAndRemainderFlooring(by d: Int64) -> (Int64, Int64) {
        var (q, r) = quotientAndRemainder(dividingBy: d)
        if r < 0 { q -= 1; r += d }
        return (q, r)
    }
}
