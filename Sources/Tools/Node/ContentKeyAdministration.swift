import Foundation
package import Ledger
package import Projections
#if canImport(Glibc)
import Glibc
#endif

/// `kvitto content-key create`, run where the ledger is: turns content encryption on (when it is
/// off) and writes a key-encryption key for every participant that has none — never replacing
/// one. A running node seals with the new keys from the next message on. Needs the manage right
/// on the node.
///
/// A participant whose file is missing while content of it is sealed under a key of its gets no
/// new key (restoring the file is the way back to that content) unless `replaceLostKey` names it.
package struct ContentKeyAdministration: Sendable {
    package let access: MessageAccess
    package let directory: String
    /// True in the running node (the CLI with the node stopped must run as the directory's owner).
    package let running: Bool

    package init(access: MessageAccess, directory: String, running: Bool) {
        self.access = access
        self.directory = directory
        self.running = running
    }

    /// Each participant's key file, and whether it was written now.
    package struct Outcome: Sendable {
        package var scope: String
        package var keys: [(participant: String, path: String, created: Bool, id: String)]
    }

    package func create(scope: String?, replaceLostKey: Set<String>, by principal: Principal) async throws(NodeError) -> Outcome {
        let policy = try access.policy(for: principal)
        guard policy.mayManage(.node) else {
            await access.refuse(AccessDenial(reason: .noManageGrant, resource: "content-keys", action: "content_key_create"), principal)
            throw NodeError(.forbidden, "creating key-encryption keys needs the manage right on the node; the refusal was recorded")
        }
        return try await ConfigurationChange.exclusively(directory, checkOwner: !running) { () async throws(NodeError) in
            var config = try NodeConfig.load(directory: directory)
            let before = config
            if let encryption = config.contentEncryption {
                if let scope, scope != encryption.scope {
                    throw NodeError(.invalidRequest, "content encryption is on with scope \(encryption.scope); --scope changes nothing here (edit content_encryption.scope in kvitto.json and restart)")
                }
            } else {
                let scope = scope ?? "confidential"
                guard NodeConfig.ContentEncryption.scopes.contains(scope) else { throw NodeError(.invalidRequest, "--scope is confidential or all") }
                config.contentEncryption = .init(scope: scope, keyDirectory: "pki/content")
            }
            guard let encryption = config.contentEncryption else { throw NodeError(.configInvalid, "content_encryption is missing") }
            let folder = NodeConfig.resolve(encryption.keyDirectory, in: directory)
            let ids = config.participants.map(\.id)
            let missing = Set(ids.filter { p in
                var st = stat()
                return lstat(ContentVault.keyFile(participant: p, in: folder), &st) != 0
            })
            // Participants with content sealed under a key whose file is missing: refused unless named.
            let lost = try sealedUnderMissingKeys(missing)
            try refuse(lost.filter { !replaceLostKey.contains($0.key) }, folder: folder)
            let written = ids.filter(missing.contains).map { ContentVault.keyFile(participant: $0, in: folder) }
            let undo = { for path in written { unlink(path) } }
            do { try NodeSetup.writeKeyEncryptionKeys(ids, in: folder) } catch {
                undo()
                if let e = error as? NodeError { throw e }
                throw NodeError(.storage, "writing the key-encryption keys in \(folder): \(error)")
            }
            // Each new key on record (its id), in one append; the configuration is saved first and
            // put back, with the new files removed, when the append fails.
            var drafts: [EventDraft] = []
            do throws(NodeError) {
                for p in ids where missing.contains(p) {
                    drafts.append(ContentKeyRecord.draft(participant: p, keyID: try ContentKeyRecord.keyID(ContentVault.keyFile(participant: p, in: folder)),
                                                         scope: encryption.scope, turnedOn: before.contentEncryption == nil,
                                                         replacesLostKey: lost[p] != nil,
                                                         command: .contentKeyCreate, actor: principal.actor))
                }
            } catch {
                undo()
                throw error
            }
            if config != before {
                _ = try await ConfigurationChange.commit(config, previous: before, directory: directory, drafts: drafts, to: access.ledger, undo: undo)
                access.vault.reconfigure(config, directory: directory)
            } else if !drafts.isEmpty {
                do { _ = try await access.ledger.append(drafts) } catch {
                    undo()
                    throw NodeError(.storage, "recording the new key-encryption keys: \(error); nothing was changed")
                }
            }
            return Outcome(scope: encryption.scope, keys: ids.map { p in
                let path = ContentVault.keyFile(participant: p, in: folder)
                return (p, path, missing.contains(p), (try? KeyEncryptionKey.load(path: path).id) ?? "unusable")
            })
        }
    }

    /// The key ids under which content of each of `missing` (participants whose key file is
    /// missing) is sealed; a participant with no sealed content is left out.
    private func sealedUnderMissingKeys(_ missing: Set<String>) throws(NodeError) -> [String: Set<String>] {
        guard !missing.isEmpty else { return [:] }
        var sealedUnder: [String: Set<String>] = [:]
        do {
            _ = try access.projections.catchUp()
            for r in try NodeStateProjection.messages(in: access.projections.storage, where: { $0.contentKey != nil && missing.contains($0.participant) }) {
                sealedUnder[r.participant, default: []].insert(r.contentKey?.kek ?? "")
            }
        } catch {
            throw NodeError(.storage, "reading which content is sealed: \(error)")
        }
        return sealedUnder
    }

    /// Refuses when content of a participant in `lost` is sealed under a key whose file is missing.
    private func refuse(_ lost: [String: Set<String>], folder: String) throws(NodeError) {
        if let (participant, keys) = lost.sorted(by: { $0.key < $1.key }).first {
            throw NodeError(.conflict, "\(participant) has content sealed under key \(keys.sorted().joined(separator: ", ")), but its file \(ContentVault.keyFile(participant: participant, in: folder)) is missing: restore it from its safe copy (a new key cannot open that content); only if that key is lost for good, give --replace-lost-key \(participant)")
        }
    }
}
