package import Foundation
import Logging
import Transport
import X509

/// When one of the node's configured certificates expires: ours (AS4, TLS, each participant's
/// O2O, earlier O2O identities in their overlap) and the routes' (AS4 and O2O). The node warns
/// ``Node/certificateWarningLead`` ahead (log, metric `kvitto_certificate_expiry_seconds`, and
/// `kvitto check`).
package struct CertificateExpiry: Sendable, Equatable {
    /// `as4`, `as4_previous:<n>`, `tls`, `o2o:<participant>`, `o2o_previous:<participant>:<n>`, `route_as4:<participant>`,
    /// `route_o2o:<participant>`.
    package var name: String
    package var notAfter: Date
}

extension Node {
    /// How long before a certificate expires the node warns (30 days, as `kvitto check`).
    package static let certificateWarningLead: TimeInterval = Double(NodeCheck.warningDays) * 86_400

    /// Every configured certificate with its expiry.
    package var certificateExpiries: [CertificateExpiry] {
        var out: [CertificateExpiry] = []
        for c in configuredCertificates {
            out.append(.init(name: c.name, notAfter: c.certificate.notValidAfter))
            // Earlier identities kept for an overlap follow the one that replaced them.
            if c.name == "as4" {
                for (i, old) in keys.as4Previous.enumerated() { out.append(.init(name: "as4_previous:\(i)", notAfter: old.certificate.notValidAfter)) }
            } else if c.name.hasPrefix("o2o:"), let participant = c.participant {
                for (i, old) in (keys.o2oPrevious[participant] ?? []).enumerated() {
                    out.append(.init(name: "o2o_previous:\(participant):\(i)", notAfter: old.certificate.notValidAfter))
                }
            }
        }
        return out
    }

    /// Logs each certificate that expires within ``certificateWarningLead`` (an error once
    /// expired), at most once a day per certificate; returns those it logged.
    @discardableResult
    package func warnIfCertificatesExpire(now: Date = Date()) -> [CertificateExpiry] {
        let due = certificateExpiries.filter { $0.notAfter.timeIntervalSince(now) < Self.certificateWarningLead }
        let logged = certificateWarned.withLock { last in
            due.filter { c in
                if let previous = last[c.name], now.timeIntervalSince(previous) < 86_400 { return false }
                last[c.name] = now
                return true
            }
        }
        for c in logged {
            let metadata: Logger.Metadata = ["certificate": .string(c.name), "not_after": .string(ISO8601DateFormatter().string(from: c.notAfter))]
            if c.notAfter <= now {
                logger.error("a configured certificate has expired; replace it (kvitto check names the member)", metadata: metadata)
            } else {
                logger.warning("a configured certificate expires within \(NodeCheck.warningDays) days; replace it now", metadata: metadata)
            }
        }
        return logged
    }
}
