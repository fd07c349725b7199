import Foundation
import Transport

/// Writes the seed corpora: inputs produced by Kvitto's own writers (sealed AS4 UserMessages and
/// signals, their multipart bodies, a signed and encrypted XHE, a Meddelandekvittens) and the
/// SDK reference examples. Keys come from a throwaway PKI, so every run writes new bytes; the
/// committed corpora (Tests/Fuzz/corpus) were written once this way.
enum SeedWriter {
    /// Writes `<directory>/<target>/<name>` for every target; `reference` is the SDK reference
    /// folder (`/work/shared/reference/sdk` or a copy).
    static func write(to directory: URL, reference: URL) throws {
        let pki = try ThrowawayPKI(commonName: "Kvitto fuzz seed CA")
        let sender = try pki.issue(commonName: "AP-SENDER")
        let receiver = try pki.issue(commonName: "AP-RECEIVER")
        let example = reference.appendingPathComponent("message-v3/examples/xhe_unencrypted_payload.xml")
        let xhe = (try? [UInt8](Data(contentsOf: example))) ?? Array("<x/>".utf8)

        var seeds: [(FuzzTarget, String, [UInt8])] = []
        // soap and mime: sealed UserMessages with one and with two payloads, and their HTTP bodies.
        let sealer = AS4Sealer(pmode: .sdk(), signer: sender)
        let writer = MIMEMultipartWriter(boundary: MIMEFuzzTarget.boundary, rootContentID: "root.fuzz@kvitto")
        let payloadSets: [[AS4Payload]] = [
            [AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: xhe))],
            [AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: Array("<a>x</a>".utf8))),
             AS4Payload(contentID: "attachment", mimeType: "application/octet-stream", content: Spool(bytes: [0, 1, 2, 3]))],
        ]
        var firstWire: AS4WireMessage?
        for (n, payloads) in payloadSets.enumerated() {
            let wire = try sealer.seal(userMessage(id: "user-\(n).fuzz@kvitto"), payloads: payloads, recipient: receiver.certificate)
            firstWire = firstWire ?? wire
            seeds.append((.soap, "usermessage-\(n + 1)-payloads.xml", wire.soap))
            // The soap target fuzzes the envelope; here a short stand-in keeps the body small.
            var body: [UInt8] = []
            let small = AS4WireMessage(soap: Array("<S12:Envelope xmlns:S12=\"http://www.w3.org/2003/05/soap-envelope\"/>".utf8),
                                       attachments: wire.attachments, signedReferences: [], messageId: wire.messageId)
            _ = try small.httpBody(writer: writer) { body.append(contentsOf: $0) }
            seeds.append((.mime, "usermessage-\(n + 1)-payloads.mime", body))
        }
        seeds += handWrittenBodies().map { (.mime, $0.0, $0.1) }

        // signal: a signed receipt for the first message, a signed error, a pull request.
        let receiverSealer = AS4Sealer(pmode: .sdk(), signer: receiver)
        let signals: [(String, SignalMessage.Content)] = [
            ("receipt", .receipt(firstWire?.signedReferences ?? [])),
            ("error", .errors([EbMSError.invalidHeader("seed error")])),
            ("pullrequest", .pullRequest(mpc: SDKAS4.defaultMPC)),
        ]
        for (name, content) in signals {
            let signal = SignalMessage(messageId: "\(name).fuzz@kvitto", timestamp: AS4Time.string(Date()),
                                       refToMessageId: SignalFuzzTarget.sentMessageId, content: content)
            seeds.append((.signal, "\(name).xml", try receiverSealer.seal(signal).soap))
        }

        // xhe: the SDK reference examples, a sealed XHE (tm-base-ext-sigenc) and a receipt.
        for relative in ["message-v3/examples", "message-v3/testdata", "receipt/examples", "xhe/examples"] {
            let folder = reference.appendingPathComponent(relative)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.sorted() ?? [] where name.hasSuffix(".xml") {
                seeds.append((.xhe, "reference-\(name)", try [UInt8](Data(contentsOf: folder.appendingPathComponent(name)))))
            }
        }
        if let document = try? XMLDocument(bytes: xhe), let envelope = try? XHEEnvelope(document: document) {
            let sealed = try XHESecurity.seal(envelope, model: .signedAndEncrypted, signer: sender, recipient: receiver.certificate)
            seeds.append((.xhe, "xhe-signed-encrypted.xml", sealed))
            seeds.append((.xhe, "xhe-base.xml", envelope.xml()))
        }

        // soap and xhe: the hostile XML shapes of Tests/TransportTests/HostileXMLTests.
        for (name, xml) in hostileXML() {
            seeds.append((.soap, name, xml))
            seeds.append((.xhe, name, xml))
        }

        for (target, name, bytes) in seeds {
            let folder = directory.appendingPathComponent(target.rawValue)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(bytes).write(to: folder.appendingPathComponent(name))
        }
    }

    private static func userMessage(id: String) -> UserMessage {
        UserMessage(messageId: id, timestamp: AS4Time.string(Date()),
                    from: .init(id: "AP-SENDER", type: SDKAS4.partyType, role: SDKAS4.initiatorRole),
                    to: .init(id: "AP-RECEIVER", type: SDKAS4.partyType, role: SDKAS4.responderRole),
                    service: SDKAS4.service, serviceType: SDKAS4.serviceType, action: SDKAS4.messageAction,
                    conversationId: "xhe-id-1",
                    properties: [.init(name: "originalSender", type: SDKAS4.participantScheme, value: "0203:a.se"),
                                 .init(name: "finalRecipient", type: SDKAS4.participantScheme, value: "0203:b.se")],
                    parts: [])
    }

    /// XML the parser must refuse or survive: entities (internal and external), a DOCTYPE, deep
    /// nesting, character references, UTF-16.
    private static func hostileXML() -> [(String, [UInt8])] {
        var lol = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n"
        for i in 1...3 {
            lol += "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i == 1 ? "" : String(i - 1));", count: 4) + "\">\n"
        }
        lol += "]>\n<lolz>&lol3;</lolz>"
        var utf16: [UInt8] = [0xFF, 0xFE]
        for u in "<r a='&#x41;'>&lt;&amp;&#66;<![CDATA[x]]><!--c--><?p i?></r>".utf16 { utf16 += [UInt8(u & 0xFF), UInt8(u >> 8)] }
        return [
            ("hostile-entities.xml", Array(lol.utf8)),
            ("hostile-xxe.xml", Array("<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><r>&e;</r>".utf8)),
            ("hostile-deep.xml", Array((String(repeating: "<a>", count: 70) + String(repeating: "</a>", count: 70)).utf8)),
            ("hostile-utf16.xml", utf16),
        ]
    }

    /// Multipart bodies the writer never produces: preamble and epilogue, folded and quoted
    /// headers, whitespace after a delimiter, an empty part, a missing closing delimiter.
    private static func handWrittenBodies() -> [(String, [UInt8])] {
        let b = MIMEFuzzTarget.boundary
        let bodies = [
            ("preamble-epilogue.mime",
             "This is a preamble.\r\n--\(b)\r\nContent-Type: application/soap+xml; charset=UTF-8\r\nContent-ID: <root.fuzz@kvitto>\r\n\r\n<e/>\r\n--\(b)--\r\nepilogue\r\n"),
            ("headers.mime",
             "--\(b)  \r\nContent-Type: application/octet-stream;\r\n name=\"a;b.bin\"\r\nContent-ID:<message>\r\nContent-Transfer-Encoding: binary\r\n\r\n\u{0}\u{1}\r\n--\(b)\r\nContent-ID: <attachment>\r\n\r\n\r\n--\(b)--"),
            ("unterminated.mime", "--\(b)\r\nContent-Type: text/plain\r\n\r\nno closing delimiter\r\n--\(b)"),
        ]
        return bodies.map { ($0.0, Array($0.1.utf8)) }
    }
}
