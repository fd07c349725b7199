import Crypto
import _CryptoExtras
import X509

/// Signs a document with an enveloped XML-DSig signature as the SDK envelope profile requires:
/// one Reference to the whole document (`URI=""`) with the enveloped-signature transform and
/// canonicalization, SHA-256 digest, RSA-SHA256, the signer's certificate in KeyInfo. The
/// signature is appended as the last child of the document element.
package enum XMLSigner {
    /// Returns the signed document: the canonical form of `bytes` (no comments; an XML
    /// declaration added) with `ds:Signature` appended to the document element.
    package static func signEnveloped(_ bytes: [UInt8], identity: SigningIdentity, canonicalization: CanonicalizationMethod = .inclusive,
                                      limits: XMLLimits = .sdk) throws(XMLSecurityError) -> [UInt8] {
        let document: XMLDocument
        do { document = try XMLDocument(bytes: bytes, limits: limits) } catch { throw .xml(error) }
        var existing = 0
        document.root.walk { e, _ in if e.isNamed(XMLNamespaces.ds, "Signature") { existing += 1 } }
        guard existing == 0 else { throw .multipleSignatures }
        let canonical: [UInt8]
        do { canonical = try document.canonicalize(nil, method: canonicalization) } catch { throw .xml(error) }
        let c14nURI = canonicalization == .inclusive ? XMLSecurityAlgorithm.c14n : XMLSecurityAlgorithm.excC14n
        let digest = Base64.encode(Array(SHA256.hash(data: canonical)))
        let signedInfo = """
            <ds:SignedInfo><ds:CanonicalizationMethod Algorithm="\(c14nURI)"></ds:CanonicalizationMethod>\
            <ds:SignatureMethod Algorithm="\(XMLSecurityAlgorithm.rsaSHA256)"></ds:SignatureMethod>\
            <ds:Reference URI=""><ds:Transforms>\
            <ds:Transform Algorithm="\(XMLSecurityAlgorithm.envelopedSignature)"></ds:Transform>\
            <ds:Transform Algorithm="\(c14nURI)"></ds:Transform></ds:Transforms>\
            <ds:DigestMethod Algorithm="\(XMLSecurityAlgorithm.sha256)"></ds:DigestMethod>\
            <ds:DigestValue>\(digest)</ds:DigestValue></ds:Reference></ds:SignedInfo>
            """
        // Canonicalize SignedInfo in the namespace context it will have: a child of the document
        // element, which carries the document's in-scope namespaces and xml:* attributes.
        let root = document.root
        var context = XMLWriter(declaration: false)
        var attributes: [(String, String)] = root.namespaceDeclarations.map { ($0.prefix.map { "xmlns:" + $0 } ?? "xmlns", $0.uri) }
        for a in root.attributes where a.namespaceURI == "http://www.w3.org/XML/1998/namespace" {
            attributes.append(("xml:" + a.localName, a.value))
        }
        let rootName = (root.prefix.map { $0 + ":" } ?? "") + root.localName
        context.rawText("<\(rootName)")
        for (k, v) in attributes { context.rawText(" \(k)=\"\(XMLWriter.escapedAttribute(v))\"") }
        context.rawText("><ds:Signature xmlns:ds=\"\(XMLNamespaces.ds)\">" + signedInfo + "</ds:Signature></\(rootName)>")
        let signedInfoCanonical: [UInt8]
        do {
            let mini = try XMLDocument(bytes: context.bytes, limits: limits)
            guard let si = mini.root.element(XMLNamespaces.ds, "Signature")?.element(XMLNamespaces.ds, "SignedInfo") else {
                throw XMLSecurityError.unexpectedStructure("internal: SignedInfo not found")
            }
            signedInfoCanonical = try mini.canonicalize(si, method: canonicalization)
        } catch let e as XMLSecurityError { throw e } catch let e as XMLError { throw .xml(e) } catch {
            throw .unexpectedStructure("\(error)")
        }
        let signatureValue: [UInt8]
        do {
            signatureValue = Array(try identity.privateKey.signature(for: SHA256.hash(data: signedInfoCanonical),
                                                                     padding: .insecurePKCS1v1_5).rawRepresentation)
        } catch { throw .keyUnusable("RSA signing failed: \(error)") }
        var keyInfo = "<ds:KeyInfo><ds:X509Data>"
        for cert in [identity.certificate] + identity.chain {
            keyInfo += "<ds:X509Certificate>\(Base64.encode(CertificateFile.der(cert)))</ds:X509Certificate>"
        }
        keyInfo += "</ds:X509Data></ds:KeyInfo>"
        let signature = "<ds:Signature xmlns:ds=\"\(XMLNamespaces.ds)\">" + signedInfo
            + "<ds:SignatureValue>\(Base64.encode(signatureValue))</ds:SignatureValue>" + keyInfo + "</ds:Signature>"
        let endTag = Array("</\(rootName)>".utf8)
        guard canonical.count >= endTag.count, Array(canonical.suffix(endTag.count)) == endTag else {
            throw .unexpectedStructure("the document has content after its document element")
        }
        return Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".utf8) + canonical.dropLast(endTag.count)
            + Array(signature.utf8) + endTag
    }
}
