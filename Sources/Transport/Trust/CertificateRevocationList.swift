import COpenSSL
package import Foundation
package import X509

/// An X.509 certificate revocation list (RFC 5280), parsed and checked with OpenSSL's libcrypto:
/// whether a given CA issued and signed it, whether it is current, and whether a serial number
/// is on it. Only complete CRLs are accepted: a delta CRL is refused when parsed.
package final class CertificateRevocationList: @unchecked Sendable {
    // @unchecked: the X509_CRL is created in init, only read afterwards (OpenSSL's read
    // functions used here do not mutate it, except the lookup's one-time sort of the revoked
    // entries, which OpenSSL guards with the CRL's own lock), and freed in deinit.
    private let crl: OpaquePointer
    /// thisUpdate (the time the CRL was issued).
    package let thisUpdate: Date
    /// nextUpdate, when the CRL has one (without it the CRL is never current).
    package let nextUpdate: Date?

    /// What a lookup found.
    package enum Listing: Sendable, Equatable {
        case notListed
        case listed
    }

    /// Parses a DER or PEM CRL.
    package init(bytes: [UInt8]) throws(XMLSecurityError) {
        var der = bytes
        if let text = String(bytes: bytes, encoding: .utf8), text.contains("-----BEGIN X509 CRL-----") {
            let body = text.components(separatedBy: "-----BEGIN X509 CRL-----")[1].components(separatedBy: "-----END X509 CRL-----")[0]
            guard let decoded = Base64.decode(body) else { throw .certificateUnusable("the CRL PEM is not base64") }
            der = decoded
        }
        guard let parsed = der.withUnsafeBufferPointer({ kvitto_crl_from_der($0.baseAddress, $0.count) }) else {
            throw .certificateUnusable("not an X.509 CRL")
        }
        var seconds: Int64 = 0
        guard kvitto_crl_this_update(parsed, &seconds) == 1 else {
            X509_CRL_free(parsed)
            throw .certificateUnusable("the CRL's thisUpdate cannot be read")
        }
        thisUpdate = Date(timeIntervalSince1970: TimeInterval(seconds))
        nextUpdate = kvitto_crl_next_update(parsed, &seconds) == 1 ? Date(timeIntervalSince1970: TimeInterval(seconds)) : nil
        switch kvitto_crl_is_delta(parsed) {
        case 0: break
        case 1:
            X509_CRL_free(parsed)
            throw .certificateUnusable("delta CRLs are not supported; configure the issuer's complete CRL")
        default:
            X509_CRL_free(parsed)
            throw .certificateUnusable("the CRL's extensions cannot be read")
        }
        crl = parsed
    }

    deinit { X509_CRL_free(crl) }

    /// Loads a CRL file (DER or PEM).
    package convenience init(path: String) throws {
        try self.init(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// Whether `issuer` issued this CRL and its signature verifies with the issuer's key.
    package func isIssued(by issuer: Certificate) -> Bool {
        let der = CertificateFile.der(issuer)
        guard let x509 = der.withUnsafeBufferPointer({ kvitto_x509_from_der($0.baseAddress, $0.count) }) else { return false }
        defer { X509_free(x509) }
        return kvitto_crl_issued_by(crl, x509) == 1
    }

    /// -1 not yet valid, 0 current, 1 past its nextUpdate.
    package func currency(at time: Date) -> Int {
        Int(kvitto_crl_currency(crl, time_t(time.timeIntervalSince1970)))
    }

    /// Whether `certificate`'s serial number is listed. Throws when the lookup fails or finds an
    /// entry with the reason removeFromCRL (meaningful only in a delta CRL, so on a complete CRL
    /// the entry says neither "revoked" nor "not revoked"): the caller must refuse the certificate.
    package func lists(_ certificate: Certificate) throws(XMLSecurityError) -> Bool {
        // swift-certificates keeps the serial as unsigned big-endian bytes without leading
        // zeros; serial number 0 has none.
        let bytes = Array(certificate.serialNumber.bytes)
        return try listing(serial: bytes.isEmpty ? [0] : bytes) == .listed
    }

    /// Looks up a serial number given as unsigned big-endian bytes.
    func listing(serial: [UInt8]) throws(XMLSecurityError) -> Listing {
        let rc = serial.withUnsafeBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress, buffer.count <= Int(Int32.max) else { return -1 }
            return kvitto_crl_contains(crl, base, Int32(buffer.count))
        }
        switch rc {
        case 0: return .notListed
        case 1: return .listed
        case 2: throw .untrusted("the revocation check failed: the CRL lists the serial number with the reason removeFromCRL, which a complete CRL must not carry")
        default: throw .untrusted("the revocation check failed: the CRL lookup of a serial number could not be made")
        }
    }

    /// Of `candidates` (CRLs of one issuer), the one to check against at `time`: the current one
    /// issued last (latest thisUpdate). CRLs not yet valid or past their nextUpdate are skipped;
    /// nil when none is current.
    package static func newestCurrent(_ candidates: [CertificateRevocationList], at time: Date) -> CertificateRevocationList? {
        candidates.filter { $0.currency(at: time) == 0 }.max { $0.thisUpdate < $1.thisUpdate }
    }
}
