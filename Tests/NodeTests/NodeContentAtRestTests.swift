import Foundation
import Ledger
import Node
import Projections
import XCTest

/// Content encrypted at rest (`Schemas/content-at-rest.md`): confidential content and attachments
/// never reach a file under the node directory in the clear — not the blob store, the
/// projections, the spool of `kvitto send` — whichever way they came (submitted, delivered inside
/// the node, received over AS4); audited reads return the exact bytes; without its
/// key-encryption key a node serves metadata and refuses content; crypto-shredding leaves the
/// content unreadable and `verify` reports the erased key.
final class NodeContentAtRestTests: XCTestCase {
    static let p1 = FunctionalAddress(participant: "0203:one.example.se", function: "kansli")
    static let p2 = FunctionalAddress(participant: "0203:two.example.se", function: "kansli")

    /// Distinctive content: a text, a small attachment and one of several segments.
    struct Content {
        let marker = "KLARTEXT-" + UUID().uuidString
        var body: String { marker + "-BREVTEXT" }
        var small: [UInt8] { Array((marker + "-BILAGA").utf8) }
        let large: [UInt8]

        init() {
            var large: [UInt8] = []
            var i = 0
            while large.count < 300_000 {
                large += Array("\(marker)-STOR-\(i);".utf8)
                i += 1
            }
            self.large = large
        }

        func message(_ label: String, from: FunctionalAddress, to: FunctionalAddress, confidential: Bool = true) -> OutboundMessage {
            OutboundMessage(from: from, to: to, label: label, texts: [body],
                            attachments: [.init(fileName: "liten.txt", contentType: "text/plain", content: small),
                                          .init(fileName: "stor.bin", contentType: "application/octet-stream", content: large)],
                            confidential: confidential)
        }

        /// Byte strings of which none may appear under a node directory: the text, both
        /// attachments (raw, and base64 as the SDK message carries them), in pieces.
        var needles: [(String, [UInt8])] {
            let b64Small = Array(Data(small).base64EncodedString().utf8), b64Large = Array(Data(large).base64EncodedString().utf8)
            return [("text", Array(body.utf8)), ("small attachment", small), ("large attachment, start", Array(large[0..<64])),
                    ("large attachment, middle", Array(large[200_000..<200_064])), ("small attachment in base64", Array(b64Small[0..<40])),
                    ("large attachment in base64", Array(b64Large[4000..<4064]))]
        }
    }

