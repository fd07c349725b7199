import Crypto
import _CryptoExtras
package import X509
package import Foundation

/// Verifies the enveloped XML-DSig signature of an SDK document (XHE or Meddelandekvittens)
/// strictly: exactly one `ds:Signature`, the last child of the document element; SignedInfo with
/// exactly one Reference to the whole document (`URI=""`) with the enveloped-signature transform
/// and optionally one canonicalization; RSA-SHA256 (≥ 2048-bit key); SHA-256; the certificate in
/// KeyInfo, which must chain to the configured trust anchors at the given time. Nothing else is
/// accepted, so a signature cannot be made to cover something other than what is processed.
package struct XMLSignatureVerifier: Sendable {
    package let trust: CertificateTrust
    package let limits: XMLLimits

    package init(trust: CertificateTrust, limits: XMLLimits = .sdk) {
        self.trust = trust
        self.limits = limits
    }

    /// What a valid signature tells.
    package struct Verified: Sendable {
        /// The signer's certificate.
        package let signer: Certificate
    }

    /// Parses and verifies `bytes` at `time` (signature, then trust).
    package func verify(_ bytes: [UInt8], at time: Date) async throws(XMLSecurityError) -> Verified {
        let document: XMLDocument
        do { document = try XMLDocument(bytes: bytes, limits: limits) } catch { throw .xml(error) }
        return try await verify(document, at: time)
    }

    /// Verifies an already parsed document at `time`.
    package func verify(_ document: XMLDocument, at time: Date) async throws(XMLSecurityError) -> Verified {
        let (leaf, extra) = try Self.verifySignature(document)
        try await trust.evaluate(leaf, extra: extra, at: time)
        return Verified(signer: leaf)
    }

    /// The cryptographic part without trust: structure, digest, signature value. Returns the
    /// signer's certificate and any further certificates from KeyInfo.
    package static func verifySignature(_ document: XMLDocument) throws(XMLSecurityError) -> (Certificate, [Certificate]) {
        let ds = XMLNamespaces.ds
        var signatures: [XMLElement] = []
        document.root.forEachElement { e in if e.isNamed(ds, "Signature") { signatures.append(e) } }
        guard !signatures.isEmpty else { throw .signatureMissing }
        guard signatures.count == 1, let signature = signatures.first else { throw .multipleSignatures }
        guard document.root.elements.last === signature else { throw .signatureMisplaced }

        let parts = try expect(signature, ["SignedInfo", "SignatureValue", "KeyInfo"])
        let (signedInfo, signatureValue, keyInfo) = (parts[0], parts[1], parts[2])
        let siParts = try expect(signedInfo, ["CanonicalizationMethod", "SignatureMethod", "Reference"])
        let (c14nMethod, signatureMethod, reference) = (siParts[0], siParts[1], siParts[2])
        let (signedInfoC14n, signedInfoPrefixes) = try canonicalization(c14nMethod)
        guard let sigAlg = signatureMethod.attribute("Algorithm") else { throw .unexpectedStructure("SignatureMethod has no Algorithm") }
        guard sigAlg == XMLSecurityAlgorithm.rsaSHA256 else { throw .unsupportedAlgorithm(sigAlg) }
        guard signatureMethod.elements.isEmpty else { throw .unexpectedStructure("SignatureMethod has parameters") }

        guard let uri = reference.attribute("URI") else { throw .referenceNotWholeDocument("(absent)") }
        guard uri.isEmpty else { throw .referenceNotWholeDocument(uri) }
        let refParts = try expect(reference, ["Transforms", "DigestMethod", "DigestValue"])
        let transforms = refParts[0].elements
        guard transforms.allSatisfy({ $0.isNamed(ds, "Transform") }), (1...2).contains(transforms.count) else {
            throw .unexpectedStructure("Reference must have the enveloped-signature transform and at most one canonicalization")
        }
        guard transforms[0].attribute("Algorithm") == XMLSecurityAlgorithm.envelopedSignature, transforms[0].elements.isEmpty else {
            throw .unsupportedAlgorithm(transforms[0].attribute("Algorithm") ?? "(transform without Algorithm)")
        }
        var referenceC14n = CanonicalizationMethod.inclusive
        var referencePrefixes: [String] = []
        if transforms.count == 2 { (referenceC14n, referencePrefixes) = try canonicalization(transforms[1]) }
        guard let digestAlg = refParts[1].attribute("Algorithm") else { throw .unexpectedStructure("DigestMethod has no Algorithm") }
        guard digestAlg == XMLSecurityAlgorithm.sha256 else { throw .unsupportedAlgorithm(digestAlg) }
        guard let expectedDigest = Base64.decode(refParts[2].stringValue), expectedDigest.count == 32 else {
            throw .unexpectedStructure("DigestValue is not a base64 SHA-256 digest")
        }

        let x509 = keyInfo.elements(ds, "X509Data").flatMap { $0.elements(ds, "X509Certificate") }
        guard keyInfo.elements.count == 1, !x509.isEmpty else { throw .certificateMissing }
        var certificates: [Certificate] = []
        for element in x509 {
            guard let der = Base64.decode(element.stringValue) else { throw .certificateUnusable("X509Certificate is not base64") }
            do { certificates.append(try ParsedCertificates.certificate(der: der)) } catch {
                throw .certificateUnusable("X509Certificate is not a DER certificate: \(error)")
            }
        }
        let leaf = certificates[0]
        guard let publicKey = ParsedCertificates.rsaSigningKey(leaf) else {
            throw .certificateUnusable("the signer's certificate has no RSA key")
        }
        guard publicKey.keySizeInBits >= 2048 else {
            throw .certificateUnusable("the signer's RSA key has \(publicKey.keySizeInBits) bits; at least 2048 are required")
        }

        // Digest of the whole document minus the signature.
        var hasher = SHA256()
        do {
            try document.canonicalize(nil, excluding: signature, method: referenceC14n, inclusivePrefixes: referencePrefixes) {
                hasher.update(bufferPointer: $0)
            }
        } catch { throw .xml(error) }
        guard constantTimeEqual(Array(hasher.finalize()), expectedDigest) else { throw .digestMismatch }

        let signedBytes: [UInt8]
        do { signedBytes = try document.canonicalize(signedInfo, method: signedInfoC14n, inclusivePrefixes: signedInfoPrefixes) } catch {
            throw .xml(error)
        }
        guard let value = Base64.decode(signatureValue.stringValue) else { throw .unexpectedStructure("SignatureValue is not base64") }
        guard publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: value), for: SHA256.hash(data: signedBytes),
                                         padding: .insecurePKCS1v1_5) else {
            throw .signatureInvalid
        }
        return (leaf, Array(certificates.dropFirst()))
    }

    /// The child elements of `parent`, which must be exactly `names` in the ds namespace.
    private static func expect(_ parent: XMLElement, _ names: [String]) throws(XMLSecurityError) -> [XMLElement] {
        let children = parent.elements
        guard children.count == names.count,
              zip(children, names).allSatisfy({ $0.isNamed(XMLNamespaces.ds, $1) }) else {
            throw .unexpectedStructure("\(parent.localName) must contain exactly \(names.joined(separator: ", ")); found "
                + children.map(\.localName).joined(separator: ", "))
        }
        return children
    }

    /// A canonicalization element (CanonicalizationMethod or Transform): the method and the
    /// exclusive InclusiveNamespaces prefix list.
    private static func canonicalization(_ e: XMLElement) throws(XMLSecurityError) -> (CanonicalizationMethod, [String]) {
        guard let uri = e.attribute("Algorithm") else { throw .unexpectedStructure("\(e.localName) has no Algorithm") }
        guard let method = XMLSecurityAlgorithm.canonicalization(uri) else { throw .unsupportedAlgorithm(uri) }
        var prefixes: [String] = []
        for child in e.elements {
            guard method == .exclusive, child.isNamed(XMLSecurityAlgorithm.excC14n, "InclusiveNamespaces") else {
                throw .unexpectedStructure("\(e.localName) has an unexpected child \(child.localName)")
            }
            prefixes += (child.attribute("PrefixList") ?? "").split(separator: " ").map {
                $0 == "#default" ? "#default" : String($0)
            }
        }
        return (method, prefixes)
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
