import ArgumentParser
import Foundation
import Ledger
import Node
import Projections
#if canImport(Glibc)
import Glibc
#endif

/// `kvitto content-key`: the key-encryption keys of content encrypted at rest.
struct ContentKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "content-key", abstract: "The key-encryption keys of content encrypted at rest (Schemas/content-at-rest.md).",
        subcommands: [Create.self, List.self])

    /// `kvitto content-key create`: turns content encryption on (when it is off) and writes a key
    /// for every participant that has none; never replaces one.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Write a key-encryption key for each participant that has none (and turn content encryption on).",
            discussion: """
                Existing keys are never replaced: content sealed under a key is lost with it. A participant whose content \
                is sealed under a key whose file is missing gets no new key (restore the file) unless --replace-lost-key \
                names it. When kvitto.json has no content_encryption, it is added with --scope and the key folder \
                pki/content. Run it with the node stopped. Keep a safe copy of every key apart from the node's backups.
                """)

        @OptionGroup var location: NodeLocation
        @Option(help: "When turning encryption on: confidential (messages marked confidential) or all.") var scope: String?
        @Option(help: "Make a new key for this participant although content is sealed under a key of it whose file is missing (that content stays unreadable unless the old file comes back). Repeatable.")
        var replaceLostKey: [String] = []

        func run() async throws {
            try await NodeCLI.run {
                var config = try NodeConfig.load(directory: location.node)
                if let encryption = config.contentEncryption {
                    if let scope, scope != encryption.scope {
                        throw NodeError(.invalidRequest, "content encryption is on with scope \(encryption.scope); --scope changes nothing here (edit content_encryption.scope in kvitto.json and restart)")
                    }
                } else {
                    let scope = scope ?? "confidential"
                    guard NodeConfig.ContentEncryption.scopes.contains(scope) else { throw CLI.fail("--scope is confidential or all") }
                    config.contentEncryption = .init(scope: scope, keyDirectory: "pki/content")
                }
                // The ledger is held while the keys and the configuration change: a running node
                // (which reads both at start) or another command is refused.
                let ledger: Ledger
                do { ledger = try Ledger.open(at: NodeConfig.resolve(config.ledger, in: location.node)) } catch where (error as? LedgerError)?.code == .locked {
                    throw NodeError(.running, "the node is running (or another command holds its ledger): stop it first; the node reads its keys and content_encryption at start")
                }
                defer { ledger.close() }
                let folder = NodeConfig.resolve(config.contentEncryption!.keyDirectory, in: location.node)
                let missing = Set(config.participants.map(\.id).filter { p in
                    var st = stat()
                    return lstat(ContentVault.keyFile(participant: p, in: folder), &st) != 0
                })
                try refuseLostKeys(missing, ledger: ledger, folder: folder)
                do { try NodeSetup.writeKeyEncryptionKeys(config.participants.map(\.id), in: folder) } catch let e as NodeError { throw e } catch {
                    throw NodeError(.storage, "writing the key-encryption keys in \(folder): \(error)")
                }
                try config.save(directory: location.node)
                for p in config.participants {
                    let path = ContentVault.keyFile(participant: p.id, in: folder)
                    let id = (try? KeyEncryptionKey.load(path: path).id) ?? "unusable"
                    print("\(p.id): \(path) (\(missing.contains(p.id) ? "new" : "kept"), key \(id))")
                }
            }
        }

        /// A participant whose key file is missing but whose content is sealed under a key of its
        /// (the file was lost, or lies on a volume not mounted) gets no new key unless
        /// `--replace-lost-key` names it: restoring the old file is the way back to that content.
        private func refuseLostKeys(_ missing: Set<String>, ledger: Ledger, folder: String) throws {
            let unexcused = missing.subtracting(replaceLostKey)
            guard !unexcused.isEmpty else { return }
            let projections = try NodeProjectionStore.open(node: location.node, ledger: ledger)
            _ = try projections.catchUp()
            var sealedUnder: [String: Set<String>] = [:]
            for r in try NodeStateProjection.messages(in: projections.storage, where: { $0.contentKey != nil && unexcused.contains($0.participant) }) {
                sealedUnder[r.participant, default: []].insert(r.contentKey?.kek ?? "")
            }
            if let (participant, keys) = sealedUnder.sorted(by: { $0.key < $1.key }).first {
                throw NodeError(.conflict, "\(participant) has content sealed under key \(keys.sorted().joined(separator: ", ")), but its file \(ContentVault.keyFile(participant: participant, in: folder)) is missing: restore it from its safe copy (a new key cannot open that content); only if that key is lost for good, give --replace-lost-key \(participant)")
            }
        }
    }

    /// `kvitto content-key list`: each participant's key file and whether the node can use it.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Each participant's key-encryption key: its file, its id, and whether the node can use it.")

        @OptionGroup var location: NodeLocation

        func run() async throws {
            try await NodeCLI.run {
                let config = try NodeConfig.load(directory: location.node)
                guard let encryption = config.contentEncryption else {
                    print("content encryption is off: content is stored unencrypted (`kvitto content-key create` turns it on)")
                    return
                }
                print("scope: \(encryption.scope)")
                let folder = NodeConfig.resolve(encryption.keyDirectory, in: location.node)
                var unusable = 0
                for p in config.participants {
                    let path = ContentVault.keyFile(participant: p.id, in: folder)
                    do { print("\(p.id): \(path): key \(try KeyEncryptionKey.load(path: path).id)") } catch {
                        unusable += 1
                        print("\(p.id): \(path): unusable: \((error as? LedgerError)?.message ?? "\(error)")")
                    }
                }
                if unusable > 0 { throw ExitCode(1) }
            }
        }
    }
}
