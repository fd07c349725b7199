import Foundation
import XCTest
@testable import Ledger

/// The blob store is checked against the log: content referenced by events must be there and
/// unchanged, or erased by a recorded `blob.erased` event (DESIGN: erasure without breaking the proof).
final class BlobVerificationTests: XCTestCase {
    /// A ledger whose events reference three blobs (the second one twice, once nested in an array
    /// next to other members), with some unrelated events between them. The first and the third
    /// are small (kept inside the ledger's LMDB file), the second is a file.
    private func fixture(_ dir: TempDir) async throws -> (Ledger, [BlobRef]) {
        let ledger = try openLedger(dir.sub("l"))
        let refs = try [
            ledger.blobs.put(Array("first content".utf8)),
            ledger.blobs.put([UInt8](repeating: 0xA5, count: 3 * BlobStore.chunkSize + 17)),
            ledger.blobs.put(Array("third".utf8)),
        ]
        func ref(_ r: BlobRef) -> JSONValue { ["sha256": .string(r.sha256.hex), "size": .int(r.size)] }
        _ = try await ledger.append([draft(1), draft(2)])
        _ = try await ledger.append(EventDraft(type: "message.submitted", subject: "message:a", actor: "t",
            payload: ["xhe": ref(refs[0])]))  // seq 4
        _ = try await ledger.append(EventDraft(type: "message.received", subject: "message:b", actor: "t",
            payload: ["attachments": [["name": "big.bin", "sha256": .string(refs[1].sha256.hex), "size": .int(refs[1].size)]]]))  // seq 5
        _ = try await ledger.append([draft(3)])
        _ = try await ledger.append(EventDraft(type: "message.dispatched", subject: "message:a", actor: "t",
            payload: ["wire": ref(refs[2]), "again": ref(refs[1])]))  // seq 7
        return (ledger, refs)
    }

