/// How the node authenticates API callers (`identity` in `kvitto.json`, documented in
/// `Schemas/identity.md`): the OpenID Connect issuers whose tokens it accepts, the authentication
/// level content needs, and the development issuer of demos and tests.
package struct IdentityConfig: Codable, Sendable, Equatable {
    /// Issuers whose bearer tokens are accepted; each is found through its discovery document.
    package var issuers: [IssuerTrust]
    /// What makes a person's authentication strong enough to read content, for every participant
    /// without its own rule. Default: `acr` LoA 3 or LoA 4 of the Swedish eID framework.
    package var strongAuthentication: StrongAuthenticationRule?
    /// Rules replacing ``strongAuthentication`` for one participant's content each.
    package var participantStrongAuthentication: [ParticipantRule]?
    /// The local development issuer (`kvitto token`): off unless enabled. Demos and tests only.
    package var developmentIssuer: DevelopmentIssuerConfig?

    package init(issuers: [IssuerTrust] = [], strongAuthentication: StrongAuthenticationRule? = nil,
                 participantStrongAuthentication: [ParticipantRule]? = nil,
                 developmentIssuer: DevelopmentIssuerConfig? = nil) {
        self.issuers = issuers
        self.strongAuthentication = strongAuthentication
        self.participantStrongAuthentication = participantStrongAuthentication
        self.developmentIssuer = developmentIssuer
    }

    /// The rule for `participant`'s content.
    package func strongRule(for participant: String) -> StrongAuthenticationRule {
        participantStrongAuthentication?.first { $0.participant == participant }?.rule ?? strongAuthentication ?? .swedishLoA3
    }

    /// Problems in the section, each a sentence naming the member; empty when it is usable.
    /// `participants` are the node's participant ids (rules must name one of them).
    package func problems(participants: [String]) -> [String] {
        var out: [String] = []
        var seen: Set<String> = []
        for (i, issuer) in issuers.enumerated() {
            out += issuer.problems().map { "identity.issuers[\(i)]: " + $0 }
            if !seen.insert(issuer.issuer).inserted { out.append("identity.issuers[\(i)]: issuer \(issuer.issuer) is listed twice") }
        }
        if let d = developmentIssuer, d.enabled, !issuers.isEmpty {
            out.append("identity.development_issuer: may not be enabled together with real issuers (its tokens name whoever kvitto token is told to name)")
        }
        if let d = developmentIssuer { out += d.problems().map { "identity.development_issuer: " + $0 } }
        var rules: [(String, StrongAuthenticationRule)] = strongAuthentication.map { [("strong_authentication", $0)] } ?? []
        var ruled: Set<String> = []
        for (i, r) in (participantStrongAuthentication ?? []).enumerated() {
            rules.append(("participant_strong_authentication[\(i)]", r.rule))
            if !participants.contains(r.participant) {
                out.append("identity.participant_strong_authentication[\(i)]: \(r.participant) is not a participant of this node")
            }
            if !ruled.insert(r.participant).inserted {
                out.append("identity.participant_strong_authentication[\(i)]: participant \(r.participant) has a rule already")
            }
        }
        for (name, rule) in rules where rule.acr.isEmpty && (rule.amr ?? []).isEmpty {
            out.append("identity.\(name): lists no acr and no amr value, so no person could ever read content")
        }
        return out
    }
}

/// What makes an authentication strong: the token's `acr` is one of ``acr``, or one of its `amr`
/// values is one of ``amr``.
package struct StrongAuthenticationRule: Codable, Sendable, Equatable {
    package var acr: [String]
    package var amr: [String]?

    package init(acr: [String], amr: [String]? = nil) {
        self.acr = acr
        self.amr = amr
    }

    /// LoA 3 or 4 of the Swedish eID framework (Digg's levels of assurance).
    package static let swedishLoA3 = StrongAuthenticationRule(acr: [
        "http://id.elegnamnden.se/loa/1.0/loa3",
        "http://id.elegnamnden.se/loa/1.0/loa4",
    ])

    package func isMet(acr tokenACR: String?, amr tokenAMR: [String]) -> Bool {
        if let tokenACR, acr.contains(tokenACR) { return true }
        return tokenAMR.contains { (amr ?? []).contains($0) }
    }
}

/// A participant's own strong-authentication rule.
package struct ParticipantRule: Codable, Sendable, Equatable {
    package var participant: String
    package var acr: [String]
    package var amr: [String]?

    package init(participant: String, rule: StrongAuthenticationRule) {
        self.participant = participant
        self.acr = rule.acr
        self.amr = rule.amr
    }

    package var rule: StrongAuthenticationRule { StrongAuthenticationRule(acr: acr, amr: amr) }
}

/// The development issuer: an ES256 key in the node directory that `kvitto token` signs with.
package struct DevelopmentIssuerConfig: Codable, Sendable, Equatable {
    package var enabled: Bool
    /// The `iss` of its tokens. Default `urn:kvitto:development-issuer`.
    package var issuerName: String?
    /// The `aud` its tokens carry and the node accepts. Default `kvitto-api`.
    package var audience: String?
    /// Lifetime of a minted token in seconds (default 900, at most 86400).
    package var tokenLifetimeSeconds: Int?

    package init(enabled: Bool) { self.enabled = enabled }

    package var issuer: String { issuerName ?? "urn:kvitto:development-issuer" }
    package var tokenAudience: String { audience ?? "kvitto-api" }
    package var lifetime: Int { tokenLifetimeSeconds ?? 900 }

    func problems() -> [String] {
        var out: [String] = []
        if let t = tokenLifetimeSeconds, !(1...86_400).contains(t) { out.append("token_lifetime_seconds must be 1…86400") }
        if issuer.isEmpty || tokenAudience.isEmpty { out.append("issuer_name and audience must not be empty") }
        return out
    }
}
