import Crypto
import Foundation
import Identity
import Projections

/// The console's server-side state: sign-ins under way (between the redirect to the provider and
/// its callback) and open sessions. Both live in memory only, bounded, over an injected clock: a
/// restart ends every session. Ids are 32 random bytes; only their SHA-256 is kept as a key.
actor ConsoleSessions {
    struct Session: Sendable {
        let principal: Principal
        /// The session's CSRF token (every console form carries it).
        let csrf: String
        let created: Double
        var lastSeen: Double
    }

    private struct Login {
        let attempt: OIDCSignIn.Attempt
        let created: Double
    }

    /// How long a sign-in may take at the provider.
    static let loginSeconds = 600.0

    private let sessionSeconds: Double
    private let idleSeconds: Double
    private let maxSessions: Int
    private let maxLogins: Int
    private let now: @Sendable () -> Double
    private var sessions: [Data: Session] = [:]
    private var logins: [Data: Login] = [:]

    init(sessionSeconds: Double, idleSeconds: Double, maxSessions: Int = 10_000, maxLogins: Int = 10_000,
         now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.sessionSeconds = sessionSeconds
        self.idleSeconds = idleSeconds
        self.maxSessions = maxSessions
        self.maxLogins = maxLogins
        self.now = now
    }

    /// Keeps `attempt` and returns the login id for the browser's login cookie.
    func startLogin(_ attempt: OIDCSignIn.Attempt) -> String {
        let t = now()
        logins = logins.filter { t - $0.value.created < Self.loginSeconds }
        if logins.count >= maxLogins, let oldest = logins.min(by: { $0.value.created < $1.value.created }) {
            logins[oldest.key] = nil
        }
        let id = OIDCSignIn.Attempt.random()
        logins[Self.key(id)] = Login(attempt: attempt, created: t)
        return id
    }

    /// The sign-in a login id names, removed: a login id is used at most once.
    func takeLogin(_ id: String) -> OIDCSignIn.Attempt? {
        guard let login = logins.removeValue(forKey: Self.key(id)), now() - login.created < Self.loginSeconds else { return nil }
        return login.attempt
    }

    /// Opens a session for `principal`: its id (for the session cookie) and CSRF token.
    func open(_ principal: Principal) -> (id: String, csrf: String) {
        let t = now()
        if sessions.count >= maxSessions {
            sessions = sessions.filter { live($0.value, at: t) }
            if sessions.count >= maxSessions, let oldest = sessions.min(by: { $0.value.created < $1.value.created }) {
                sessions[oldest.key] = nil
            }
        }
        let id = OIDCSignIn.Attempt.random(), csrf = OIDCSignIn.Attempt.random()
        sessions[Self.key(id)] = Session(principal: principal, csrf: csrf, created: t, lastSeen: t)
        return (id, csrf)
    }

    /// The live session `id` names, its last use set to now; nil (and dropped) when it has ended.
    func session(_ id: String) -> Session? {
        let key = Self.key(id), t = now()
        guard var s = sessions[key] else { return nil }
        guard live(s, at: t) else {
            sessions[key] = nil
            return nil
        }
        s.lastSeen = t
        sessions[key] = s
        return s
    }

    /// Ends session `id`.
    func close(_ id: String) { sessions[Self.key(id)] = nil }

    var openSessions: Int { sessions.count }

    private func live(_ s: Session, at t: Double) -> Bool {
        t - s.created < sessionSeconds && t - s.lastSeen < idleSeconds
    }

    private static func key(_ id: String) -> Data { Data(SHA256.hash(data: Data(id.utf8))) }
}
