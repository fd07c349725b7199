import Foundation
import Transport
import X509

/// The node's own identities: the AS4 identity, the TLS identity and each participant's O2O
/// identity — files present, key and certificate a pair, the chain to the role's trust folder,
/// expiry, the AS4 party id equal to the AS4 certificate's CN, and each O2O certificate naming its
/// participant's organisation.
enum IdentityChecks {
    static func run(_ c: CheckContext) async -> [ConfigFinding] {
        var out: [ConfigFinding] = []
        let as4 = c.config.as4
        if let leaf = await identity(c, "as4", key: as4.key, certificate: as4.certificate, role: .as4, what: "the AS4 certificate", into: &out) {
            if let f = encipherment(leaf, "as4.certificate", "the AS4 certificate", "peers encrypt the payload keys of AS4 messages to it") { out.append(f) }
            let cn = AS4Opener.commonName(leaf)
            if cn != as4.partyId {
                out.append(ConfigFinding(.error, .partyIdMismatch, "as4.party_id",
                    "\"\(as4.partyId)\" is not the CN of the AS4 certificate (\(cn.map { "\"\($0)\"" } ?? "none")): peers check the party id against the certificate; set as4.party_id to its CN"))
            }
        }
        if let tls = as4.tls,
           let leaf = await identity(c, "as4.tls", key: tls.key, certificate: tls.certificate, role: .tls, what: "the TLS certificate", into: &out),
           let f = hostCovered(leaf, host: as4.host) {
            out.append(f)
        }
        // Earlier AS4 identities kept for an overlap: each a working pair under the same party id.
        for (j, old) in (as4.previous ?? []).enumerated() {
            let member = "as4.previous[\(j)]"
            guard let leaf = await identity(c, member, key: old.key, certificate: old.certificate, role: .as4,
                                            what: "the previous AS4 certificate \(j) (remove it once the overlap is over)", into: &out) else { continue }
            if AS4Opener.commonName(leaf) != as4.partyId {
                out.append(ConfigFinding(.error, .partyIdMismatch, member + ".certificate",
                    "the certificate's CN (\(AS4Opener.commonName(leaf).map { "\"\($0)\"" } ?? "none")) is not the party id \"\(as4.partyId)\": only this access point's own earlier AS4 identities belong here"))
            }
        }
        for (i, p) in c.config.participants.enumerated() { out += await participant(c, p, member: "participants[\(i)]") }
        return out
    }

    /// One participant's O2O identity and the earlier ones kept for an overlap (`member` names it
    /// in the findings): each a working pair that chains to the O2O trust, is current, and names
    /// the participant's organisation. `kvitto participant add|update` refuses an identity with an
    /// error among these.
    static func participant(_ c: CheckContext, _ p: NodeConfig.Participant, member: String) async -> [ConfigFinding] {
        var out: [ConfigFinding] = []
        // Earlier identities kept for an overlap: each a working pair of this organisation.
        for (j, old) in (p.o2oPrevious ?? []).enumerated() {
            let oldMember = member + ".o2o_previous[\(j)]"
            guard let leaf = await identity(c, oldMember, key: old.key, certificate: old.certificate, role: .o2o,
                                            what: "the previous O2O certificate \(j) of \(p.id) (remove it once the overlap is over)",
                                            into: &out) else { continue }
            if !OrganizationBinding.matches(leaf, participant: p.id) {
                out.append(ConfigFinding(.error, .wrongOrganisation, oldMember + ".certificate",
                    "the certificate (\(OrganizationBinding.describe(leaf))) does not name participant \(p.id); only \(p.id)'s own earlier O2O identities belong here"))
            }
        }
        guard let leaf = await identity(c, member, key: p.o2oKey, certificate: p.o2oCertificate, role: .o2o,
                                        what: "the O2O certificate of \(p.id)", keyMember: "o2o_key", certificateMember: "o2o_certificate",
                                        into: &out) else { return out }
        if !OrganizationBinding.matches(leaf, participant: p.id) {
            out.append(ConfigFinding(.error, .wrongOrganisation, member + ".o2o_certificate",
                "the certificate (\(OrganizationBinding.describe(leaf))) does not name participant \(p.id): it belongs to another organisation; use \(p.id)'s O2O certificate"))
        }
        if let f = encipherment(leaf, member + ".o2o_certificate", "the O2O certificate of \(p.id)", "senders encrypt XHEs for \(p.id) to it") {
            out.append(f)
        }
        return out
    }

    /// A certificate others encrypt to needs the keyEncipherment key usage (when it states one).
    static func encipherment(_ leaf: Certificate, _ member: String, _ what: String, _ why: String) -> ConfigFinding? {
        guard let usage = try? leaf.extensions.keyUsage, !usage.keyEncipherment else { return nil }
        return ConfigFinding(.error, .keyUsage, member, "\(what) does not allow keyEncipherment, and \(why); use a certificate issued for encryption too")
    }

    /// The TLS certificate names the host the endpoint listens on (peers check it), unless that
    /// is a wildcard address; a warning, since peers may reach the node under another name.
    static func hostCovered(_ leaf: Certificate, host: String) -> ConfigFinding? {
        guard !["0.0.0.0", "::", ""].contains(host), let names = try? leaf.extensions.subjectAlternativeNames else { return nil }
        var octets: [UInt8]?
        if host.split(separator: ".").count == 4, let parts = Optional(host.split(separator: ".").compactMap { UInt8($0) }), parts.count == 4 {
            octets = parts
        }
        let covered = names.contains { name in
            switch name {
            case .dnsName(let dns):
                let d = dns.lowercased(), h = host.lowercased()
                return d == h || (d.hasPrefix("*.") && h.hasSuffix(d.dropFirst(1)) && !h.dropLast(d.count - 1).contains("."))
            case .ipAddress(let ip): return octets.map { Array(ip.bytes) == $0 } ?? false
            default: return false
            }
        }
        guard !covered else { return nil }
        return ConfigFinding(.warning, .hostNotInCertificate, "as4.tls.certificate",
            "the TLS certificate does not name \(host) (as4.host): peers that connect to that name will refuse it; use a certificate with it in subjectAltName")
    }

    /// Checks one identity; returns its certificate when it could be read (for further checks).
    private static func identity(_ c: CheckContext, _ member: String, key: String, certificate: String, role: CertificateTrust.Role,
                                 what: String, keyMember: String = "key", certificateMember: String = "certificate",
                                 into out: inout [ConfigFinding]) async -> Certificate? {
        let certMember = member + "." + certificateMember
        let certs: [Certificate]
        switch c.certificates(certMember, certificate) {
        case .failure(let f): out.append(f); return nil
        case .success(let found): certs = found
        }
        let leaf = certs[0]
        if !FileManager.default.fileExists(atPath: c.path(key)) {
            out.append(ConfigFinding(.error, .missingFile, member + "." + keyMember, "\(c.path(key)) does not exist; put the private key there or correct the path"))
        } else {
            do { _ = try SigningIdentity(keyPath: c.path(key), certificatePath: c.path(certificate)) } catch {
                out.append(ConfigFinding(.error, .keyUnusable, member + "." + keyMember, "\(error)"))
            }
        }
        if let f = c.expiry(leaf, certMember, what) {
            out.append(f)
            if f.severity == .error { return leaf }  // an expired certificate does not chain either; one finding says it
        }
        if let f = await c.chain(leaf, extra: Array(certs.dropFirst()), role: role, certMember, what) { out.append(f) }
        return leaf
    }
}