    /// Every file under `directory` holding one of `needles`, with the needle's name.
    static func plaintext(_ needles: [(String, [UInt8])], under directory: String, files least: Int = 20) throws -> [String] {
        var found: [String] = []
        let walker = try XCTUnwrap(FileManager.default.enumerator(atPath: directory))
        var files = 0
        while let relative = walker.nextObject() as? String {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: path) else { continue }
            files += 1
            for (name, needle) in needles where data.range(of: Data(needle)) != nil { found.append("\(name) in \(relative)") }
        }
        XCTAssertGreaterThanOrEqual(files, least, "the walk saw the files under \(directory)")
        return found
    }

    func testConfidentialContentIsNeverStoredInTheClearAndReadsReturnItExactly() async throws {
        let base = try NodeFixture.scratch("at-rest")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let (p1, p2, b) = (Self.p1, Self.p2, NodeFixture.b)
        try await NodeFixture.sharedAndOther(in: base, p1, p2)
        let secret = Content(), open = Content()
        // A request of `kvitto send` waiting in the spool while the node is not running yet.
        let node = try NodeFixture.open(base + "/shared")
        let remote = try NodeFixture.open(base + "/other")
        for (n, mailbox) in [(node, p1), (node, p2), (remote, b)] { try await NodeFixture.grant(n, [.read, .send, .manage], on: mailbox) }
        let request = try SubmissionSpool.request(secret.message("Från kön", from: p1, to: p2), node: base + "/shared")
        XCTAssertEqual(try Self.plaintext(secret.needles, under: base + "/shared/submissions", files: 1), [], "the spooled request is sealed")
        let copy = NodeEventType.internalCopy

        let ids = try await DemoNetwork.running([node, remote]) { _ in
            let spooled = try await SubmissionSpool.awaitResult(request, node: base + "/shared", timeout: 60)
            let inside = try await node.submit(secret.message("Inom noden", from: p1, to: p2), actor: "test")
            let outward = try await node.submit(secret.message("Till region B", from: p1, to: b), actor: "test")
            let inward = try await remote.submit(secret.message("Från region B", from: b, to: p1), actor: "test")
            let clear = try await node.submit(open.message("Öppet", from: p1, to: p2, confidential: false), actor: "test")
            let done = try await DemoNetwork.wait(timeout: 90) {
                let s = try node.snapshot(), r = try remote.snapshot()
                return [spooled, copy(spooled), inside, copy(inside), outward, inward, clear, copy(clear)].allSatisfy { s.messages[$0]?.status == .accepted }
                    && r.messages[outward]?.status == .accepted && r.messages[inward]?.status == .accepted
            }
            XCTAssertTrue(done, "not all accepted within 90 s")
            return [spooled, inside, outward, inward, clear]
        }
        let (spooled, inside, outward, inward, clear) = (ids[0], ids[1], ids[2], ids[3], ids[4])

        // No plaintext byte of the confidential content anywhere under either node directory;
        // the same search finds the content of the message that is not confidential.
        XCTAssertEqual(try Self.plaintext(secret.needles, under: base), [])
        XCTAssertFalse(try Self.plaintext(open.needles, under: base + "/shared/ledger", files: 2).isEmpty,
                       "content not marked confidential is stored as it is (scope confidential), and the search finds it")

        // Each side's record knows its own content key; the open message has none.
        let state = try node.snapshot()
        for id in [spooled, copy(spooled), inside, copy(inside), outward, inward] {
            XCTAssertNotNil(state.messages[id]?.contentKey, id)
        }
        XCTAssertNil(state.messages[clear]?.contentKey)
        // Wrapped data keys are files, which crypto-shredding removes, never rows of the ledger's
        // table (whose freed pages would keep them); the content they seal is small enough for it.
        for id in [spooled, inside, outward] {
            let record = try XCTUnwrap(state.messages[id])
            XCTAssertTrue(node.ledger.isBlobFile(try XCTUnwrap(record.contentKey).blob.sha256), id)
        }
        XCTAssertNotEqual(state.messages[inside]?.contentKey, state.messages[copy(inside)]?.contentKey, "a data key per message and side")
        XCTAssertEqual(state.messages[inside]?.contentKey?.kek, try KeyEncryptionKey.load(path: base + "/shared/pki/content/0203-one-example-se.kek").id)

        // Audited reads return the exact bytes, sizes are the plaintext's, and each read is recorded.
        let me = OSUser.principal()
        for (n, id) in [(node, spooled), (node, copy(spooled)), (node, inside), (node, copy(inside)), (node, outward), (node, inward),
                        (remote, outward), (remote, inward)] {
            let before = try NodeFixture.events(n, AccessEventType.accessed, message: id).count
            let text = try await n.access.content(id, part: .message, as: me)
            XCTAssertNotNil(String(decoding: text.bytes, as: UTF8.self).range(of: secret.body), id)
            let small = try await n.access.content(id, part: .attachment(0), as: me).bytes
            XCTAssertEqual(small, secret.small, id)
            let large = try await n.access.content(id, part: .attachment(1), as: me)
            XCTAssertEqual(large.bytes, secret.large, id)
            XCTAssertEqual(try NodeFixture.events(n, AccessEventType.accessed, message: id).count, before + 3, id)
            let record = try await n.access.message(id, as: me).record
            XCTAssertEqual(record.contentSize(record.attachments[1].blob), Int64(secret.large.count))
        }
        // Evidence with content: the ciphertexts its events record and the data key their
        // key_check commits to; both verifiers open every part. Another key is refused by both.
        for id in [outward, inward, copy(inside)] {
            let stream = try await EvidenceProducer(access: node.access, node: base + "/shared", writesCheckpoints: true)
                .bundle(id, EvidenceRequest(content: true, purpose: "tillsyn"), as: me)
            var bundle: [UInt8] = []
            try stream.write { bundle += $0 }
            let report = await EvidenceVerifier().verify(bundle)
            XCTAssertTrue(report.ok, "\(id): \(report.json)")
            let file = base + "/bundle-\(id).json"
            try Data(bundle).write(to: URL(fileURLWithPath: file))
            let independent = try PythonPeer.run(PythonPeer.python, [NodeInternalDeliveryTests.verifier, file, "--json"])
            XCTAssertEqual(independent.status, 0, independent.output)
            let text = String(decoding: bundle, as: UTF8.self)
            let key = try XCTUnwrap(text.range(of: #""data_key":"[^"]+""#, options: .regularExpression), "the bundle carries the data key")
            let forged = text.replacingCharacters(in: key, with: "\"data_key\":\"\(Data(DataKey.random().bytes).base64EncodedString())\"")
            let forgedReport = await EvidenceVerifier().verify(Array(forged.utf8))
            XCTAssertFalse(forgedReport.ok, "another data key")
            try Data(forged.utf8).write(to: URL(fileURLWithPath: file))
            XCTAssertEqual(try PythonPeer.run(PythonPeer.python, [NodeInternalDeliveryTests.verifier, file, "--json"]).status, 1)
        }
        await remote.close()
        await node.close()
        try NodeFixture.verify(base + "/shared")
        try NodeFixture.verify(base + "/other")
    }

    func testWithoutItsKeyANodeServesMetadataAndShreddingMakesContentUnreadable() async throws {
        let base = try NodeFixture.scratch("at-rest-key")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let (p1, p2) = (Self.p1, Self.p2)
        let first = try await NodeFixture.apiNode(in: base, [.init(id: p1.participant, name: "Kommun Ett", functions: [(p1.function, "Kansliet")]),
                                                           .init(id: p2.participant, name: "Kommun Två", functions: [(p2.function, "Kansliet")])])
        for mailbox in [p1, p2] { try await NodeFixture.grant(first, [.read, .send, .manage], on: mailbox) }
        let secret = Content()
        let sent = try await DemoNetwork.running([first]) { _ in
            let id = try await first.submit(secret.message("Inom noden", from: p1, to: p2), actor: "test")
            let done = try await DemoNetwork.wait(timeout: 60) { try first.snapshot().messages[NodeEventType.internalCopy(of: id)]?.status == .accepted }
            XCTAssertTrue(done)
            return id
        }
        let got = NodeEventType.internalCopy(of: sent)
        await first.close()

        // Started without Kommun Två's key-encryption key.
        let kek = base + "/node/pki/content/0203-two-example-se.kek", safe = base + "/kek-safe"
        try FileManager.default.moveItem(atPath: kek, toPath: safe)
        let node = try NodeFixture.open(base + "/node")
        let me = OSUser.principal()
        let visible = try await node.access.message(got, as: me)
        XCTAssertEqual(visible.record.status, .accepted)
        XCTAssertEqual(visible.label, "Inom noden")
        let reads = try NodeFixture.events(node, AccessEventType.accessed).count
        for part in [MessageAccess.Part.message, .attachment(1)] {
            let refused = await errorOf { _ = try await node.access.content(got, part: part, as: me) }
            XCTAssertEqual(refused?.code, .contentKeyUnavailable)
            XCTAssertTrue(refused?.message.contains("0203-two-example-se.kek") ?? false, refused?.message ?? "")
        }
        XCTAssertEqual(try NodeFixture.events(node, AccessEventType.accessed).count, reads, "a refused read records no access")
        let sender = try await node.access.content(sent, part: .attachment(0), as: me).bytes
        XCTAssertEqual(sender, secret.small, "Kommun Ett's key is there")
        let unsealable = await errorOf { _ = try await node.submit(secret.message("Nytt", from: p2, to: p1), actor: "test") }
        XCTAssertEqual(unsealable?.code, .contentKeyUnavailable, "no confidential content is stored without its key")
        _ = try await node.submit(secret.message("Öppet", from: p2, to: p1, confidential: false), actor: "test")

        // A key file others can read is refused too; put right, it works without a restart.
        try FileManager.default.moveItem(atPath: safe, toPath: kek)
        XCTAssertEqual(chmod(kek, 0o644), 0)
        let exposed = await errorOf { _ = try await node.access.content(got, part: .message, as: me) }
        XCTAssertEqual(exposed?.code, .contentKeyUnavailable)
        XCTAssertTrue(exposed?.message.contains("chmod 600") ?? false, exposed?.message ?? "")
        XCTAssertEqual(chmod(kek, 0o600), 0)
        let restored = try await node.access.content(got, part: .attachment(1), as: me).bytes
        XCTAssertEqual(restored, secret.large)
        // A key once used stops working the moment its file goes (it is not kept past its file),
        // and works again when the file is back.
        try FileManager.default.moveItem(atPath: kek, toPath: safe)
        let removed = await errorOf { _ = try await node.access.content(got, part: .message, as: me) }
        XCTAssertEqual(removed?.code, .contentKeyUnavailable, "a removed key file still opened content")
        try FileManager.default.moveItem(atPath: safe, toPath: kek)
        let back = try await node.access.content(got, part: .attachment(1), as: me).bytes
        XCTAssertEqual(back, secret.large)

        // Crypto-shredding: the data key goes first, then the ciphertext.
        let record = try await node.access.message(got, as: me).record
        let key = try XCTUnwrap(record.contentKey)
        let erasure = try await node.access.eraseContent(got, rule: "GDPR art. 17", reason: "test", as: me)
        XCTAssertTrue(erasure.shredded)
        // A received message's XHE is encrypted to the recipient's O2O key on this node: it goes too.
        let xhe = try XCTUnwrap(record.xhe)
        XCTAssertEqual(erasure.events.map { $0.payload["blob"]?.stringValue }, [key.blob.sha256.hex, record.sdkMessage?.sha256.hex]
                       + record.attachments.map { $0.blob.sha256.hex } + [xhe.sha256.hex])
        XCTAssertNotEqual(node.ledger.blobs.state(of: xhe.sha256), .present(size: xhe.size))
        for part in [MessageAccess.Part.message, .attachment(0)] {
            let gone = await errorOf { _ = try await node.access.content(got, part: part, as: me) }
            XCTAssertEqual(gone?.code, .erased)
        }
        let keyGone = await errorOf { _ = try node.vault.dataKey(of: record) { _ in nil } }
        XCTAssertEqual(keyGone?.code, .erased, "with the key file present and the erasure unknown, the data key is still gone")
        let senderCopy = try await node.access.content(sent, part: .attachment(1), as: me).bytes
        XCTAssertEqual(senderCopy, secret.large, "the sender's copy has its own key")
        let report = BlobVerifier(ledger: node.ledger).run()
        XCTAssertNil(report.failure)
        XCTAssertEqual(report.erasedContentKeys, 1)
        XCTAssertEqual(report.erased, 5)
        await node.close()
        try NodeFixture.verify(base + "/node")
    }

    func testSealedBlobsRefuseAlteredOrForeignCiphertext() throws {
        let base = try NodeFixture.scratch("sealed")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let store = BlobStore(directory: base)
        let key = DataKey.random()
        for size in [0, 1, SealedBlobFormat.segmentSize - 1, SealedBlobFormat.segmentSize, SealedBlobFormat.segmentSize + 1, 3 * SealedBlobFormat.segmentSize] {
            let plain = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }
            let ref = try store.putSealed(plain, dataKey: key)
            XCTAssertEqual(ref.size, SealedBlobFormat.sealedSize(ofPlaintext: Int64(size)), "size \(size)")
            XCTAssertEqual(SealedBlobFormat.plaintextSize(ofSealed: ref.size), Int64(size))
            XCTAssertEqual(try store.readSealed(ref, dataKey: key), plain)
            XCTAssertThrowsError(try store.readSealed(ref, dataKey: .random()), "another key") {
                XCTAssertEqual(($0 as? LedgerError)?.code, .blobCorrupt)
            }
        }
        // A stored copy with one byte flipped, or cut at a segment's end, does not open.
        let plain = [UInt8](repeating: 7, count: 2 * SealedBlobFormat.segmentSize + 5)
        let ref = try store.putSealed(plain, dataKey: key)
        let hex = ref.sha256.hex
        let path = "\(base)/\(hex.prefix(2))/\(hex.dropFirst(2).prefix(2))/\(hex)"
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        bytes[100] ^= 1
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try store.readSealed(ref, dataKey: key))
        // The wrapped data key opens only for its own message and participant, and with its KEK.
        let kek = KeyEncryptionKey.generate()
        let wrapped = try WrappedDataKey.wrap(key, with: kek, participant: "0203:one.example.se", message: "m1")
        XCTAssertEqual(try WrappedDataKey.unwrap(wrapped, with: kek, participant: "0203:one.example.se", message: "m1").bytes, key.bytes)
        XCTAssertThrowsError(try WrappedDataKey.unwrap(wrapped, with: kek, participant: "0203:one.example.se", message: "m2"))
        XCTAssertThrowsError(try WrappedDataKey.unwrap(wrapped, with: KeyEncryptionKey.generate(), participant: "0203:one.example.se", message: "m1")) {
            XCTAssertEqual(($0 as? LedgerError)?.code, .contentKeyUnavailable, "another KEK is named as such")
        }
    }

    private func errorOf(_ body: () async throws -> Void) async -> NodeError? {
        do { try await body() } catch let e as NodeError { return e } catch { XCTFail("not a NodeError: \(error)") }
        return nil
    }
}
