import ArgumentParser
import Ledger

/// `kvitto ledger append`: event drafts as JSON lines on stdin → durable events; prints each seq.
struct LedgerAppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append event drafts read as JSON lines from standard input; print each assigned seq.",
        discussion: """
            Each line is {"type": …, "subject": …, "actor": …, "payload": {…}} (optionally "type_version").
            Lines that arrive together are appended as one batch; a seq is printed only once its event
            is durable. Creates the ledger (and its signing key) when the directory has none.
            """
    )

    @OptionGroup var location: LedgerLocation

    @Option(help: "Most lines appended as one batch.")
    var batch: Int = 256

    @Option(help: "Write a checkpoint after this many events.")
    var checkpointEvery: UInt64?

    @Option(help: "Largest size the ledger file may grow to, in bytes.")
    var maxSize: Int?

    @Flag(help: "Print each appended event as JSON instead of its seq.")
    var json = false

    func run() async throws {
        var options = location.options(readOnly: false, create: true)
        if let checkpointEvery { options.checkpointEvery = checkpointEvery }
        if let maxSize {
            options.maxMapSize = maxSize
            options.initialMapSize = Swift.min(options.initialMapSize, maxSize)
        }
        try await CLI.run {
            let ledger = try Ledger.open(at: location.ledger, options: options)
            defer { ledger.close() }
            let input = StdinLines()
            var lineNumber = 0
            while true {
                let lines = await input.take(max: Swift.max(1, batch))
                if lines.isEmpty { break }
                var drafts: [EventDraft] = []
                var bad: (line: Int, error: any Error)?
                for line in lines {
                    lineNumber += 1
                    if line.allSatisfy(\.isWhitespace) { continue }
                    do {
                        drafts.append(try EventDraft(json: JSONParser.parse(line)))
                    } catch {
                        bad = (lineNumber, error)
                        break
                    }
                }
                // The lines before a bad one are appended (and acknowledged) before stopping.
                let events = try await ledger.append(drafts)
                FileHandleOutput.stdout(events.map { (json ? $0.jsonLine : String($0.seq)) + "\n" }.joined())
                if let bad { throw CLI.fail("line \(bad.line): \(bad.error); the lines before it were appended") }
            }
        }
    }
}
