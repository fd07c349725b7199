import Foundation
import XCTest
@testable import Transport

/// Acceptance 2: our native rules and in-process XSD validation give the same verdicts as the
/// official tooling — Saxon-HE running DIGG's compiled XSLT, and `xmllint --schema` — on the
/// corpus and on every mutation. Needs `java` with Saxon-HE and `xmllint` (Tests/bootstrap.sh
/// installs them); the test fails, not skips, when they are missing.
final class OfficialToolingCrossCheckTests: XCTestCase {
    static let saxonJar = ProcessInfo.processInfo.environment["KVITTO_SAXON_JAR"] ?? "/usr/share/java/Saxon-HE.jar"

    struct Sample {
        let name: String
        let text: String
    }

    /// Corpus files and mutations of one document kind.
    func samples(_ kind: SDKDocumentKind) throws -> [Sample] {
        var out: [Sample] = []
        for file in CorpusValidationTests.validFiles + ["message-v3/testdata/TF2.4.1.xml", "message-v3/testdata/TF2.4.2.xml"] {
            out.append(Sample(name: file.replacingOccurrences(of: "/", with: "_"), text: try Corpus.string(file)))
        }
        for m in Mutations.all { out.append(Sample(name: m.name + ".xml", text: try Mutations.apply(m))) }
        return try out.filter { s in
            let doc = try XMLDocument(bytes: Array(s.text.utf8))
            return SDKDocumentKind(root: doc.root) == kind
        }
    }

    func write(_ samples: [Sample]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvitto-crosscheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for s in samples { try Data(s.text.utf8).write(to: dir.appendingPathComponent(s.name)) }
        return dir
    }

    /// Runs the official XSLT over every file of `dir` in one JVM and returns the failed-assert ids
    /// per file name.
    func saxon(_ xslt: String, over dir: URL) throws -> [String: Set<String>] {
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.saxonJar), "Saxon-HE not found at \(Self.saxonJar)")
        let out = dir.appendingPathComponent("svrl")
        let input = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".xml") {
            try FileManager.default.moveItem(at: dir.appendingPathComponent(name), to: input.appendingPathComponent(name))
        }
        let result = try runTool("java", ["-cp", Self.saxonJar, "net.sf.saxon.Transform",
                                          "-s:\(input.path)", "-xsl:\(xslt)", "-o:\(out.path)"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.output)
        var ids: [String: Set<String>] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: out.path) {
            let svrl = try XMLDocument(bytes: Array(try Data(contentsOf: out.appendingPathComponent(name))))
            var found: Set<String> = []
            svrl.root.walk { e, _ in
                if e.localName == "failed-assert", let id = e.attribute("id") { found.insert(id) }
            }
            ids[name] = found
        }
        // Put the inputs back for xmllint.
        for name in try FileManager.default.contentsOfDirectory(atPath: input.path) {
            try FileManager.default.moveItem(at: input.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        return ids
    }

    /// `xmllint --schema` verdict per file name.
    func xmllint(_ schema: String, files: [String], in dir: URL) throws -> [String: Bool] {
        let result = try runTool("xmllint", ["--noout", "--nonet", "--schema", schema] + files.map { dir.appendingPathComponent($0).path })
        var verdicts: [String: Bool] = [:]
        for line in result.output.split(separator: "\n") {
            if line.hasSuffix(" validates") {
                verdicts[URL(fileURLWithPath: String(line.dropLast(" validates".count))).lastPathComponent] = true
            } else if line.hasSuffix(" fails to validate") {
                verdicts[URL(fileURLWithPath: String(line.dropLast(" fails to validate".count))).lastPathComponent] = false
            }
        }
        return verdicts
    }

    func crossCheck(_ kind: SDKDocumentKind, xslt: String?, schema: XMLSchema, rules: (XMLElement) -> [RuleViolation])
        throws
    {
        let samples = try samples(kind)
        XCTAssertGreaterThan(samples.count, 5)
        let dir = try write(samples)
        defer { try? FileManager.default.removeItem(at: dir) }
        let official = try xslt.map { try saxon($0, over: dir) }
        let verdicts = try xmllint(schema.path, files: samples.map(\.name), in: dir)
        for s in samples {
            let doc = try XMLDocument(bytes: Array(s.text.utf8))
            if let official {
                let ours = Set(rules(doc.root).map(\.ruleID))
                XCTAssertEqual(ours, official[s.name], "\(s.name): native rules vs official XSLT")
            }
            let valid = schema.validate(doc).isEmpty
            XCTAssertEqual(valid, verdicts[s.name], "\(s.name): XSD verdict vs xmllint")
        }
    }

    func testXHERulesAndSchemaMatchOfficialTooling() throws {
        try crossCheck(.xhe, xslt: Corpus.sdk.appendingPathComponent("xhe/schematron/DIGG-XHE-Business-Rules.xslt").path,
                       schema: Corpus.schemas.xhe, rules: XHEBusinessRules.check)
    }

    func testMeddelandekvittensRulesAndSchemaMatchOfficialTooling() throws {
        try crossCheck(.applicationResponse,
                       xslt: Corpus.sdk.appendingPathComponent("receipt/schematron/DIGG-AppRes-Business-Rules.xslt").path,
                       schema: Corpus.schemas.applicationResponse, rules: ApplicationResponseBusinessRules.check)
    }

    /// MessageConstraints is published as schematron source only: XSD verdicts are compared with
    /// xmllint here; each assert has a passing and a failing case in ``Mutations``.
    func testSDKMessageSchemaMatchesXmllint() throws {
        try crossCheck(.sdkMessage, xslt: nil, schema: Corpus.schemas.sdkMessage, rules: MessageConstraintRules.check)
    }

    /// Every MessageConstraints pattern has at least one failing and the rule set at least one
    /// passing mutation.
    func testEveryMessageConstraintHasFailingAndPassingCase() {
        let failing = Set(Mutations.messageMutations.flatMap(\.expected))
        for id in MessageConstraintRules.patternIDs {
            XCTAssertTrue(failing.contains(id) || id == "MessageId" && Mutations.xheMutations.contains { $0.expected.contains(id) },
                          "no failing case for \(id)")
        }
        XCTAssertFalse(Mutations.messageMutations.filter { $0.expected.isEmpty }.isEmpty)
    }
}
