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
    }

    private let members: Mutex<Members>

    package init(_ members: Members) { self.members = Mutex(members) }

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
        return Members(participants: config.participants, o2o: o2o, o2oPrevious: previous)
    }

    /// Everything, as one consistent state.
    package var current: Members { members.withLock { $0 } }
    /// The participants, in the order of the configuration.
    package var participants: [NodeConfig.Participant] { members.withLock { $0.participants } }
    /// The participant ids.
    package var ids: [String] { members.withLock { $0.participants.map(\.id) } }
    /// The participant `id`, when the node serves it.
    package func participant(_ id: String) -> NodeConfig.Participant? { members.withLock { $0.participants.first { $0.id == id } } }
    /// Whether the node serves `id` now.
    package func serves(_ id: String) -> Bool { members.withLock { $0.o2o[id] != nil } }
    /// The current O2O identity of `id`.
    package func o2o(_ id: String) -> SigningIdentity? { members.withLock { $0.o2o[id] } }

    /// Puts `members` in force (after the configuration that lists them was saved).
    package func replace(with members: Members) { self.members.withLock { $0 = members } }
}
