/// A name a grant is made to, and that an authenticated caller answers to: `<kind>:<value>`.
///
/// | kind | value | from |
/// |---|---|---|
/// | `os` | a user name on the node's host | the kernel (CLI: effective uid; spool files: owner) |
/// | `pnr` | a Swedish personal identity number, 12 digits | an OIDC token's personal-identity-number claim |
/// | `hsa` | an HSA-ID | an OIDC token's HSA-ID claim |
/// | `sub` | `<issuer>#<sub>` | any OIDC token of that issuer |
/// | `client` | `<issuer>#<client id>` | a client-credentials token of that issuer |
/// | `aff` | `<personal id>@<organisation number>` | an OIDC token's organisational affiliation (or personal identity number and organisation number) |
/// | `cert` | SHA-256 of a TLS client certificate (64 hex digits) | mutual TLS with a function certificate |
///
/// A name typed by a caller is never an identity: the API and the CLI derive names only from
/// what they verified (a token's signature, the kernel, the TLS handshake).
package struct PrincipalName: Sendable, Hashable, Comparable, CustomStringConvertible {
    package enum Kind: String, Sendable, CaseIterable {
        case os, pnr, hsa, sub, client, aff, cert
    }

    package let kind: Kind
    package let value: String

    package init(kind: Kind, value: String) {
        self.kind = kind
        self.value = value
    }

    /// Parses `<kind>:<value>`; nil when the kind is unknown or the value malformed.
    package init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":"), let kind = Kind(rawValue: String(text[..<colon])) else { return nil }
        let value = String(text[text.index(after: colon)...])
        guard Self.valid(value, kind) else { return nil }
        self.init(kind: kind, value: value)
    }

    package var description: String { kind.rawValue + ":" + value }

    package static func < (a: Self, b: Self) -> Bool { a.description < b.description }

    /// The event subject of a principal's grants (`principal:<name>`).
    package var subject: String { "principal:" + description }

    private static func valid(_ v: String, _ kind: Kind) -> Bool {
        guard !v.isEmpty, v.utf8.count <= 512, !v.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }) else {
            return false
        }
        switch kind {
        case .os: return v.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-:".unicodeScalars.contains($0)) }
        case .pnr: return v.count == 12 && v.allSatisfy(\.isASCII) && v.allSatisfy(\.isNumber)
        case .hsa: return v.count <= 64 && v.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        case .sub, .client:
            // Printable ASCII only, so that names compare byte for byte (issuers percent-encode
            // anything else in a subject); the issuer part holds no `#`.
            guard v.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
                  let hash = v.firstIndex(of: "#"), v[v.index(after: hash)...].firstIndex(of: "#") == nil else { return false }
            return hash != v.startIndex && v.index(after: hash) != v.endIndex
        case .aff:
            let parts = v.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].count == 10, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            return v.count <= 128 && parts[0].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-.".contains($0)) }
        case .cert: return v.count == 64 && v.allSatisfy { $0.isHexDigit && !$0.isUppercase }
        }
    }
}
