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
                pki/content. A running node does it and seals with the new keys from the next message on. Needs the manage \
                right on the node. Keep a safe copy of every key apart from the node's backups.
                """)

        @OptionGroup var location: NodeLocation
        @Option(help: "When turning encryption on: confidential (messages marked confidential) or all.") var scope: String?
        @Option(help: "Make a new key for this participant although content is sealed under a key of it whose file is missing (that content stays unreadable unless the old file comes back). Repeatable.")
        var replaceLostKey: [String] = []

        func run() async throws {
            try await NodeCLI.run {
                print(try await NodeAdmin.perform(.createContentKeys(scope: scope, replaceLostKey: replaceLostKey), node: location.node).text)
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
