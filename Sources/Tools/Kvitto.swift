import ArgumentParser

/// `kvitto`: the command line of a Kvitto node.
@main
struct Kvitto: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvitto",
        abstract: "Kvitto: an audit-first messaging node for SDK (Säker digital kommunikation).",
        subcommands: [
            DemoCommand.self, InitCommand.self, CheckCommand.self, ContentKeyCommand.self, ServeCommand.self, SendCommand.self, MailboxCommand.self, TraceCommand.self, ReadCommand.self, EraseCommand.self,
            GrantCommand.self, RevokeCommand.self, GrantsCommand.self, TokenCommand.self, WhoamiCommand.self,
            EventsCommand.self, AuditCommand.self, AddressBookCommand.self, ParticipantCommand.self, RouteCommand.self, ProjectionsCommand.self, BackupCommand.self, RestoreCommand.self, LedgerCommand.self, SDKCommand.self, BenchCommand.self,
        ]
    )
}
