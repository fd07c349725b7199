package import X509
import SwiftASN1
import Foundation

/// Reads certificates from PEM (one or more blocks) or DER files.
package enum CertificateFile {
    package static func read(path: String) throws -> [Certificate] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try parse(Array(data))
    }

    package static func parse(_ bytes: [UInt8]) throws -> [Certificate] {
        if let text = String(bytes: bytes, encoding: .utf8), text.contains("-----BEGIN CERTIFICATE-----") {
            return try PEMDocument.parseMultiple(pemString: text)
                .filter { $0.discriminator == "CERTIFICATE" }
                .map { try Certificate(derEncoded: $0.derBytes) }
        }
        return [try Certificate(derEncoded: bytes)]
    }

    /// DER bytes of a certificate.
    package static func der(_ certificate: Certificate) -> [UInt8] {
        var s = DER.Serializer()
        try? s.serialize(certificate)
        return s.serializedBytes
    }

    /// PEM text of a certificate.
    package static func pem(_ certificate: Certificate) -> String {
        (try? certificate.serializeAsPEM().pemString) ?? ""
    }
}
