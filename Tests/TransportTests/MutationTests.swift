import Foundation
import XCTest
@testable import Transport

/// Acceptance 1, second half: each mutated variant fails with exactly the expected rule ids.
final class MutationTests: XCTestCase {
    func testAtLeastFortyBreakingMutations() {
        XCTAssertGreaterThanOrEqual(Mutations.all.filter { !$0.expected.isEmpty }.count, 40)
    }

    func testEveryMutationReportsExactlyTheExpectedRuleIDs() throws {
        for m in Mutations.all {
            let text = try Mutations.apply(m)
            let report = try Corpus.validator.validate(Array(text.utf8))
            XCTAssertEqual(Set(report.violations.map(\.ruleID)), m.expected, "\(m.name): \(report.violations)")
            for v in report.violations {
                XCTAssertTrue(v.location == "NA" || v.location.hasPrefix("/"), "\(m.name): location \(v.location)")
            }
        }
    }

    func testSDKMessageOverThirtyMegabytesIsTooLong() throws {
        var text = try Corpus.string(Mutations.message)
        let filler = String(repeating: "Lång text. ", count: (31 << 20) / 11)
        text = text.replacingOccurrences(of: "Anslut till SDK!", with: filler)
        let report = try Corpus.validator.validate(Array(text.utf8))
        XCTAssertEqual(report.violations.map(\.ruleID), ["too-long"])
        XCTAssertEqual(report.violations.first?.kind, .businessRule)
    }
}
