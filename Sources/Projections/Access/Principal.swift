/// An authenticated caller: the names it answers to (every one derived from something verified),
/// how strongly it was authenticated, and the interface it came through. Grants to any of its
/// names apply; the first name is recorded as the actor of what it does.
package struct Principal: Sendable, Hashable {
    /// How the caller reached the node, recorded in `message.accessed` and `access.denied`.
    package enum Interface: String, Sendable {
        case cli, api, console
    }

    package let names: [PrincipalName]
    /// Whether the authentication meets the level required for content (SDK: strong
    /// authentication, e.g. LoA 3). A weaker one may list, never read content.
    package let strongAuthentication: Bool
    package let interface: Interface

    /// `name` is recorded as the actor; `otherNames` are further names the same verified
    /// credential carries (a person's `pnr:` and `sub:` names, say).
    package init(name: PrincipalName, otherNames: [PrincipalName] = [], strongAuthentication: Bool, interface: Interface) {
        self.names = [name] + otherNames.filter { $0 != name }
        self.strongAuthentication = strongAuthentication
        self.interface = interface
    }

    /// What the ledger records as the actor.
    package var actor: String { names[0].description }
}
