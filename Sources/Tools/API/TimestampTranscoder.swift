import Foundation
import Ledger
import OpenAPIRuntime

/// Dates in the API as RFC 3339 in UTC with milliseconds (`2026-03-01T09:30:00.125Z`), written
/// without a date formatter (the runtime's default formats through ICU, which cost more than the
/// rest of a mailbox page). Reading accepts any RFC 3339 date-time (``Timestamp/rfc3339Seconds(_:)``), years 0000–9999.
struct TimestampTranscoder: DateTranscoder {
    func encode(_ date: Date) throws -> String {
        let ms = (date.timeIntervalSince1970 * 1000).rounded(.down)
        // The ledger's form has nine fractional digits; the API shows three.
        var text = Timestamp(nanoseconds: Int64(ms) * 1_000_000).rfc3339
        text.removeSubrange(text.index(text.startIndex, offsetBy: 23)..<text.index(text.startIndex, offsetBy: 29))
        return text
    }

    func decode(_ text: String) throws -> Date {
        guard let (seconds, nanos) = Timestamp.rfc3339Seconds(text) else { throw Malformed() }
        return Date(timeIntervalSince1970: Double(seconds) + Double(nanos) / 1_000_000_000)
    }

    /// A value that is not an RFC 3339 date-time (the request is answered 400).
    struct Malformed: Error {}
}
