import Crypto
import _CryptoExtras
import X509

/// Signs a document with an enveloped XML-DSig signature as the SDK envelope profile requires:
/// one Reference to the whole document (`URI=""`) with the enveloped-signature transform and
/// canonicalization, SHA-256 digest, RSA-SHA256, the signer's certificate in KeyInfo. The
/// signature is appended as the last child of the document element.
package enum XMLSigner {
    /// Returns `bytes` with `ds:Signature` inserted as the last child of the document element.
    /// The offset of `</name` that closes the document element: the last end tag, after which
    /// only whitespace, comments and processing instructions may follow.
    static func rootEndTag(in bytes: [UInt8], name: String) -> Int? {
        var i = bytes.count - 1
        func skipBack(over open: [UInt8], from end: Int) -> Int? {
            // bytes[end] is the last byte of a construct ending in `-->` or `?>`; find its opener.
            var j = end
            while j >= open.count - 1 {
                if Array(bytes[(j - open.count + 1)...j]) == open { return j - open.count }
                j -= 1
            }
            return nil
        }
        while i >= 0 {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i -= 1
            case UInt8(ascii: ">"):
                if i >= 2, bytes[i - 1] == UInt8(ascii: "-"), bytes[i - 2] == UInt8(ascii: "-") {
                    guard let j = skipBack(over: Array("<!--".utf8), from: i - 3) else { return nil }
                    i = j
                } else if i >= 1, bytes[i - 1] == UInt8(ascii: "?") {
                    guard let j = skipBack(over: Array("<?".utf8), from: i - 2) else { return nil }
                    i = j
                } else {
                    // The root's end tag: `</name` then optional whitespace then `>`.
                    var k = i - 1
                    while k >= 0, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[k]) { k -= 1 }
                    let tag = Array("</\(name)".utf8)
                    let start = k - tag.count + 1
                    guard start >= 0, Array(bytes[start...k]) == tag else { return nil }
                    return start
                }
            default:
                return nil
            }
        }
        return nil
    }

    package static func signEnveloped(_ bytes: [UInt8], identity: SigningIdentity, canonicalization: CanonicalizationMethod = .inclusive,
                                      limits: XMLLimits = .sdk) throws(XMLSecurityError) -> [UInt8] {
        let document: XMLDocument
        do { document = try XMLDocument(bytes: bytes, limits: limits, structureOnly: true) } catch { throw .xml(error) }
        var existing = 0
        document.root.forEachElement { e in if e.isNamed(XMLNamespaces.ds, "Signature") { existing += 1 } }
        guard existing == 0 else { throw .multipleSignatures }
        var hasher = SHA256()
        do { try document.canonicalize(nil, method: canonicalization) { hasher.update(bufferPointer: $0) } } catch { throw .xml(error) }
        let c14nURI = canonicalization == .inclusive ? XMLSecurityAlgorithm.c14n : XMLSecurityAlgorithm.excC14n
        let digest = Base64.encode(Array(hasher.finalize()))
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
            signatureValue = try identity.sign(sha256: SHA256.hash(data: signedInfoCanonical))
        } catch { throw .keyUnusable("RSA signing failed: \(error)") }
        var keyInfo = "<ds:KeyInfo><ds:X509Data>"
        for cert in [identity.certificate] + identity.chain {
            keyInfo += "<ds:X509Certificate>\(Base64.encode(CertificateFile.der(cert)))</ds:X509Certificate>"
        }
        keyInfo += "</ds:X509Data></ds:KeyInfo>"
        let signature = "<ds:Signature xmlns:ds=\"\(XMLNamespaces.ds)\">" + signedInfo
            + "<ds:SignatureValue>\(Base64.encode(signatureValue))</ds:SignatureValue>" + keyInfo + "</ds:Signature>"
        guard let insertAt = Self.rootEndTag(in: bytes, name: rootName) else {
            throw .unexpectedStructure("cannot find the end tag of the document element \(rootName)")
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + signature.utf8.count)
        out.append(contentsOf: bytes[..<insertAt])
        out.append(contentsOf: signature.utf8)
        out.append(contentsOf: bytes[insertAt...])
        return out
    }
}
