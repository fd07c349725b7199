import X509
import SwiftASN1
import Crypto

/// WS-Security token and key-reference XML shared by the sealer and the opener.
enum SecurityTokens {
    /// `wsse:BinarySecurityToken` holding `certificate`.
    static func binarySecurityToken(_ certificate: Certificate, id: String, into w: inout XMLWriter) {
        w.start("wsse:BinarySecurityToken", ["EncodingType": AS4Namespaces.base64Binary, "ValueType": AS4Namespaces.x509v3,
                                              "wsu:Id": id])
        w.base64(CertificateFile.der(certificate))
        w.end()
    }

    /// `wsse:SecurityTokenReference` naming `certificate` in the chosen form.
    static func reference(to certificate: Certificate, form: KeyReferenceForm, tokenID: String, into w: inout XMLWriter) {
        w.start("wsse:SecurityTokenReference")
        switch form {
        case .binarySecurityToken:
            w.start("wsse:Reference", ["URI": "#" + tokenID, "ValueType": AS4Namespaces.x509v3])
            w.end()
        case .issuerSerial:
            w.start("ds:X509Data")
            w.start("ds:X509IssuerSerial")
            w.element("ds:X509IssuerName", issuerName(certificate))
            w.element("ds:X509SerialNumber", serialDecimal(certificate))
            w.end()
            w.end()
        case .subjectKeyIdentifier:
            w.start("wsse:KeyIdentifier", ["EncodingType": AS4Namespaces.base64Binary, "ValueType": AS4Namespaces.x509SKI])
            w.base64(subjectKeyIdentifier(certificate))
            w.end()
        }
        w.end()
    }

    /// RFC 2253 issuer name as Java/WSS4J write it (most specific RDN first).
    static func issuerName(_ certificate: Certificate) -> String { String(describing: certificate.issuer) }

    /// The serial number in decimal.
    static func serialDecimal(_ certificate: Certificate) -> String {
        var digits: [UInt8] = []
        var n = Array(certificate.serialNumber.bytes)
        while n.contains(where: { $0 != 0 }) {
            var remainder = 0
            for i in 0..<n.count {
                let v = remainder * 256 + Int(n[i])
                n[i] = UInt8(v / 10)
                remainder = v % 10
            }
            digits.append(UInt8(remainder))
        }
        return digits.isEmpty ? "0" : String(digits.reversed().map { Character(String($0)) })
    }

    /// The SubjectKeyIdentifier extension, or the SHA-1 of the public key bits (RFC 5280 method 1).
    static func subjectKeyIdentifier(_ certificate: Certificate) -> [UInt8] {
        if let ski = try? certificate.extensions.subjectKeyIdentifier { return Array(ski.keyIdentifier) }
        var s = DER.Serializer()
        try? s.serialize(certificate.publicKey)
        // The SPKI's BIT STRING contents are the key; hashing the whole SPKI is the fallback.
        return Array(Insecure.SHA1.hash(data: s.serializedBytes))
    }
}
