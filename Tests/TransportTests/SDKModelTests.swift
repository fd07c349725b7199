import Foundation
import XCTest
@testable import Transport

/// Build + parse of the typed models, and that what we build validates (XSD + rules).
final class SDKModelTests: XCTestCase {
    func fullMessage() -> SDKMessage {
        let person = SDKMessage.Person(id: .init(root: "1.2.752.129.2.1.3.1", extension: "19121212-1212"), label: "Tolvan Tolvansson")
        return SDKMessage(
            header: .init(
                creationDateTime: SDKMessage.timestamp(Date(timeIntervalSince1970: 1_795_000_000.123)),
                messageId: "0c3c1e1a-9f3e-4a57-9d0b-6f4c5b1e2a3d", conversationId: "0c3c1e1a-9f3e-4a57-9d0b-6f4c5b1e2a3d",
                refToMessageId: "1f087760-d496-4ba7-973f-e2e73762e498", label: "Kallelse & <möte>", confidentiality: true,
                generatingSystem: .init(root: "kodverk", extension: "system-1"),
                recipient: .init(id: .participant("0203:myndighetB.org"), label: "Myndighet B",
                                 attention: .init(persons: [person],
                                                  subOrganization: .init(id: .functionalAddress("registrator"), label: "Registraturen"),
                                                  references: [.init(id: .init(root: "diarienummer", extension: "KS 2026/123"), label: "Ärende")])),
                sender: .init(id: .participant("0203:myndighetA.org"), label: "Myndighet A",
                              attention: .init(subOrganization: .init(id: .functionalAddress("socialtjansten"))))),
            documents: [
                .init(documentID: "doc-1", documentName: "Kallelse", index: "1",
                      files: [.init(fileName: "bilaga.pdf", contentType: "application/pdf", content: Array(0...255).map(UInt8.init))],
                      texts: ["Välkommen.\nRad två.", "Andra delen"]),
                .init(documentID: "doc-2", texts: ["Tredje"]),
            ])
    }

    func testSDKMessageRoundTripsAndValidates() throws {
        let message = fullMessage()
        let bytes = message.xml()
        XCTAssertEqual(try Corpus.validator.validate(bytes).violations, [])
        let parsed = try SDKMessage(element: try XMLDocument(bytes: bytes).root)
        XCTAssertEqual(parsed, message)
        XCTAssertEqual(message.header.creationDateTime, "2026-11-18T11:06:40.123Z")
    }

    func testCorpusMessagesParse() throws {
        for file in ["message-v3/examples/messageWithAttachments3.xml", "message-v3/testdata/min.xml"] {
            let m = try SDKMessage(element: try XMLDocument(bytes: try Corpus.bytes(file)).root)
            XCTAssertFalse(m.documents.isEmpty)
            // Rebuilding gives the same model.
            XCTAssertEqual(try SDKMessage(element: try XMLDocument(bytes: m.xml()).root), m, file)
        }
    }

    func testXHEBuildParseAndValidate() throws {
        let envelope = XHEEnvelope(
            id: "e5f1c1de-0000-4000-8000-000000000001", creationDateTime: "2026-11-22T10:00:00.000Z",
            businessScope: XHEEnvelope.businessScope(for: .sdkMessage, model: .base),
            fromParty: "0203:myndighetA.org", toParty: "0203:myndighetB.org",
            payload: .init(documentTypeCode: "Q{urn:riv:infrastructure:messaging:MessageWithAttachments:3}messagePayload",
                           handlingServiceID: "registrator", content: .xml(fullMessage().xml(declaration: false))))
        let bytes = envelope.xml()
        XCTAssertEqual(try Corpus.validator.validate(bytes).violations, [])
        let parsed = try XHEEnvelope(document: try XMLDocument(bytes: bytes))
        XCTAssertEqual(parsed.id, envelope.id)
        XCTAssertEqual(parsed.businessScope, envelope.businessScope)
        XCTAssertEqual(parsed.documentID,
                       "urn:riv:infrastructure:messaging:MessageWithAttachments:3::messagePayload##3.0::tm-base")
        guard case .xml(let inner) = parsed.payload.content else { return XCTFail("payload") }
        XCTAssertEqual(try SDKMessage(element: try XMLDocument(bytes: inner).root), fullMessage())
        // The corpus envelopes parse.
        let corpus = try XHEEnvelope(document: try XMLDocument(bytes: try Corpus.bytes("message-v3/examples/xhe_unencrypted_payload.xml")))
        XCTAssertEqual(corpus.toParty, "0203:testa.testbed.inera.se")
        XCTAssertEqual(corpus.payload.handlingServiceID, "sdk.testbed.0203:testa.testbed.inera.se")
        let text = try XHEEnvelope(document: try XMLDocument(bytes: try Corpus.bytes("xhe/examples/XHE-NonXML-tm-base.xml")))
        guard case .text(let t) = text.payload.content else { return XCTFail("text payload") }
        XCTAssertTrue(t.hasPrefix("VU5CK1VOT0E6"))
    }

    func testMeddelandekvittensFromValidationFindings() throws {
        // An invalid message → REJECTED receipt with SV and BV lines that itself validates.
        let bad = try Mutations.apply(Mutations.messageMutations.first { $0.name == "msg-conversation-id-missing" }!)
        let report = try Corpus.validator.validate(Array(bad.utf8))
        let receipt = MessageReceipt(id: "KVT-1", issueDate: "2026-11-22", issueTime: "12:00:00Z", sender: "0203:myndighetB.org",
                                     receiver: "0203:myndighetA.org", documentReference: "xhe-id-1",
                                     status: .rejected(report.violations.map(MessageReceipt.Line.init)))
        let bytes = receipt.xml()
        XCTAssertEqual(try Corpus.validator.validate(bytes).violations, [])
        let parsed = try MessageReceipt(element: try XMLDocument(bytes: bytes).root)
        XCTAssertEqual(parsed, receipt)
        guard case .rejected(let lines) = parsed.status else { return XCTFail("status") }
        XCTAssertEqual(Set(lines.map(\.code)), [.schema, .businessRule])
        XCTAssertTrue(lines.contains { $0.code == .businessRule && $0.reasonCode == "conversationIdMustExist" && $0.lineID.hasPrefix("/tns:") })
        // ACCEPTED.
        let accepted = MessageReceipt(id: "KVT-2", issueDate: "2026-11-22", issueTime: "12:00:00Z", sender: "0203:b.se",
                                      receiver: "0203:a.se", documentReference: "xhe-id-2", status: .accepted)
        XCTAssertEqual(try Corpus.validator.validate(accepted.xml()).violations, [])
        // The five DIGG examples parse.
        for name in ["Kvittens_AP-Accepterat", "Kvittens_RE-AnnatFel", "Kvittens_RE-SCHFel", "Kvittens_RE-SIG", "Kvittens_RE-XSDFel"] {
            let r = try MessageReceipt(element: try XMLDocument(bytes: try Corpus.bytes("receipt/examples/\(name).xml")).root)
            XCTAssertEqual(r.documentReference, "ID-FROM-XHE-12354689")
        }
    }
}
