import Crypto
import Foundation
import Identity
import Projections

/// The console's server-side state: open sessions, in memory only, bounded, over an injected
/// clock (a restart ends every session; ids are 32 random bytes, only their SHA-256 is kept).
/// A sign-in under way is not kept here: its state, nonce and PKCE verifier travel sealed
/// (AES-256-GCM under a key of this process) in the login cookie, so no number of started
/// sign-ins can push a real one out. The ids of logins that signed someone in are remembered for
/// their ten minutes (bounded), so a login cookie signs in once.
actor ConsoleSessions {
    struct Session: Sendable {
        let principal: Principal
        /// The session's CSRF token (every console form carries it).
        let csrf: String
        let created: Double
        var lastSeen: Double
    }

    private struct SealedLogin: Codable {
        let id: String
        let state: String
        let nonce: String
        let verifier: String
        let created: Double
    }

    /// How long a sign-in may take at the provider.
    static let loginSeconds = 600.0

    private let sessionSeconds: Double
    private let idleSeconds: Double
    private let maxSessions: Int
    private let maxUsedLogins: Int
    private let now: @Sendable () -> Double
    private let loginKey = SymmetricKey(size: .bits256)
    private var sessions: [Data: Session] = [:]
    private var usedLogins: [String: Double] = [:]

    init(sessionSeconds: Double, idleSeconds: Double, maxSessions: Int = 10_000, maxUsedLogins: Int = 10_000,
         now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.sessionSeconds = sessionSeconds
        self.idleSeconds = idleSeconds
        self.maxSessions = maxSessions
        self.maxUsedLogins = maxUsedLogins
        self.now = now
    }

    /// The login cookie's value for `attempt`: the attempt and its time, sealed.
    func startLogin(_ attempt: OIDCSignIn.Attempt) -> String {
        let login = SealedLogin(id: OIDCSignIn.Attempt.random(), state: attempt.state, nonce: attempt.nonce, verifier: attempt.verifier,
                                created: now())
        // Encoding four strings and a number cannot fail; sealing with a 256-bit key neither.
        let plain = (try? JSONEncoder().encode(login)) ?? Data()
        let sealed = (try? AES.GCM.seal(plain, using: loginKey).combined) ?? Data()
        return Base64URL.encode(sealed)
    }

    /// The sign-in a login cookie holds, when it was sealed here less than ten minutes ago and its
    /// id has not completed a sign-in yet; `id` is what ``markUsed(_:)`` takes once it has.
    func takeLogin(_ cookie: String) -> (attempt: OIDCSignIn.Attempt, id: String)? {
        guard cookie.utf8.count <= 1024, let sealed = Base64URL.decode(Substring(cookie)),
              let box = try? AES.GCM.SealedBox(combined: sealed), let plain = try? AES.GCM.open(box, using: loginKey),
              let login = try? JSONDecoder().decode(SealedLogin.self, from: plain) else { return nil }
        let t = now()
        guard t - login.created < Self.loginSeconds, t >= login.created - 60, usedLogins[login.id] == nil else { return nil }
        return (OIDCSignIn.Attempt(state: login.state, nonce: login.nonce, verifier: login.verifier), login.id)
    }

    /// Remembers that login `id` signed someone in, for the ten minutes its cookie could still be
    /// shown. Only completed sign-ins are remembered, so nobody can fill the table without signing
    /// in; when it is full all the same, the oldest goes (its cookie then also needs a code the
    /// provider has not redeemed yet, which it never has twice).
    func markUsed(_ id: String) {
        let t = now()
        if usedLogins.count >= maxUsedLogins {
            usedLogins = usedLogins.filter { t - $0.value < Self.loginSeconds }
            if usedLogins.count >= maxUsedLogins, let oldest = usedLogins.min(by: { $0.value < $1.value }) { usedLogins[oldest.key] = nil }
        }
        usedLogins[id] = t
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
