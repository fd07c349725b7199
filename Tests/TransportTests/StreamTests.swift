import Crypto
import Foundation
import XCTest
@testable import Transport

/// Streaming gzip and AES-GCM against independent implementations (the gzip tool, swift-crypto).
final class StreamTests: XCTestCase {
    func randomBytes(_ n: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// Feeds `input` to `update` in irregular chunks.
    func chunked(_ input: [UInt8], _ update: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var offset = 0
        var size = 1
        while offset < input.count {
            let n = min(size, input.count - offset)
            try input.withUnsafeBytes { try update(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) }
            offset += n
            size = size * 7 % 70_001 + 1
        }
    }

    func testGzipInteropWithTheGzipTool() throws {
        let text = Array(String(repeating: "Säker digital kommunikation. ", count: 20_000).utf8) + randomBytes(3_000)
        var compressed: [UInt8] = []
        let z = try Gzip(.compress)
        try chunked(text) { try z.update($0) { compressed.append(contentsOf: $0) } }
        try z.finish { compressed.append(contentsOf: $0) }
        XCTAssertLessThan(compressed.count, text.count / 10)
        // Byte-exact check through a file (runTool decodes output as text).
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvitto-gz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(compressed).write(to: dir.appendingPathComponent("a.gz"))
        XCTAssertEqual(try runTool("gzip", ["-d", dir.appendingPathComponent("a.gz").path]).status, 0)
        XCTAssertEqual(Array(try Data(contentsOf: dir.appendingPathComponent("a"))), text)
        // The other way: gzip compresses, we decompress.
        try Data(text).write(to: dir.appendingPathComponent("b"))
        XCTAssertEqual(try runTool("gzip", ["-9", dir.appendingPathComponent("b").path]).status, 0)
        let fromTool = Array(try Data(contentsOf: dir.appendingPathComponent("b.gz")))
        var out: [UInt8] = []
        let u = try Gzip(.decompress)
        try chunked(fromTool) { try u.update($0) { out.append(contentsOf: $0) } }
        try u.finish { out.append(contentsOf: $0) }
        XCTAssertEqual(out, text)
    }

    func testGzipRejectsCorruptTruncatedAndBombs() throws {
        var compressed: [UInt8] = []
        let z = try Gzip(.compress)
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        try zeros.withUnsafeBytes { try z.update($0) { compressed.append(contentsOf: $0) } }
        try z.finish { compressed.append(contentsOf: $0) }
        // Bomb limit.
        let limited = try Gzip(.decompress, maxOutput: 1000)
        XCTAssertThrowsError(try compressed.withUnsafeBytes { try limited.update($0) { _ in } })
        // Truncated.
        let t = try Gzip(.decompress)
        try Array(compressed.prefix(compressed.count - 4)).withUnsafeBytes { try t.update($0) { _ in } }
        XCTAssertThrowsError(try t.finish { _ in })
        // Corrupt.
        var bad = compressed
        bad[12] ^= 0xFF
        let c = try Gzip(.decompress)
        XCTAssertThrowsError(try bad.withUnsafeBytes { try c.update($0) { _ in }; try c.finish { _ in } })
    }

    func testAESGCMStreamAgainstSwiftCrypto() throws {
        for keySize in [16, 32] {
            let key = randomBytes(keySize)
            let iv = randomBytes(12)
            let plain = randomBytes(300_001)
            var ours = iv
            let e = try AESGCMStream(.encrypt, key: key, iv: iv)
            try chunked(plain) { try e.update($0) { ours.append(contentsOf: $0) } }
            try e.finish { ours.append(contentsOf: $0) }
            let box = try AES.GCM.SealedBox(combined: ours)
            XCTAssertEqual(Array(try AES.GCM.open(box, using: SymmetricKey(data: key))), plain)
            // swift-crypto seals, we open in odd chunks.
            let sealed = try AES.GCM.seal(plain, using: SymmetricKey(data: key))
            let combined = Array(sealed.combined!)
            var out: [UInt8] = []
            let d = try AESGCMStream(.decrypt, key: key)
            try chunked(combined) { try d.update($0) { out.append(contentsOf: $0) } }
            try d.finish { out.append(contentsOf: $0) }
            XCTAssertEqual(out, plain)
            // A flipped bit fails the tag check.
            var tampered = combined
            tampered[1_000] ^= 1
            let t = try AESGCMStream(.decrypt, key: key)
            try tampered.withUnsafeBytes { try t.update($0) { _ in } }
            XCTAssertThrowsError(try t.finish { _ in })
        }
    }
}
