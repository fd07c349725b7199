import ArgumentParser
import Foundation
import Node

/// `kvitto init DIR`: a new node directory.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a node: configuration (kvitto.json), ledger, and either real certificates (--as4-p12 …) or a throwaway PKI for demos and tests.",
        discussion: """
            With the federation's certificates: --as4-p12 FILE, --o2o-p12 PARTICIPANT=FILE for each participant, --tls-p12 FILE \
            (unless --no-tls), --p12-password-file FILE, and the CA certificates per role (--trust-as4, --trust-o2o, --trust-tls: \
            files or folders). Each FILE is PKCS#12 or a PEM bundle (key and certificates). No CA is created and no CA key is on \
            the node; the party id is the CN of the AS4 certificate. Without --as4-p12, a throwaway PKI is made (demos and tests \
            only; kvitto.json says so with throwaway_pki). See Schemas/node-config.md.
            """
    )

    @Argument(help: "The node directory to create.")
    var directory: String

    @Option(help: "The node's name (also the access point's party id: kvitto-ap-<name>).")
    var name: String = "kvitto"

    @Option(name: .customLong("participant"), help: "An organisation this node serves: ID=NAME, e.g. 0203:a.example.se=\"Kommun A\". Repeatable.")
    var participants: [String] = []

    @Option(name: .customLong("function"), help: "A functional address: FUNCTION@PARTICIPANT=NAME, e.g. registrator@0203:a.example.se=Registraturen. Repeatable.")
    var functions: [String] = []

    @Option(help: "Address the AS4 endpoint listens on.")
    var host = "127.0.0.1"

    @Option(help: "Port of the AS4 endpoint.")
    var port = 8443

    @Flag(help: "Plain HTTP instead of HTTPS (only behind a TLS-terminating proxy).")
    var noTLS = false

    @Flag(help: "One-way TLS: do not require client certificates.")
    var oneWayTLS = false

    @Option(help: "Issue the throwaway certificates from this CA (a folder with ca.crt and ca.key, or another node's directory).")
    var ca: String?

    @Option(help: "Retries after the first AS4 attempt (SDK: 12).")
    var retries = 12

    @Option(help: "Seconds between AS4 attempts (SDK: 240).")
    var retryInterval: Double = 240

    @Option(help: "Port of the HTTP API (default: the AS4 port + 1).")
    var apiPort: Int?

    @Flag(help: "Enable the development issuer, so that `kvitto token` mints tokens this node accepts (demos and tests only).")
    var developmentIssuer = false

    @Option(help: "The access point's AS4 identity from the federation's CA (PKCS#12 or PEM bundle); no throwaway PKI is made.")
    var as4P12: String?

    @Option(help: "The TLS identity (PKCS#12 or PEM bundle); needed with --as4-p12 unless --no-tls.")
    var tlsP12: String?

    @Option(name: .customLong("o2o-p12"), help: "A participant's O2O identity: PARTICIPANT=FILE (PKCS#12 or PEM bundle). One per participant.")
    var o2oP12: [String] = []

    @Option(help: "A file whose first line is the password of the PKCS#12 files.")
    var p12PasswordFile: String?

    @Option(help: "CA certificate(s) to trust for AS4 signatures: a file or a folder. Repeatable.")
    var trustAs4: [String] = []

    @Option(help: "CA certificate(s) to trust for O2O (XHE) signatures: a file or a folder. Repeatable.")
    var trustO2o: [String] = []

    @Option(help: "CA certificate(s) to trust for TLS peers: a file or a folder. Repeatable.")
    var trustTls: [String] = []

    @Option(help: "Content encrypted at rest: confidential (messages marked confidential), all, or none. A key-encryption key per participant is written to pki/content/; keep a safe copy apart from backups.")
    var contentEncryption: String = "confidential"

    @Option(help: "The access point's party id (default and only allowed value: the CN of the AS4 certificate).")
    var partyId: String?

    func run() async throws {
        var specs: [NodeSetup.ParticipantSpec] = []
        for p in participants {
            let parts = p.split(separator: "=", maxSplits: 1).map(String.init)
            specs.append(.init(id: parts[0], name: parts.count > 1 ? parts[1] : parts[0], functions: []))
        }
        for f in functions {
            let parts = f.split(separator: "=", maxSplits: 1).map(String.init)
            let address = try NodeCLI.address(parts[0], "--function")
            guard let i = specs.firstIndex(where: { $0.id == address.participant }) else {
                throw CLI.fail("--function \(f): \(address.participant) is not one of the --participant organisations")
            }
            specs[i].functions.append((address.function, parts.count > 1 ? parts[1] : address.function))
        }
        var options = NodeSetup.Options(name: name, participants: specs)
        options.host = host
        options.port = port
        options.tls = !noTLS
        options.mutualTLS = !oneWayTLS
        options.ca = ca
        options.developmentIssuer = developmentIssuer
        options.apiPort = apiPort
        options.contentEncryption = contentEncryption == "none" ? nil : contentEncryption
        options.receptionAwareness = .init(retries: retries, intervalSeconds: retryInterval, strategy: "CONSTANT")
        if let as4P12 {
            var credentials = NodeCredentials(as4: as4P12)
            credentials.tls = tlsP12
            for pair in o2oP12 {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw CLI.fail("--o2o-p12 \(pair): give PARTICIPANT=FILE") }
                guard credentials.o2o[parts[0]] == nil else { throw CLI.fail("--o2o-p12 \(parts[0]) is given twice; give one identity per participant") }
                credentials.o2o[parts[0]] = parts[1]
            }
            if let p12PasswordFile { credentials.password = try await NodeCLI.run { try NodeCredentials.password(file: p12PasswordFile) } }
            credentials.trustAS4 = trustAs4
            credentials.trustO2O = trustO2o
            credentials.trustTLS = trustTls
            credentials.partyId = partyId
            options.credentials = credentials
        } else if tlsP12 != nil || !o2oP12.isEmpty || p12PasswordFile != nil || !trustAs4.isEmpty || !trustO2o.isEmpty || !trustTls.isEmpty
                    || partyId != nil {
            throw CLI.fail("--tls-p12, --o2o-p12, --p12-password-file, --trust-* and --party-id go with --as4-p12 (real certificates); without it a throwaway PKI is made")
        }
        let config = try await NodeCLI.run { try await NodeSetup.initialize(directory: directory, options: options) }
        print("Node \(config.name) created in \(directory)")
        print("  AS4 endpoint   \(config.as4.tls == nil ? "http" : "https")://\(config.as4.host):\(config.as4.port)\(config.as4.path)  party id \(config.as4.partyId)")
        if let api = config.api {
            print("  HTTP API       \(api.usesTLS ? "https" : "http")://\(api.host):\(api.port)/v1  (Schemas/openapi.yaml)")
        }
        for p in config.participants {
            print("  participant    \(p.id) (\(p.name)): \(p.functions.map { $0.function + "@" + p.id }.joined(separator: ", "))")
        }
        if config.throwawayPki == true {
            print("  certificates   a throwaway PKI (demos and tests only); use --as4-p12 … for a real federation")
        }
        print("Next: kvitto route add --node \(directory) (--peer OTHER_NODE_DIR | --participant … --endpoint …), kvitto check --node \(directory), then kvitto serve --node \(directory)")
    }
}
