package import Foundation
import Synchronization

/// The current ``CertificateTrust`` of one role, read from a folder of anchors, intermediates and
/// CRLs and reloaded while the node runs — so a CRL replaced before its nextUpdate takes effect
/// without a restart.
///
/// ``current`` is the trust to evaluate with, read anew for every evaluation. ``refresh(force:)``
/// compares the folder's files (name, size, modification time, inode) with those last loaded and
/// reloads when they differ, or always when `force` is set (SIGHUP). A reload that fails — a file
/// that cannot be read, a CRL or certificate that does not parse, no anchor left — keeps the
/// previous trust: the store never falls open and never goes empty. The owner calls
/// ``refresh(force:)`` on a bounded interval and logs what it returns.
package final class TrustStore: Sendable {
    package let role: CertificateTrust.Role
    /// The folder, or nil for a fixed trust that never reloads.
    package let directory: String?
    package let revocationRequired: Bool
    private let state: Mutex<Loaded>
    /// Serialises reloads and holds the stamp of the files last loaded (or last refused).
    private let reloading: Mutex<[String: FileStamp]>

    /// What one load found, for the log and for ``earliestNextUpdate``.
    package struct Summary: Sendable, Equatable, CustomStringConvertible {
        package var anchors: Int
        package var intermediates: Int
        package var revocationLists: Int
        /// CRLs signed by none of the folder's certificates (they cover nothing).
        package var unmatchedRevocationLists: Int
        /// The earliest nextUpdate over the CRL each issuer is checked against (its newest); a
        /// CRL without nextUpdate counts as due at its thisUpdate. nil when there are no CRLs.
        package var earliestNextUpdate: Date?

        package var description: String {
            "\(anchors) anchors, \(intermediates) intermediates, \(revocationLists) CRLs"
                + (unmatchedRevocationLists > 0 ? " (\(unmatchedRevocationLists) signed by no certificate of the folder)" : "")
                + (earliestNextUpdate.map { ", earliest nextUpdate \(ISO8601DateFormatter().string(from: $0))" } ?? "")
        }
    }

    /// What ``refresh(force:)`` did.
    package enum Refresh: Sendable {
        /// The files are as last loaded; nothing was read.
        case unchanged
        /// The folder was loaded and is now the current trust.
        case reloaded(Summary)
        /// The folder could not be loaded; the previous trust stays current.
        case failed(LoadError, keeping: Summary)
    }

    /// Why a folder could not be loaded.
    package struct LoadError: Error, Sendable, CustomStringConvertible {
        package let role: CertificateTrust.Role
        package let directory: String
        package let reason: String
        package var description: String { "the \(role.rawValue) trust folder \(directory): \(reason)" }
    }

    private struct Loaded: Sendable {
        var trust: CertificateTrust
        var summary: Summary
        /// Counts the loads: 0 for the first, one more for each reload that took effect.
        var generation: UInt64 = 0
    }

    /// Size, modification time and inode of one file: a change to any of them is a change.
    private struct FileStamp: Equatable, Sendable {
        var size: UInt64
        var modified: Date
        var inode: UInt64
    }

    /// Loads `directory` (it must hold at least one self-signed anchor).
    package init(role: CertificateTrust.Role, directory: String, revocationRequired: Bool) throws(LoadError) {
        self.role = role
        self.directory = directory
        self.revocationRequired = revocationRequired
        let stamp = try Self.stamp(role: role, directory: directory)
        let loaded = try Self.load(role: role, directory: directory, revocationRequired: revocationRequired)
        state = Mutex(loaded)
        reloading = Mutex(stamp)
    }

    /// A fixed trust that never reloads (tests, benchmarks, in-memory PKIs).
    package init(_ trust: CertificateTrust) {
        role = trust.role
        directory = nil
        revocationRequired = trust.revocationRequired
        state = Mutex(Loaded(trust: trust, summary: Self.summarize(trust)))
        reloading = Mutex([:])
    }

    /// The trust to evaluate with now.
    package var current: CertificateTrust { state.withLock { $0.trust } }

    /// The current trust with its generation, which changes at every reload that takes effect (a
    /// verdict kept from an older generation must be reached again).
    package var currentWithGeneration: (trust: CertificateTrust, generation: UInt64) {
        state.withLock { ($0.trust, $0.generation) }
    }

    /// What the current trust holds.
    package var summary: Summary { state.withLock { $0.summary } }

    /// The earliest nextUpdate of the CRLs in use: after it, certificates that CRL covers are
    /// refused until a newer CRL is in the folder. nil without CRLs.
    package var earliestNextUpdate: Date? { summary.earliestNextUpdate }

    /// Reloads the folder when its files changed since the last load (or always with `force`).
    package func refresh(force: Bool = false) -> Refresh {
        guard let directory else { return .unchanged }
        return reloading.withLock { last -> Refresh in
            let stamp: [String: FileStamp]
            do throws(LoadError) { stamp = try Self.stamp(role: role, directory: directory) } catch {
                return .failed(error, keeping: summary)
            }
            guard force || stamp != last else { return .unchanged }
            // Remember what was looked at even when it fails: the error is reported once per
            // change of the files, not on every poll.
            last = stamp
            do throws(LoadError) {
                var loaded = try Self.load(role: role, directory: directory, revocationRequired: revocationRequired)
                state.withLock {
                    loaded.generation = $0.generation &+ 1
                    $0 = loaded
                }
                return .reloaded(loaded.summary)
            } catch {
                return .failed(error, keeping: summary)
            }
        }
    }

    private static func load(role: CertificateTrust.Role, directory: String, revocationRequired: Bool) throws(LoadError) -> Loaded {
        let trust: CertificateTrust
        do { trust = try CertificateTrust.load(role: role, directory: directory, revocationRequired: revocationRequired) } catch {
            throw LoadError(role: role, directory: directory, reason: "\(error)")
        }
        guard !trust.anchors.isEmpty else {
            throw LoadError(role: role, directory: directory, reason: "it holds no self-signed anchor certificate")
        }
        return Loaded(trust: trust, summary: summarize(trust))
    }

    private static func summarize(_ trust: CertificateTrust) -> Summary {
        let crls = trust.revocationLists
        var matched = Set<ObjectIdentifier>()
        var earliest: Date?
        let now = Date()
        for issuer in trust.anchors + trust.intermediates {
            let own = crls.filter { $0.isIssued(by: issuer) }
            own.forEach { matched.insert(ObjectIdentifier($0)) }
            // The CRL in use: the newest already issued (one dated in the future is not yet).
            let issued = own.filter { $0.thisUpdate <= now }
            guard let newest = (issued.isEmpty ? own : issued).max(by: { $0.thisUpdate < $1.thisUpdate }) else { continue }
            let due = newest.nextUpdate ?? newest.thisUpdate
            earliest = min(earliest ?? due, due)
        }
        return Summary(anchors: trust.anchors.count, intermediates: trust.intermediates.count, revocationLists: crls.count,
                       unmatchedRevocationLists: crls.count - matched.count, earliestNextUpdate: earliest)
    }

    private static func stamp(role: CertificateTrust.Role, directory: String) throws(LoadError) -> [String: FileStamp] {
        let fm = FileManager.default
        do {
            var out: [String: FileStamp] = [:]
            for name in try fm.contentsOfDirectory(atPath: directory) {
                let a = try fm.attributesOfItem(atPath: directory + "/" + name)
                out[name] = FileStamp(size: (a[.size] as? NSNumber)?.uint64Value ?? 0,
                                      modified: a[.modificationDate] as? Date ?? .distantPast,
                                      inode: (a[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0)
            }
            return out
        } catch {
            throw LoadError(role: role, directory: directory, reason: "\(error)")
        }
    }
}
