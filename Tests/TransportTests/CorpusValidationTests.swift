import XCTest
@testable import Transport

/// Acceptance 1, first half: every example and valid test file of the SDK corpus validates.
final class CorpusValidationTests: XCTestCase {
    static let validFiles = [
        "message-v3/examples/messageWithAttachments3.xml",
        "message-v3/examples/xhe_unencrypted_payload.xml",
        "message-v3/testdata/min.xml",
        "xhe/examples/XHE-tm-base.xml",
        "xhe/examples/XHE-NonXML-tm-base.xml",
        "receipt/examples/Kvittens_AP-Accepterat.xml",
        "receipt/examples/Kvittens_RE-AnnatFel.xml",
        "receipt/examples/Kvittens_RE-SCHFel.xml",
        "receipt/examples/Kvittens_RE-SIG.xml",
        "receipt/examples/Kvittens_RE-XSDFel.xml",
    ]

    func testEveryValidCorpusFileValidates() throws {
        for file in Self.validFiles {
            let report = try Corpus.validator.validate(try Corpus.bytes(file))
            XCTAssertEqual(report.violations, [], file)
        }
    }

    /// The two error-handling test files of the SDK fail with what they were written to show.
    func testErrorHandlingTestData() throws {
        let r1 = try Corpus.validator.validate(try Corpus.bytes("message-v3/testdata/TF2.4.1.xml"))
        XCTAssertEqual(Set(r1.violations.map(\.ruleID)), ["XSD", "creationDateTime", "conversationId"])
        XCTAssertTrue(r1.schemaViolations.contains { $0.location.hasSuffix("tns:creationDateTime[1]") })
        let r2 = try Corpus.validator.validate(try Corpus.bytes("message-v3/testdata/TF2.4.2.xml"))
        XCTAssertEqual(r2.violations.map(\.ruleID), ["senderIdvalue"])
        XCTAssertEqual(r2.violations.first?.location,
                       "/tns:messagePayload[1]/tns:message[1]/tns:messageHeader[1]/tns:sender[1]/tns:senderID[1]/tns:root[1]")
    }
}
