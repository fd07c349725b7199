/// An `xenc:EncryptedData` (Type Element) with its `xenc:EncryptedKey` in `ds:KeyInfo`, as the
/// SDK envelope profile puts it in the XHE PayloadContent.
package struct EncryptedData: Sendable, Equatable {
    /// Data encryption algorithm URI (AES-256-CBC by default; AES-GCM accepted).
    package var algorithm: String
    package var type: String?
    package var encryptedKey: EncryptedKey
    /// IV/nonce followed by the ciphertext (and the GCM tag).
    package var cipherValue: [UInt8]

    package init(algorithm: String, type: String? = XMLSecurityAlgorithm.typeElement, encryptedKey: EncryptedKey,
                 cipherValue: [UInt8]) {
        self.algorithm = algorithm
        self.type = type
        self.encryptedKey = encryptedKey
        self.cipherValue = cipherValue
    }

    /// The key transport: the content key encrypted with the recipient's RSA key.
    package struct EncryptedKey: Sendable, Equatable {
        /// `rsa-oaep-mgf1p` (profile) or xmlenc11 `rsa-oaep`.
        package var algorithm: String
        /// OAEP digest (`DigestMethod`), nil = SHA-1.
        package var digestMethod: String?
        /// xmlenc11 MGF, nil = MGF1 with SHA-1.
        package var mgf: String?
        /// DER of the recipient certificate the key was encrypted to (`X509Certificate`).
        package var recipientCertificate: [UInt8]?
        package var cipherValue: [UInt8]

        package init(algorithm: String, digestMethod: String?, mgf: String?, recipientCertificate: [UInt8]?, cipherValue: [UInt8]) {
            self.algorithm = algorithm
            self.digestMethod = digestMethod
            self.mgf = mgf
            self.recipientCertificate = recipientCertificate
            self.cipherValue = cipherValue
        }
    }
}

extension EncryptedData {
    /// Serialized, self-contained (declares its own namespaces), no XML declaration.
    package func xml() -> [UInt8] {
        var w = XMLWriter(declaration: false)
        write(to: &w)
        return w.bytes
    }

    /// Writes the element into `w`.
    package func write(to w: inout XMLWriter) {
        w.reserve(cipherValue.count / 3 * 4 + 4096)
        if let type {
            w.start("xenc:EncryptedData", ["xmlns:xenc": XMLNamespaces.xenc, "xmlns:ds": XMLNamespaces.ds, "Type": type])
        } else {
            w.start("xenc:EncryptedData", ["xmlns:xenc": XMLNamespaces.xenc, "xmlns:ds": XMLNamespaces.ds])
        }
        w.start("xenc:EncryptionMethod", ["Algorithm": algorithm])
        w.end()
        w.start("ds:KeyInfo")
        w.start("xenc:EncryptedKey")
        w.start("xenc:EncryptionMethod", ["Algorithm": encryptedKey.algorithm])
        if let d = encryptedKey.digestMethod {
            w.start("ds:DigestMethod", ["Algorithm": d])
            w.end()
        }
        if let m = encryptedKey.mgf {
            w.start("xenc11:MGF", ["xmlns:xenc11": XMLNamespaces.xenc11, "Algorithm": m])
            w.end()
        }
        w.end()
        if let cert = encryptedKey.recipientCertificate {
            w.start("ds:KeyInfo")
            w.start("ds:X509Data")
            w.start("ds:X509Certificate")
            w.base64(cert)
            w.end()
            w.end()
            w.end()
        }
        w.start("xenc:CipherData")
        w.start("xenc:CipherValue")
        w.base64(encryptedKey.cipherValue)
        w.end()
        w.end()
        w.end()  // EncryptedKey
        w.end()  // KeyInfo
        w.start("xenc:CipherData")
        w.start("xenc:CipherValue")
        w.base64(cipherValue)
        w.end()
        w.end()
        w.end()
    }

    /// Reads an `xenc:EncryptedData` element.
    package init(element e: XMLElement) throws(SDKModelError) {
        let xenc = XMLNamespaces.xenc, ds = XMLNamespaces.ds
        guard e.isNamed(xenc, "EncryptedData") else { throw .wrongRoot(e, expected: "xenc:EncryptedData") }
        guard let method = e.element(xenc, "EncryptionMethod")?.attribute("Algorithm") else {
            throw .missing("EncryptedData/EncryptionMethod/@Algorithm")
        }
        guard let cipher = e.element(xenc, "CipherData")?.element(xenc, "CipherValue").flatMap({ Base64.decode($0.stringValue) }) else {
            throw .invalid("EncryptedData/CipherData/CipherValue is missing or not base64 (CipherReference is not supported)")
        }
        let keys = e.element(ds, "KeyInfo")?.elements(xenc, "EncryptedKey") ?? []
        guard keys.count == 1, let k = keys.first else {
            throw .invalid("EncryptedData/KeyInfo must hold exactly one EncryptedKey, found \(keys.count)")
        }
        guard let kMethod = k.element(xenc, "EncryptionMethod"), let kAlgorithm = kMethod.attribute("Algorithm") else {
            throw .missing("EncryptedKey/EncryptionMethod/@Algorithm")
        }
        guard let kCipher = k.element(xenc, "CipherData")?.element(xenc, "CipherValue").flatMap({ Base64.decode($0.stringValue) }) else {
            throw .invalid("EncryptedKey/CipherData/CipherValue is missing or not base64")
        }
        let cert = k.element(ds, "KeyInfo")?.element(ds, "X509Data")?.element(ds, "X509Certificate").flatMap { Base64.decode($0.stringValue) }
        self.init(
            algorithm: method, type: e.attribute("Type"),
            encryptedKey: EncryptedKey(
                algorithm: kAlgorithm, digestMethod: kMethod.element(ds, "DigestMethod")?.attribute("Algorithm"),
                mgf: kMethod.element(XMLNamespaces.xenc11, "MGF")?.attribute("Algorithm"), recipientCertificate: cert,
                cipherValue: kCipher),
            cipherValue: cipher)
    }
}
