/// The current keys of one issuer. Fetched on first use, again when older than the issuer's
/// maximum key age, and again when a token names a key the set lacks (or, without `kid`, no key
/// verifies it). Every fetch after the first is rate-limited to one per refresh interval, and
/// concurrent callers share one fetch, so no stream of tokens can make the node hammer the issuer.
/// When the issuer cannot be reached, keys fetched within the last 24 hours stay in use; when it
/// answers, its answer is authoritative — an empty or unusable key set drops the keys (fail closed).
actor IssuerKeys {
    private let trust: IssuerTrust
    private let source: any KeySource
    private let now: @Sendable () -> Double
    private var keys: [VerificationKey] = []
    /// Bumped whenever ``keys`` is replaced.
    private(set) var generation = 0
    /// When the keys in use were fetched.
    private var fetchedAt: Double?
    /// When the last fetch was started, successful or not (the rate limit counts attempts).
    private var attemptedAt: Double?
    private var lastError: AuthenticationError?
    private var inFlight: (id: Int, task: Task<Result<[VerificationKey], KeyFetchFailure>, Never>)?
    /// Fetches so far (tests read it to see the rate limit hold).
    private(set) var fetches = 0

    static let staleLimit: Double = 86_400

    init(trust: IssuerTrust, source: any KeySource, now: @escaping @Sendable () -> Double) {
        self.trust = trust
        self.source = source
        self.now = now
    }

    /// The keys for a token signed with `algorithm` and naming `kid` (or none), and the generation
    /// they belong to. Fetches the key set when it is missing or old, and — rate-limited — when no
    /// key matches.
    func candidates(kid: String?, algorithm: String) async throws(AuthenticationError) -> (keys: [VerificationKey], generation: Int) {
        if fetchedAt == nil || now() - (fetchedAt ?? 0) >= trust.maxKeyAge {
            try await refreshIfAllowed()
        }
        if matching(kid: kid, algorithm: algorithm).isEmpty { try await refreshIfAllowed() }
        return (matching(kid: kid, algorithm: algorithm), generation)
    }

    /// After a token without `kid` failed with every key of generation `seen`: fetches again if
    /// the rate limit allows (or joins a fetch under way) and returns the keys when the set has
    /// changed since, or nothing.
    func candidatesAfterRotation(algorithm: String, seen: Int) async throws(AuthenticationError) -> [VerificationKey] {
        try await refreshIfAllowed()
        return generation != seen ? matching(kid: nil, algorithm: algorithm) : []
    }

    private func matching(kid: String?, algorithm: String) -> [VerificationKey] {
        keys.filter { $0.algorithm == algorithm && (kid == nil || $0.kid == kid) }
    }

    /// Fetches unless the last attempt is less than the refresh interval ago (joining a fetch
    /// under way instead of starting another).
    private func refreshIfAllowed() async throws(AuthenticationError) {
        let task: Task<Result<[VerificationKey], KeyFetchFailure>, Never>
        let id: Int
        if let running = inFlight {
            (id, task) = running
        } else {
            if let a = attemptedAt, now() - a < trust.refreshInterval {
                if keys.isEmpty { throw lastError ?? AuthenticationError(.issuerUnavailable, "\(trust.issuer): no keys yet") }
                return
            }
            attemptedAt = now()
            fetches += 1
            id = fetches
            let source = self.source, algorithms = trust.acceptedAlgorithms
            task = Task {
                do throws(KeyFetchFailure) {
                    return .success(await VerificationKey.keys(of: try await source.fetchKeySet(), accepting: algorithms))
                } catch {
                    return .failure(error)
                }
            }
            inFlight = (id, task)
        }
        let result = await task.value
        guard inFlight?.id == id else {
            // Another caller already applied this fetch's result.
            if keys.isEmpty { throw lastError ?? AuthenticationError(.issuerUnavailable, "\(trust.issuer): no keys") }
            return
        }
        inFlight = nil
        switch result {
        case .success(let fresh):
            if Self.fingerprint(fresh) != Self.fingerprint(keys) { generation += 1 }
            keys = fresh
            fetchedAt = now()
            lastError = fresh.isEmpty ? AuthenticationError(.unknownKey, "\(trust.issuer) publishes no usable signature key") : nil
        case .failure(let failure):
            lastError = failure.error
            if !failure.authoritative, let f = fetchedAt, now() - f < Self.staleLimit, !keys.isEmpty { return }
            if !keys.isEmpty { generation += 1 }
            keys = []
            fetchedAt = nil
            throw failure.error
        }
    }

    private static func fingerprint(_ keys: [VerificationKey]) -> [String] {
        keys.map(\.identity).sorted()
    }
}
