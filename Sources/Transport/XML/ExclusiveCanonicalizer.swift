/// Renders start tags in the Exclusive XML Canonicalization 1.0 form (without an
/// InclusiveNamespaces prefix list) while a document is being written, so that a signer can digest
/// the elements it has just written without parsing them again.
///
/// The rules are those of Exclusive C14N 1.0 (section 3) applied to an element and its
/// descendants, the node set of a same-document `#id` reference:
/// - a namespace declaration is output on an element that *visibly utilizes* its prefix (the
///   element's own prefix, or the prefix of one of its attributes) unless the nearest output
///   ancestor already rendered the same prefix with the same URI; `xmlns=""` only undoes a default
///   namespace that an output ancestor rendered;
/// - namespace declarations come first, sorted by prefix, then the attributes sorted by namespace
///   URI and local name, comparing code points (UTF-8 bytes);
/// - attribute values escape `&`, `<`, `"`, tab, line feed and carriage return; text escapes
///   `&`, `<`, `>` and carriage return; elements always have an end tag.
///
/// Anything it cannot render canonically (a prefix with no declaration in scope, a relative
/// namespace URI, a character XML does not allow) is recorded in ``failure``: the bytes are then
/// not to be digested, and the caller canonicalizes a parsed copy instead (libxml2 refuses a
/// character XML does not allow when parsing, and a relative namespace URI when canonicalizing).
struct ExclusiveCanonicalizer {
    private static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"

    /// Namespace declarations in scope, innermost last: the context given at creation, then those
    /// of the open elements.
    private var declared: [(prefix: String, uri: String)]
    /// Namespace declarations output by the open elements, innermost last.
    private var rendered: [(prefix: String, uri: String)] = []
    /// `declared.count` and `rendered.count` before each open element.
    private var frames: [(declared: Int, rendered: Int)] = []
    /// Why the bytes written are not the canonical form; nil while they are.
    private(set) var failure: String?

    /// `context`: the declarations of the ancestors of the first element written (prefix → URI;
    /// the empty prefix for a default namespace). None of them counts as rendered.
    init(context: KeyValuePairs<String, String>) {
        declared = context.map { (prefix: $0.key, uri: $0.value) }
    }

    /// Records why the output is not canonical (the first reason wins).
    mutating func fail(_ why: String) {
        if failure == nil { failure = why }
    }

    /// Appends the canonical start tag of `name` with `attributes` (which may declare namespaces
    /// as `xmlns:p` or `xmlns` entries) to `out`.
    mutating func startTag(_ name: String, _ attributes: KeyValuePairs<String, String>, into out: inout [UInt8]) {
        frames.append((declared.count, rendered.count))
        var plain: [(prefix: String, local: String, name: String, value: String)] = []
        for (key, value) in attributes {
            if key == "xmlns" {
                declared.append(("", value))
            } else if key.utf8.starts(with: "xmlns:".utf8) {
                declared.append((String(key.dropFirst(6)), value))
            } else {
                let (prefix, local) = Self.split(key)
                plain.append((prefix, local, key, value))
            }
        }
        var utilized = [Self.split(name).prefix]
        for a in plain where !a.prefix.isEmpty && a.prefix != "xml" && !utilized.contains(a.prefix) { utilized.append(a.prefix) }
        var output: [(prefix: String, uri: String)] = []
        for prefix in utilized {
            let uri: String
            if let bound = lookup(prefix, in: declared) {
                uri = bound
                // C14N 1.0 refuses relative namespace URIs (as libxml2 does); an absolute one has a scheme.
                if !uri.isEmpty, !uri.utf8.contains(UInt8(ascii: ":")) { fail("the namespace URI \(uri) is relative") }
            } else if prefix.isEmpty {
                uri = ""
            } else {
                fail("the prefix \(prefix) has no namespace declaration in scope")
                continue
            }
            // An empty default namespace needs no declaration unless an output ancestor rendered another.
            let previous = lookup(prefix, in: rendered)
            if prefix.isEmpty ? (previous ?? "") != uri : previous != uri {
                output.append((prefix, uri))
                rendered.append((prefix, uri))
            }
        }
        output.sort { Self.less($0.prefix, $1.prefix) }
        var sorted: [(uri: String, local: String, name: String, value: String)] = []
        for a in plain {
            let uri: String
            if a.prefix.isEmpty {
                uri = ""
            } else if a.prefix == "xml" {
                uri = Self.xmlNamespace
            } else {
                uri = lookup(a.prefix, in: declared) ?? ""
            }
            sorted.append((uri, a.local, a.name, a.value))
        }
        sorted.sort { $0.uri == $1.uri ? Self.less($0.local, $1.local) : Self.less($0.uri, $1.uri) }

        out.append(UInt8(ascii: "<"))
        out.append(contentsOf: name.utf8)
        for n in output {
            out.append(contentsOf: n.prefix.isEmpty ? " xmlns=\"".utf8 : " xmlns:".utf8)
            if !n.prefix.isEmpty {
                out.append(contentsOf: n.prefix.utf8)
                out.append(contentsOf: "=\"".utf8)
            }
            attributeValue(n.uri, into: &out)
            out.append(UInt8(ascii: "\""))
        }
        for a in sorted {
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: a.name.utf8)
            out.append(contentsOf: "=\"".utf8)
            attributeValue(a.value, into: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: ">"))
    }

    /// Closes the innermost element opened with ``startTag(_:_:into:)`` (the caller writes the end tag).
    mutating func endTag() {
        guard let frame = frames.popLast() else {
            fail("an end tag without a start tag")
            return
        }
        declared.removeSubrange(frame.declared...)
        rendered.removeSubrange(frame.rendered...)
    }

    /// Appends `text` escaped as canonical character data.
    mutating func text(_ text: String, into out: inout [UInt8]) {
        checkCharacters(text)
        XMLWriter.escape(text, into: &out, attribute: false, canonical: true)
    }

    private mutating func attributeValue(_ value: String, into out: inout [UInt8]) {
        checkCharacters(value)
        XMLWriter.escape(value, into: &out, attribute: true, canonical: true)
    }

    /// XML 1.0 allows no C0 control other than tab, line feed and carriage return, and neither
    /// U+FFFE nor U+FFFF (a Swift string holds no surrogates).
    private mutating func checkCharacters(_ s: String) {
        for scalar in s.unicodeScalars {
            let v = scalar.value
            if (v < 0x20 && v != 0x09 && v != 0x0A && v != 0x0D) || v == 0xFFFE || v == 0xFFFF {
                fail("a character XML does not allow (U+\(String(v, radix: 16, uppercase: true)))")
                return
            }
        }
    }

    private func lookup(_ prefix: String, in list: [(prefix: String, uri: String)]) -> String? {
        list.last(where: { $0.prefix == prefix })?.uri
    }

    private static func split(_ qualifiedName: String) -> (prefix: String, local: String) {
        guard let colon = qualifiedName.utf8.firstIndex(of: UInt8(ascii: ":")) else { return ("", qualifiedName) }
        return (String(qualifiedName[..<colon]), String(qualifiedName[qualifiedName.index(after: colon)...]))
    }

    /// Code-point order (UTF-8 byte order), as C14N sorts; Swift's `<` on strings compares
    /// canonical equivalents instead.
    private static func less(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
