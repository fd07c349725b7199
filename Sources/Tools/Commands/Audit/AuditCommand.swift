import ArgumentParser

/// `kvitto audit`: evidence for information-security officers.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Check evidence bundles offline.",
        subcommands: [AuditVerifyCommand.self])
}
