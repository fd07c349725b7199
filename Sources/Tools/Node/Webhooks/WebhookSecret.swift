import Crypto
import Foundation

/// A webhook signing secret in the Standard Webhooks form, `whsec_` + base64 of 32 random bytes.
/// The node shows it once (at creation or rotation), keeps it in the webhook store (outside the
/// ledger, mode 0600) and records only its ``sha256`` fingerprint in the ledger.
package struct WebhookSecret: Sendable, Equatable {
    /// The HMAC key.
    package let key: [UInt8]

    package init(key: [UInt8]) { self.key = key }

    /// A new secret from the system's random generator.
    package static func generate() -> WebhookSecret {
        var g = SystemRandomNumberGenerator()
        return WebhookSecret(key: (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &g) })
    }

    /// `whsec_…`, what the receiver configures.
    package var text: String { "whsec_" + Data(key).base64EncodedString() }

    /// The lowercase hex SHA-256 of the key: how the ledger names the secret.
    package var sha256: String { SHA256.hash(data: key).map { String(format: "%02x", $0) }.joined() }

    /// The `v1,` signature of one delivery: HMAC-SHA256 over `id.timestamp.body`, base64.
    package func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: key))
        mac.update(data: Array("\(id).\(timestamp).".utf8))
        mac.update(data: body)
        return "v1," + Data(mac.finalize()).base64EncodedString()
    }
}
