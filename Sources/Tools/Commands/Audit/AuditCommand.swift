import ArgumentParser

/// `kvitto audit`: evidence for information-security officers.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Audit reports of the ledger, and offline checks of evidence bundles.",
        subcommands: [AuditReportCommand.self, AuditVerifyCommand.self])
}
