import ArgumentParser
import Foundation
import Ledger
import Node
import Projections

/// `kvitto events`: the node's public event stream from a shell.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Follow the public events of the mailboxes your grants show (the API's event stream, from a shell).",
        subcommands: [EventsFollowCommand.self])
}

/// `kvitto events follow`: prints the events of `GET /v1/events` as the OS user's grants show
/// them, as they are appended (also while the node runs), until interrupted or `--count` events.
struct EventsFollowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "follow", abstract: "Print new events (or, with --after, from a ledger position) as they are appended.",
        discussion: """
            You are the OS user running the command (os:<user>); your grants decide, as of each event, what you see, \
            as in the API (Schemas/events.md): the node operator sees transport events without subjects. \
            Lines: seq, time, type, message id, mailbox, status and, when you may see it, the subject; --json prints \
            each event as its CloudEvent (one JSON object per line). Stop with Ctrl-C.
            """)

    @OptionGroup var location: NodeLocation
    @Option(help: "Only this functional address (function@participant); repeat for several.") var mailbox: [String] = []
    @Option(help: "Only this event type (e.g. se.sdk.message.received); repeat for several.") var type: [String] = []
    @Option(help: "Start after this ledger seq (0: from the beginning); without it, only new events.") var after: UInt64?
    @Option(help: "Stop after this many events.") var count: Int?
    @Flag(help: "Print each event as its CloudEvent JSON (one per line).") var json = false

    func run() async throws {
        try await NodeCLI.run {
            let reader = try NodeReader.open(node: location.node, needsWriting: false)
            defer { reader.close() }
            var filter = EventSubscription.Filter()
            for m in mailbox { filter.mailboxes.insert(try NodeCLI.address(m, "--mailbox")) }
            for t in type {
                guard let known = PublicEventType(rawValue: t) else {
                    throw CLI.fail("--type \(t) is not an event type; they are \(PublicEventType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.types.insert(known)
            }
            if let count, count < 1 { throw CLI.fail("--count must be 1 or more") }
            let config = try NodeConfig.load(directory: location.node)
            let feed = try EventFeed(ledger: reader.access.ledger, projections: reader.access.projections,
                                     source: EventFeed.source(forNode: config.name))
            let start = try after ?? reader.access.ledger.durableHead()
            var subscription = try await EventSubscription(feed: feed, access: reader.access, principal: reader.principal,
                                                           filter: filter, after: start)
            let following = Task { await feed.run() }
            defer { following.cancel() }
            var printed = 0
            while true {
                let batch = try subscription.next()
                for d in batch.deliveries {
                    // Unbuffered: a pipe reader sees each event as it comes.
                    let text = json ? String(decoding: d.event.cloudEvent(for: d.visibility), as: UTF8.self) : Self.line(d)
                    FileHandle.standardOutput.write(Data((text + "\n").utf8))
                    printed += 1
                    if let count, printed >= count { return }
                }
                if batch.deliveries.isEmpty { try await subscription.waitForEvents() }
            }
        }
    }

    /// One event as a line: seq, time, type, message, mailbox, status, subject (when shown).
    static func line(_ d: EventSubscription.Delivery) -> String {
        let body = (try? JSONParser.parse(d.event.cloudEvent(for: d.visibility))) ?? .null
        let data = body["data"] ?? .null
        var parts = [String(d.event.seq), body["time"]?.stringValue ?? "", d.event.type?.rawValue ?? "",
                     data["message_id"]?.stringValue ?? "", data["mailbox"]?.stringValue ?? "-", data["status"]?.stringValue ?? "-"]
        if let actor = data["actor"]?.stringValue { parts.append("by " + actor) }
        if let label = data["label"]?.stringValue { parts.append("\"\(label)\"") }
        return parts.joined(separator: "  ")
    }
}
