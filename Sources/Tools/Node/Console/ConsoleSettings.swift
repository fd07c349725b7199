import Foundation

extension NodeConfig {
    /// The web console (`api.console` in `kvitto.json`, `Schemas/console.md`): served on the API's
    /// listener under `/console/` when present. People sign in with the organisation's OpenID
    /// provider (authorization code flow with PKCE); the ID token is verified as an API token is.
    package struct Console: Codable, Sendable, Equatable {
        /// The issuer people sign in with: one of `identity.issuers[].issuer`.
        package var issuer: String
        /// The console's client id at the issuer: the `aud` of its ID tokens, never one of the
        /// issuer's API audiences (an ID token is not an API token).
        package var clientId: String
        /// A file holding the client secret (a confidential client, `client_secret_basic`); absent:
        /// a public client, PKCE alone.
        package var clientSecretFile: String?
        /// The console's public address (`https://host:port`); the redirect URI is
        /// `<public_url>/console/callback` and a POST's `Origin` must equal it.
        package var publicUrl: String
        /// A session's longest life in minutes (default 480, 1…1440).
        package var sessionMinutes: Int?
        /// Minutes without a request that end a session (default 30, 1…session_minutes).
        package var idleMinutes: Int?

        package init(issuer: String, clientId: String, publicUrl: String) {
            self.issuer = issuer
            self.clientId = clientId
            self.publicUrl = publicUrl
        }

        package var sessionSeconds: Double { Double(sessionMinutes ?? 480) * 60 }
        package var idleSeconds: Double { Double(idleMinutes ?? 30) * 60 }
        /// `public_url` as a browser sends it in `Origin`: scheme and host in lower case, the port
        /// only when it is not 443.
        package var origin: String { Self.origin(publicUrl) ?? publicUrl }
        package var redirectURI: String { origin + "/console/callback" }

        /// The serialised origin of an https URL (RFC 6454 §6.1), or nil when it has none.
        package static func origin(_ url: String) -> String? {
            guard let u = URLComponents(string: url), u.scheme?.lowercased() == "https", let host = u.host?.lowercased(), !host.isEmpty else {
                return nil
            }
            return "https://" + host + (u.port.map { $0 == 443 ? "" : ":\($0)" } ?? "")
        }

        /// What is wrong with the settings within `config`, or nil.
        package func problem(in config: NodeConfig) -> String? {
            guard let u = URL(string: publicUrl), u.scheme?.lowercased() == "https", let host = u.host, !host.isEmpty,
                  u.path.isEmpty || u.path == "/", u.query == nil, u.fragment == nil else {
                return "public_url must be an https URL of the listener without a path (its cookies are Secure and __Host-)"
            }
            let session = sessionMinutes ?? 480
            if !(1...1440).contains(session) { return "session_minutes must be from 1 to 1440" }
            if !(1...session).contains(idleMinutes ?? min(30, session)) { return "idle_minutes must be from 1 to session_minutes" }
            guard let trust = config.identity?.issuers.first(where: { $0.issuer == issuer }) else {
                return "issuer \(issuer) is not one of identity.issuers (the console's ID tokens are verified as API tokens are)"
            }
            if clientId.isEmpty { return "client_id is empty" }
            if trust.audiences.contains(clientId) {
                return "client_id \(clientId) is one of the API audiences of \(issuer) in identity.issuers; keep it out, so that the console's ID tokens are not API tokens"
            }
            return nil
        }
    }
}
