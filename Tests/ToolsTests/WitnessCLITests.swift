import Foundation
import XCTest
@testable import Ledger

/// A checkpoint kept outside the ledger (a witness) catches what `verify` cannot: a history
/// rewritten by someone holding the signing key, and a rollback to an older copy.
final class WitnessCLITests: XCTestCase {
    private func append(_ ledger: String, _ subjects: [String]) throws {
        let lines = subjects.map { draftLine($0) }.joined(separator: "\n") + "\n"
        let r = try KvittoProcess.run(["ledger", "append", "--ledger", ledger], stdin: lines)
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    private func checkpoint(_ ledger: String) throws -> String {
        let r = try KvittoProcess.run(["ledger", "checkpoint", "--ledger", ledger])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout
    }

    private func consistency(_ ledger: String, _ witness: String, _ extra: [String] = []) throws -> (Int32, JSONValue) {
        let r = try KvittoProcess.run(["ledger", "consistency", "--ledger", ledger, "--witness", witness] + extra)
        let json = try JSONParser.parse(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        return (r.status, json)
    }

    func testWitnessCatchesAForkSignedWithTheSameKeyAndARollback() throws {
        let dir = ScratchDir("witness")
        defer { dir.remove() }
        let ledger = dir.sub("ledger")
        try append(ledger, (0..<10).map { "message:\($0)" })
        _ = try checkpoint(ledger)
        // What an attacker with file access keeps: the ledger, its keys included, as of now.
        try FileManager.default.copyItem(atPath: ledger, toPath: dir.sub("fork"))
        try FileManager.default.copyItem(atPath: ledger, toPath: dir.sub("old"))

        try append(ledger, (10..<20).map { "message:\($0)" })
        let witness = dir.sub("witness.json")
        try checkpoint(ledger).write(toFile: witness, atomically: true, encoding: .utf8)
        try append(ledger, (20..<25).map { "message:\($0)" })
        _ = try checkpoint(ledger)

        let genesis = try JSONParser.parse(KvittoProcess.run(["ledger", "show", "--ledger", ledger, "--limit", "1", "--json"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let publicKey = try XCTUnwrap(genesis["payload"]?["public_key"]?.stringValue)

        // The genuine ledger extends its witness, also with the witness pinned to the genesis key.
        let (status, json) = try consistency(ledger, witness)
        XCTAssertEqual(status, 0, "\(json)")
        XCTAssertEqual(json["valid"], .bool(true))
        let witnessed = try JSONParser.parse(String(contentsOfFile: witness, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(json["old_size"], witnessed["payload"]?["tree_size"])
        XCTAssertEqual(json["old_root"], witnessed["payload"]?["root"])
        XCTAssertGreaterThan(json["new_size"]?.intValue ?? 0, (witnessed["payload"]?["tree_size"]?.intValue ?? .max) + 4)
        XCTAssertEqual(try consistency(ledger, witness, ["--trust-key", publicKey]).0, 0)
        let stranger = LedgerSigningKey().publicKey.base64
        let (strangerStatus, strangerJSON) = try consistency(ledger, witness, ["--trust-key", stranger])
        XCTAssertEqual(strangerStatus, 1)
        XCTAssertTrue(strangerJSON["problem"]?.stringValue?.contains("not signed by the trusted key") == true)

        // A different history from the copy, signed with the same key: verify accepts it ...
        let fork = dir.sub("fork")
        try append(fork, (10..<20).map { "message:forged-\($0)" })
        _ = try checkpoint(fork)
        try append(fork, (20..<25).map { "message:\($0)" })
        _ = try checkpoint(fork)
        XCTAssertEqual(try KvittoProcess.run(["ledger", "verify", "--ledger", fork, "--trust-key", publicKey]).status, 0)
        // ... the witness does not.
        let (forkStatus, forkJSON) = try consistency(fork, witness)
        XCTAssertEqual(forkStatus, 1)
        XCTAssertEqual(forkJSON["valid"], .bool(false))
        XCTAssertTrue(forkJSON["problem"]?.stringValue?.contains("rewritten") == true, "\(forkJSON)")

        // Rolled back to the older copy: it verifies, but it ends before the witness.
        XCTAssertEqual(try KvittoProcess.run(["ledger", "verify", "--ledger", dir.sub("old")]).status, 0)
        let (oldStatus, oldJSON) = try consistency(dir.sub("old"), witness)
        XCTAssertEqual(oldStatus, 1)
        XCTAssertTrue(oldJSON["problem"]?.stringValue?.contains("removed") == true, "\(oldJSON)")
    }
}
