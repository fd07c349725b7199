package import Foundation
package import X509

/// Sends a sealed message with reception awareness: one attempt now, and when no valid receipt
/// comes back, a retry scheduled by the P-mode (count, interval, CONSTANT or EXPONENTIAL) in the
/// caller's ``RetrySchedule``. The sealed wire message — and so its MessageId — is reused for
/// every attempt, so the receiver's duplicate detection recognises a resend.
package struct AS4Dispatcher: Sendable {
    package let client: AS4HTTPClient
    package let schedule: (any RetrySchedule)?
    package let pmode: PMode
    /// AS4 trust anchors the receipt signer is evaluated against (besides being the pinned
    /// certificate of the access point we sent to).
    package let trust: CertificateTrust?

    package init(client: AS4HTTPClient, schedule: (any RetrySchedule)?, pmode: PMode, trust: CertificateTrust? = nil) {
        self.client = client
        self.schedule = schedule
        self.pmode = pmode
        self.trust = trust
    }

    /// What one attempt ended with.
    package enum Attempt: Sendable, Equatable {
        /// A verified receipt: delivered. `response` is the signed answer, kept as evidence.
        case delivered(SignalMessage, response: [UInt8])
        /// The partner answered with errors: final, no retry.
        case rejected([EbMSError], response: [UInt8])
        /// No valid answer; retry at `next`.
        case retry(next: Date, reason: EbMSError)
        /// No valid answer and no retry left: EBMS:0301 MissingReceipt, naming the last cause.
        case failed(EbMSError)
    }

    /// Attempt number `attempt` (0 = the first send) of `wire` to `url`.
    package func attempt(_ wire: AS4WireMessage, to url: String, recipient: Certificate, attempt: Int, now: Date = Date())
        async throws -> Attempt
    {
        let outcome: Attempt
        do throws(EbMSError) {
            let response = try await client.post(wire, to: url)
            let verdict: AS4ResponseVerifier.Outcome
            do throws(EbMSError) { verdict = try await AS4ResponseVerifier(expectedSigner: recipient, trust: trust).verify(response.body, sent: wire, at: now) } catch {
                guard response.status != 200 else { throw error }
                // No signal, e.g. 503 from a receiver that could not store the message now.
                let text = String(decoding: response.body.prefix(300), as: UTF8.self)
                throw EbMSError.connectionFailure("HTTP \(response.status): \(text)")
            }
            switch verdict {
            case .receipt(let signal): outcome = .delivered(signal, response: response.body)
            case .errors(let errors): outcome = .rejected(errors, response: response.body)
            }
        } catch {
            if let delay = pmode.receptionAwareness.delay(beforeRetry: attempt + 1) {
                outcome = .retry(next: now.addingTimeInterval(delay), reason: error)
            } else {
                outcome = .failed(.missingReceipt("no valid receipt after \(attempt + 1) attempt(s); last: \(error.description)"))
            }
        }
        switch outcome {
        case .retry(let next, _): try await schedule?.recordAttempt(messageId: wire.messageId, attempt: attempt, next: next)
        default: try await schedule?.recordAttempt(messageId: wire.messageId, attempt: attempt, next: nil)
        }
        return outcome
    }
}
