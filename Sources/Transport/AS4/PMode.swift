package import Foundation

/// The processing mode of one leg: what a message must look like and how it is secured and
/// delivered. ``sdk(action:)`` gives DIGG's values for the SDK federation (one-way push, signed
/// and encrypted, compressed, reception awareness 12 retries 4 minutes apart, duplicate
/// detection); every field can be changed per leg.
package struct PMode: Sendable, Equatable {
    package var service: String
    package var serviceType: String?
    package var action: String
    package var partyType: String
    package var initiatorRole: String
    package var responderRole: String
    package var mpc: String?
    /// Message properties that must be present (`originalSender`, `finalRecipient`).
    package var requiredProperties: [String]
    package var security: Security
    package var compressPayloads: Bool
    package var receptionAwareness: ReceptionAwareness
    package var duplicateDetection: Bool
    /// Largest accepted request (SOAP + attachments), bytes.
    package var maxMessageBytes: Int

    package struct Security: Sendable, Equatable {
        package var sign: Bool
        package var encrypt: Bool
        /// How the EncryptedKey names the recipient certificate in messages we send.
        package var encryptedKeyReference: KeyReferenceForm
        package var requireTimestamp: Bool

        package init(sign: Bool = true, encrypt: Bool = true, encryptedKeyReference: KeyReferenceForm = .binarySecurityToken,
                     requireTimestamp: Bool = false) {
            self.sign = sign
            self.encrypt = encrypt
            self.encryptedKeyReference = encryptedKeyReference
            self.requireTimestamp = requireTimestamp
        }
    }

    /// Retries when no receipt arrives: `retry="12;4;CONSTANT"` in Domibus terms.
    package struct ReceptionAwareness: Sendable, Equatable {
        package var retries: Int
        package var interval: TimeInterval
        package var strategy: Strategy

        package enum Strategy: String, Sendable { case constant = "CONSTANT", exponential = "EXPONENTIAL" }

        package init(retries: Int, interval: TimeInterval, strategy: Strategy) {
            self.retries = retries
            self.interval = interval
            self.strategy = strategy
        }

        /// The delay before attempt `attempt` (1 = the first retry after the initial send), or
        /// nil when no retry is left.
        package func delay(beforeRetry attempt: Int) -> TimeInterval? {
            guard attempt >= 1, attempt <= retries else { return nil }
            switch strategy {
            case .constant: return interval
            case .exponential:
                // Saturating: 2^(attempt-1) overflows nothing below the cap, whatever `attempt` is.
                let factor = pow(2, Double(min(attempt - 1, 62)))
                return min(interval * factor, Self.maxDelay)
            }
        }

        /// The longest delay between two attempts (one day): EXPONENTIAL stops growing there.
        package static let maxDelay: TimeInterval = 86_400

        /// Seconds from the first send to the last retry.
        package var window: TimeInterval {
            guard retries > 0 else { return 0 }
            return (1...min(retries, 1_000)).reduce(0) { $0 + (delay(beforeRetry: $1) ?? 0) }
        }

        /// Parses Domibus' `"12;4;CONSTANT"` (retries; minutes; strategy).
        package init?(domibus: String) {
            let p = domibus.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard p.count == 3, let n = Int(p[0]), let minutes = Double(p[1]), let s = Strategy(rawValue: p[2].uppercased()) else {
                return nil
            }
            self.init(retries: n, interval: minutes * 60, strategy: s)
        }
    }

    /// The SDK leg for `action` (messages: ``SDKAS4/messageAction``; Meddelandekvittens:
    /// ``SDKAS4/receiptAction``).
    package static func sdk(action: String = SDKAS4.messageAction) -> PMode {
        PMode(service: SDKAS4.service, serviceType: SDKAS4.serviceType, action: action, partyType: SDKAS4.partyType,
              initiatorRole: SDKAS4.initiatorRole, responderRole: SDKAS4.responderRole, mpc: nil,
              requiredProperties: ["originalSender", "finalRecipient"], security: Security(), compressPayloads: true,
              receptionAwareness: ReceptionAwareness(retries: 12, interval: 240, strategy: .constant), duplicateDetection: true,
              maxMessageBytes: 200 << 20)
    }
}

/// How a key or certificate is referenced from `ds:KeyInfo` in WS-Security.
package enum KeyReferenceForm: String, Sendable, CaseIterable {
    /// `wsse:Reference` to a BinarySecurityToken in the same header.
    case binarySecurityToken = "bst"
    /// `ds:X509Data/ds:X509IssuerSerial`.
    case issuerSerial = "issuer-serial"
    /// `wsse:KeyIdentifier` with the X.509 SubjectKeyIdentifier.
    case subjectKeyIdentifier = "ski"
}
