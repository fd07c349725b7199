package import Ledger
import Projections

/// `content.key.created`: a participant's key-encryption key written, so that an officer reads
/// in the ledger when content encryption at rest began for a participant and under which key
/// (its identifier, never the key). Recorded by `kvitto content-key create`, by `kvitto
/// participant add` on a node that encrypts content, and by `kvitto init --encrypt-content`, in
/// the same append as the rest of their change.
package enum ContentKeyRecord {
    /// The command that wrote the key.
    package enum Command: String, Sendable {
        case contentKeyCreate = "content-key create"
        case participantAdd = "participant add"
        case initialise = "init"
    }

    /// The event for `participant`'s new key `keyID` under `scope` (`confidential` or `all`).
    /// `turnedOn`: this change turned content encryption on. `replacesLostKey`: the participant
    /// had content sealed under a key whose file is lost (`--replace-lost-key`).
    package static func draft(participant: String, keyID: String, scope: String, turnedOn: Bool, replacesLostKey: Bool,
                              command: Command, actor: String) -> EventDraft {
        EventDraft(type: NodeEventType.contentKeyCreated, subject: ParticipantRecord.subject(participant), actor: actor,
                   payload: ["participant": .string(participant), "key_id": .string(keyID), "scope": .string(scope),
                             "encryption_turned_on": .bool(turnedOn), "replaces_lost_key": .bool(replacesLostKey),
                             "command": .string(command.rawValue)])
    }

    /// The identifier of the key in `path` (just written by this process).
    static func keyID(_ path: String) throws(NodeError) -> String {
        do { return try KeyEncryptionKey.load(path: path).id } catch {
            throw NodeError(.storage, "reading the key-encryption key just written at \(path): \(error)")
        }
    }
}
