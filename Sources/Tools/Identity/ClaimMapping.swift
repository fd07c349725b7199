package import Projections

/// Turns a verified token's claims into the names a grant can be made to, and decides for which
/// participants the authentication is strong. Names come only from claims of a verified token.
///
/// The actor (the first name) is, in this order: the personal identity number (`pnr:`), the HSA-ID
/// (`hsa:`), the client (`client:`, client-credentials tokens where the issuer allows them), the
/// subject (`sub:<issuer>#<sub>`). Every affiliation (`aff:<personal id>@<org number>`) and the
/// subject name are further names of the same caller.
struct ClaimMapping: Sendable {
    let trust: IssuerTrust
    let strongRule: @Sendable (String) -> StrongAuthenticationRule
    /// The node's participant ids now.
    let participants: @Sendable () -> [String]

    func principal(_ claims: TokenClaims, interface: Principal.Interface) throws(AuthenticationError) -> Principal {
        let names = trust.claimNames
        let iss = trust.issuer
        guard let sub = claims["sub"]?.string, !sub.isEmpty else {
            throw AuthenticationError(.noIdentity, "no sub claim")
        }
        let subName = try name(.sub, iss + "#" + Self.escaped(sub), "sub")
        var pnr: PrincipalName?
        if let v = claims[names.pnrClaim] {
            guard let s = v.string else { throw AuthenticationError(.noIdentity, "\(names.pnrClaim) is not a string") }
            pnr = try name(.pnr, s, names.pnrClaim)
        }
        var hsa: PrincipalName?
        if let claim = names.hsaId, let v = claims[claim] {
            guard let s = v.string else { throw AuthenticationError(.noIdentity, "\(claim) is not a string") }
            hsa = try name(.hsa, s, claim)
        }
        var affiliations: [PrincipalName] = []
        if let v = claims[names.affiliationClaim] {
            guard let values = v.strings else { throw AuthenticationError(.noIdentity, "\(names.affiliationClaim) is not a string or list of strings") }
            for a in values { affiliations.append(try name(.aff, a, names.affiliationClaim)) }
        }
        if let v = claims[names.orgNumberClaim] {
            guard let org = v.string, org.count == 10, org.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw AuthenticationError(.noIdentity, "\(names.orgNumberClaim) is not a 10-digit organisation number")
            }
            if let p = pnr { affiliations.append(try name(.aff, p.value + "@" + org, names.orgNumberClaim)) }
        }

        let clientID = claims["client_id"]?.string ?? claims["azp"]?.string
        let personClaims = [names.pnrClaim, names.hsaId, names.affiliationClaim, names.orgNumberClaim, "acr", "amr", "auth_time"]
            .compactMap { $0 }.filter { claims[$0] != nil }
        if let clientID, clientID == sub, personClaims.isEmpty {
            // A client-credentials token: no person signed in, the client authenticated itself.
            guard trust.accepts(client: clientID) else {
                throw AuthenticationError(.noIdentity, "a client-credentials token of client \(clientID), which \(iss) is not configured to accept (clients)")
            }
            let client = try name(.client, iss + "#" + Self.escaped(clientID), "client_id")
            var principal = Principal(name: client, otherNames: [subName], assurance: .strong, interface: interface)
            principal.credentialExpiry = claims["exp"]?.number
            return principal
        }

        let acr = claims["acr"]?.string
        let amr = claims["amr"]?.strings ?? []
        let strongFor = Set(participants().filter { strongRule($0).isMet(acr: acr, amr: amr) })
        let actor = pnr ?? hsa ?? subName
        let others = [pnr, hsa].compactMap { $0 } + affiliations + [subName]
        var principal = Principal(name: actor, otherNames: others, assurance: .strongFor(strongFor), interface: interface)
        principal.credentialExpiry = claims["exp"]?.number
        return principal
    }

    /// `text` with every byte outside printable ASCII, and `%` and `#`, percent-encoded: names
    /// compare byte for byte and cannot be confused by look-alike characters.
    static func escaped(_ text: String) -> String {
        var out = ""
        for b in text.utf8 {
            if b > 0x20, b < 0x7F, b != UInt8(ascii: "%"), b != UInt8(ascii: "#") { out.unicodeScalars.append(Unicode.Scalar(b)) }
            else { out += "%" + String(b, radix: 16, uppercase: true).leftPadded }
        }
        return out
    }

    private func name(_ kind: PrincipalName.Kind, _ value: String, _ claim: String) throws(AuthenticationError) -> PrincipalName {
        guard let n = PrincipalName(kind.rawValue + ":" + value) else {
            throw AuthenticationError(.noIdentity, "claim \(claim) does not hold a valid \(kind.rawValue) value")
        }
        return n
    }
}

private extension String {
    var leftPadded: String { count == 1 ? "0" + self : self }
}
