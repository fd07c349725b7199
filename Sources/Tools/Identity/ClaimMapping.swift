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
    let participants: [String]

    func principal(_ claims: TokenClaims, interface: Principal.Interface) throws(AuthenticationError) -> Principal {
        let names = trust.claimNames
        let iss = trust.issuer
        guard let sub = claims["sub"]?.string, !sub.isEmpty else {
            throw AuthenticationError(.noIdentity, "no sub claim")
        }
        let subName = try name(.sub, iss + "#" + sub, "sub")
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
        if let p = pnr, let org = claims[names.orgNumberClaim]?.string {
            affiliations.append(try name(.aff, p.value + "@" + org, names.orgNumberClaim))
        }

        let clientID = claims["client_id"]?.string ?? claims["azp"]?.string
        let isClient = pnr == nil && hsa == nil && clientID != nil && clientID == sub
        if isClient {
            guard trust.acceptsClientCredentials, let clientID else {
                throw AuthenticationError(.noIdentity, "a client-credentials token (client \(clientID ?? "")), and \(iss) is not configured with client_credentials: true")
            }
            let client = try name(.client, iss + "#" + clientID, "client_id")
            return Principal(name: client, otherNames: [subName], assurance: .strong, interface: interface)
        }

        let acr = claims["acr"]?.string
        let amr = claims["amr"]?.strings ?? []
        let strongFor = Set(participants.filter { strongRule($0).isMet(acr: acr, amr: amr) })
        let actor = pnr ?? hsa ?? subName
        let others = [pnr, hsa].compactMap { $0 } + affiliations + [subName]
        return Principal(name: actor, otherNames: others, assurance: .strongFor(strongFor), interface: interface)
    }

    private func name(_ kind: PrincipalName.Kind, _ value: String, _ claim: String) throws(AuthenticationError) -> PrincipalName {
        guard let n = PrincipalName(kind.rawValue + ":" + value) else {
            throw AuthenticationError(.noIdentity, "claim \(claim) does not hold a valid \(kind.rawValue) value")
        }
        return n
    }
}
