/// One `ds:Reference` of a WS-Security signature: what was signed (`#id` or `cid:…`), how, and
/// its digest. The receipt's NonRepudiationInformation repeats these, and the sender compares
/// them with what it signed.
package struct SignedReference: Sendable, Equatable {
    package var uri: String
    package var transforms: [String]
    /// InclusiveNamespaces prefixes of an exclusive c14n transform.
    package var inclusivePrefixes: [String]
    package var digestMethod: String
    package var digest: [UInt8]

    package init(uri: String, transforms: [String], inclusivePrefixes: [String] = [], digestMethod: String = XMLSecurityAlgorithm.sha256,
                 digest: [UInt8]) {
        self.uri = uri
        self.transforms = transforms
        self.inclusivePrefixes = inclusivePrefixes
        self.digestMethod = digestMethod
        self.digest = digest
    }

    /// Whether two reference lists acknowledge the same signature: equal length and equal sets of
    /// (URI, sorted transforms, digest method, digest) — how a receipt's NonRepudiationInformation
    /// is compared with what was signed.
    package static func sameSigned(_ a: [SignedReference], _ b: [SignedReference]) -> Bool {
        func key(_ r: SignedReference) -> String {
            r.uri + "|" + r.transforms.sorted().joined(separator: ",") + "|" + r.digestMethod + "|" + Base64.encode(r.digest)
        }
        return a.count == b.count && Set(a.map(key)) == Set(b.map(key))
    }

    /// Serialized with the `ds` prefix (declared by an ancestor).
    package func write(to w: inout XMLWriter) {
        w.start("ds:Reference", ["URI": uri])
        w.start("ds:Transforms")
        for t in transforms {
            w.start("ds:Transform", ["Algorithm": t])
            if t == XMLSecurityAlgorithm.excC14n, !inclusivePrefixes.isEmpty {
                w.start("ec:InclusiveNamespaces", ["xmlns:ec": XMLSecurityAlgorithm.excC14n,
                                                   "PrefixList": inclusivePrefixes.joined(separator: " ")])
                w.end()
            }
            w.end()
        }
        w.end()
        w.start("ds:DigestMethod", ["Algorithm": digestMethod])
        w.end()
        w.start("ds:DigestValue")
        w.base64(digest)
        w.end()
        w.end()
    }

    /// Reads a `ds:Reference`.
    package init(element r: XMLElement) throws(EbMSError) {
        let ds = XMLNamespaces.ds
        guard r.isNamed(ds, "Reference"), let uri = r.attribute("URI") else {
            throw .policyNoncompliance("a ds:Reference without URI")
        }
        var transforms: [String] = []
        var prefixes: [String] = []
        for t in r.element(ds, "Transforms")?.elements ?? [] {
            guard t.isNamed(ds, "Transform"), let a = t.attribute("Algorithm") else {
                throw .policyNoncompliance("Reference \(uri): unexpected element in Transforms")
            }
            transforms.append(a)
            for child in t.elements {
                guard child.isNamed(XMLSecurityAlgorithm.excC14n, "InclusiveNamespaces") else {
                    throw .policyNoncompliance("Reference \(uri): unexpected transform parameter \(child.localName)")
                }
                prefixes += (child.attribute("PrefixList") ?? "").split(separator: " ").map(String.init)
            }
        }
        guard let method = r.element(ds, "DigestMethod")?.attribute("Algorithm") else {
            throw .policyNoncompliance("Reference \(uri): no DigestMethod")
        }
        guard let value = r.element(ds, "DigestValue").flatMap({ Base64.decode($0.stringValue) }) else {
            throw .policyNoncompliance("Reference \(uri): DigestValue is not base64")
        }
        self.init(uri: uri, transforms: transforms, inclusivePrefixes: prefixes, digestMethod: method, digest: value)
    }
}
