import Foundation
import XCTest
@testable import Ledger

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TempDir {
    let path: String

    init(_ label: String = "t") {
        path = NSTemporaryDirectory() + "kvitto-test-\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func sub(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

func draft(_ i: Int, type: String = "message.submitted", size: Int = 40) -> EventDraft {
    EventDraft(type: type, subject: "message:\(i)", actor: "tester",
        payload: ["n": .int(Int64(i)), "text": .string(String(repeating: "å", count: size / 2))])
}

func openLedger(_ path: String, create: Bool = true, configure: (inout LedgerOptions) -> Void = { _ in }) throws -> Ledger {
    var o = LedgerOptions()
    o.create = create
    configure(&o)
    return try Ledger.open(at: path, options: o)
}

func verify(_ path: String, trusted: LedgerPublicKey? = nil) throws -> VerificationReport {
    var o = LedgerOptions()
    o.readOnly = true
    let ledger = try Ledger.open(at: path, options: o)
    return LedgerVerifier(ledger: ledger, trustedGenesisKey: trusted).run()
}

/// Raw access to a closed ledger's LMDB file, for tampering like an attacker with file access.
func withRawStore<T>(_ path: String, _ body: (LedgerStore) throws -> T) throws -> T {
    let store = try LedgerStore(path: path, options: LedgerOptions(), create: false)
    return try body(store)
}

extension Ledger {
    /// Replaces (or, with nil, deletes) the row of a blob kept inside the ledger's LMDB file, as
    /// someone with write access to it could.
    func tamperInlineBlob(_ hash: Digest32, with bytes: [UInt8]?) throws {
        let db = try XCTUnwrap(store.blobs)
        try store.env.write { txn in
            if let bytes { try txn.put(db, hash.bytes, blobs.inline!.encode(bytes)) } else { _ = try txn.delete(db, hash.bytes) }
        }
    }
}
