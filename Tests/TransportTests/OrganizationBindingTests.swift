import Foundation
import SwiftASN1
import XCTest
import X509
@testable import Transport

/// Which participant ids an O2O certificate's subject binds to: the scheme counts, a bare
/// organisation number binds only to the organisation-number scheme 0007, a bare domain name
/// binds to nothing.
final class OrganizationBindingTests: XCTestCase {
    static let pki = Result { try ThrowawayPKI(commonName: "Binding Test CA") }

    /// A certificate whose subject holds exactly `attributes` (type, value).
    func certificate(_ attributes: [(ASN1ObjectIdentifier, String)]) throws -> Certificate {
        let pki = try Self.pki.get()
        let subject = DistinguishedName(attributes.map { RelativeDistinguishedName(.init(type: $0.0, utf8String: $0.1)) })
        let key = try pki.issue(commonName: "unused").privateKey
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(86_400),
            issuer: pki.root.subject, subject: subject, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: Certificate.Extensions(), issuerPrivateKey: Certificate.PrivateKey(pki.rootKey))
    }

    static let cn = ASN1ObjectIdentifier.RDNAttributeType.commonName
    static let serialNumber: ASN1ObjectIdentifier = [2, 5, 4, 5]
    static let organizationIdentifier: ASN1ObjectIdentifier = [2, 5, 4, 97]
    static let organizationName = ASN1ObjectIdentifier.RDNAttributeType.organizationName

    func assertBinding(_ attributes: [(ASN1ObjectIdentifier, String)], matches: [String], refuses: [String],
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let cert = try certificate(attributes)
        for p in matches {
            XCTAssertTrue(OrganizationBinding.matches(cert, participant: p), "\(cert.subject) should bind to \(p)", file: file, line: line)
        }
        for p in refuses {
            XCTAssertFalse(OrganizationBinding.matches(cert, participant: p), "\(cert.subject) must not bind to \(p)", file: file, line: line)
        }
    }

    func testASchemeInTheSubjectMustMatchSchemeAndValue() throws {
        // What the throwaway PKI and the demo network issue: CN = the full participant id.
        try assertBinding([(Self.cn, "0203:a.example.se")],
                          matches: ["0203:a.example.se", "0203:A.Example.SE"],
                          refuses: ["0007:a.example.se", "0088:a.example.se", "a.example.se", "0203:b.example.se",
                                    "0203:a.example.se.evil", "0203:"])
        try assertBinding([(Self.cn, "0007:2120001124")],
                          matches: ["0007:2120001124"],
                          refuses: ["0203:2120001124", "0007:2120001125", "0007:SE2120001124", "2120001124"])
        // The demo network's O2O certificates.
        let pki = try Self.pki.get()
        let demo = try pki.issue(commonName: "0203:b.example.se", organization: "Region B").certificate
        XCTAssertTrue(OrganizationBinding.matches(demo, participant: "0203:b.example.se"))
        XCTAssertFalse(OrganizationBinding.matches(demo, participant: "0007:b.example.se"))
    }

    func testABareOrganisationNumberBindsOnlyToScheme0007() throws {
        for attribute in [Self.serialNumber, Self.organizationIdentifier, Self.cn] {
            try assertBinding([(attribute, "SE2120001124")],
                              matches: ["0007:2120001124"],
                              refuses: ["0203:2120001124", "0203:SE2120001124", "0088:2120001124", "0007:2120001125",
                                        "0007:SE2120001124", "2120001124"])
            try assertBinding([(attribute, "2120001124")],
                              matches: ["0007:2120001124"],
                              refuses: ["0203:2120001124", "0088:2120001124", "0007:212000112"])
        }
        // ETSI EN 319 412-1 legal-person identifier.
        try assertBinding([(Self.organizationIdentifier, "NTRSE-2120001124")],
                          matches: ["0007:2120001124"], refuses: ["0203:2120001124", "0203:NTRSE-2120001124"])
        // A serial suffix is not read as the organisation number (12 digits are ambiguous).
        try assertBinding([(Self.serialNumber, "SE212000112401")], matches: [], refuses: ["0007:2120001124"])
    }

    func testABareDomainNameBindsToNothing() throws {
        // A CN that is a domain name is what any web server certificate of that domain carries.
        try assertBinding([(Self.cn, "a.example.se")], matches: [],
                          refuses: ["0203:a.example.se", "0007:a.example.se", "a.example.se"])
        // The organisation name is never an identifier.
        try assertBinding([(Self.cn, "Kommun A"), (Self.organizationName, "0203:a.example.se")], matches: [],
                          refuses: ["0203:a.example.se"])
    }
}
