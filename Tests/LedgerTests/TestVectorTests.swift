import Foundation
import XCTest
@testable import Ledger

/// The published test vectors (Schemas/ledger-test-vectors.json) are exactly what this code
/// produces from fixed keys and times. `Tests/vectors/check_ledger_vectors.py` recomputes them
/// independently with Python's standard library and `cryptography`.
/// Set KVITTO_WRITE_VECTORS=1 to regenerate the file after a deliberate format change.
final class TestVectorTests: XCTestCase {
    static var vectorFile: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Schemas/ledger-test-vectors.json").path
    }

    static func generate() throws -> JSONValue {
        let key1 = try LedgerSigningKey(seed: (1...32).map { UInt8($0) })
        let key2 = try LedgerSigningKey(seed: (1...32).map { UInt8(100 + $0) })
        var state = WriterState(seq: 0, hash: .zero, time: Timestamp(nanoseconds: 0), frontier: MerkleFrontier(),
            signer: key1, checkpointedSize: 0, checkpointTime: Timestamp(nanoseconds: 0))
        var options = LedgerOptions()
        options.checkpointEvery = 1 << 40
        var events: [Event] = []
        var nodes: [UInt64: Digest32] = [:]
        var t: Int64 = 1_795_000_000_000_000_000  // 2026-11-18T…
        func add(_ drafts: [EventDraft]) { add(.append(drafts.map { EncodedDraft($0) })) }
        func add(_ command: WriteCommand) {
            var builder = BatchBuilder(state: state, options: options, clock: { t += 1_234_567; return Timestamp(nanoseconds: t) })
            builder.add(command)
            let batch = builder.finish()
            events += batch.events
            for (pos, h) in batch.merkleNodes { nodes[pos] = h }
            state = batch.state
        }
        add(.create(ledgerID: "00000000-0000-4000-8000-000000000001"))
        add([
            EventDraft(type: "addressbook.organization.added", subject: "organization:0203:malmo.se", actor: "admin@malmo.se",
                payload: ["name": "Malmö stad", "participant": "0203:malmo.se"]),
            EventDraft(type: "addressbook.function.added", subject: "mailbox:socialtjansten@malmo.se", actor: "admin@malmo.se",
                payload: ["name": "Socialtjänsten, Malmö stad", "organization": "0203:malmo.se"]),
            EventDraft(type: "message.submitted", subject: "message:6f1c1a2e", actor: "handlaggare@malmo.se",
                payload: ["to": "mailbox:socialtjansten@lund.se", "subject_line": "Orosanmälan \"brådskande\"\n\tsida 1/2",
                    "attachments": [["sha256": .string(Digest32.sha256(Array("bilaga".utf8)).hex), "size": 6]],
                    "confidentiality": true, "emoji": "\u{1F600}", "control": "\u{01}\u{1F}", "priority": -3, "none": nil]),
        ])
        add([EventDraft(type: "message.dispatched", subject: "message:6f1c1a2e", actor: "node",
            payload: ["attempt": 1, "as4_message_id": "e6f1c@kvitto"])])
        add(.checkpoint)
        add(.rotateKey(key2))
        add([
            EventDraft(type: "transport.receipt.received", subject: "message:6f1c1a2e", actor: "ap.lund.se", payload: [:]),
            EventDraft(type: "message.receipt.received", subject: "message:6f1c1a2e", actor: "ap.lund.se",
                payload: ["status": "ACCEPTED"]),
        ])
        add(.checkpoint)
        func node(_ level: Int, _ index: UInt64) throws -> Digest32 {
            guard let h = nodes[MerkleHash.postOrderPosition(level: level, index: index)] else { throw LedgerError(.corrupt, "node") }
            return h
        }
        let n = UInt64(events.count)
        var roots: [JSONValue] = []
        for size in 0...n { roots.append(.string(try MerkleProofs.root(size: size, node).hex)) }
        var inclusion: [JSONValue] = []
        var consistency: [JSONValue] = []
        for size in [UInt64(5), 8, n] {
            for index in 0..<size {
                inclusion.append(["leaf_index": .int(Int64(index)), "tree_size": .int(Int64(size)),
                    "path": .array(try MerkleProofs.inclusionProof(index: index, size: size, node).map { .string($0.hex) })])
            }
        }
        for (a, b) in [(UInt64(1), n), (3, 7), (4, 8), (5, n), (7, n)] {
            consistency.append(["old_size": .int(Int64(a)), "new_size": .int(Int64(b)),
                "proof": .array(try MerkleProofs.consistencyProof(oldSize: a, newSize: b, node).map { .string($0.hex) })])
        }
        return [
            "description": "Kvitto ledger test vectors: events from fixed Ed25519 seeds and times. See Schemas/ledger-events.md.",
            "format": .string(LedgerStore.format),
            "keys": .array([key1, key2].map { k in
                ["key_id": .string(k.keyID), "public_key": .string(k.publicKey.base64), "seed_hex": .string(Hex.encode(k.seed))]
            }),
            "events": .array(events.map(\.json)),
            "canonical": .array(events.map { .string(String(decoding: $0.body, as: UTF8.self)) }),
            "merkle": [
                "leaf_hashes": .array(events.map { .string(MerkleHash.leaf($0.hash.bytes).hex) }),
                "roots": .array(roots),
                "inclusion": .array(inclusion),
                "consistency": .array(consistency),
            ],
        ]
    }

    /// Pretty enough for review: one event per line.
    static func render(_ v: JSONValue) -> String {
        guard case .object(let o) = v else { return "" }
        var lines: [String] = []
        for key in o.keys.sorted() {
            let value = o[key]!
            if case .array(let items) = value, key == "events" || key == "canonical" || key == "keys" {
                let inner = items.map { "    " + String(decoding: CanonicalJSON.encode($0), as: UTF8.self) }.joined(separator: ",\n")
                lines.append("  \"\(key)\": [\n\(inner)\n  ]")
            } else {
                lines.append("  \"\(key)\": " + String(decoding: CanonicalJSON.encode(value), as: UTF8.self))
            }
        }
        return "{\n" + lines.joined(separator: ",\n") + "\n}\n"
    }

    func testPublishedVectorsMatchThisBuild() throws {
        let generated = Self.render(try Self.generate())
        if ProcessInfo.processInfo.environment["KVITTO_WRITE_VECTORS"] == "1" {
            try generated.write(toFile: Self.vectorFile, atomically: true, encoding: .utf8)
        }
        let published = try String(contentsOfFile: Self.vectorFile, encoding: .utf8)
        XCTAssertEqual(published, generated, "Schemas/ledger-test-vectors.json differs from what this build produces")
        // And the published events verify with the Swift code too.
        let parsed = try JSONParser.parse(published)
        guard case .array(let events)? = parsed["events"] else { return XCTFail("no events") }
        var prev = Digest32.zero
        for e in events {
            let event = try Event.fromJSON(e)
            XCTAssertEqual(event.prev, prev)
            prev = event.hash
        }
    }
}
