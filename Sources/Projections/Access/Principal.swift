/// An authenticated caller: the names it answers to (every one derived from something verified),
/// how strongly it was authenticated, and the interface it came through. Grants to any of its
/// names apply; the first name is recorded as the actor of what it does.
package struct Principal: Sendable, Hashable {
    /// How the caller reached the node, recorded in `message.accessed` and `access.denied`.
    package enum Interface: String, Sendable {
        case cli, api, console
    }

    /// Whether an authentication meets the level content requires (SDK: strong authentication,
    /// e.g. LoA 3). Each participant may require its own level, so a person's token may be strong
    /// for one participant's content and not for another's. A weaker one may list, never read content.
    package enum Assurance: Sendable, Hashable {
        /// Strong for every participant: the kernel's word (CLI), a client credential, a certificate.
        case strong
        /// Strong for these participants' content only (possibly none).
        case strongFor(Set<String>)

        package func isStrong(for participant: String) -> Bool {
            switch self {
            case .strong: return true
            case .strongFor(let p): return p.contains(participant)
            }
        }
    }

    package let names: [PrincipalName]
    package let assurance: Assurance
    package let interface: Interface
    /// When the credential it authenticated with stops being valid (a bearer token's `exp`, in
    /// seconds since 1970); nil when it does not expire (the CLI's OS user). Long-lived answers
    /// (event streams) end there.
    package var credentialExpiry: Double?

    /// `name` is recorded as the actor; `otherNames` are further names the same verified
    /// credential carries (a person's `pnr:` and `sub:` names, say).
    package init(name: PrincipalName, otherNames: [PrincipalName] = [], assurance: Assurance, interface: Interface) {
        self.names = [name] + otherNames.filter { $0 != name }
        self.assurance = assurance
        self.interface = interface
    }

    /// A principal strong for every participant, or for none.
    package init(name: PrincipalName, otherNames: [PrincipalName] = [], strongAuthentication: Bool, interface: Interface) {
        self.init(name: name, otherNames: otherNames, assurance: strongAuthentication ? .strong : .strongFor([]), interface: interface)
    }

    /// What the ledger records as the actor.
    package var actor: String { names[0].description }
}
