import ArgumentParser
import Ledger
import Node
import Projections

/// `kvitto addressbook add|remove|list`: organisations and functional addresses, as ledger events
/// (the API does the same: `/v1/address-book`). Changing needs the manage right on the
/// organisation's participant or on the node; while the node runs, it makes the change.
struct AddressBookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "addressbook", abstract: "Add, rename, remove and list organisations and functional addresses (recorded as ledger events).",
        subcommands: [Add.self, Remove.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add (or rename) an organisation and optionally one of its functional addresses.")

        @OptionGroup var location: NodeLocation
        @Option(help: "The organisation's participant id, e.g. 0203:b.example.se.") var participant: String
        @Option(help: "The organisation's name.") var name: String
        @Option(help: "A functional address of it (the function part, e.g. registrator).") var function: String?
        @Option(help: "The function's display name.") var functionName: String?

        func run() async throws {
            try await NodeCLI.run {
                let operation = AdminOperation.putAddress(participant: participant, name: name, function: function, functionName: functionName)
                print(try await NodeAdmin.perform(operation, node: location.node).text)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove", abstract: "Remove a functional address, or an organisation with all of its functional addresses.")

        @OptionGroup var location: NodeLocation
        @Option(help: "The organisation's participant id.") var participant: String
        @Option(help: "Only this functional address of it (the function part); without it the whole organisation.") var function: String?

        func run() async throws {
            try await NodeCLI.run {
                print(try await NodeAdmin.perform(.removeAddress(participant: participant, function: function), node: location.node).text)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the address book.")

        @OptionGroup var location: NodeLocation
        @Option(help: "Only organisations and functions matching these words (case- and diacritic-insensitive: \"malmo\" finds \"Malmö\").")
        var search: String?

        func run() async throws {
            try await NodeCLI.run {
                let config = try NodeConfig.load(directory: location.node)
                var options = LedgerOptions()
                options.readOnly = true
                let ledger = try Ledger.open(at: NodeConfig.resolve(config.ledger, in: location.node), options: options)
                defer { ledger.close() }
                let projections = try NodeProjectionStore.open(node: location.node, ledger: ledger)
                let book = try projections.currentNodeState { try $0.addressBook() }
                let words = search.map(SearchText.words) ?? []
                for o in book.organizations.values.sorted(by: { $0.participant < $1.participant }).compactMap({ AddressDirectory.match($0, words) }) {
                    print("\(o.participant)  \(o.name)")
                    for (f, n) in o.functions.sorted(by: { $0.key < $1.key }) { print("    \(f)@\(o.participant)  \(n)") }
                }
            }
        }
    }
}