    /// Changes one byte of a stored file in place, as someone with file access could.
    private func overwrite(_ path: String, at offset: UInt64, with byte: UInt8) throws {
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: [byte])
        try handle.close()
    }

    func testReferencesAreFoundWhereverTheyAre() {
        let h = Digest32.sha256([1]).hex
        let payload: JSONValue = ["a": ["b": [["sha256": .string(h), "size": 3, "name": "x"]]],
            "not": ["sha256": .string(h)], "bad": ["sha256": "00", "size": 1], "neg": ["sha256": .string(h), "size": -1]]
        XCTAssertEqual(BlobReferences.find(in: payload), [BlobRef(sha256: Digest32(hex: h)!, size: 3)])
        // Several, nested in objects and arrays: the same references in the same order with or
        // without their JSON Pointers.
        let hashes = (0..<5).map { Digest32.sha256([UInt8($0)]).hex }
        func r(_ i: Int) -> JSONValue { ["sha256": .string(hashes[i]), "size": .int(Int64(i))] }
        let nested: JSONValue = ["z": r(0), "a": [r(1), ["k/~": r(2), "list": [r(3)]]], "m": ["inner": r(4), "sha256": .string(hashes[1]), "size": 9]]
        let located = BlobReferences.located(in: nested, at: "/payload")
        XCTAssertEqual(BlobReferences.find(in: nested), located.map(\.ref))
        XCTAssertEqual(located.map(\.pointer), ["/payload/a/0", "/payload/a/1/k~1~0", "/payload/a/1/list/0", "/payload/m", "/payload/m/inner", "/payload/z"])
    }

    func testIntactBlobsVerifyAndAreRehashed() async throws {
        let dir = TempDir("blobs-ok")
        defer { dir.remove() }
        let (ledger, refs) = try await fixture(dir)
        defer { ledger.close() }
        let report = BlobVerifier(ledger: ledger).run()
        XCTAssertNil(report.failure)
        XCTAssertEqual(report.referenced, 3)
        XCTAssertEqual(report.present, 3)
        XCTAssertEqual(report.bytes, refs.reduce(0) { $0 + $1.size })
    }

    func testChangedContentIsReportedAtTheFirstEventReferencingIt() async throws {
        let dir = TempDir("blobs-changed")
        defer { dir.remove() }
        let (ledger, refs) = try await fixture(dir)
        defer { ledger.close() }
        // Same size, one byte changed deep in the third chunk.
        let deep = UInt64(2 * BlobStore.chunkSize + 5)
        try overwrite(ledger.blobs.path(refs[1].sha256), at: deep, with: 0x00)
        let failure = try XCTUnwrap(BlobVerifier(ledger: ledger).run().failure)
        XCTAssertEqual(failure.code, .blobAltered)
        XCTAssertEqual(failure.seq, 5)

        // A different length is caught before reading (here in a blob kept inline).
        XCTAssertFalse(FileManager.default.fileExists(atPath: ledger.blobs.path(refs[2].sha256)), "a small blob was written as a file")
        try ledger.tamperInlineBlob(refs[2].sha256, with: Array("thirdX".utf8))
        try overwrite(ledger.blobs.path(refs[1].sha256), at: deep, with: 0xA5)  // the big one restored
        let second = try XCTUnwrap(BlobVerifier(ledger: ledger).run().failure)
        XCTAssertEqual(second.code, .blobAltered)
        XCTAssertEqual(second.seq, 7)
        XCTAssertTrue(second.message.contains("6 bytes"), second.message)

        // The same length, other bytes, inline.
        try ledger.tamperInlineBlob(refs[2].sha256, with: Array("thirD".utf8))
        let third = try XCTUnwrap(BlobVerifier(ledger: ledger).run().failure)
        XCTAssertEqual(third.code, .blobAltered)
        XCTAssertEqual(third.seq, 7)
        XCTAssertThrowsError(try ledger.blobs.read(refs[2].sha256)) { XCTAssertEqual(($0 as? LedgerError)?.code, .blobCorrupt) }
    }

    func testMissingContentIsReported() async throws {
        let dir = TempDir("blobs-missing")
        defer { dir.remove() }
        let (ledger, refs) = try await fixture(dir)
        defer { ledger.close() }
        // Deleted from the ledger's table (a small blob)…
        try ledger.tamperInlineBlob(refs[0].sha256, with: nil)
        let failure = try XCTUnwrap(BlobVerifier(ledger: ledger).run().failure)
        XCTAssertEqual(failure.code, .blobMissing)
        XCTAssertEqual(failure.seq, 4)
        // …or its file removed (a large one).
        try ledger.tamperInlineBlob(refs[0].sha256, with: Array("first content".utf8))
        XCTAssertNil(BlobVerifier(ledger: ledger).run().failure)
        XCTAssertEqual(unlink(ledger.blobs.path(refs[1].sha256)), 0)
        let file = try XCTUnwrap(BlobVerifier(ledger: ledger).run().failure)
        XCTAssertEqual(file.code, .blobMissing)
        XCTAssertEqual(file.seq, 5)
    }

    func testRecordedErasureVerifiesAsErasedAndUnrecordedErasureDoesNot() async throws {
        let dir = TempDir("blobs-erased")
        defer { dir.remove() }
        let (ledger, refs) = try await fixture(dir)
        defer { ledger.close() }

        let event = try await ledger.eraseBlob(refs[1].sha256, actor: "arkivarie@lund.se", rule: "Gallringsbeslut 2026:14",
            reason: "bevarandetiden har gått ut")
        XCTAssertEqual(event.type, "blob.erased")
        XCTAssertEqual(event.subject, "blob:\(refs[1].sha256.hex)")
        XCTAssertEqual(event.payload["rule"]?.stringValue, "Gallringsbeslut 2026:14")
        XCTAssertEqual(event.payload["size"]?.intValue, refs[1].size)
        guard case .erased(let marker) = ledger.blobs.state(of: refs[1].sha256) else { return XCTFail("not erased") }
        XCTAssertTrue(marker.contains("event \(event.seq)"), marker)
        XCTAssertThrowsError(try ledger.blobs.read(refs[1].sha256))
        let report = BlobVerifier(ledger: ledger).run()
        XCTAssertNil(report.failure)
        XCTAssertEqual(report.erased, 1)
        XCTAssertEqual(report.present, 2)
        XCTAssertNil(try verify(dir.sub("l")).failure, "the log itself still verifies")

        // Erasing twice, or something not stored, is refused with a typed error.
        do {
            _ = try await ledger.eraseBlob(refs[1].sha256, actor: "x", rule: "r", reason: "")
            XCTFail("second erasure accepted")
        } catch { XCTAssertEqual(error.code, .blobAlreadyErased) }
        do {
            _ = try await ledger.eraseBlob(Digest32.sha256([9, 9, 9]), actor: "x", rule: "r", reason: "")
            XCTFail("erasure of an unknown blob accepted")
        } catch { XCTAssertEqual(error.code, .blobNotFound) }
        do {
            _ = try await ledger.eraseBlob(refs[0].sha256, actor: "x", rule: "", reason: "")
            XCTFail("erasure without a rule accepted")
        } catch { XCTAssertEqual(error.code, .invalidDraft) }

        // Content removed behind the ledger's back, even with a marker, is not an erasure.
        // (The store itself refuses to erase a row no event names: done here by hand.)
        XCTAssertThrowsError(try ledger.blobs.erase(refs[2].sha256, reason: "looks official"))
        try ledger.tamperInlineBlob(refs[2].sha256, with: nil)
        let forged = ledger.blobs.path(refs[2].sha256) + ".erased"
        try FileManager.default.createDirectory(atPath: (forged as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data("looks official".utf8).write(to: URL(fileURLWithPath: forged))
        let failure = try XCTUnwrap(BlobVerifier(ledger: ledger).run().failure)
        XCTAssertEqual(failure.code, .blobErasedWithoutEvent)
        XCTAssertEqual(failure.seq, 7)
    }
}
