import Crypto
import _CryptoExtras
import NIOCore
import X509
import XCTest
@testable import Transport

/// What the AS4 hot path keeps between messages — pooled compressors, parsed certificates, whole
/// small bodies — gives exactly what doing the work afresh gives.
final class HotPathReuseTests: XCTestCase {
    private func randomBytes(_ n: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    private func compress(_ input: [UInt8], with z: Gzip) throws -> [UInt8] {
        var out: [UInt8] = []
        try input.withUnsafeBytes { try z.update($0) { out.append(contentsOf: $0) } }
        try z.finish { out.append(contentsOf: $0) }
        return out
    }

    private func decompress(_ input: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        let u = try Gzip(.decompress)
        try input.withUnsafeBytes { try u.update($0) { out.append(contentsOf: $0) } }
        try u.finish { out.append(contentsOf: $0) }
        return out
    }

    /// Each stream from a pooled compressor is byte for byte what a fresh compressor writes, and
    /// decompresses to its own input; a compressor left mid-stream by an error does not spoil the
    /// streams after it.
    func testPooledCompressorsStartEveryStreamAfresh() throws {
        let inputs = [Array(String(repeating: "Säker digital kommunikation. ", count: 3_000).utf8), randomBytes(10_240),
                      [], Array("<xhe/>".utf8), randomBytes(200_000)]
        for round in 0..<3 {
            for input in inputs {
                let pooled = try Gzip.withCompressor { try compress(input, with: $0) }
                XCTAssertEqual(pooled, try compress(input, with: Gzip(.compress)), "round \(round), \(input.count) bytes")
                XCTAssertEqual(try decompress(pooled), input)
            }
        }
        struct Interrupted: Error {}
        for _ in 0..<3 {
            XCTAssertThrowsError(try Gzip.withCompressor { z in
                try inputs[0].withUnsafeBytes { try z.update($0) { _ in } }
                throw Interrupted()
            })
        }
        let after = try Gzip.withCompressor { try compress(inputs[1], with: $0) }
        XCTAssertEqual(after, try compress(inputs[1], with: Gzip(.compress)))
    }

    /// A certificate is remembered by its exact bytes: the same bytes give the same certificate,
    /// one byte different (here in the signature, which parsing does not check) gives that other
    /// certificate, never the remembered one; each certificate's key is its own.
    func testParsedCertificatesAreKeyedByTheirExactBytes() throws {
        let pki = try ThrowawayPKI(commonName: "Reuse CA")
        let a = try pki.issue(commonName: "AP-A"), b = try pki.issue(commonName: "AP-B")
        let der = try a.certificate.serializeAsPEM().derBytes
        XCTAssertEqual(try ParsedCertificates.certificate(der: der), a.certificate)
        XCTAssertEqual(try ParsedCertificates.certificate(der: der), a.certificate)
        var altered = der
        altered[altered.count - 1] ^= 0x01
        let other = try ParsedCertificates.certificate(der: altered)
        XCTAssertNotEqual(other, a.certificate)
        XCTAssertEqual(try ParsedCertificates.certificate(der: der), a.certificate)
        XCTAssertThrowsError(try ParsedCertificates.certificate(der: Array(der.prefix(100))))

        let digest = SHA256.hash(data: Array("signed by A".utf8))
        let signature = _RSA.Signing.RSASignature(rawRepresentation: try a.sign(sha256: digest))
        for _ in 0..<2 {
            let keyA = try XCTUnwrap(ParsedCertificates.rsaSigningKey(a.certificate))
            let keyB = try XCTUnwrap(ParsedCertificates.rsaSigningKey(b.certificate))
            XCTAssertTrue(keyA.isValidSignature(signature, for: digest, padding: .insecurePKCS1v1_5))
            XCTAssertFalse(keyB.isValidSignature(signature, for: digest, padding: .insecurePKCS1v1_5))
        }
        // The encryption key is the certificate's: what it wraps, only that key's holder unwraps.
        let wrapped = try XCTUnwrap(ParsedCertificates.rsaEncryptionKey(b.certificate)).encrypt(Array("content key".utf8), padding: .PKCS1_OAEP_SHA256)
        XCTAssertEqual(try b.decrypt(oaep: Array(wrapped), digest: .sha256), Array("content key".utf8))
        XCTAssertThrowsError(try a.decrypt(oaep: Array(wrapped), digest: .sha256))
    }

    /// A small body goes as one buffer holding every segment in order; a larger one streams in
    /// buffers that gather segments up to 256 KiB and add up to the same bytes.
    func testBodiesAreWholeWhenSmallAndGatheredWhenStreamed() async throws {
        let small: [MIMEBodySegment] = [.bytes(Array("--b\r\n".utf8)), .spool(Spool(bytes: randomBytes(10_240))),
                                        .bytes(Array("\r\n--b--".utf8))]
        let smallBody = HTTPBodySegments(small)
        let whole = try XCTUnwrap(try smallBody.whole())
        XCTAssertEqual(Array(whole.readableBytesView), try flatten(small))

        let large: [MIMEBodySegment] = [.bytes(Array("head".utf8)), .spool(Spool(bytes: randomBytes(300_000))), .bytes(Array("mid".utf8)),
                                        .spool(Spool(bytes: randomBytes(10))), .bytes([]), .bytes(Array("tail".utf8))]
        let largeBody = HTTPBodySegments(large)
        XCTAssertNil(try largeBody.whole())
        var streamed: [UInt8] = []
        var buffers: [Int] = []
        for try await buffer in largeBody {
            buffers.append(buffer.readableBytes)
            streamed += Array(buffer.readableBytesView)
        }
        XCTAssertEqual(streamed, try flatten(large))
        XCTAssertEqual(buffers, [256 << 10, streamed.count - (256 << 10)], "segments gathered, at most 256 KiB of spool per buffer")
    }

    private func flatten(_ segments: [MIMEBodySegment]) throws -> [UInt8] {
        try segments.flatMap { s -> [UInt8] in
            switch s {
            case .bytes(let b): b
            case .spool(let spool): try spool.bytes()
            }
        }
    }

    /// The path-free traversal visits exactly what the located walk visits, in the same order.
    func testForEachElementVisitsInDocumentOrder() throws {
        let document = try XMLDocument(bytes: Array("<a xmlns='urn:x'><b><c/><c/></b><d><e><f/></e></d><b/></a>".utf8))
        var walked: [Int] = [], visited: [Int] = []
        document.root.walk { e, _ in walked.append(e.ordinal) }
        document.root.forEachElement { visited.append($0.ordinal) }
        XCTAssertEqual(visited, walked)
        XCTAssertEqual(visited, Array(0..<document.elementsInOrder.count))
    }
}
