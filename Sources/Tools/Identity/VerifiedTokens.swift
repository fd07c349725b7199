import Crypto
import Projections
import Synchronization

/// Bearer tokens whose signatures verified a moment ago, with their claims, so that a client
/// sending the same token with every request is not charged a signature verification and two
/// JSON decodings each time. What is remembered is only "this exact token was signed by this
/// issuer": the time claims (`exp`, `nbf`, `iat`) and the audience are checked again on every
/// request. The principal the claims mapped to for the interface they were first presented on is
/// kept with them (the mapping depends on the claims and the configuration alone).
///
/// An entry lives at most ``lifetime`` seconds after its verification, so a key the issuer
/// withdraws from its key set stops being trusted within that time also for tokens seen before
/// (a token never seen before is verified against the current key set). At most ``capacity``
/// tokens are kept; when full, the expired ones are dropped, and if none is, all are.
final class VerifiedTokens: Sendable {
    /// Seconds an entry is trusted after its verification.
    static let lifetime: Double = 60
    /// Tokens kept at most.
    static let capacity = 4096

    struct Entry: Sendable {
        let claims: TokenClaims
        let issuer: String
        let verifiedAt: Double
        /// The claims mapped for `interface` (bearer tokens only, not ID tokens).
        var principal: (interface: Principal.Interface, principal: Principal)? = nil
    }

    /// By the SHA-256 of the token's bytes (String equality would take canonically equivalent
    /// texts for one token).
    private let entries = Mutex<[SHA256Digest: Entry]>([:])

    /// The claims of `token` when its signature verified less than ``lifetime`` seconds before `now`.
    func claims(of token: String, now: Double) -> Entry? {
        let key = SHA256.hash(data: Array(token.utf8))
        return entries.withLock { table in
            guard let e = table[key] else { return nil }
            guard now - e.verifiedAt < Self.lifetime, now >= e.verifiedAt else {
                table[key] = nil
                return nil
            }
            return e
        }
    }

    /// Remembers that `token`'s signature verified at `now` with the key of `issuer`.
    func remember(_ token: String, claims: TokenClaims, issuer: String, now: Double,
                  principal: (interface: Principal.Interface, principal: Principal)? = nil) {
        let key = SHA256.hash(data: Array(token.utf8))
        entries.withLock { table in
            if table.count >= Self.capacity {
                table = table.filter { now - $0.value.verifiedAt < Self.lifetime }
                if table.count >= Self.capacity { table.removeAll(keepingCapacity: true) }
            }
            table[key] = Entry(claims: claims, issuer: issuer, verifiedAt: now, principal: principal)
        }
    }

    /// How many tokens are remembered (tests).
    var count: Int { entries.withLock { $0.count } }
}
