import XCTest
@testable import Transport

/// Acceptance 4: hostile XML is refused with a typed error and bounded resources.
final class HostileXMLTests: XCTestCase {
    func parse(_ text: String, limits: XMLLimits = .sdk) -> XMLError? {
        parse(Array(text.utf8), limits: limits)
    }

    func parse(_ bytes: [UInt8], limits: XMLLimits = .sdk) -> XMLError? {
        do {
            _ = try XMLDocument(bytes: bytes, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    func testExternalEntityIsRefused() {
        let xxe = """
            <?xml version="1.0"?>
            <!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>
            <r>&e;</r>
            """
        XCTAssertEqual(parse(xxe), .doctypeForbidden)
        XCTAssertEqual(parse("<!DOCTYPE r SYSTEM \"http://127.0.0.1:9/evil.dtd\"><r/>"), .doctypeForbidden)
        XCTAssertEqual(parse("<!DOCTYPE r PUBLIC \"-//x//y\" \"file:///etc/passwd\"><r/>"), .doctypeForbidden)
        // Hidden behind a comment, a processing instruction and a byte-order mark.
        XCTAssertEqual(parse("\u{FEFF}<?xml version=\"1.0\"?><!-- x --><?pi y?>\n<!DOCTYPE r [<!ENTITY e \"x\">]><r>&e;</r>"),
                       .doctypeForbidden)
    }

    func testEntityExpansionIsRefused() {
        var lol = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n"
        for i in 1...9 {
            lol += "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i == 1 ? "" : String(i - 1));", count: 10) + "\">\n"
        }
        lol += "]>\n<lolz>&lol9;</lolz>"
        XCTAssertEqual(parse(lol), .doctypeForbidden)
        // Without a DTD an entity reference is not well-formed.
        XCTAssertEqual(parse("<r>&lol9;</r>")?.code, "xml.malformed")
        // The predefined entities and character references are fine.
        XCTAssertNil(parse("<r>&lt;&amp;&#x41;&#66;</r>"))
    }

    func testDeepNestingIsRefused() {
        let deep = String(repeating: "<a>", count: 10_000) + String(repeating: "</a>", count: 10_000)
        let error = parse(deep)
        XCTAssertNotNil(error)
        XCTAssertTrue(error == .tooDeep(limit: XMLLimits.sdk.maxDepth) || error?.code == "xml.malformed", "\(String(describing: error))")
        // Within libxml2's own ceiling, our limit is the one that trips.
        let medium = String(repeating: "<a>", count: 200) + String(repeating: "</a>", count: 200)
        XCTAssertEqual(parse(medium), .tooDeep(limit: 64))
        let ok = String(repeating: "<a>", count: 64) + String(repeating: "</a>", count: 64)
        XCTAssertNil(parse(ok))
    }

    func testHugeTextNodeIsRefusedBeforeParsing() {
        var bytes = Array("<r>".utf8)
        bytes.reserveCapacity(200 << 20 + 16)
        bytes += [UInt8](repeating: UInt8(ascii: "A"), count: 200 << 20)
        bytes += Array("</r>".utf8)
        XCTAssertEqual(parse(bytes), .tooLarge(bytes: bytes.count, limit: XMLLimits.sdk.maxDocumentBytes))
    }

    func testTextNodeLimitWithinDocumentLimit() {
        let limits = XMLLimits(maxDocumentBytes: 4 << 20, maxTextBytes: 1 << 20)
        let text = "<r>" + String(repeating: "B", count: 2 << 20) + "</r>"
        XCTAssertEqual(parse(text, limits: limits), .textTooLarge(limit: 1 << 20))
    }

    func testNodeCountLimit() {
        let many = "<r>" + String(repeating: "<a/>", count: 2_000) + "</r>"
        XCTAssertEqual(parse(many, limits: XMLLimits(maxNodes: 1_000)), .tooManyNodes(limit: 1_000))
    }

    func testOtherEncodingsAndGarbageAreRefused() {
        var utf16: [UInt8] = [0xFF, 0xFE]
        for u in "<r/>".utf16 { utf16 += [UInt8(u & 0xFF), UInt8(u >> 8)] }
        XCTAssertEqual(parse(utf16)?.code, "xml.malformed")
        XCTAssertEqual(parse("<r>")?.code, "xml.malformed")
        XCTAssertEqual(parse("")?.code, "xml.malformed")
        XCTAssertEqual(parse("<a/><b/>")?.code, "xml.malformed")
        XCTAssertEqual(parse([0xC3, 0x28])?.code, "xml.malformed")
    }

    func testValidatorReportsTypedErrorForHostileInput() {
        let xxe = "<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><r>&e;</r>"
        XCTAssertThrowsError(try Corpus.validator.validate(Array(xxe.utf8))) { error in
            XCTAssertEqual((error as? SDKValidationError)?.code, "xml.doctype_forbidden")
        }
        XCTAssertThrowsError(try Corpus.validator.validate(Array("<other xmlns='urn:x'/>".utf8))) { error in
            XCTAssertEqual((error as? SDKValidationError)?.code, "sdk.unknown_document")
        }
    }
}
