/// Writes well-formed XML into a byte buffer. Text and attribute values are escaped; names are
/// the caller's constants. Used by the document builders (SDK message, XHE, Meddelandekvittens,
/// signatures).
///
/// A writer made with ``init(exclusiveCanonicalIn:)`` writes the Exclusive XML Canonicalization
/// 1.0 form of the same calls instead, which a signer digests without parsing its own output.
package struct XMLWriter {
    package private(set) var bytes: [UInt8] = []
    private var open: [String] = []
    /// Set in canonical mode.
    private var canonical: ExclusiveCanonicalizer?

    package init(declaration: Bool = true) {
        if declaration { bytes += Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".utf8) }
    }

    /// A writer whose bytes are the Exclusive XML Canonicalization 1.0 form (no InclusiveNamespaces)
    /// of the elements written, as the node set of a same-document reference to the first of them
    /// in a document where its ancestors declare `namespaces` (prefix → URI; the empty prefix for a
    /// default namespace). Check ``canonicalFailure`` before using the bytes: ``raw(_:)``,
    /// ``rawText(_:)``, an undeclared prefix or a character XML does not allow make them unusable.
    package init(exclusiveCanonicalIn namespaces: KeyValuePairs<String, String>) {
        canonical = ExclusiveCanonicalizer(context: namespaces)
    }

    /// Why ``bytes`` is not the canonical form, for a writer made with
    /// ``init(exclusiveCanonicalIn:)``; nil when it is (and always for a document writer).
    package var canonicalFailure: String? { canonical?.failure }

    /// Starts `<name attr="v"…>`; namespace declarations are ordinary attributes here.
    package mutating func start(_ name: String, _ attributes: KeyValuePairs<String, String> = [:]) {
        open.append(name)
        if canonical != nil {
            canonical?.startTag(name, attributes, into: &bytes)
            return
        }
        bytes.append(UInt8(ascii: "<"))
        bytes.append(contentsOf: name.utf8)
        for (k, v) in attributes {
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: k.utf8)
            bytes.append(contentsOf: "=\"".utf8)
            Self.escape(v, into: &bytes, attribute: true)
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: ">"))
    }

    /// Ends the innermost open element.
    package mutating func end() {
        let name = open.removeLast()
        canonical?.endTag()
        bytes.append(contentsOf: "</".utf8)
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: ">"))
    }

    /// `<name attrs>text</name>`.
    package mutating func element(_ name: String, _ text: String, _ attributes: KeyValuePairs<String, String> = [:]) {
        start(name, attributes)
        self.text(text)
        end()
    }

    /// `<name>text</name>` when `text` is not nil.
    package mutating func optional(_ name: String, _ text: String?) {
        if let text { element(name, text) }
    }

    /// Escaped character data.
    package mutating func text(_ text: String) {
        if canonical != nil {
            canonical?.text(text, into: &bytes)
        } else {
            Self.escape(text, into: &bytes, attribute: false)
        }
    }

    /// Bytes that are already well-formed XML (a canonicalized element, an encrypted block). A
    /// canonical writer cannot vouch for them and records a ``canonicalFailure``.
    package mutating func raw(_ xml: [UInt8]) {
        canonical?.fail("raw bytes were written")
        bytes.append(contentsOf: xml)
    }

    /// Raw ASCII text known to need no escaping. A canonical writer records a ``canonicalFailure``.
    package mutating func rawText(_ ascii: String) {
        canonical?.fail("raw text was written")
        bytes.append(contentsOf: ascii.utf8)
    }

    /// `data` as base64 character data, encoded straight into the buffer.
    package mutating func base64(_ data: [UInt8]) {
        bytes.reserveCapacity(bytes.count + (data.count + 2) / 3 * 4)
        Base64.encode(data, into: &bytes)
    }

    /// Reserves room for `count` more bytes.
    package mutating func reserve(_ count: Int) { bytes.reserveCapacity(bytes.count + count) }

    /// `value` escaped for use inside a double-quoted attribute.
    package static func escapedAttribute(_ value: String) -> String {
        var out: [UInt8] = []
        escape(value, into: &out, attribute: true)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `s` escaped as character data or as a double-quoted attribute value. Canonical XML
    /// leaves `>` in attribute values as it is; a document writer escapes it too.
    static func escape(_ s: String, into out: inout [UInt8], attribute: Bool, canonical: Bool = false) {
        let escapesGreaterThan = !(attribute && canonical)
        // Most values need no escaping: copy them whole.
        let copied = s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard !bytes.contains(where: { needsEscape($0, attribute: attribute, greaterThan: escapesGreaterThan) }) else { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if copied == true { return }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">") where escapesGreaterThan: out.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\"") where attribute: out.append(contentsOf: "&quot;".utf8)
            case 0x0D: out.append(contentsOf: "&#xD;".utf8)
            case 0x09 where attribute: out.append(contentsOf: "&#x9;".utf8)
            case 0x0A where attribute: out.append(contentsOf: "&#xA;".utf8)
            default: out.append(b)
            }
        }
    }

    private static func needsEscape(_ b: UInt8, attribute: Bool, greaterThan: Bool) -> Bool {
        switch b {
        case UInt8(ascii: "&"), UInt8(ascii: "<"), 0x0D: true
        case UInt8(ascii: ">"): greaterThan
        case UInt8(ascii: "\""), 0x09, 0x0A: attribute
        default: false
        }
    }
}
