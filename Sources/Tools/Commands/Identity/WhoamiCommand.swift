import API
import ArgumentParser
import Foundation
import Identity
import Node
import Projections
import Transport
import X509

/// `kvitto whoami`: what the node makes of a bearer token or of a case system's client certificate.
struct WhoamiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami", abstract: "Verify a bearer token or a client certificate as the API would and print who it names.",
        discussion: """
            Checks the token against the issuers in kvitto.json (discovery, key set, algorithm, signature, iss, aud, \
            exp, nbf) and prints the names grants can be made to, the actor recorded for its actions, and the \
            participants whose content it is strong enough to read. A refusal prints its auth.* code and reason. \
            The token comes from --token or the KVITTO_TOKEN environment variable. With --certificate, the \
            certificate (PEM or DER) is checked against the TLS trust folder as the API checks a case system's \
            client certificate, and its name (cert:<sha256>) is printed: the name to grant to.
            """)

    @OptionGroup var location: NodeLocation
    @Option(help: "The bearer token (default: $KVITTO_TOKEN).") var token: String?
    @Option(help: "A client certificate file (PEM or DER) instead of a token.") var certificate: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await NodeCLI.run {
            let config = try NodeConfig.load(directory: location.node)
            let result: Result<Principal, AuthenticationError>
            if let certificate {
                let certificates: [Certificate]
                do { certificates = try CertificateFile.read(path: certificate) } catch {
                    throw NodeError(.invalidRequest, "\(certificate) holds no readable certificate: \(error)")
                }
                guard certificates.count == 1, let leaf = certificates.first else {
                    throw NodeError(.invalidRequest, "\(certificate) holds \(certificates.count) certificates; give the client's own certificate alone")
                }
                let trust: TrustStore
                do throws(TrustStore.LoadError) {
                    trust = try TrustStore(role: .tls, directory: NodeConfig.resolve(config.trust.tls, in: location.node),
                                           revocationRequired: config.trust.revocationRequired)
                } catch {
                    throw NodeError(.configInvalid, "\(error)")
                }
                let check = ClientCertificateAuthentication(trust: trust)
                do throws(AuthenticationError) {
                    result = .success(try await check.principal(certificateDER: CertificateFile.der(leaf), interface: .api))
                } catch { result = .failure(error) }
            } else {
                guard let text = token ?? ProcessInfo.processInfo.environment["KVITTO_TOKEN"], !text.isEmpty else {
                    throw NodeError(.invalidRequest, "give the token with --token or KVITTO_TOKEN, or a client certificate with --certificate")
                }
                let verifier = try NodeIdentity.verifier(config: config, directory: location.node)
                do throws(AuthenticationError) { result = .success(try await verifier.verify(token: text, interface: .api)) } catch { result = .failure(error) }
                await verifier.shutdown()
            }
            let principal: Principal
            switch result {
            case .success(let p): principal = p
            case .failure(let e): throw NodeError(.unauthenticated, "\(e.code.rawValue): \(e.publicText) (\(e.detail))")
            }
            let strong = config.participants.map(\.id).filter { principal.assurance.isStrong(for: $0) }
            if json {
                let object: [String: Any] = ["actor": principal.actor, "names": principal.names.map(\.description), "strong_for": strong]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("actor: \(principal.actor)")
                print("names: \(principal.names.map(\.description).joined(separator: " "))")
                print("strong authentication for: \(strong.isEmpty ? "(none: may list, never read content)" : strong.joined(separator: " "))")
            }
        }
    }
}
