import ArgumentParser
import Foundation
import Ledger
import Node

/// `kvitto check --node DIR`: the configuration checked before the node starts.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a node's configuration: paths, key/certificate pairs, chains, key usage, expiry, party id, organisations, CA keys, CRLs, routes, ports.",
        discussion: """
            Prints each problem with the configuration member it concerns. Errors make `kvitto serve` refuse to start; \
            warnings (a certificate expiring within 30 days, a port in use, the throwaway demo PKI) do not. \
            Exit status 0 without errors, 1 with errors.
            """)

    @OptionGroup var location: NodeLocation

    @Flag(help: "One JSON object per finding.")
    var json = false

    func run() async throws {
        let findings = await NodeCheck(node: location.node).run()
        for f in findings {
            if json {
                let o: JSONValue = ["severity": .string(f.severity.rawValue), "code": .string(f.code.rawValue),
                                    "member": .string(f.member), "message": .string(f.message)]
                print(String(decoding: CanonicalJSON.encode(o), as: UTF8.self))
            } else {
                print(f.description)
            }
        }
        let errors = findings.filter { $0.severity == .error }.count
        if !json {
            print(errors == 0 ? "OK: \(location.node) has no configuration errors" + (findings.isEmpty ? "" : " (\(findings.count) warnings)")
                              : "\(errors) errors: `kvitto serve` refuses to start until they are corrected")
        }
        if errors > 0 { throw ExitCode(1) }
    }
}
