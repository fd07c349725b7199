/// The current keys of one issuer. Fetched on first use, again when older than the issuer's
/// maximum key age, and again when a token names a key the set lacks. Every fetch after the first
/// is rate-limited to one per refresh interval, and concurrent callers share one fetch, so no
/// stream of tokens can make the node hammer the issuer. When a fetch fails, keys fetched within
/// the last 24 hours stay in use; older ones are dropped (fail closed).
actor IssuerKeys {
    private let trust: IssuerTrust
    private let source: any KeySource
    private let now: @Sendable () -> Double
    private var keys: [VerificationKey] = []
    /// When the keys in use were fetched.
    private var fetchedAt: Double?
    /// When the last fetch was started, successful or not (the rate limit counts attempts).
    private var attemptedAt: Double?
    private var lastError: AuthenticationError?
    private var inFlight: Task<Result<[VerificationKey], AuthenticationError>, Never>?
    /// Fetches so far (tests read it to see the rate limit hold).
    private(set) var fetches = 0

    static let staleLimit: Double = 86_400

    init(trust: IssuerTrust, source: any KeySource, now: @escaping @Sendable () -> Double) {
        self.trust = trust
        self.source = source
        self.now = now
    }

    /// The keys for a token signed with `algorithm` and naming `kid` (or none). Fetches the key
    /// set when it is missing or old, and — rate-limited — when no key has the token's `kid`.
    func candidates(kid: String?, algorithm: String) async throws(AuthenticationError) -> [VerificationKey] {
        if fetchedAt == nil || now() - (fetchedAt ?? 0) >= trust.maxKeyAge {
            _ = try await refreshIfAllowed()
        }
        let found = matching(kid: kid, algorithm: algorithm)
        if !found.isEmpty || kid == nil { return found }
        return try await refreshIfAllowed() ? matching(kid: kid, algorithm: algorithm) : []
    }

    /// After a token without `kid` failed with every key: fetches again if the rate limit allows.
    /// Returns the keys to try again, or nothing when the set did not change.
    func candidatesAfterRotation(algorithm: String) async throws(AuthenticationError) -> [VerificationKey] {
        try await refreshIfAllowed() ? matching(kid: nil, algorithm: algorithm) : []
    }

    private func matching(kid: String?, algorithm: String) -> [VerificationKey] {
        keys.filter { $0.algorithm == algorithm && (kid == nil || $0.kid == kid) }
    }

    /// Fetches unless the last attempt is less than the refresh interval ago. True when the key
    /// set in use changed.
    private func refreshIfAllowed() async throws(AuthenticationError) -> Bool {
        if inFlight == nil, let a = attemptedAt, now() - a < trust.refreshInterval {
            if keys.isEmpty { throw lastError ?? AuthenticationError(.issuerUnavailable, "\(trust.issuer): no keys yet") }
            return false
        }
        let task: Task<Result<[VerificationKey], AuthenticationError>, Never>
        if let running = inFlight {
            task = running
        } else {
            attemptedAt = now()
            fetches += 1
            let source = self.source, algorithms = trust.acceptedAlgorithms, issuer = trust.issuer
            task = Task {
                do throws(AuthenticationError) {
                    let fresh = await VerificationKey.keys(of: try await source.fetchKeySet(), accepting: algorithms)
                    if fresh.isEmpty { return .failure(AuthenticationError(.issuerUnavailable, "\(issuer) publishes no usable signature key")) }
                    return .success(fresh)
                } catch {
                    return .failure(error)
                }
            }
            inFlight = task
        }
        let result = await task.value
        inFlight = nil
        switch result {
        case .success(let fresh):
            let changed = Self.fingerprint(fresh) != Self.fingerprint(keys)
            keys = fresh
            fetchedAt = now()
            lastError = nil
            return changed
        case .failure(let error):
            lastError = error
            if let f = fetchedAt, now() - f < Self.staleLimit, !keys.isEmpty { return false }
            keys = []
            fetchedAt = nil
            throw error
        }
    }

    private static func fingerprint(_ keys: [VerificationKey]) -> [String] {
        keys.map(\.identity).sorted()
    }
}
