@testable import Transport
import XCTest

/// Reading an XHE's header on arrival: from a file-backed spool in chunks, without copying the
/// payload into the Swift view, with the same answers as a full read and the same refusals.
final class XHEHeaderReadingTests: XCTestCase {
    static func xhe(payloadBytes: Int) -> [UInt8] {
        XHEEnvelope(id: "id-1", creationDateTime: "2026-11-22T10:00:00.000Z",
                    businessScope: XHEEnvelope.businessScope(for: .sdkMessage, model: .base),
                    fromParty: "0203:a.example.se", toParty: "0203:b.example.se",
                    payload: .init(documentTypeCode: XHEEnvelope.DocumentType.sdkMessage.documentTypeCode, handlingServiceID: "registrator",
                                   content: .text(String(repeating: "QUJD", count: payloadBytes / 4)))).xml()
    }

    static func spool(_ bytes: [UInt8]) throws -> Spool {
        let s = Spool(threshold: 1 << 16)  // on disk beyond 64 KiB, as a request body is
        try s.append(bytes)
        s.finish()
        return s
    }

    func testTheHeaderReadsTheSameFromAFileBackedSpoolWithoutThePayload() throws {
        let bytes = Self.xhe(payloadBytes: 3 << 20)
        let spool = try Self.spool(bytes)
        XCTAssertTrue(spool.isOnDisk)
        let document = try XMLDocument(spool: spool, copyTextsUpTo: XMLLimits.headerText)
        let header = try XHEEnvelope(headerOf: document)
        let full = try XHEEnvelope(document: XMLDocument(bytes: bytes))
        XCTAssertEqual(header.id, full.id)
        XCTAssertEqual(header.fromParty, full.fromParty)
        XCTAssertEqual(header.toParty, full.toParty)
        XCTAssertEqual(header.businessScope, full.businessScope)
        XCTAssertEqual(header.payload.handlingServiceID, "registrator")
        XCTAssertEqual(header.payload.documentTypeCode, full.payload.documentTypeCode)
        XCTAssertEqual(header.payload.content, .notRead)
        guard case .text(let text) = full.payload.content else { return XCTFail("the full read lost the payload") }
        XCTAssertEqual(text.utf8.count, 3 << 20)
        // The large text is in libxml2's tree (canonicalization covers it) but not in the view.
        XCTAssertTrue(document.root.stringValue.utf8.count < XMLLimits.headerText)
        var canonical = 0
        try document.canonicalize(nil, method: .exclusive) { canonical += $0.count }
        XCTAssertGreaterThan(canonical, 3 << 20)
    }

    /// A header value too long to be copied is not read as an empty one: the header read
    /// refuses the envelope (only the payload may go unread).
    func testALongHeaderValueIsRefusedNotReadAsEmpty() throws {
        let long = "0203:" + String(repeating: "a", count: 70_000)
        let bytes = XHEEnvelope(id: "id-1", creationDateTime: "2026-11-22T10:00:00.000Z",
                                businessScope: XHEEnvelope.businessScope(for: .sdkMessage, model: .base),
                                fromParty: long, toParty: "0203:b.example.se",
                                payload: .init(documentTypeCode: XHEEnvelope.DocumentType.sdkMessage.documentTypeCode, handlingServiceID: "registrator",
                                               content: .text("QUJD"))).xml()
        let document = try XMLDocument(spool: Self.spool(bytes), copyTextsUpTo: XMLLimits.headerText)
        XCTAssertThrowsError(try XHEEnvelope(headerOf: document))
        XCTAssertEqual(try XHEEnvelope(document: XMLDocument(bytes: bytes)).fromParty, long)
    }

    func testASpoolIsRefusedAsBytesAre() throws {
        let doctype = Array("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"x\">]><x>&e;</x>".utf8)
        XCTAssertThrowsError(try XMLDocument(spool: Self.spool(doctype))) { XCTAssertEqual($0 as? XMLError, .doctypeForbidden) }
        // A prolog longer than the window the DOCTYPE check reads is refused, not left unchecked.
        let longProlog = Array(("<!--" + String(repeating: "x", count: 70_000) + "--><!DOCTYPE x><x/>").utf8)
        XCTAssertThrowsError(try XMLDocument(spool: Self.spool(longProlog))) {
            guard case .malformed = $0 as? XMLError else { return XCTFail("\($0)") }
        }
        XCTAssertNoThrow(try XMLDocument(bytes: Array(("<!--" + String(repeating: "x", count: 70_000) + "--><x/>").utf8)))
        // A DOCTYPE whose "<" is the window's last byte is not taken for the root element.
        for pad in 65_533...65_536 {
            let edge = Array(("<?x " + String(repeating: "y", count: pad - 6) + "?>" + "<!DOCTYPE x><x/>").utf8)
            XCTAssertThrowsError(try XMLDocument(spool: Self.spool(edge)), "prolog of \(pad) bytes")
        }
        var limits = XMLLimits.sdk
        limits.maxDocumentBytes = 1 << 20
        XCTAssertThrowsError(try XMLDocument(spool: Self.spool(Self.xhe(payloadBytes: 2 << 20)), limits: limits)) {
            guard case .tooLarge = $0 as? XMLError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try XMLDocument(spool: Self.spool(Array("<x><y></x>".utf8)))) {
            guard case .malformed = $0 as? XMLError else { return XCTFail("\($0)") }
        }
    }
}
