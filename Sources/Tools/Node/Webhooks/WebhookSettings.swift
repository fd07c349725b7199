extension NodeConfig {
    /// How the node delivers webhooks (`api.webhooks` in `kvitto.json`; `Schemas/node-config.md`).
    /// Every member has a default; the block's presence turns webhooks on.
    package struct Webhooks: Codable, Sendable, Equatable {
        /// A PEM file of the CA certificates endpoints' TLS certificates must chain to; absent:
        /// the system's trust store.
        package var trustRoots: String?
        /// Hosts a webhook URL may name (exact names or IP addresses, or `*.suffix`); absent: any.
        package var allowedHosts: [String]?
        /// Allows `http:` URLs (development only; default false: HTTPS only).
        package var allowPlainHttp: Bool?
        /// Seconds one delivery may take, connection included (default 10, 1…120).
        package var timeoutSeconds: Double?
        /// The first retry's delay in seconds (default 5); each next one doubles, with jitter.
        package var retryFirstSeconds: Double?
        /// The longest delay between retries in seconds (default 3600).
        package var retryMaxSeconds: Double?
        /// A webhook failing for this long (seconds) is disabled, recorded as `webhook.disabled`
        /// (default 259200: three days).
        package var disableAfterSeconds: Double?
        /// Webhooks one owner may have (default 16).
        package var maxPerOwner: Int?

        package init() {}

        package var timeout: Double { timeoutSeconds ?? 10 }
        package var retryFirst: Double { retryFirstSeconds ?? 5 }
        package var retryMax: Double { retryMaxSeconds ?? 3600 }
        package var disableAfter: Double { disableAfterSeconds ?? 259_200 }
        package var perOwner: Int { maxPerOwner ?? 16 }

        /// What is wrong with the settings, or nil.
        package var problem: String? {
            if !timeout.isFinite || !(1...120).contains(timeout) { return "timeout_seconds must be from 1 to 120" }
            if !retryFirst.isFinite || !(0.01...86_400).contains(retryFirst) { return "retry_first_seconds must be from 0.01 to 86400" }
            if !retryMax.isFinite || !(retryFirst...86_400).contains(retryMax) { return "retry_max_seconds must be from retry_first_seconds to 86400" }
            if !disableAfter.isFinite || !(1...(90 * 86_400)).contains(disableAfter) { return "disable_after_seconds must be from 1 to 7776000 (90 days)" }
            if !(1...1000).contains(perOwner) { return "max_per_owner must be from 1 to 1000" }
            if let hosts = allowedHosts, hosts.isEmpty || hosts.contains(where: { $0.isEmpty || $0.contains("/") }) {
                return "allowed_hosts must list host names (or *.suffix), or be left out"
            }
            return nil
        }
    }
}
