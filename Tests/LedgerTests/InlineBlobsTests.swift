import Foundation
import Synchronization
import XCTest
@testable import Ledger

/// Small blobs of the appending process live inside the ledger's LMDB file: readable at once,
/// written by the next commit together with its events, never a file of their own.
final class InlineBlobsTests: XCTestCase {
    /// The row the ledger's blob table holds for `hash` (committed data only).
    private func committedRow(_ ledger: Ledger, _ hash: Digest32) throws -> [UInt8]? {
        let db = try XCTUnwrap(ledger.store.blobs)
        return try ledger.store.env.read { try $0.get(db, hash.bytes) }.map(InlineBlobs.decode)
    }

    private func files(under path: String) -> [String] {
        (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: path + "/" + $0, isDirectory: &isDir) && !isDir.boolValue
        }
    }

    func testSmallBlobsWaitInMemoryAndAreWrittenByTheNextCommit() async throws {
        let dir = TempDir("inline-blobs")
        defer { dir.remove() }
        let bytes = Array("<Meddelandekvittens>mottaget</Meddelandekvittens>".utf8)
        let ref: BlobRef
        do {
            let ledger = try openLedger(dir.sub("l"))
            defer { ledger.close() }
            ref = try ledger.blobs.put(bytes)
            XCTAssertEqual(ref, BlobRef(sha256: Digest32.sha256(bytes), size: Int64(bytes.count)))
            // Readable at once, not yet in the file.
            XCTAssertEqual(try ledger.blobs.read(ref.sha256), bytes)
            XCTAssertEqual(ledger.blobs.state(of: ref.sha256), .present(size: ref.size))
            XCTAssertNil(try committedRow(ledger, ref.sha256))
            _ = try await ledger.append([draft(1)])
            XCTAssertEqual(try committedRow(ledger, ref.sha256), bytes)
            XCTAssertTrue(try XCTUnwrap(ledger.blobs.inline).queued().isEmpty)
            // Putting it again stores nothing new.
            XCTAssertEqual(try ledger.blobs.put(bytes), ref)
            XCTAssertTrue(try XCTUnwrap(ledger.blobs.inline).queued().isEmpty)
        }
        XCTAssertEqual(files(under: dir.sub("l/blobs")), [], "a small blob was written as a file")
        // Another process's view: a read-only open reads it from the file.
        var options = LedgerOptions()
        options.readOnly = true
        let reader = try Ledger.open(at: dir.sub("l"), options: options)
        defer { reader.close() }
        XCTAssertEqual(try reader.blobs.read(ref.sha256), bytes)
        let stream = try reader.blobs.open(ref.sha256)
        XCTAssertEqual(stream.size, bytes.count)
        XCTAssertEqual(try stream.next(), bytes)
        XCTAssertNil(try stream.next())
        // A read-only store keeps nothing inline: what it puts is a file.
        let other = try reader.blobs.put(Array("written by a reader".utf8))
        XCTAssertTrue(FileManager.default.fileExists(atPath: reader.blobs.path(other.sha256)))
    }

    func testAFailedCommitKeepsTheBlobsWaitingForTheNextOne() async throws {
        let dir = TempDir("inline-blobs-fail")
        defer { dir.remove() }
        let failNext = Mutex(false)
        let ledger = try openLedger(dir.sub("l")) { options in
            options.beforeCommit = { _ in
                if failNext.withLock({ let f = $0; $0 = false; return f }) { throw LedgerError(.storage, "disk said no") }
            }
        }
        defer { ledger.close() }
        let ref = try ledger.blobs.put(Array("evidence".utf8))
        failNext.withLock { $0 = true }
        do {
            _ = try await ledger.append([draft(1)])
            XCTFail("the failing commit was acknowledged")
        } catch {}
        XCTAssertNil(try committedRow(ledger, ref.sha256))
        XCTAssertEqual(try ledger.blobs.read(ref.sha256), Array("evidence".utf8))
        _ = try await ledger.append([draft(2)])
        XCTAssertEqual(try committedRow(ledger, ref.sha256), Array("evidence".utf8))
    }

    /// A process that stops between the commit of an erasure and the overwrite of the row's former
    /// bytes: the next open for appending overwrites them before anything else is written.
    func testAnErasureInterruptedBeforeTheOverwriteIsFinishedByTheNextOpen() async throws {
        let dir = TempDir("inline-blobs-erase-stop")
        defer { dir.remove() }
        let content = Array(String(repeating: "sekretessmarkerad uppgift ", count: 80).utf8)
        let file = dir.sub("l/data.mdb")
        func inFile() throws -> Bool { try Data(contentsOf: URL(fileURLWithPath: file)).range(of: Data(content.prefix(30))) != nil }
        do {
            let ledger = try openLedger(dir.sub("l")) { $0.scrubsErasedRows = false }
            defer { ledger.close() }
            let ref = try ledger.blobs.put(content)
            _ = try await ledger.append([draft(1)])
            _ = try await ledger.eraseBlob(ref.sha256, actor: "arkivarie", rule: "r", reason: "")
            XCTAssertNil(try committedRow(ledger, ref.sha256))
        }
        XCTAssertTrue(try inFile(), "the stop was not staged: the bytes are gone already")
        let ledger = try openLedger(dir.sub("l"))
        defer { ledger.close() }
        XCTAssertFalse(try inFile(), "the open did not overwrite the bytes of the interrupted erasure")
        XCTAssertNotNil(try ledger.store.env.read { try $0.get(ledger.store.meta, LedgerStore.metaScrub) })
        _ = try await ledger.append([draft(2)])
        XCTAssertNil(try ledger.store.env.read { try $0.get(ledger.store.meta, LedgerStore.metaScrub) }, "the record outlived the next commit")
        XCTAssertNil(try verify(dir.sub("l")).failure)
    }

    func testStreamedContentStaysInlineUntilItOutgrowsTheLimit() async throws {
        let dir = TempDir("inline-blobs-stream")
        defer { dir.remove() }
        let ledger = try openLedger(dir.sub("l")) { $0.inlineBlobLimit = 100 }
        defer { ledger.close() }
        func stream(_ chunks: [[UInt8]]) throws -> BlobRef {
            let writer = try ledger.blobs.makeWriter()
            for c in chunks { try writer.write(c) }
            return try writer.finish()
        }
        let small = try stream([[UInt8](repeating: 1, count: 60), [UInt8](repeating: 2, count: 40)])
        XCTAssertEqual(small.size, 100)
        XCTAssertFalse(FileManager.default.fileExists(atPath: ledger.blobs.path(small.sha256)))
        let a = [UInt8](repeating: 3, count: 60), b = [UInt8](repeating: 4, count: 41)
        let large = try stream([a, b])
        XCTAssertEqual(large, BlobRef(sha256: Digest32.sha256(a + b), size: 101))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: ledger.blobs.path(large.sha256))), Data(a + b))
        XCTAssertEqual(try ledger.blobs.read(large.sha256), a + b)
        _ = try await ledger.append([draft(1)])
        XCTAssertNotNil(try committedRow(ledger, small.sha256))
        XCTAssertNil(try committedRow(ledger, large.sha256))
        // Content whose erasure must leave nothing in the ledger's file is a file whatever its size.
        let key = try ledger.blobs.putAsFile(Array("a wrapped data key".utf8))
        XCTAssertTrue(FileManager.default.fileExists(atPath: ledger.blobs.path(key.sha256)))
        XCTAssertEqual(try ledger.blobs.read(key.sha256), Array("a wrapped data key".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.sub("l/blobs/tmp")), [])
    }

    /// Erasure leaves nothing of the content in the ledger's file: the commit of the `blob.erased`
    /// event deletes the row, and its former bytes are overwritten — for a value in its own
    /// overflow pages and for a small one inside a leaf page.
    func testErasureDeletesTheRowAndOverwritesItsBytesInTheFile() async throws {
        let dir = TempDir("inline-blobs-erase")
        defer { dir.remove() }
        let ledger = try openLedger(dir.sub("l"))
        defer { ledger.close() }
        let large = Array(String(repeating: "personnummer 19121212-1212, ", count: 300).utf8)  // 8.4 KB
        let small = Array("adress: Storgatan 1, 222 22 Lund".utf8)
        let refs = try [ledger.blobs.put(large), ledger.blobs.put(small), ledger.blobs.put(Array("kept".utf8))]
        func ref(_ r: BlobRef) -> JSONValue { ["sha256": .string(r.sha256.hex), "size": .int(r.size)] }
        _ = try await ledger.append(EventDraft(type: "message.submitted", subject: "message:a", actor: "t",
            payload: ["xhe": ref(refs[0]), "sdk_message": ref(refs[1]), "receipt": ref(refs[2])]))
        let file = dir.sub("l/data.mdb")
        func inFile(_ needle: [UInt8]) throws -> Bool { try Data(contentsOf: URL(fileURLWithPath: file)).range(of: Data(needle)) != nil }
        XCTAssertNotNil(try committedRow(ledger, refs[0].sha256))
        XCTAssertTrue(try inFile(large) && inFile(small), "the content is not in the ledger's file to begin with")

        for r in refs.prefix(2) {
            XCTAssertTrue(ledger.blobs.holdsInline(r.sha256))
            let event = try await ledger.eraseBlob(r.sha256, actor: "arkivarie", rule: "Gallringsbeslut 2026:14", reason: "gallrad")
            XCTAssertNil(try committedRow(ledger, r.sha256))
            XCTAssertFalse(ledger.blobs.holdsInline(r.sha256), "a backup would keep a row the ledger erased")
            guard case .erased(let marker) = ledger.blobs.state(of: r.sha256) else { return XCTFail("not erased") }
            XCTAssertTrue(marker.contains("event \(event.seq)"), marker)
            XCTAssertThrowsError(try ledger.blobs.read(r.sha256))
        }
        // No 16-byte window of either (the small one is unique text; the large one repeats).
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        for start in 0...(small.count - 16) {
            XCTAssertNil(data.range(of: Data(small[start..<(start + 16)])), "erased content stayed in the ledger's file at \(start)")
        }
        for start in 0..<28 {
            XCTAssertNil(data.range(of: Data(large[start..<(start + 16)])), "erased content stayed in the ledger's file at \(start)")
        }
        XCTAssertEqual(try ledger.blobs.read(refs[2].sha256), Array("kept".utf8))
        let report = BlobVerifier(ledger: ledger).run()
        XCTAssertNil(report.failure)
        XCTAssertEqual(report.erased, 2)
        XCTAssertNil(try verify(dir.sub("l")).failure, "the log itself still verifies")

        // Erased before any commit wrote it: it never reaches the file.
        let unseen = Array("skyddad identitet, ort: Kiruna".utf8)
        let early = try ledger.blobs.put(unseen)
        _ = try await ledger.eraseBlob(early.sha256, actor: "arkivarie", rule: "r", reason: "")
        _ = try await ledger.append([draft(9)])
        XCTAssertNil(try committedRow(ledger, early.sha256))
        XCTAssertFalse(try inFile(unseen))
        // A row no event named is not erased behind the ledger's back.
        let other = try ledger.blobs.put(Array("no event".utf8))
        _ = try await ledger.append([draft(10)])
        XCTAssertThrowsError(try ledger.blobs.erase(other.sha256, reason: "x"))
        XCTAssertEqual(try ledger.blobs.read(other.sha256), Array("no event".utf8))
    }
}
