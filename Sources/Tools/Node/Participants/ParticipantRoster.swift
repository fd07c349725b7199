package import Foundation
package import Transport
import Synchronization

/// The participants a node serves now, with their O2O identities: what `kvitto.json` lists,
/// loaded at start and replaced as a whole when `kvitto participant add|update|retire` changes the
/// configuration while the node runs (no restart). Read it at each use, never keep what it held:
/// a retired participant is gone from the next read on.
package final class ParticipantRoster: Sendable {
    /// One consistent state: every participant with its identities.
    package struct Members: Sendable {
        package var participants: [NodeConfig.Participant]
        /// Each participant's current O2O identity: signs XHEs, decrypts payloads.
        package var o2o: [String: SigningIdentity]
        /// Each participant's earlier O2O identities (`o2o_previous`), which only decrypt during an
        /// overlap after a certificate was replaced.
        package var o2oPrevious: [String: [SigningIdentity]]
        /// Participants retired (`retired_participants`): not served, but their history is read
        /// under their strong-authentication rule.
        package var retired: [String] = []
    }

    /// The members, the participants being retired (served no more: new messages from or to them
    /// are refused while the retirement is checked and recorded) and the deliveries and
    /// submissions in progress per participant.
    private struct State {
        var members: Members
        var suspended: Set<String> = []
        var busy: [String: Int] = [:]
    }

    private let state: Mutex<State>

    package init(_ members: Members) { state = Mutex(State(members: members)) }

    /// The participants of `config`, their identities read from the files it names (an unusable
    /// key or certificate refuses the whole set: `node.key_unusable` names it).
    package static func load(_ config: NodeConfig, directory: String) throws(NodeError) -> Members {
        func path(_ p: String) -> String { NodeConfig.resolve(p, in: directory) }
        func identity(_ what: String, _ key: String, _ certificate: String) throws(NodeError) -> SigningIdentity {
            do { return try SigningIdentity(keyPath: path(key), certificatePath: path(certificate)) } catch {
                throw NodeError(.keyUnusable, "\(what): \(error) (key \(path(key)), certificate \(path(certificate)))")
            }
        }
        var o2o: [String: SigningIdentity] = [:], previous: [String: [SigningIdentity]] = [:]
        for p in config.participants {
            o2o[p.id] = try identity("the O2O identity of \(p.id)", p.o2oKey, p.o2oCertificate)
            for (i, old) in (p.o2oPrevious ?? []).enumerated() {
                previous[p.id, default: []].append(try identity("the previous O2O identity \(i) of \(p.id)", old.key, old.certificate))
            }
        }
        return Members(participants: config.participants, o2o: o2o, o2oPrevious: previous,
                       retired: (config.retiredParticipants ?? []).map(\.id))
    }

    /// Everything, as one consistent state.
    package var current: Members { state.withLock { $0.members } }
    /// The participants, in the order of the configuration.
    package var participants: [NodeConfig.Participant] { state.withLock { $0.members.participants } }
    /// The participant ids.
    package var ids: [String] { state.withLock { $0.members.participants.map(\.id) } }
    /// The ids whose authentication rules apply: the participants and the retired ones.
    package var authenticationIDs: [String] { state.withLock { $0.members.participants.map(\.id) + $0.members.retired } }
    /// The participant `id`, when the node serves it.
    package func participant(_ id: String) -> NodeConfig.Participant? { state.withLock { $0.members.participants.first { $0.id == id } } }
    /// Whether `id` is being retired (not served for new messages until that ends).
    package func isSuspended(_ id: String) -> Bool { state.withLock { $0.suspended.contains(id) } }
    /// Whether the node serves `id` now (not while it is being retired).
    package func serves(_ id: String) -> Bool { state.withLock { $0.members.o2o[id] != nil && !$0.suspended.contains(id) } }
    /// The current O2O identity of `id` (also while it is being retired: what is in flight is answered).
    package func o2o(_ id: String) -> SigningIdentity? { state.withLock { $0.members.o2o[id] } }

    /// Puts `members` in force (after the configuration that lists them was saved).
    package func replace(with members: Members) { state.withLock { $0.members = members } }

    /// Starts a delivery or submission for `ids`; false (nothing started) unless the node serves
    /// every one of them. Call ``leave(_:)`` with the same ids when it is recorded or failed.
    package func enter(_ ids: [String]) -> Bool {
        state.withLock { s in
            guard ids.allSatisfy({ s.members.o2o[$0] != nil && !s.suspended.contains($0) }) else { return false }
            for id in ids { s.busy[id, default: 0] += 1 }
            return true
        }
    }

    package func leave(_ ids: [String]) {
        state.withLock { s in
            for id in ids {
                let left = (s.busy[id] ?? 1) - 1
                s.busy[id] = left > 0 ? left : nil
            }
        }
    }

    /// Stops serving `id` for new messages; true once no delivery or submission for it is in
    /// progress (polled every 20 ms, at most `timeout`). Undo with ``resume(_:)``.
    package func suspend(_ id: String, timeout: Duration = .seconds(30)) async -> Bool {
        state.withLock { _ = $0.suspended.insert(id) }
        let clock = ContinuousClock(), deadline = clock.now + timeout
        while state.withLock({ ($0.busy[id] ?? 0) > 0 }) {
            guard clock.now < deadline else { return false }
            do { try await Task.sleep(for: .milliseconds(20)) } catch { return false }  // the node is stopping
        }
        return true
    }

    package func resume(_ id: String) { state.withLock { _ = $0.suspended.remove(id) } }
}
