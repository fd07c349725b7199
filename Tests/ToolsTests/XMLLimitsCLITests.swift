import Foundation
import XCTest

/// XML limits are enforced while libxml2 parses, not after it built the whole tree: a document of
/// eleven million empty elements (44 MB, under the size limit) is refused as too many nodes by a
/// process whose address space is capped far below what that tree would take.
final class XMLLimitsCLITests: XCTestCase {
    func testNodeLimitStopsTheParserBeforeTheTreeIsBuilt() throws {
        let dir = ScratchDir("xml-limits")
        defer { dir.remove() }
        let file = dir.sub("many-nodes.xml")
        var bytes = Array("<r>".utf8)
        bytes.reserveCapacity(44_000_010)
        let element = Array("<a/>".utf8)
        for _ in 0..<11_000_000 { bytes += element }
        bytes += Array("</r>".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        // 1.2 GB of address space: the tree (11 million libxml2 nodes) would need more.
        let r = try KvittoProcess.runTool("/bin/bash", ["-c", "ulimit -v 1200000; exec \"$0\" sdk validate \"$1\"", KvittoProcess.binary, file],
                                          timeout: 300)
        XCTAssertEqual(r.status, 2, "stdout: \(r.stdout) stderr: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("xml.too_many_nodes"), r.stderr)
    }
}
