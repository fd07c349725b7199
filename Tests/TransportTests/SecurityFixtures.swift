import Foundation
import X509
import _CryptoExtras
@testable import Transport

/// A throwaway PKI with two organisations, written to a temp folder as PEM for xmlsec1.
final class SecurityFixtures: @unchecked Sendable {
    // @unchecked: all stored properties are `let` and set once in init; the type is only
    // read afterwards.
    let pki: ThrowawayPKI
    let orgA: SigningIdentity
    let orgB: SigningIdentity
    let otherPKI: ThrowawayPKI
    let stranger: SigningIdentity
    let dir: URL

    static let shared: SecurityFixtures = {
        do {
            let fixtures = try SecurityFixtures()
            // Remove the PEM files and outputs when the test process ends.
            atexit { try? FileManager.default.removeItem(atPath: SecurityFixtures.directory.path) }
            return fixtures
        } catch { fatalError("fixtures: \(error)") }
    }()

    /// One folder per test process.
    static let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("kvitto-sec-\(ProcessInfo.processInfo.processIdentifier)")

    init() throws {
        pki = try ThrowawayPKI(commonName: "Kvitto Test O2O CA")
        orgA = try pki.issue(commonName: "Myndighet A", organization: "0203:myndighetA.org")
        orgB = try pki.issue(commonName: "Myndighet B", organization: "0203:myndighetB.org")
        otherPKI = try ThrowawayPKI(commonName: "Someone Else's CA")
        stranger = try otherPKI.issue(commonName: "Stranger")
        dir = Self.directory
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try write("ca.pem", CertificateFile.pem(pki.root))
        for (name, id) in [("a", orgA), ("b", orgB), ("stranger", stranger)] {
            try write("\(name)-key.pem", id.privateKey.pemRepresentation)
            try write("\(name)-cert.pem", CertificateFile.pem(id.certificate))
        }
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: dir.appendingPathComponent(name))
    }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: dir.appendingPathComponent(name))
        return path(name)
    }

    var verifier: XMLSignatureVerifier { XMLSignatureVerifier(trust: pki.trust(.o2o)) }

    /// An unsigned XHE carrying the SDK example message.
    func envelope() throws -> XHEEnvelope {
        let doc = try XMLDocument(bytes: try Corpus.bytes("message-v3/examples/messageWithAttachments3.xml"))
        let message = try SDKMessage(element: doc.root)
        return XHEEnvelope(
            id: "7bc5576a-3f87-4cf5-a0c5-277da06fcacb", creationDateTime: "2026-11-22T10:00:00.000Z",
            businessScope: XHEEnvelope.businessScope(for: .sdkMessage, model: .signedAndEncrypted),
            fromParty: "0203:myndighetA.org", toParty: "0203:myndighetB.org",
            payload: .init(documentTypeCode: "Q{urn:riv:infrastructure:messaging:MessageWithAttachments:3}messagePayload",
                           handlingServiceID: "sdk.testbed.0203:testa.testbed.inera.se", content: .xml(message.xml(declaration: false))))
    }
}
