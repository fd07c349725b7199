/// Algorithm identifiers of XML-DSig and XML-Enc that Kvitto emits or accepts.
package enum XMLSecurityAlgorithm {
    package static let c14n = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    package static let excC14n = "http://www.w3.org/2001/10/xml-exc-c14n#"
    package static let envelopedSignature = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
    package static let rsaSHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    package static let sha256 = "http://www.w3.org/2001/04/xmlenc#sha256"
    package static let sha1 = "http://www.w3.org/2000/09/xmldsig#sha1"
    package static let aes256CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
    package static let aes128GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
    package static let aes256GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
    package static let rsaOAEPMGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
    package static let rsaOAEP = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
    package static let mgf1SHA256 = "http://www.w3.org/2009/xmlenc11#mgf1sha256"
    package static let mgf1SHA1 = "http://www.w3.org/2009/xmlenc11#mgf1sha1"
    package static let typeElement = "http://www.w3.org/2001/04/xmlenc#Element"
    package static let typeContent = "http://www.w3.org/2001/04/xmlenc#Content"

    /// The canonicalization for an algorithm URI, if Kvitto accepts it.
    package static func canonicalization(_ uri: String) -> CanonicalizationMethod? {
        switch uri {
        case c14n: .inclusive
        case excC14n: .exclusive
        default: nil
        }
    }
}
