import Crypto
import Foundation
package import Ledger
package import Projections
import Transport
package import X509

/// One certificate the node is configured with, as `node.certificate.changed` records it.
package struct ConfiguredCertificate: Sendable, Equatable {
    /// `as4`, `tls`, `o2o:<participant>`, `route_as4:<participant>` or `route_o2o:<participant>`
    /// (the names of ``CertificateExpiry``).
    package var name: String
    /// The participant an O2O or route certificate belongs to.
    package var participant: String?
    package var certificate: Certificate

    /// The DER bytes.
    package var der: [UInt8] { CertificateFile.der(certificate) }
    /// SHA-256 of the DER bytes, hex.
    package var fingerprint: String { Hex.encode(SHA256.hash(data: der)) }
}

extension Node {
    /// Every certificate the node is configured with now: ours (AS4, TLS, each participant's O2O)
    /// and the routes' (AS4, O2O). Earlier O2O identities kept for an overlap are not among them:
    /// they were recorded while they were current.
    package var configuredCertificates: [ConfiguredCertificate] {
        var out = [ConfiguredCertificate(name: "as4", certificate: keys.as4.certificate)]
        if let tls = keys.tls { out.append(.init(name: "tls", certificate: tls.certificate)) }
        for (participant, identity) in keys.o2o.sorted(by: { $0.key < $1.key }) {
            out.append(.init(name: "o2o:" + participant, participant: participant, certificate: identity.certificate))
        }
        for route in ((router as? StaticRoutingTable)?.routes.values.map { $0 } ?? []).sorted(by: { $0.participant < $1.participant }) {
            out.append(.init(name: "route_as4:" + route.participant, participant: route.participant, certificate: route.as4Certificate))
            out.append(.init(name: "route_o2o:" + route.participant, participant: route.participant, certificate: route.o2oCertificate))
        }
        return out
    }

    /// The fingerprint each certificate name had at its last `node.certificate.changed` (names
    /// whose last event recorded a removal are absent).
    package func recordedCertificates() throws(NodeError) -> [String: String] {
        try CertificateRecord.recorded(ledger: ledger, projections: projections)
    }

    /// Compares the configured certificates with the recorded ones and appends, in one step, a
    /// `node.certificate.changed` for each that is new, replaced or no longer configured. Run at
    /// start, before the node sends or receives; returns the events (none when nothing changed).
    @discardableResult
    package func recordCertificateChanges() async throws(NodeError) -> [Event] {
        let drafts = CertificateRecord.drafts(configured: configuredCertificates, recorded: try recordedCertificates(), actor: "node")
        guard !drafts.isEmpty else { return [] }
        let events: [Event]
        do { events = try await ledger.append(drafts) } catch {
            throw NodeError(.storage, "recording the certificate changes: \(error)")
        }
        for e in events {
            logger.notice("certificate change recorded", metadata: [
                "certificate": .string(e.payload["certificate"]?.stringValue ?? ""), "change": .string(e.payload["change"]?.stringValue ?? ""),
                "seq": .stringConvertible(e.seq),
            ])
        }
        return events
    }
}

/// `node.certificate.changed`: what the ledger recorded of each certificate name, and the events
/// that bring it up to date with what is configured (at start, and when a participant command
/// changes an O2O identity).
package enum CertificateRecord {
    /// The fingerprint each certificate name had at its last `node.certificate.changed` (names
    /// whose last event recorded a removal are absent).
    package static func recorded(ledger: Ledger, projections: ProjectionEngine) throws(NodeError) -> [String: String] {
        do {
            _ = try projections.catchUp()
            var recorded: [String: String] = [:]
            for seq in try EventIndex.allSeqs(ofTypes: [NodeEventType.certificateChanged], in: projections.storage) {
                guard let e = try ledger.event(seq), let name = e.payload["certificate"]?.stringValue else { continue }
                recorded[name] = e.payload["fingerprint_sha256"]?.stringValue
            }
            return recorded
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.storage, "reading the recorded certificates: \(error)")
        }
    }

    /// A `node.certificate.changed` draft for each of `configured` that is new or replaced, and —
    /// unless `only` limits the names considered — for each recorded name no longer configured.
    package static func drafts(configured: [ConfiguredCertificate], recorded: [String: String], only: Set<String>? = nil,
                               actor: String) -> [EventDraft] {
        var drafts: [EventDraft] = []
        for c in configured where only?.contains(c.name) ?? true {
            let previous = recorded[c.name]
            guard previous != c.fingerprint else { continue }
            var p: [String: JSONValue] = [
                "certificate": .string(c.name), "change": .string(previous == nil ? "recorded" : "replaced"),
                "fingerprint_sha256": .string(c.fingerprint), "previous_fingerprint_sha256": previous.map { .string($0) } ?? .null,
                "subject": .string(c.certificate.subject.description), "issuer": .string(c.certificate.issuer.description),
                "serial_number": .string(c.certificate.serialNumber.description),
                "not_before": .string(rfc3339(c.certificate.notValidBefore)),
                "not_after": .string(rfc3339(c.certificate.notValidAfter)),
                "der_base64": .string(Data(c.der).base64EncodedString()),
            ]
            if let participant = c.participant { p["participant"] = .string(participant) }
            drafts.append(EventDraft(type: NodeEventType.certificateChanged, subject: "node:certificate:" + c.name, actor: actor, payload: .object(p)))
        }
        let names = Set(configured.map(\.name))
        for (name, previous) in recorded.sorted(by: { $0.key < $1.key }) where !names.contains(name) && (only?.contains(name) ?? true) {
            var p: [String: JSONValue] = [
                "certificate": .string(name), "change": .string("removed"), "fingerprint_sha256": .null,
                "previous_fingerprint_sha256": .string(previous),
            ]
            if let colon = name.firstIndex(of: ":") { p["participant"] = .string(String(name[name.index(after: colon)...])) }
            drafts.append(EventDraft(type: NodeEventType.certificateChanged, subject: "node:certificate:" + name, actor: actor, payload: .object(p)))
        }
        return drafts
    }

    private static func rfc3339(_ date: Date) -> String { Timestamp(nanoseconds: Int64(date.timeIntervalSince1970.rounded(.down)) * 1_000_000_000).rfc3339 }
}
