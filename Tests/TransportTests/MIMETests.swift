import Foundation
import XCTest
@testable import Transport

/// multipart/related writing and streaming parsing, checked against Python's email package.
final class MIMETests: XCTestCase {
    func randomBytes(_ n: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    func parse(_ body: [UInt8], boundary: String, chunk: Int) throws -> [MIMEPart] {
        let parser = MIMEMultipartParser(boundary: boundary)
        var o = 0
        while o < body.count {
            let n = min(chunk, body.count - o)
            try body.withUnsafeBytes { try parser.feed(UnsafeRawBufferPointer(rebasing: $0[o..<(o + n)])) }
            o += n
        }
        return try parser.finish()
    }

    func testRoundTripInAnyChunkingAndSpoolsLargeParts() throws {
        let soap = Array("<S12:Envelope xmlns:S12=\"http://www.w3.org/2003/05/soap-envelope\"/>".utf8)
        // Binary content that contains CRLF, dashes and a near-boundary.
        let writer = MIMEMultipartWriter()
        let tricky = Array("\r\n--\(writer.boundary.dropLast())X\r\n--".utf8) + randomBytes(3 << 20)
        var body: [UInt8] = []
        try writer.write(soap: soap, attachments: [("message", "application/gzip", Spool(bytes: tricky)),
                                                   ("attachment", "application/octet-stream", Spool(bytes: []))]) {
            body.append(contentsOf: $0)
        }
        for chunk in [1, 7, 4096, 65_536, body.count] where chunk < 100 ? body.count < 4_000_000 : true {
            if chunk < 4096 && body.count > 200_000 { continue }
            let parts = try parse(body, boundary: writer.boundary, chunk: chunk)
            XCTAssertEqual(parts.count, 3)
            XCTAssertEqual(try parts[0].body.bytes(), soap)
            XCTAssertEqual(parts[0].contentID, writer.rootContentID)
            XCTAssertEqual(parts[1].contentID, "message")
            XCTAssertTrue(parts[1].body.isOnDisk)
            XCTAssertEqual(try parts[1].body.bytes(), tricky)
            XCTAssertEqual(parts[2].body.count, 0)
        }
        // Python's email package reads what we wrote. Its parser is line-based and normalizes line
        // ends inside binary parts, so this check uses content without CR and LF.
        let safe = randomBytes(200_000).map { $0 == 13 || $0 == 10 ? 32 : $0 }
        body = []
        try writer.write(soap: soap, attachments: [("message", "application/gzip", Spool(bytes: safe)),
                                                   ("attachment", "application/octet-stream", Spool(bytes: []))]) {
            body.append(contentsOf: $0)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvitto-mime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let header = "Content-Type: \(writer.contentType)\r\nMIME-Version: 1.0\r\n\r\n"
        try Data(Array(header.utf8) + body).write(to: dir.appendingPathComponent("msg"))
        try Data(safe).write(to: dir.appendingPathComponent("expected"))
        let script = """
            import email, sys
            m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
            parts = m.get_payload()
            assert m.get_content_type() == 'multipart/related', m.get_content_type()
            assert len(parts) == 3, len(parts)
            assert parts[1]['Content-ID'] == '<message>'
            assert parts[1].get_payload(decode=True) == open(sys.argv[2], 'rb').read()
            print('ok')
            """
        let r = try runTool("python3", ["-c", script, dir.appendingPathComponent("msg").path, dir.appendingPathComponent("expected").path])
        XCTAssertEqual(r.status, 0, r.output)
    }

    func testParsesWhatPythonWrites() throws {
        let script = """
            from email.mime.multipart import MIMEMultipart
            from email.mime.application import MIMEApplication
            import sys
            m = MIMEMultipart('related', boundary='pyBoundary123', type='application/soap+xml', start='<soap@py>')
            s = MIMEApplication(b'<env/>', 'soap+xml', _encoder=lambda p: None); s['Content-ID'] = '<soap@py>'
            a = MIMEApplication(bytes(range(14, 256)) * 10, 'octet-stream', _encoder=lambda p: None); a['Content-ID'] = '<message>'
            a['Content-Transfer-Encoding'] = 'binary'
            m.attach(s); m.attach(a)
            sys.stdout.buffer.write(m.as_bytes(policy=m.policy.clone(linesep='\\r\\n')).split(b'\\r\\n\\r\\n', 1)[1])
            """
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvitto-mime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("body").path
        let r = try runTool("sh", ["-c", "python3 -c \"$0\" > \(out)", script])
        XCTAssertEqual(r.status, 0, r.output)
        let body = Array(try Data(contentsOf: URL(fileURLWithPath: out)))
        let parts = try parse(body, boundary: "pyBoundary123", chunk: 100)
        XCTAssertEqual(parts.count, 2)
        XCTAssertEqual(parts[0].contentID, "soap@py")
        XCTAssertEqual(try parts[1].body.bytes(), Array(repeating: Array(UInt8(14)...UInt8(255)), count: 10).flatMap { $0 })
    }

    func testMalformedBodiesAreRefused() throws {
        XCTAssertThrowsError(try parse(Array("--b\r\nContent-Type: x\r\n\r\nabc".utf8), boundary: "b", chunk: 10))
        XCTAssertThrowsError(try parse(Array("no boundary at all".utf8), boundary: "b", chunk: 10))
        XCTAssertThrowsError(try parse(Array("--b\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--b--".utf8), boundary: "b", chunk: 3))
        var many = ""
        for _ in 0..<100 { many += "--b\r\nContent-Type: x\r\n\r\nq\r\n" }
        XCTAssertThrowsError(try parse(Array((many + "--b--").utf8), boundary: "b", chunk: 50))
    }
}
