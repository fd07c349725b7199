import Foundation
import XCTest
@testable import Transport

/// ``AS4HeaderCheck`` (the fuzz harness's way into the inbound header parsers) accepts what the
/// sealer writes and refuses alterations with the codes the opener answers with.
final class AS4HeaderCheckTests: XCTestCase {
    func testSealedMessagePassesAndAlterationsGetTheOpenersCodes() throws {
        let p = AS4RoundTripTests.peers
        let payload = AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: Array("<XHE/>".utf8)))
        let wire = try AS4Sealer(pmode: .sdk(), signer: p.sender).seal(AS4RoundTripTests.sampleUserMessage(), payloads: [payload],
                                                                        recipient: p.receiver.certificate)
        let checked = try AS4HeaderCheck.check(soap: wire.soap)
        XCTAssertEqual(checked.userMessage.property("finalRecipient"), "0203:b.se")
        XCTAssertEqual(checked.signer, p.sender.certificate)
        XCTAssertEqual(Set(checked.references.map(\.uri)), Set(wire.signedReferences.map(\.uri)))

        func code(_ soap: String) -> String? {
            do { _ = try AS4HeaderCheck.check(soap: Array(soap.utf8)); return nil } catch { return error.code }
        }
        let soap = String(decoding: wire.soap, as: UTF8.self)
        XCTAssertEqual(code(soap.replacingOccurrences(of: "0203:b.se", with: "0203:c.se")), "EBMS:0101")
        XCTAssertEqual(code("<not-xml"), "EBMS:0009")
        XCTAssertEqual(code("<S12:Envelope xmlns:S12=\"http://www.w3.org/2003/05/soap-envelope\"/>"), "EBMS:0009")
    }
}
