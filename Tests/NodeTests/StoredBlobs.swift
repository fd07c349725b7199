import Foundation
import XCTest
@testable import Ledger

/// Where a node's blobs lie, for tests that look at or alter them as someone with access to the
/// node's disk could: small ones in the ledger's LMDB file, the others as files.
extension Ledger {
    /// Every blob stored (files, rows of the ledger's table and rows waiting for its next commit),
    /// by hash.
    func storedBlobHashes() throws -> Set<String> {
        var out: Set<String> = []
        let e = FileManager.default.enumerator(atPath: blobs.directory)
        while let name = e?.nextObject() as? String {
            let last = (name as NSString).lastPathComponent
            if last.count == 64 { out.insert(last) }
        }
        if let inline = blobs.inline {
            for h in try inline.committedHashes() { out.insert(h.hex) }
            for b in inline.queued() { out.insert(b.hash.hex) }
        }
        return out
    }

    /// True when the blob is a file of its own (not a row of the ledger's table).
    func isBlobFile(_ hash: Digest32) -> Bool {
        FileManager.default.fileExists(atPath: blobs.path(hash))
    }

    /// Flips bit 5 of the byte at `index` of a stored blob where it lies; returns the altered content.
    func alterStoredBlob(_ hash: Digest32, at index: Int = 0) throws -> [UInt8] {
        let path = blobs.path(hash)
        if var bytes = FileManager.default.contents(atPath: path) {
            bytes[index] ^= 0x20
            try bytes.write(to: URL(fileURLWithPath: path))
            return Array(bytes)
        }
        let db = try XCTUnwrap(store.blobs)
        return try store.env.write { txn in
            let row = try XCTUnwrap(try txn.get(db, hash.bytes), "blob \(hash) is neither a file nor a row")
            var bytes = InlineBlobs.decode(row)
            bytes[index] ^= 0x20
            try txn.put(db, hash.bytes, blobs.inline!.encode(bytes))
            return bytes
        }
    }
}
