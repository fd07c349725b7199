import ArgumentParser
import Foundation
import Ledger
import Logging
import Node
import Projections

/// `kvitto demo`: the main job — two nodes for two organisations exchange a real SDK message.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Two nodes on 127.0.0.1 (HTTPS, mutual TLS) exchange an SDK message with an attachment; print its timeline and verify both ledgers.")

    @Option(help: "Directory for the two nodes (default: a fresh temporary one, kept and printed).")
    var dir: String?

    @Option(help: "Log level of the nodes (trace … critical).")
    var logLevel = "warning"

    func run() async throws {
        MemoryTuning.apply()
        try NodeCLI.bootstrapLogging(level: logLevel)
        let base = dir ?? NSTemporaryDirectory() + "kvitto-demo-\(UUID().uuidString.prefix(8).lowercased())"
        let started = Date()
        try await NodeCLI.run {
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
            var settings = DemoNetwork.Settings()
            settings.developmentIssuer = true
            let (dirA, dirB) = try await DemoNetwork.create(in: base, settings: settings)
            let nodeA = try Node.open(directory: dirA)
            let nodeB: Node
            do { nodeB = try Node.open(directory: dirB) } catch { await nodeA.close(); throw error }
            let a = DemoNetwork.a, b = DemoNetwork.b
            print("Kvitto demo: two access points on 127.0.0.1, HTTPS with mutual TLS, one throwaway CA")
            for (label, node, org) in [("A", nodeA, a), ("B", nodeB, b)] {
                print("  node \(label)  \(org.name) (\(org.participant))  https://127.0.0.1:\(node.config.as4.port)/as4  \(node.directory)")
            }
            let attachment = Array(Self.samplePDF.utf8)
            let message = OutboundMessage(
                from: .init(participant: a.participant, function: a.function), to: .init(participant: b.participant, function: b.function),
                label: "Kallelse till samordnad individuell plan (SIP)",
                texts: ["Hej! Vi kallar till ett SIP-möte den 3 december kl. 10.00. Kallelsen är bifogad."],
                attachments: [.init(fileName: "kallelse-sip.pdf", contentType: "application/pdf", content: attachment)],
                reference: "SOC 2026/1234")
            let outcome: (id: String, status: MessageStatus, answered: Bool)
            do {
                // Rights come only from grants in the ledger: `kvitto init` made the OS user running the
                // demo administrator of both nodes; it grants itself send at A and read at B (recorded).
                let me = OSUser.principal()
                _ = try await GrantAdministration(access: nodeA.access).grant(
                    .init(grantee: me.names[0], scope: .mailbox(message.from), rights: [.send], reason: "kvitto demo: send the demo message"), by: me)
                _ = try await GrantAdministration(access: nodeB.access).grant(
                    .init(grantee: me.names[0], scope: .mailbox(message.to), rights: [.read], reason: "kvitto demo: read the demo message"), by: me)
                // …and a case officer at B, who signs in to the API with a (development) token.
                _ = try await GrantAdministration(access: nodeB.access).grant(
                    .init(grantee: Self.officer, scope: .mailbox(message.to), rights: [.read], reason: "kvitto demo: handläggare at B"), by: me)
                outcome = try await DemoNetwork.running([nodeA, nodeB]) { _ in
                    try await nodeA.access.authorizeSend(from: message.from, as: me)
                    let id = try await nodeA.submit(message, actor: me.actor)
                    print("\nSent \"\(message.label ?? "")\"\n  from \(message.from) to \(message.to): 1 text part, 1 attachment (\(attachment.count) bytes)")
                    print("  message id \(id); waiting for the AS4 receipt and the Meddelandekvittens …")
                    var status = MessageStatus.submitted
                    var answered = false
                    _ = try await DemoNetwork.wait(timeout: 50) {
                        status = try nodeA.read { try $0.message(id)?.status } ?? .submitted
                        // B's Meddelandekvittens has its own AS4 receipt from A: wait for that too.
                        let receiptDispatch = try nodeB.read { b in try b.message(id)?.receiptDispatch.flatMap(b.dispatch) }
                        answered = receiptDispatch?.outcome == .delivered
                        return [.accepted, .rejected, .failed].contains(status) && answered
                    }
                    return (id, status, answered)
                }
            } catch {
                await nodeA.close(); await nodeB.close()
                throw error
            }
            // B's user opens the attachment: the read is recorded at B before a byte is returned.
            let opened = try await nodeB.access.content(outcome.id, part: .attachment(0), purpose: "kvitto demo", as: OSUser.principal())
            print("\nAt B, \(OSUser.current()) read \(opened.fileName) (\(opened.bytes.count) bytes) after the read was recorded as event \(opened.accessSeq)")
            print("\nTimeline of message \(outcome.id) from both ledgers:")
            let entries = try MessageTimeline.entries(message: outcome.id, from: [("A", nodeA.projections), ("B", nodeB.projections)])
            print(MessageTimeline.render(entries))
            let record = try nodeA.read { try $0.message(outcome.id) }
            await nodeA.close()
            let nodeBConfig = nodeB.config
            await nodeB.close()
            print("\nAt A the message is \(outcome.status.rawValue)" + (record?.verdict.map { " (Meddelandekvittens \($0.status))" } ?? ""))
            var ok = outcome.status == .accepted && outcome.answered
            for (label, dir) in [("A", dirA), ("B", dirB)] {
                var options = LedgerOptions()
                options.readOnly = true
                let ledger = try Ledger.open(at: dir + "/ledger", options: options)
                let report = LedgerVerifier(ledger: ledger).run()
                let blobs = report.ok ? BlobVerifier(ledger: ledger).run() : nil
                ledger.close()
                if let f = report.failure ?? blobs?.failure {
                    ok = false
                    print("Ledger \(label): FAILED verification: \(f)")
                } else {
                    print("Ledger \(label): verified — \(report.events) signed events, hash chain, signatures and checkpoints intact;"
                        + " \(blobs?.present ?? 0) referenced blobs re-hashed")
                }
            }
            print(String(format: "\nDone in %.1f s. Explore (as %@, with the grants above):", Date().timeIntervalSince(started), OSUser.current()))
            print("  kvitto mailbox --node \(dirB)")
            print("  kvitto read --node \(dirB) \(outcome.id) --attachment 0 --out kallelse-sip.pdf")
            print("  kvitto trace --node \(dirB) \(outcome.id)")
            print("  kvitto grants --node \(dirB)")
            if let api = nodeBConfig.api {
                let url = "https://127.0.0.1:\(api.port)"
                let token = "\"Authorization: Bearer $(kvitto token --node \(dirB) --pnr \(Self.officer.value))\""
                let curl = "curl -s --cacert \(dirB)/trust/tls/ca.crt -H \(token)"
                print("\nOver the HTTP API (Schemas/openapi.yaml), as the case officer \(Self.officer) with a development token:")
                print("  kvitto serve --node \(dirB) &")
                print("  \(curl) \(url)/v1/mailboxes/\(b.function)@\(b.participant)/messages")
                print("  \(curl) \(url)/v1/messages/\(outcome.id)/content")
                print("  \(curl) \(url)/v1/messages/\(outcome.id)/trace")
            }
            guard ok else { throw CLI.fail("the demo message was not delivered and accepted (status \(outcome.status.rawValue))", code: 1) }
        }
    }

    /// The case officer at B the demo grants read to, who uses the API.
    static let officer = PrincipalName(kind: .pnr, value: "197001011234")

    /// A tiny valid one-page PDF ("Kallelse").
    static let samplePDF = """
        %PDF-1.4
        1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
        2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
        3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >> endobj
        4 0 obj << /Length 58 >> stream
        BT /F1 18 Tf 72 770 Td (Kallelse till SIP-mote 3 december) Tj ET
        endstream endobj
        5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj
        trailer << /Root 1 0 R >>
        %%EOF

        """
}
