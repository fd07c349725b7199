import Ledger

/// One measured benchmark case, with the physical limit measured in the same run.
struct BenchResult {
    var name: String
    var value: Double
    var unit: String
    var limit: Double
    var limitWhat: String
    /// True for latencies, where the ratio is limit / value.
    var lowerIsBetter = false
    var extra: [String: JSONValue] = [:]

    var ratio: Double {
        guard value > 0, limit > 0 else { return 0 }
        return lowerIsBetter ? limit / value : value / limit
    }

    var jsonLine: String {
        let text = "{" + [
            "\"case\":" + quoted(name),
            "\"value\":" + format(value),
            "\"unit\":" + quoted(unit),
            "\"limit\":" + format(limit),
            "\"limit_what\":" + quoted(limitWhat),
            "\"ratio\":" + format(ratio, digits: 3),
        ].joined(separator: ",")
        let extras = extra.keys.sorted().map { quoted($0) + ":" + String(decoding: CanonicalJSON.encode(extra[$0]!), as: UTF8.self) }
        return text + (extras.isEmpty ? "" : "," + extras.joined(separator: ",")) + "}"
    }

    var tableLine: String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        return pad(name, 44) + pad(format(value) + " " + unit, 22) + pad(format(limit), 14) + pad(format(ratio, digits: 3), 8) + limitWhat
    }

    private func quoted(_ s: String) -> String { String(decoding: CanonicalJSON.encode(.string(s)), as: UTF8.self) }
}

/// A decimal number with at most `digits` fractional digits (JSON numbers for benchmark output).
func format(_ v: Double, digits: Int = 2) -> String {
    guard v.isFinite else { return "0" }
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (v * p).rounded() / p
    if r == r.rounded() && abs(r) < 1e15 { return String(Int64(r)) }
    var s = String(r)
    if s.contains("e") { s = String(Int64(r)) }
    return s
}
