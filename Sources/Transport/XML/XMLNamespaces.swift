/// Namespace names used across the SDK profile and the prefixes Kvitto uses in locations it
/// reports (XPaths in rule violations and Meddelandekvittens LineIDs).
package enum XMLNamespaces {
    package static let xhe = "http://docs.oasis-open.org/bdxr/ns/XHE/1/ExchangeHeaderEnvelope"
    package static let xha = "http://docs.oasis-open.org/bdxr/ns/XHE/1/AggregateComponents"
    package static let xhb = "http://docs.oasis-open.org/bdxr/ns/XHE/1/BasicComponents"
    package static let xhext = "http://docs.oasis-open.org/bdxr/ns/XHE/1/ExtensionComponents"
    package static let sdk = "urn:riv:infrastructure:messaging:MessageWithAttachments:3"
    package static let ubl = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
    package static let cac = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    package static let cbc = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
    package static let ublExt = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
    package static let ds = "http://www.w3.org/2000/09/xmldsig#"
    package static let xenc = "http://www.w3.org/2001/04/xmlenc#"
    package static let xenc11 = "http://www.w3.org/2009/xmlenc11#"
    package static let dsig11 = "http://www.w3.org/2009/xmldsig11#"

    /// Prefixes for reported locations.
    package static let prefixes: [String: String] = [
        xhe: "x", xha: "xha", xhb: "xhb", xhext: "ext", sdk: "tns", ubl: "app", cac: "cac", cbc: "cbc",
        ublExt: "ext", ds: "ds", xenc: "xenc",
    ]

    /// One location step for `element`: `prefix:name[position]`, or the XPath 3
    /// `Q{uri}name[position]` form for namespaces without a known prefix.
    package static func step(for element: XMLElement, position: Int) -> String {
        if element.namespaceURI.isEmpty { return "\(element.localName)[\(position)]" }
        if let p = prefixes[element.namespaceURI] { return "\(p):\(element.localName)[\(position)]" }
        return "Q{\(element.namespaceURI)}\(element.localName)[\(position)]"
    }
}
