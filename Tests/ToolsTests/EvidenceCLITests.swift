import Foundation
import XCTest
@testable import Ledger
@testable import Node

/// Issue 15, acceptance 1: a bundle saved after the demo verifies offline with `kvitto audit
/// verify` and with the independent Python script (Tests/evidence/verify_bundle.py, written from
/// Schemas/evidence-bundle.md alone); a changed byte in any region makes both fail and name it;
/// a bundle from a ledger rewritten with the same key fails against a witness checkpoint.
final class EvidenceCLITests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let python = root.appendingPathComponent(".venv/bin/python").path
    static let script = root.appendingPathComponent("Tests/evidence/verify_bundle.py").path
    static let many = root.appendingPathComponent("Tests/evidence/check_many.py").path

    @discardableResult
    private func ok(_ args: [String], timeout: Double = 120, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try KvittoProcess.run(args, timeout: timeout)
        XCTAssertEqual(r.status, 0, "kvitto \(args.joined(separator: " ")): \(r.stdout)\(r.stderr)", file: file, line: line)
        return r.stdout
    }

    private func json(_ text: String) throws -> JSONValue { try JSONParser.parse(text.trimmingCharacters(in: .whitespacesAndNewlines)) }

    /// The independent verifier's report (exit status and JSON).
    private func python(_ args: [String]) throws -> (Int32, JSONValue) {
        let r = try KvittoProcess.runTool(Self.python, [Self.script] + args + ["--json"], timeout: 120)
        return (r.status, try json(r.stdout.isEmpty ? "{}" : r.stdout))
    }

    /// Runs the demo and returns its directory and the message id.
    private func demo(_ dir: ScratchDir) throws -> (String, String) {
        let out = try ok(["demo", "--dir", dir.sub("demo")], timeout: 300)
        let marker = "Timeline of message "
        let line = try XCTUnwrap(out.split(separator: "\n").first { $0.hasPrefix(marker) })
        let id = String(line.dropFirst(marker.count).split(separator: " ")[0])
        return (dir.sub("demo"), id)
    }

    func testDemoBundlesVerifyOfflineAndAChangedByteInAnyRegionIsNamedByBothVerifiers() async throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.python), "run Tests/bootstrap.sh first (it makes .venv)")
        let dir = ScratchDir("evidence")
        defer { dir.remove() }
        let (demo, id) = try demo(dir)
        let (a, b) = (demo + "/node-a", demo + "/node-b")

        // B: the recipient, read by os:root in the demo — with content (audited) and a witness.
        let witnessB = dir.sub("witness-b.json")
        try ok(["ledger", "checkpoint", "--ledger", b + "/ledger"]).write(toFile: witnessB, atomically: true, encoding: .utf8)
        let bundleB = dir.sub("b.json")
        try ok(["trace", "--node", b, id, "--evidence", bundleB, "--content", "--purpose", "ärende 2026/14", "--witness", witnessB])
        // A: the sender, audited by os:root without a read grant — content withheld.
        try ok(["grant", "--node", a, "--grantee", "os:root", "--scope", "node", "--rights", "audit", "--reason", "tillsyn"])
        let bundleA = dir.sub("a.json")
        try ok(["trace", "--node", a, id, "--evidence", bundleA])
        let genesisA = try json(ok(["ledger", "show", "--ledger", a + "/ledger", "--limit", "1", "--json"]))["payload"]?["public_key"]?.stringValue
        let genesisB = try json(ok(["ledger", "show", "--ledger", b + "/ledger", "--limit", "1", "--json"]))["payload"]?["public_key"]?.stringValue

        for (bundle, key, extra) in [(bundleA, genesisA!, [String]()), (bundleB, genesisB!, ["--witness", witnessB])] {
            let report = try json(ok(["audit", "verify", bundle, "--trust-key", key, "--json"] + extra))
            XCTAssertEqual(report["ok"], .bool(true), "\(report)")
            XCTAssertEqual(report["genesis_key_pinned"], .bool(true))
            let (status, independent) = try python([bundle, "--trust-key", key] + extra)
            XCTAssertEqual(status, 0, "independent verifier: \(independent)")
            XCTAssertEqual(independent["ok"], .bool(true), "\(independent)")
        }
        // The XML signatures' certificates chain to the demo's CA, at the documents' times — and
        // not to an SDK test CA that did not issue them.
        let cas = ["--ca", b + "/trust/o2o/ca.crt", "--ca", b + "/trust/as4/ca.crt"]
        let chained = try json(ok(["audit", "verify", bundleB, "--json"] + cas))
        XCTAssertEqual(chained["checks"]?["signatures"], "proven", "\(chained)")
        let foreignCA = Self.root.deletingLastPathComponent().appendingPathComponent("shared/reference/sdk/ca/opentest/o2o/testsithseidrootcav2.cer").path
        let foreign = try KvittoProcess.run(["audit", "verify", bundleB, "--json", "--ca", foreignCA])
        XCTAssertEqual(foreign.status, 1, foreign.stdout)
        XCTAssertEqual(try json(foreign.stdout)["failure"]?["code"], "signature_invalid", foreign.stdout)
        let (foreignStatus, foreignIndependent) = try python([bundleB, "--ca", foreignCA])
        XCTAssertEqual(foreignStatus, 1)
        XCTAssertEqual(foreignIndependent["failure"]?["code"], "signature_invalid", "\(foreignIndependent)")

        // The sender's bundle: evidence included, content withheld; the recipient's: content
        // included, each part recorded as a read by this requester.
        let a0 = try json(String(contentsOfFile: bundleA, encoding: .utf8))
        let states = (a0["blobs"]?.arrayElements ?? []).map { ($0["kind"]!.stringValue!, $0["state"]!.stringValue!) }
        XCTAssertTrue(states.contains { $0 == ("sdk_message", "withheld") } && states.contains { $0 == ("as4_receipt", "included") }, "\(states)")
        XCTAssertNil(a0["content"])
        let b0 = try json(String(contentsOfFile: bundleB, encoding: .utf8))
        XCTAssertEqual(b0["content"]?["parts"]?.arrayElements.count, 2)
        XCTAssertEqual(b0["witnesses"]?.arrayElements.count, 1)
        let trace = try ok(["trace", "--node", b, id, "--json"])
        XCTAssertEqual(trace.components(separatedBy: "evidence bundle: ärende 2026/14").count - 1, 2, "two recorded reads")

        // Each region, one byte: both verifiers fail and name the region.
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundleB)))
        let value = try JSONParser.parse(original.dropLast())
        let included = try XCTUnwrap((value["blobs"]?.arrayElements ?? []).firstIndex { $0["state"] == "included" && $0["kind"] == "xhe" })
        let targets: [(pointer: [String], region: Set<String>)] = [
            (["events", "0", "canonical"], ["events"]), (["events", "1", "sig"], ["events"]), (["events", "2", "hash"], ["events"]),
            (["events", "1", "proof", "path", "0"], ["proofs"]), (["keys", "0", "public_key"], ["keys"]),
            (["keys", "0", "event", "canonical"], ["keys"]), (["keys", "0", "event", "proof", "path", "0"], ["proofs"]),
            (["checkpoint", "canonical"], ["checkpoint"]), (["checkpoint", "sig"], ["keys", "checkpoint"]),
            (["blobs", "\(included)", "data"], ["blobs"]), (["blobs", "0", "sha256"], ["blobs"]),
            (["content", "parts", "0", "sha256"], ["blobs", "content"]), (["witnesses", "0", "old_root"], ["witness"]),
        ]
        var files: [(String, Set<String>)] = []
        for (n, t) in targets.enumerated() {
            let changed = CanonicalJSON.encode(try Self.changeOneCharacter(value, at: t.pointer[...])) + [0x0A]
            XCTAssertEqual(changed.count, original.count)
            XCTAssertEqual(zip(changed, original).filter { $0 != $1 }.count, 1, "\(t.pointer): one byte changed")
            let report = await EvidenceVerifier().verify(changed)
            XCTAssertFalse(report.ok, "\(t.pointer) went unnoticed")
            XCTAssertTrue(t.region.contains(report.failure?.region ?? ""), "\(t.pointer): \(report.failure?.description ?? "-")")
            let path = dir.sub("region-\(n).json")
            try Data(changed).write(to: URL(fileURLWithPath: path))
            files.append((path, t.region))
        }
        // Bytes anywhere (but in the members a bundle only states): flipped one at a time.
        let stated = try ["generated_at", "node", "requester"].map { try Self.valueSpan(of: $0, in: original) }
        var random = SystemRandomNumberGenerator()
        var flips: [Int] = []
        while flips.count < 250 {
            let p = Int.random(in: 0..<original.count, using: &random)
            if !stated.contains(where: { $0.contains(p) }) { flips.append(p) }
        }
        for (n, p) in flips.enumerated() {
            var changed = original
            changed[p] ^= 0x01
            let report = await EvidenceVerifier().verify(changed)
            XCTAssertFalse(report.ok, "flipping byte \(p) (\(UnicodeScalar(original[p]))) went unnoticed")
            let path = dir.sub("flip-\(n).json")
            try Data(changed).write(to: URL(fileURLWithPath: path))
            files.append((path, []))
        }
        let r = try KvittoProcess.runTool(Self.python, [Self.many] + files.map(\.0), timeout: 600)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, files.count)
        for (line, (path, regions)) in zip(lines, files) {
            let result = try json(String(line))
            XCTAssertEqual(result["ok"], .bool(false), "the independent verifier accepted \(path)")
            if !regions.isEmpty { XCTAssertTrue(regions.contains(result["region"]?.stringValue ?? ""), "independent: \(path): \(result)") }
        }

        // A different requester: a stranger's trust key is refused by both.
        let stranger = LedgerSigningKey().publicKey.base64
        XCTAssertEqual(try KvittoProcess.run(["audit", "verify", bundleB, "--trust-key", stranger]).status, 1)
        XCTAssertEqual(try python([bundleB, "--trust-key", stranger]).1["failure"]?["code"], "untrusted_key")
    }

    func testABundleFromALedgerRewrittenWithTheSameKeyFailsAgainstAWitness() throws {
        let dir = ScratchDir("evidence-fork")
        defer { dir.remove() }
        let (demo, id) = try demo(dir)
        let b = demo + "/node-b"
        // Someone holding the node's files and keys keeps a copy ...
        let fork = dir.sub("fork")
        try FileManager.default.copyItem(atPath: b, toPath: fork)
        // ... the genuine node records a read, and an auditor keeps a checkpoint after it ...
        try ok(["read", "--node", b, id, "--attachment", "0", "--out", dir.sub("read.pdf"), "--purpose", "granskning"])
        let witness = dir.sub("witness.json")
        try ok(["ledger", "checkpoint", "--ledger", b + "/ledger"]).write(toFile: witness, atomically: true, encoding: .utf8)
        let w = try json(String(contentsOfFile: witness, encoding: .utf8))["seq"]!.intValue!
        // ... and the copy is made to tell another story (no read), re-signed with the same key.
        try ok(["grant", "--node", fork, "--grantee", "os:nobody", "--scope", "node", "--rights", "audit", "--reason", "rutin"])
        try ok(["ledger", "checkpoint", "--ledger", fork + "/ledger"])
        try ok(["ledger", "checkpoint", "--ledger", fork + "/ledger"])
        try ok(["ledger", "verify", "--ledger", fork + "/ledger"])

        let genuine = dir.sub("genuine.json"), forged = dir.sub("forged.json")
        try ok(["trace", "--node", b, id, "--evidence", genuine, "--witness", witness])
        try ok(["trace", "--node", fork, id, "--evidence", forged, "--witness", "\(w)"])
        XCTAssertEqual(try json(ok(["audit", "verify", genuine, "--witness", witness, "--json"]))["ok"], .bool(true))
        XCTAssertEqual(try python([genuine, "--witness", witness]).0, 0)
        // On its own the forged bundle verifies: only the witness shows the rewrite.
        XCTAssertEqual(try KvittoProcess.run(["audit", "verify", forged]).status, 0)
        let r = try KvittoProcess.run(["audit", "verify", forged, "--witness", witness, "--json"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(try json(r.stdout)["failure"]?["code"], "witness_rewritten", r.stdout)
        let (status, independent) = try python([forged, "--witness", witness])
        XCTAssertEqual(status, 1)
        XCTAssertEqual(independent["failure"]?["code"], "witness_rewritten", "\(independent)")
        // A bundle that was not asked to carry the witness cannot be compared with it.
        let plain = dir.sub("plain.json")
        try ok(["trace", "--node", b, id, "--evidence", plain])
        let p = try KvittoProcess.run(["audit", "verify", plain, "--witness", witness, "--json"])
        XCTAssertEqual(try json(p.stdout)["failure"]?["code"], "witness_not_covered", p.stdout)
    }

    /// The bytes of a top-level member (`"name":value`) of a canonical bundle whose value is a
    /// string or an object without nested objects or braces in its strings.
    static func valueSpan(of name: String, in bytes: [UInt8]) throws -> Range<Int> {
        let key = Array("\"\(name)\":".utf8)
        let starts = bytes.indices.filter { bytes[$0...].starts(with: key) }
        guard starts.count == 1, let start = starts.first else { throw NodeError(.invalidRequest, "\(name) appears \(starts.count) times") }
        let valueStart = start + key.count
        let closing: UInt8 = bytes[valueStart] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "\"")
        guard let end = bytes[(valueStart + 1)...].firstIndex(of: closing) else { throw NodeError(.invalidRequest, "\(name) does not end") }
        return start..<(end + 1)
    }

    func testErasedContentIsShownErasedAndTheOperatorsRedactedBundleVerifies() throws {
        let dir = ScratchDir("evidence-erased")
        defer { dir.remove() }
        let (demo, id) = try demo(dir)
        let a = demo + "/node-a"
        try ok(["grant", "--node", a, "--grantee", "os:root", "--scope", "node", "--rights", "audit,operate", "--reason", "tillsyn och drift"])
        let before = dir.sub("before.json")
        try ok(["trace", "--node", a, id, "--evidence", before])
        let attachment = try XCTUnwrap(try json(String(contentsOfFile: before, encoding: .utf8))["blobs"]?.arrayElements
            .first { $0["kind"] == "attachment" }?["sha256"]?.stringValue)
        try ok(["ledger", "erase-blob", "--ledger", a + "/ledger", "--sha256", attachment,
                "--rule", "Gallringsbeslut 2026:14", "--reason", "gallring"])
        // The auditor (audit on the node sees every event whole): the erasure is an event of the
        // bundle, and the blob is shown erased by it.
        let audited = dir.sub("audited.json")
        try ok(["trace", "--node", a, id, "--evidence", audited])
        let bundle = try json(String(contentsOfFile: audited, encoding: .utf8))
        let erased = try XCTUnwrap(bundle["blobs"]?.arrayElements.first { $0["sha256"]?.stringValue == attachment })
        XCTAssertEqual(erased["state"], "erased")
        let erasure = try XCTUnwrap(erased["erased_by"]?.intValue)
        XCTAssertTrue((bundle["events"]?.arrayElements ?? []).contains { $0["seq"]?.intValue == erasure })
        XCTAssertEqual(try json(ok(["audit", "verify", audited, "--json"]))["ok"], .bool(true))
        XCTAssertEqual(try python([audited]).0, 0)
        // The operator (operate without audit) sees transport members only: redacted entries,
        // stated, and still a bundle both verifiers accept.
        try ok(["revoke", "--node", a, "\(try grantID(a, rights: "audit,operate"))", "--reason", "byte av roll"])
        try ok(["grant", "--node", a, "--grantee", "os:root", "--scope", "node", "--rights", "operate", "--reason", "drift"])
        let operated = dir.sub("operated.json")
        try ok(["trace", "--node", a, id, "--evidence", operated])
        let report = try json(ok(["audit", "verify", operated, "--json"]))
        XCTAssertEqual(report["ok"], .bool(true), "\(report)")
        XCTAssertEqual(report["checks"]?["events"], "stated")
        XCTAssertFalse(try String(contentsOfFile: operated, encoding: .utf8).contains("kallelse"), "no file names for the operator")
        XCTAssertEqual(try python([operated]).0, 0)
    }

    /// The id of the grant to os:root with exactly `rights`, from `kvitto grants --json`.
    private func grantID(_ node: String, rights: String) throws -> Int64 {
        let lines = try ok(["grants", "--node", node, "--json"]).split(separator: "\n")
        for line in lines {
            let g = try json(String(line))
            let r = (g["rights"]?.arrayElements ?? []).compactMap(\.stringValue).sorted().joined(separator: ",")
            if g["grantee"] == "os:root", r == rights.split(separator: ",").sorted().joined(separator: ","), let id = g["id"]?.intValue { return id }
        }
        throw NodeError(.notFound, "no grant of \(rights) to os:root")
    }

    /// `value` with one character of the string at `pointer` replaced by another of the same
    /// alphabet (hex or base64), so the canonical encoding changes in exactly one byte.
    static func changeOneCharacter(_ value: JSONValue, at pointer: ArraySlice<String>) throws -> JSONValue {
        guard let head = pointer.first else {
            guard case .string(let s) = value, s.count > 12 else { throw NodeError(.invalidRequest, "not a long string") }
            var chars = Array(s)
            let i = 8
            let hex = s.allSatisfy { "0123456789abcdef".contains($0) }
            chars[i] = hex ? (chars[i] == "0" ? "1" : "0") : (chars[i] == "A" ? "B" : "A")
            return .string(String(chars))
        }
        switch value {
        case .object(var o):
            o[head] = try changeOneCharacter(o[head]!, at: pointer.dropFirst())
            return .object(o)
        case .array(var a):
            let i = Int(head)!
            a[i] = try changeOneCharacter(a[i], at: pointer.dropFirst())
            return .array(a)
        default:
            throw NodeError(.invalidRequest, "no member \(head)")
        }
    }
}
