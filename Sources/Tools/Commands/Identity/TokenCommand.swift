import ArgumentParser
import Foundation
import Identity
import Node

/// `kvitto token`: a development token from the node's development issuer.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Mint a development bearer token (demos and tests only; refused unless enabled).",
        discussion: """
            Signs a JWT with the node's development issuer key (keys/development-issuer.pem), which the node trusts only \
            while kvitto.json has "identity": {"development_issuer": {"enabled": true}}. Such a token names whoever you \
            say, so never enable the development issuer on a node that holds real messages. Prints the token alone.
            Example: curl -H "Authorization: Bearer $(kvitto token --node n --pnr 197001011234)" …
            """)

    @OptionGroup var location: NodeLocation
    @Option(help: "A person's personal identity number (12 digits).") var pnr: String?
    @Option(help: "A person's HSA-ID.") var hsa: String?
    @Option(help: "A case system's client id (a client-credentials token).") var client: String?
    @Option(help: "The subject; default: the person's number or HSA-ID, or the client id.") var sub: String?
    @Option(help: "The authentication context class: loa3 (default), loa4, none, or a URI.") var acr = "loa3"
    @Option(help: "An organisation number the person acts for (adds an aff: name).") var orgNumber: String?
    @Option(help: "Seconds the token is valid (default: the configured lifetime, 900).") var lifetime: Int?

    func run() async throws {
        try await NodeCLI.run {
            let config = try NodeConfig.load(directory: location.node)
            let issuer = try NodeIdentity.developmentIssuer(config: config, directory: location.node)
            let who = [pnr, hsa, client].compactMap { $0 }
            guard who.count == 1 || (who.isEmpty && sub != nil) else {
                throw NodeError(.invalidRequest, "name exactly one of --pnr, --hsa or --client (or only --sub)")
            }
            var claims: [String: ClaimValue] = [:]
            let names = issuer.trust.claimNames
            if let pnr { claims[names.pnrClaim] = .string(pnr) }
            if let hsa { claims[DevelopmentIssuer.hsaClaim] = .string(hsa) }
            if let orgNumber { claims[names.orgNumberClaim] = .string(orgNumber) }
            if let client { claims["client_id"] = .string(client) }
            if client == nil {
                switch acr {
                case "none": break
                case "loa3", "loa4": claims["acr"] = .string("http://id.elegnamnden.se/loa/1.0/" + acr)
                default: claims["acr"] = .string(acr)
                }
            }
            if let lifetime, !(1...86_400).contains(lifetime) { throw NodeError(.invalidRequest, "--lifetime must be 1…86400 seconds") }
            let subject = sub ?? client ?? pnr ?? hsa ?? ""
            do throws(DevelopmentIssuer.Failure) {
                print(try await issuer.mint(subject: subject, claims: claims, lifetime: lifetime))
            } catch {
                throw NodeError(.storage, error.description)
            }
        }
    }
}
