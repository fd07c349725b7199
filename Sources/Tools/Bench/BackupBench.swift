import ArgumentParser
import Foundation
import Ledger
import Node
import Workload

/// `kvitto bench backup`: `kvitto backup` of a node holding `--messages` messages' worth of
/// content (blobs of the sizes a two-node exchange stores: XHE, SOAP envelopes, receipts, SDK
/// message) in MB of the node directory per second, next to a plain copy of the same directory
/// (`cp -a`, then `sync`: a copy is a backup once it is on disk) in the same run. Both run twice with the page cache warm; the faster run of each
/// counts. The backup's figure includes what it does beyond copying: the compacted LMDB copies, the
/// re-hash of every blob and the read-back verification of the whole backup.
struct BackupBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "kvitto backup MB/s of a node directory next to a plain copy (cp -a) of the same directory, same run.")

    @Flag(help: "Print JSON lines.") var json = false
    @Option(help: "Messages' worth of content in the node (six blobs, about 41 KB, per message).") var messages = 5_000
    @Option(help: "Directory for the node and the copies (default: a temporary one, removed); choose the file system to measure.")
    var dir: String?

    /// The blobs one message leaves on a node, by size: XHE, SDK message, the AS4 envelopes sent
    /// and received, the transport receipt, the Meddelandekvittens.
    static let blobSizes = [11_136, 2_600, 13_800, 6_900, 2_300, 4_400]

    // The copies stay until the end: on ext4 without a journal, inodes freed in the last 30 s
    // are skipped one by one when new ones are allocated, which would slow whichever runs next.
    func run() async throws {
        var printer = BenchPrinter(json: json)
        let base = (dir ?? NSTemporaryDirectory()) + "/kvitto-bench-backup-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let (node, _) = try await NodeCLI.run { try await DemoNetwork.create(in: base) }
        let t0 = Date()
        let blobs = try await NodeCLI.run { try await Self.populate(node: node, messages: messages) }
        EvidenceBench.note("node: \(messages) messages, \(blobs) blobs written in \(format(Date().timeIntervalSince(t0), digits: 1)) s")
        let (files, bytes) = try Self.size(of: node)
        let megabytes = Double(bytes) / 1e6

        var copySeconds = Double.infinity, backupSeconds = Double.infinity
        var manifest: BackupManifest?
        for round in 0..<2 {
            sync()  // each step starts with no dirty pages of the one before
            let c0 = Date()
            let cp = Process()
            cp.executableURL = URL(fileURLWithPath: "/bin/cp")
            cp.arguments = ["-a", node, base + "/cp-\(round)"]
            try cp.run()
            cp.waitUntilExit()
            guard cp.terminationStatus == 0 else { throw CLI.fail("cp -a \(node) failed with status \(cp.terminationStatus)") }
            sync()  // durable, as the backup is when it returns
            copySeconds = min(copySeconds, Date().timeIntervalSince(c0))
            sync()
            let result = try await NodeCLI.run { try NodeBackup(node: node, to: base + "/backup-\(round)").run() }
            backupSeconds = min(backupSeconds, result.seconds)
            manifest = result.manifest
        }
        printer.emit(BenchResult(
            name: "backup of a node (\(messages) messages, \(files) files, \(format(megabytes, digits: 1)) MB), verified",
            value: megabytes / backupSeconds, unit: "MB/s", limit: megabytes / copySeconds,
            limitWhat: "cp -a of the same node directory then sync (durable, as the backup), same run, page cache warm for both",
            extra: ["backup_seconds": .string(format(backupSeconds, digits: 3)), "cp_seconds": .string(format(copySeconds, digits: 3)),
                    "blob_files": .int(Int64(manifest?.blobs.copied ?? 0)), "blobs_inside_ledger": .int(Int64(manifest?.blobs.inline ?? 0)), "ledger_events": .int(Int64(manifest?.ledger.headSeq ?? 0)),
                    "node_bytes": .int(bytes)]))
    }

    /// Appends `messages` messages' worth of blobs (random content) and events that reference them.
    static func populate(node: String, messages: Int) async throws -> Int {
        let config = try NodeConfig.load(directory: node)
        let ledger = try Ledger.open(at: NodeConfig.resolve(config.ledger, in: node))
        defer { ledger.close() }
        var random = SeededRandom(seed: 7)
        var stored = 0
        var drafts: [EventDraft] = []
        for m in 0..<messages {
            var refs: [String: JSONValue] = [:]
            for (i, size) in blobSizes.enumerated() {
                var bytes = [UInt8](repeating: 0, count: size)
                for j in stride(from: 0, to: size - 7, by: 8) {
                    withUnsafeBytes(of: random.next()) { for (k, b) in $0.enumerated() { bytes[j + k] = b } }
                }
                let ref = try ledger.blobs.put(bytes)
                refs["blob\(i)"] = ["sha256": .string(ref.sha256.hex), "size": .int(ref.size)]
                stored += 1
            }
            // A ledger-level stand-in (the node never serves this directory): one event per message
            // naming its blobs.
            drafts.append(EventDraft(type: "message.submitted", subject: "message:bench-\(m)", actor: "bench", payload: .object(refs)))
            if drafts.count == 64 {
                _ = try await ledger.append(drafts)
                drafts.removeAll()
            }
        }
        if !drafts.isEmpty { _ = try await ledger.append(drafts) }
        return stored
    }

    /// Regular files and their bytes under `directory`.
    static func size(of directory: String) throws -> (files: Int, bytes: Int64) {
        var files = 0, bytes: Int64 = 0
        guard let walker = FileManager.default.enumerator(atPath: directory) else { throw CLI.fail("cannot list \(directory)") }
        while let p = walker.nextObject() as? String {
            guard let a = try? FileManager.default.attributesOfItem(atPath: directory + "/" + p),
                  a[.type] as? FileAttributeType == .typeRegular else { continue }
            files += 1
            bytes += (a[.size] as? NSNumber)?.int64Value ?? 0
        }
        return (files, bytes)
    }
}
