@testable import API
import Foundation
import XCTest

/// `RequestErrors` answers 405 and 406 from its own table of the document's operations: the
/// table must list exactly the paths and methods of `Schemas/openapi.yaml`.
final class APIDocumentTableTests: XCTestCase {
    func testTheMethodTableIsTheDocuments() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("Schemas/openapi.yaml"), encoding: .utf8)
        var document: [String: Set<String>] = [:]
        var path: String?
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, !line.hasPrefix(" "), !line.isEmpty { break }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
                document[path!] = []
            } else if let p = path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "put", "post", "delete", "patch", "head", "options"].contains(String(method)) { document[p]!.insert(String(method)) }
            }
        }
        XCTAssertGreaterThan(document.count, 10)
        var table: [String: Set<String>] = [:]
        for op in RequestErrors.operations {
            table["/" + op.path.joined(separator: "/"), default: []].formUnion(op.methods.map { $0.rawValue.lowercased() })
        }
        XCTAssertEqual(table, document)
    }
}
