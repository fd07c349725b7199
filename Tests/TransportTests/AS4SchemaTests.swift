import Foundation
import XCTest
@testable import Transport

/// Acceptance 3: the UserMessages and signals Kvitto produces validate against the ebMS 3.0
/// header and SOAP 1.2 XSDs — in-process and with xmllint.
final class AS4SchemaTests: XCTestCase {
    func testOurMessagesAndSignalsValidate() throws {
        let schema = try SDKSchemas.as4Message(directory: Corpus.schemasDirectory)
        let p = AS4RoundTripTests.peers
        let sealer = AS4Sealer(pmode: .sdk(), signer: p.sender)
        let user = try sealer.seal(AS4RoundTripTests.sampleUserMessage(),
                                   payloads: [AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: Array("<x/>".utf8)))],
                                   recipient: p.receiver.certificate)
        let receipt = try sealer.seal(SignalMessage(messageId: "r1@kvitto", timestamp: AS4Time.string(Date()), refToMessageId: user.messageId,
                                                    content: .receipt(user.signedReferences)))
        let error = try sealer.seal(SignalMessage(messageId: "e1@kvitto", timestamp: AS4Time.string(Date()), refToMessageId: user.messageId,
                                                  content: .errors([.notServiced])))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvitto-as4xsd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var files: [String] = []
        for (name, soap) in [("user.xml", user.soap), ("receipt.xml", receipt.soap), ("error.xml", error.soap)] {
            XCTAssertEqual(schema.validate(try XMLDocument(bytes: soap)).map(\.description), [], name)
            let url = dir.appendingPathComponent(name)
            try Data(soap).write(to: url)
            files.append(url.path)
        }
        // An invalid header (no eb:Action) must fail both, so the check can fail.
        let broken = String(decoding: user.soap, as: UTF8.self).replacingOccurrences(of: #"<eb:Action>[^<]*</eb:Action>"#, with: "",
                                                                                        options: .regularExpression)
        XCTAssertFalse(schema.validate(try XMLDocument(bytes: Array(broken.utf8))).isEmpty)
        try Data(broken.utf8).write(to: dir.appendingPathComponent("broken.xml"))
        let r = try runTool("xmllint", ["--noout", "--nonet", "--schema", Corpus.schemasDirectory + "/as4/as4-message.xsd"] + files
            + [dir.appendingPathComponent("broken.xml").path])
        for f in files { XCTAssertTrue(r.output.contains("\(f) validates"), r.output) }
        XCTAssertTrue(r.output.contains("broken.xml fails to validate"), r.output)
    }
}
