import Foundation
import Ledger

/// A WS-Security `wsu:Timestamp` (Created, optional Expires) and the check a receiver makes:
/// refuse a message that expired, or that was created in the future, beyond the tolerated clock
/// skew. The signature check separately requires a present Timestamp to be signed.
struct WSTimestamp {
    let created: Date?
    let expires: Date?

    init(_ element: XMLElement) throws(EbMSError) {
        func time(_ name: String) throws(EbMSError) -> Date? {
            let found = element.elements(AS4Namespaces.wsu, name)
            guard found.count <= 1 else { throw .invalidHeader("wsu:Timestamp has more than one wsu:\(name)") }
            guard let text = found.first.map({ XMLText.normalizeSpace($0.stringValue) }) else { return nil }
            guard let date = Self.parse(text) else { throw .invalidHeader("wsu:\(name) is not an xs:dateTime in UTC") }
            return date
        }
        created = try time("Created")
        expires = try time("Expires")
    }

    func check(at now: Date, skew: TimeInterval) throws(EbMSError) {
        if let expires, expires.addingTimeInterval(skew) < now {
            throw .policyNoncompliance("the message expired at \(AS4Time.string(expires)) (wsu:Expires)")
        }
        if let created, created.addingTimeInterval(-skew) > now {
            throw .policyNoncompliance("the message was created in the future, at \(AS4Time.string(created)) (wsu:Created)")
        }
        if let created, let expires, expires < created {
            throw .policyNoncompliance("wsu:Expires is before wsu:Created")
        }
    }

    /// An xs:dateTime in RFC 3339 form: `YYYY-MM-DDThh:mm:ss[.fraction]` and `Z` (WS-Security's
    /// UTC) or a numeric offset; nil for anything else. Parsed by hand — a date formatter per
    /// header cost more than the message's RSA operations.
    static func parse(_ text: String) -> Date? {
        guard let (seconds, nanoseconds) = Timestamp.rfc3339Seconds(text) else { return nil }
        return Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1e9)
    }
}
