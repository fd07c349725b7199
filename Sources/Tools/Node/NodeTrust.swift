import Foundation
import Synchronization
import Logging
package import Transport

extension Node {
    /// How often the trust folders are checked for changed files (`trust.reload_interval_seconds`,
    /// default 30 s, kept between 1 s and 1 h).
    var trustReloadInterval: Duration {
        .milliseconds(Int64(min(max(config.trust.reloadIntervalSeconds ?? 30, 1), 3600) * 1000))
    }

    /// How long before a CRL's nextUpdate the node starts warning.
    static let crlWarningLead: TimeInterval = 24 * 3600

    /// Reloads the AS4, O2O and TLS trust folders — all of them with `force` (SIGHUP), else those
    /// whose files changed — and logs what was loaded or why a folder was refused (its previous
    /// trust stays in force). `reason` goes to the log.
    @discardableResult
    package func reloadTrust(force: Bool = true, reason: String) -> [CertificateTrust.Role: TrustStore.Refresh] {
        var results: [CertificateTrust.Role: TrustStore.Refresh] = [:]
        for store in keys.trustStores {
            let result = store.refresh(force: force)
            results[store.role] = result
            switch result {
            case .unchanged:
                break
            case .reloaded(let summary):
                logger.notice("trust reloaded", metadata: trustMetadata(store, summary).merging(["reason": .string(reason)]) { a, _ in a })
            case .failed(let error, let keeping):
                logger.error("trust reload refused; the previous trust stays in force",
                             metadata: trustMetadata(store, keeping).merging(["reason": .string(reason), "error": .string(error.description)]) { a, _ in a })
            }
            warnIfRevocationListsDue(store)
        }
        return results
    }

    /// Logs the trust in force, then checks the folders every ``trustReloadInterval`` until the
    /// task is cancelled.
    func watchTrust() async {
        for store in keys.trustStores {
            logger.info("trust loaded", metadata: trustMetadata(store, store.summary))
            warnIfRevocationListsDue(store)
        }
        warnIfCertificatesExpire()
        let interval = trustReloadInterval
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            reloadTrust(force: false, reason: "files changed")
            warnIfCertificatesExpire()
        }
    }

    /// A warning when the earliest CRL nextUpdate of `store` is within ``crlWarningLead`` (an
    /// error once it has passed: certificates that CRL covers are refused), at most once an hour
    /// per role.
    func warnIfRevocationListsDue(_ store: TrustStore, now: Date = Date()) {
        guard let due = store.earliestNextUpdate, due.timeIntervalSince(now) < Self.crlWarningLead else { return }
        let warn = trustWarned.withLock { last -> Bool in
            if let previous = last[store.role], now.timeIntervalSince(previous) < 3600 { return false }
            last[store.role] = now
            return true
        }
        guard warn else { return }
        let metadata = trustMetadata(store, store.summary)
        if due <= now {
            logger.error("a CRL is past its nextUpdate: certificates it covers are refused until a newer CRL is in the trust folder",
                         metadata: metadata)
        } else {
            logger.warning("a CRL reaches its nextUpdate within 24 hours; place a newer one in the trust folder", metadata: metadata)
        }
    }

    private func trustMetadata(_ store: TrustStore, _ summary: TrustStore.Summary) -> Logger.Metadata {
        var m: Logger.Metadata = ["role": .string(store.role.rawValue), "folder": .string(store.directory ?? "(fixed)"),
                                  "anchors": .stringConvertible(summary.anchors), "intermediates": .stringConvertible(summary.intermediates),
                                  "crls": .stringConvertible(summary.revocationLists)]
        if summary.unmatchedRevocationLists > 0 { m["crls_unmatched"] = .stringConvertible(summary.unmatchedRevocationLists) }
        if let due = summary.earliestNextUpdate { m["earliest_next_update"] = .string(ISO8601DateFormatter().string(from: due)) }
        return m
    }
}
