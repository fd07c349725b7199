package import Ledger

/// What `kvitto audit verify` found in an evidence bundle (Schemas/evidence-bundle.md §10.0):
/// each region's result, the first failure (its code, region and where), what is only stated,
/// and what could not be checked.
package struct EvidenceReport: Sendable {
    /// A region's (or a check's) outcome.
    package enum Result: String, Sendable {
        /// All its inputs are full entries or included blobs, and it held.
        case proven
        /// It held, but an input is a redacted entry or a stated member.
        case stated
        /// A tool it needs is missing, or a blob it needs is not included.
        case notChecked = "not checked"
        case failed
    }

    /// The regions in the order they are checked.
    package static let regions = ["bundle", "checkpoint", "keys", "events", "proofs", "blobs", "content", "transport",
                                  "documents", "signatures", "witness"]

    /// The first check that failed.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        /// Stable code (`hash_mismatch`, `blob_altered`, …; §10).
        package let code: String
        /// Where in the order of §10 (`events`, `blobs`, …).
        package let region: String
        package var seq: UInt64?
        package var sha256: String?
        package var index: Int?
        /// JSON Pointer into the bundle, when one member can be named.
        package var pointer: String?
        package let detail: String

        package init(_ code: String, _ region: String, seq: UInt64? = nil, sha256: String? = nil, index: Int? = nil,
                     pointer: String? = nil, _ detail: String) {
            (self.code, self.region, self.seq, self.sha256, self.index, self.pointer, self.detail) =
                (code, region, seq, sha256, index, pointer, detail)
        }

        package var description: String {
            var at: [String] = []
            if let seq { at.append("seq \(seq)") }
            if let sha256 { at.append("blob \(sha256)") }
            if let index { at.append("index \(index)") }
            if let pointer { at.append("at \(pointer)") }
            return "\(code) (\(region)\(at.isEmpty ? "" : ", " + at.joined(separator: ", "))): \(detail)"
        }

        var json: JSONValue {
            var o: [String: JSONValue] = ["code": .string(code), "region": .string(region), "detail": .string(detail)]
            if let seq { o["seq"] = .int(Int64(seq)) }
            if let sha256 { o["sha256"] = .string(sha256) }
            if let index { o["index"] = .int(Int64(index)) }
            if let pointer { o["pointer"] = .string(pointer) }
            return .object(o)
        }
    }

    package var checks: [String: Result] = [:]
    package var failure: Failure?
    /// Members and entries the verifier reports as stated (not bound by any signature).
    package var stated: [String] = []
    /// Checks that could not be made, and why.
    package var notChecked: [String] = []
    /// Informative results that are not failures (a payload digest not reproduced, say).
    package var notes: [String] = []
    /// Whether `--trust-key` anchored the genesis key.
    package var genesisKeyPinned = false
    /// The bundle's message, ledger position and checkpoint seq, when it was read that far.
    package var message: String?
    package var position: UInt64?

    package var ok: Bool { failure == nil }

    /// The report as one JSON object (`kvitto audit verify --json`).
    package var json: JSONValue {
        var o: [String: JSONValue] = [
            "ok": .bool(ok), "failure": failure?.json ?? .null,
            "checks": .object(checks.mapValues { .string($0.rawValue) }),
            "stated": .array(stated.map { .string($0) }), "not_checked": .array(notChecked.map { .string($0) }),
            "notes": .array(notes.map { .string($0) }), "genesis_key_pinned": .bool(genesisKeyPinned),
        ]
        if let message { o["message"] = .string(message) }
        if let position { o["position"] = .int(Int64(position)) }
        return .object(o)
    }

    /// `s` with control characters shown as `\u{…}`: a bundle's strings (member names, subjects)
    /// must not be able to move the cursor or fake a line of the report.
    static func printable(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            if c.value < 0x20 || (0x7F...0x9F).contains(c.value) || c == "\u{2028}" || c == "\u{2029}" || (0x202A...0x202E).contains(c.value)
                || (0x2066...0x2069).contains(c.value) {
                out += "\\u{\(String(c.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The report for a person.
    package var text: String {
        var lines: [String] = []
        if let message, let position { lines.append("message \(message), ledger position \(position)") }
        for region in Self.regions { lines.append("  \(region.padding(toLength: 11, withPad: " ", startingAt: 0)) \(checks[region]?.rawValue ?? "not reached")") }
        if !genesisKeyPinned { lines.append("genesis key not pinned (pass --trust-key to anchor it outside the bundle)") }
        for s in stated { lines.append("stated: \(s)") }
        for n in notChecked { lines.append("not checked: \(n)") }
        for n in notes { lines.append("note: \(n)") }
        lines.append(failure.map { "FAILED: \($0)" } ?? "verified")
        return lines.map(Self.printable).joined(separator: "\n")
    }
}
