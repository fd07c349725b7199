import ArgumentParser
import Foundation
import Ledger
import Node
import Projections
import Transport

/// `kvitto participant add|update|retire|list`: the organisations the node serves, changed as
/// ledger events while the node runs (through its control socket) or when it is stopped, with no
/// file edited by hand and no restart.
struct ParticipantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "participant", abstract: "Add, change, retire and list the organisations this node serves (recorded as ledger events).",
        subcommands: [Add.self, Update.self, Retire.self, List.self])

    /// `FUNCTION=NAME` (the name defaults to the function).
    static func function(_ text: String) throws -> NodeConfig.Function {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard let f = parts.first, !f.isEmpty else { throw ValidationError("--function is FUNCTION=NAME, e.g. registrator=Registraturen") }
        return NodeConfig.Function(function: f, name: parts.count == 2 ? parts[1] : f)
    }

    /// The O2O identity in `file` (PKCS#12 or a PEM bundle with the key), opened by this
    /// process (the node's user need not be able to read it), as the text the node stores.
    static func identity(_ file: String, passwordFile: String?) throws -> ParticipantAdministration.IdentityText {
        let password = try passwordFile.map { try NodeCredentials.password(file: $0) }
        do { return ParticipantAdministration.IdentityText(try SigningIdentity(keyPath: file, certificatePath: nil, password: password)) } catch {
            throw NodeError(.keyUnusable, "the O2O identity \(file): \(error.description) (give a PKCS#12 file, with --p12-password-file when it has a password, or a PEM bundle with the key and certificates)")
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Serve a new organisation: its O2O identity, functional addresses and administrator.",
            discussion: """
                Writes the O2O identity under pki/ (never over an existing file) and, with content encryption, a key-encryption \
                key; adds the participant to kvitto.json; records participant.added, node.certificate.changed, the address-book \
                entries and the administrator's grant. A running node serves it at once. Needs the manage right on the node. \
                On a node with a throwaway CA (demos, tests) the O2O certificate is issued when --o2o-p12 is not given.
                """)

        @OptionGroup var location: NodeLocation
        @Option(help: "The organisation's participant id, e.g. 0203:c.example.se.") var participant: String
        @Option(help: "The organisation's name.") var name: String
        @Option(name: .customLong("function"), help: "A functional address: FUNCTION=NAME, e.g. registrator=Registraturen. Repeatable; at least one.")
        var functions: [String] = []
        @Option(help: "The function that receives messages addressed to a function the organisation does not have.") var catchAll: String?
        @Option(name: .customLong("o2o-p12"), help: "The organisation's O2O identity from the federation's CA: PKCS#12 or a PEM bundle with the key.")
        var o2oP12: String?
        @Option(help: "A file whose first line is the PKCS#12 password.") var p12PasswordFile: String?
        @Option(help: "Who administers the organisation (the manage right on participant:ID), e.g. os:alice or hsa:SE2321000016-1234.")
        var administrator: String?
        @Option(help: "Why (recorded in participant.added).") var reason: String = "onboarded (kvitto participant add)"
        @Flag(help: "Print the outcome as JSON.") var json = false

        func run() async throws {
            try await NodeCLI.run {
                var a = ParticipantAdministration.Addition(participant: participant, name: name, functions: try functions.map(ParticipantCommand.function),
                                                           reason: reason)
                a.catchAllFunction = catchAll
                a.identity = try o2oP12.map { try ParticipantCommand.identity($0, passwordFile: p12PasswordFile) }
                if let administrator {
                    guard let name = PrincipalName(administrator) else {
                        throw ValidationError("--administrator is a principal name: os:USER, pnr:…, hsa:…, sub:ISSUER#SUB, client:… or cert:…")
                    }
                    a.administrator = name
                }
                let outcome = try await NodeAdmin.perform(.addParticipant(a), node: location.node)
                print(json ? String(decoding: CanonicalJSON.encode(outcome.result), as: UTF8.self) : outcome.text)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update", abstract: "Rename an organisation, change its functions or catch-all mailbox, or replace its O2O identity.",
            discussion: """
                A new O2O identity (--o2o-p12) takes over signing and decryption at once; the earlier one keeps decrypting what \
                senders still encrypt to it until --end-overlap. Replacing the identity needs the manage right on the node; the \
                rest, the manage right on the participant.
                """)

        @OptionGroup var location: NodeLocation
        @Option(help: "The participant id.") var participant: String
        @Option(help: "A new name.") var name: String?
        @Option(name: .customLong("function"), help: "Add (or rename) a functional address: FUNCTION=NAME. Repeatable.") var functions: [String] = []
        @Option(name: .customLong("remove-function"), help: "Remove a functional address (the function). Repeatable.") var removeFunctions: [String] = []
        @Option(help: "A new catch-all function.") var catchAll: String?
        @Flag(help: "Remove the catch-all mailbox (messages to unknown functions are rejected).") var noCatchAll = false
        @Option(name: .customLong("o2o-p12"), help: "A new O2O identity (PKCS#12 or a PEM bundle with the key).") var o2oP12: String?
        @Option(help: "A file whose first line is the PKCS#12 password.") var p12PasswordFile: String?
        @Flag(help: "Stop decrypting with the earlier O2O identities (their files stay).") var endOverlap = false
        @Option(help: "Why (recorded in participant.updated).") var reason: String = "changed (kvitto participant update)"
        @Flag(help: "Print the outcome as JSON.") var json = false

        func validate() throws {
            if catchAll != nil && noCatchAll { throw ValidationError("--catch-all and --no-catch-all contradict each other") }
        }

        func run() async throws {
            try await NodeCLI.run {
                var u = ParticipantAdministration.Update(participant: participant, reason: reason)
                u.name = name
                u.setFunctions = try functions.map(ParticipantCommand.function)
                u.removeFunctions = removeFunctions
                u.catchAllFunction = catchAll
                u.clearCatchAll = noCatchAll
                u.identity = try o2oP12.map { try ParticipantCommand.identity($0, passwordFile: p12PasswordFile) }
                u.endOverlap = endOverlap
                let outcome = try await NodeAdmin.perform(.updateParticipant(u), node: location.node)
                print(json ? String(decoding: CanonicalJSON.encode(outcome.result), as: UTF8.self) : outcome.text)
            }
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retire", abstract: "Stop serving an organisation; its history stays in the ledger.",
            discussion: """
                Refused while messages of the organisation are still being delivered or answered. Nothing is sent or received \
                for it afterwards and it leaves the address book; its key files and key-encryption key stay on the node, so those \
                granted its mailboxes can still read its history. Needs the manage right on the node.
                """)

        @OptionGroup var location: NodeLocation
        @Option(help: "The participant id.") var participant: String
        @Option(help: "Why (recorded in participant.retired).") var reason: String
        @Flag(help: "Print the outcome as JSON.") var json = false

        func run() async throws {
            try await NodeCLI.run {
                let outcome = try await NodeAdmin.perform(.retireParticipant(participant: participant, reason: reason), node: location.node)
                print(json ? String(decoding: CanonicalJSON.encode(outcome.result), as: UTF8.self) : outcome.text)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The organisations this node serves, and those it retired.")

        @OptionGroup var location: NodeLocation
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await NodeCLI.run {
                let config = try NodeConfig.load(directory: location.node)
                var served: [JSONValue] = []
                for p in config.participants {
                    var o: [String: JSONValue] = ["participant": .string(p.id), "name": .string(p.name),
                                                  "functions": .object(Dictionary(p.functions.map { ($0.function, JSONValue.string($0.name)) }, uniquingKeysWith: { $1 })),
                                                  "o2o_certificate": .string(p.o2oCertificate),
                                                  "catch_all_function": p.catchAllFunction.map { .string($0) } ?? .null,
                                                  "o2o_previous": .int(Int64(p.o2oPrevious?.count ?? 0))]
                    if let c = try? CertificateFile.read(path: NodeConfig.resolve(p.o2oCertificate, in: location.node)).first {
                        o["o2o_not_after"] = .string(ISO8601DateFormatter().string(from: c.notValidAfter))
                    }
                    served.append(.object(o))
                }
                let retired: [JSONValue] = (config.retiredParticipants ?? []).map {
                    ["participant": .string($0.id), "name": .string($0.name), "retired_at": .string($0.retiredAt)]
                }
                if json {
                    print(String(decoding: CanonicalJSON.encode(.object(["participants": .array(served), "retired": .array(retired)])), as: UTF8.self))
                    return
                }
                for p in config.participants {
                    let functions = p.functions.map { "\($0.function) (\($0.name))" }.joined(separator: ", ")
                    print("\(p.id)  \(p.name)  — \(functions)" + (p.catchAllFunction.map { "; catch-all \($0)" } ?? "")
                          + ((p.o2oPrevious?.isEmpty ?? true) ? "" : "; \(p.o2oPrevious!.count) earlier O2O identity(ies) in overlap"))
                }
                for r in config.retiredParticipants ?? [] { print("\(r.id)  \(r.name)  — retired \(r.retiredAt)") }
            }
        }
    }
}
