import ArgumentParser
import Ledger
import Transport

/// `kvitto sdk validate FILE`: XSD + DIGG business rules.
struct SDKValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate an XHE, SDK message v3 or Meddelandekvittens against the XSDs and the DIGG business rules.",
        discussion: """
            An XHE with an unencrypted SDK message is validated together with the message. Exit status 0 when \
            valid, 1 with the violations (SV = schema, BV = business rule, with rule id and XPath), 2 when the \
            file cannot be read or is refused as XML (DTD, size, depth, not well-formed).
            """
    )

    @Argument(help: "The document (`-` for standard input).")
    var file: String

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Option(help: "The Schemas folder (default: KVITTO_SCHEMAS or the one of the source tree).")
    var schemas: String?

    func run() async throws {
        let bytes = try SDKFiles.read(file)
        let validator = SDKValidator(schemas: try SDKFiles.schemas(schemas))
        let report: SDKValidator.Report
        do { report = try validator.validate(bytes) } catch {
            if json {
                print(String(decoding: CanonicalJSON.encode(["valid": false, "error": ["code": .string(error.code),
                                                                                    "message": .string(error.description)]]),
                             as: UTF8.self))
            }
            throw CLI.fail(error.description)
        }
        if json {
            let violations: [JSONValue] = report.violations.map { v in
                ["kind": .string(v.kind.rawValue), "rule": .string(v.ruleID), "location": .string(v.location),
                 "message": .string(v.message), "flag": .string(v.flag)]
            }
            print(String(decoding: CanonicalJSON.encode(["document": .string(report.kind.rawValue), "valid": .bool(report.isValid),
                                                         "violations": .array(violations)]), as: UTF8.self))
        } else if report.isValid {
            print("valid \(report.kind.rawValue): XSD and DIGG business rules pass")
        } else {
            print("invalid \(report.kind.rawValue): \(report.violations.count) violation(s)")
            for v in report.violations {
                print("  \(v.kind.rawValue) \(v.ruleID) at \(v.location)\n      \(v.message)")
            }
        }
        if !report.isValid { throw ExitCode(1) }
    }
}
