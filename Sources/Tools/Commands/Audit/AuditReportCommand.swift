import ArgumentParser
import Foundation
import Ledger
import Node
import Projections

/// `kvitto audit report`: every event an audit query finds, at one checkpoint, as JSON, CSV,
/// HTML or PDF (Schemas/audit-report.md).
struct AuditReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "An audit report: the events of a mailbox, a participant, a person or a type, at one checkpoint.",
        discussion: """
            You are the OS user running the command (os:<user>) and need the audit right on what you ask about. The report \
            covers the ledger up to a signed checkpoint and names it: the newest one (written now when the node is not \
            running), or the one you give with --checkpoint, so the same report can be recomputed later and compared byte \
            for byte. Examples: every access by one person last quarter: --actor pnr:197001011234 --type message.accessed \
            --since 2026-07-01T00:00:00Z --until 2026-10-01T00:00:00Z; who read a mailbox in March: --mailbox \
            socialtjansten@0203:a.example.se --type message.accessed --since 2026-03-01T00:00:00Z --until 2026-04-01T00:00:00Z.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, csv, html, pdf }

    @OptionGroup var location: NodeLocation
    @Option(help: "A participant (organisation id).") var participant: String?
    @Option(help: "A functional mailbox (function@participant).") var mailbox: String?
    @Option(help: "One actor (an identity's name, e.g. pnr:197001011234): its access log.") var actor: String?
    @Option(help: "One event type (e.g. message.accessed).") var type: String?
    @Option(help: "Events at or after this time (RFC 3339).") var since: String?
    @Option(help: "Events before this time (RFC 3339).") var until: String?
    @Option(help: "Compute at this checkpoint (its seq, as an earlier report names it).") var checkpoint: UInt64?
    @Option(help: "json, csv, html or pdf (pdf needs Chromium and --out).") var format: Format = .json
    @Option(help: "The language of the HTML and PDF headings: sv or en.") var lang: String = "sv"
    @Option(help: "Write the report to this file (default: standard output).") var out: String?

    func run() async throws {
        guard let language = AuditReportFormat.Language(rawValue: lang) else { throw CLI.fail("--lang is sv or en") }
        if format == .pdf, out == nil { throw CLI.fail("--format pdf needs --out FILE") }
        func moment(_ text: String?, _ name: String) throws -> Timestamp? {
            guard let text else { return nil }
            guard let t = Timestamp(rfc3339: text) else { throw CLI.fail("\(name) is not an RFC 3339 time, e.g. 2026-03-01T00:00:00Z") }
            return t
        }
        var query = AuditLog.Query(participant: participant, mailbox: try mailbox.map { try NodeCLI.address($0, "--mailbox") }, actor: actor, type: type)
        query.since = try moment(since, "--since")
        query.until = try moment(until, "--until")
        try await NodeCLI.run {
            let reader = try NodeReader.open(node: location.node, needsWriting: false)
            defer { reader.close() }
            let reporter = AuditReporter(log: AuditLog(access: reader.access), node: reader.name, writesCheckpoints: reader.writable)
            let report = try await reporter.report(query, checkpoint: checkpoint, as: reader.principal)
            let bytes: [UInt8]
            switch format {
            case .json: bytes = AuditReportFormat.json.render(report)
            case .csv: bytes = AuditReportFormat.csv.render(report)
            case .html: bytes = AuditReportFormat.html.render(report, language: language)
            case .pdf:
                try PrintToPDF.print(html: AuditReportFormat.html.render(report, language: language), to: out!)
                return
            }
            if let out {
                guard FileManager.default.createFile(atPath: out, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
                    throw CLI.fail("cannot write \(out)")
                }
            } else {
                FileHandle.standardOutput.write(Data(bytes))
            }
        }
    }
}
