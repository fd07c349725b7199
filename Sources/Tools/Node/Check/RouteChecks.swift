import Foundation
import Transport
import X509

/// The routing table: each route's endpoint, its AS4 and O2O certificates (present, chained to
/// the right trust folder, not expired) and the O2O certificate naming the route's participant.
enum RouteChecks {
    static func run(_ c: CheckContext) async -> [ConfigFinding] {
        var out: [ConfigFinding] = []
        var seen: Set<String> = []
        for (i, r) in c.config.routes.enumerated() {
            let member = "routes[\(i)]"
            if c.config.participants.contains(where: { $0.id == r.participant }) {
                out.append(ConfigFinding(.error, .routeInvalid, member + ".participant",
                    "\(r.participant) is a participant of this node, not a peer; remove the route"))
            }
            if !seen.insert(r.participant).inserted {
                out.append(ConfigFinding(.error, .routeInvalid, member + ".participant", "a second route to \(r.participant); keep one"))
            }
            if let url = URL(string: r.endpoint), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil {
                if scheme == "http" && c.config.as4.tls != nil {
                    out.append(ConfigFinding(.warning, .routeInvalid, member + ".endpoint",
                        "\(r.endpoint) is plain HTTP: messages to \(r.participant) travel without TLS; use the peer's https endpoint"))
                }
            } else {
                out.append(ConfigFinding(.error, .routeInvalid, member + ".endpoint", "\"\(r.endpoint)\" is not an http(s) URL with a host"))
            }
            for (file, role, name) in [(r.as4Certificate, CertificateTrust.Role.as4, "as4_certificate"), (r.o2oCertificate, .o2o, "o2o_certificate")] {
                let certMember = member + "." + name
                let what = "the \(role == .as4 ? "AS4" : "O2O") certificate of \(r.participant)"
                let certs: [Certificate]
                switch c.certificates(certMember, file) {
                case .success(let found): certs = found
                case .failure(let f): out.append(f); continue
                }
                if let f = c.expiry(certs[0], certMember, what) {
                    out.append(f)
                    if f.severity == .error { continue }
                }
                // A peer's O2O certificate is only encrypted to when sending (a certificate for
                // encryption alone is usable): its chain or key usage is a warning, not an error.
                if let f = await c.chain(certs[0], extra: Array(certs.dropFirst()), role: role, certMember, what,
                                         severity: role == .o2o ? .warning : .error) { out.append(f) }
                if role == .o2o && !OrganizationBinding.matches(certs[0], participant: r.participant) {
                    out.append(ConfigFinding(.error, .wrongOrganisation, certMember,
                        "the certificate (\(OrganizationBinding.describe(certs[0]))) does not name \(r.participant); XHEs to it would be encrypted for another organisation"))
                }
            }
        }
        return out
    }
}
