import CLibXML2
#if canImport(Glibc)
import Glibc
#endif

/// A parsed XML document: libxml2's tree (for canonicalization and XSD validation) plus an
/// immutable Swift view of it (``root``).
///
/// Parsing is hardened: size is checked before libxml2 sees a byte; a document type declaration
/// is refused outright (so no entity can be declared, expanded or fetched); the network is off;
/// depth, node count and text size are bounded; non-UTF-8 input is refused.
///
/// Not `Sendable`: it owns a mutable C tree. Use it from one task; ``root`` may be shared.
package final class XMLDocument {
    package let root: XMLElement
    /// libxml2 element nodes by ``XMLElement/ordinal``.
    private let nodes: [xmlNodePtr]
    /// Swift elements by ordinal.
    package let elementsInOrder: [XMLElement]
    /// Ordinals of the elements with a text longer than `copyTextsUpTo` (see
    /// ``init(spool:limits:copyTextsUpTo:)``), which reads as empty in the Swift view: a reader
    /// must not take such an element's value for an empty one.
    package let omittedTexts: Set<Int>
    private let doc: xmlDocPtr

    /// libxml2's largest text node without XML_PARSE_HUGE (XML_MAX_TEXT_LENGTH).
    static let libxml2TextLimit = 10_000_000

    private static let initialized: Bool = {
        xmlInitParser()
        return true
    }()

    /// Parses `bytes` under `limits`. With `structureOnly`, text and comment nodes are checked
    /// against the limits but not copied into the Swift view (their values read as empty): for
    /// callers that only canonicalize and look at element structure, such as the signer.
    package convenience init(bytes: [UInt8], limits: XMLLimits = .sdk, structureOnly: Bool = false) throws(XMLError) {
        guard bytes.count <= limits.maxDocumentBytes else {
            throw .tooLarge(bytes: bytes.count, limit: limits.maxDocumentBytes)
        }
        _ = try Self.checkProlog(bytes)
        // The closure holds `bytes` by reference (copy-on-write): libxml2 never gets a second copy.
        let reader = ChunkReader { buffer, offset, max in
            bytes.withUnsafeBytes { raw in
                let n = min(max, raw.count - offset)
                guard n > 0, let base = raw.baseAddress else { return 0 }
                UnsafeMutableRawPointer(buffer).copyMemory(from: base + offset, byteCount: n)
                return n
            }
        }
        try self.init(reader: reader, limits: limits,
                      copyTextsUpTo: structureOnly ? nil : Int.max, comments: !structureOnly)
    }

    /// Parses the content of `spool` under `limits`, reading it in chunks (a file-backed spool is
    /// never loaded whole). Texts longer than `copyTextsUpTo` bytes are checked against the limits
    /// and kept in libxml2's tree (for canonicalization and schema validation) but read as empty
    /// in the Swift view: for callers that only read small values, such as an XHE's header.
    package convenience init(spool: Spool, limits: XMLLimits = .sdk, copyTextsUpTo: Int = Int.max) throws(XMLError) {
        guard spool.count <= limits.maxDocumentBytes else {
            throw .tooLarge(bytes: spool.count, limit: limits.maxDocumentBytes)
        }
        let window = 64 << 10
        let prefix: [UInt8]
        do { prefix = try spool.read(offset: 0, count: window) } catch {
            throw .inputUnreadable("\(error)")
        }
        // The prolog (declaration, comments, processing instructions) must end in the window the
        // DOCTYPE check reads; a longer one is refused rather than left unchecked.
        if try !Self.checkProlog(prefix), spool.count > prefix.count {
            throw .malformed(line: 1, message: "the prolog is longer than \(window) bytes")
        }
        let failure = ReadFailure()
        let reader = ChunkReader { buffer, offset, max in
            let chunk: [UInt8]
            do { chunk = try spool.read(offset: offset, count: max) } catch {
                failure.error = "\(error)"
                return -1
            }
            return chunk.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return 0 }
                UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: raw.count)
                return raw.count
            }
        }
        try self.init(reader: reader, limits: limits, copyTextsUpTo: copyTextsUpTo, comments: true, failure: failure)
    }

    private init(reader: ChunkReader, limits: XMLLimits, copyTextsUpTo: Int?, comments: Bool, failure: ReadFailure? = nil) throws(XMLError) {
        _ = Self.initialized
        // libxml2's own safety limits (10 MB per text node, 256 levels) stay on unless these
        // limits allow more: only an XHE carrying a 30 MB SDK message, base64-encoded and
        // encrypted in one CipherValue (~41 MB), needs XML_PARSE_HUGE.
        var flags = XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue | XML_PARSE_NOCDATA.rawValue
        if min(limits.maxTextBytes, limits.maxDocumentBytes) > Self.libxml2TextLimit || limits.maxDepth > 256 { flags |= XML_PARSE_HUGE.rawValue }
        let options = Int32(flags)
        // Depth, node and text limits are enforced while parsing (the tree builder below checks
        // them again on what was built).
        let guardState = UnsafeMutablePointer<kvitto_parse_limits>.allocate(capacity: 1)
        defer { guardState.deallocate() }
        guardState.initialize(to: kvitto_parse_limits())
        guardState.pointee.max_depth = limits.maxDepth
        guardState.pointee.max_nodes = limits.maxNodes
        guardState.pointee.max_text = limits.maxTextBytes
        // libxml2 reads the input through a callback in chunks, so it never holds a second copy
        // of the whole input.
        let (parsed, wellFormed, lastError): (xmlDocPtr?, Bool, (Int, String)?) = withExtendedLifetime(reader) {
            guard let ctxt = kvitto_parser_create({ ctx, buffer, length in
                guard let ctx, let buffer, length >= 0 else { return -1 }
                return Unmanaged<ChunkReader>.fromOpaque(ctx).takeUnretainedValue().read(into: buffer, max: Int(length))
            }, Unmanaged.passUnretained(reader).toOpaque(), options, guardState) else { return (nil, false, (0, "out of memory")) }
            defer { xmlFreeParserCtxt(ctxt) }
            _ = xmlParseDocument(ctxt)
            var last: (Int, String)?
            if let err = xmlCtxtGetLastError(ctxt) {
                last = (Int(err.pointee.line), err.pointee.message.map { String(cString: $0).trimmingTrailingNewlines() } ?? "not well-formed")
            }
            return (ctxt.pointee.myDoc, ctxt.pointee.wellFormed != 0, last)
        }
        // A source that could not be read is our trouble, not a malformed document.
        if let why = failure?.error {
            if let parsed { xmlFreeDoc(parsed) }
            throw .inputUnreadable(why)
        }
        switch guardState.pointee.exceeded {
        case 0: break
        case 1:
            if let parsed { xmlFreeDoc(parsed) }
            throw .tooDeep(limit: limits.maxDepth)
        case 2:
            if let parsed { xmlFreeDoc(parsed) }
            throw .tooManyNodes(limit: limits.maxNodes)
        default:
            if let parsed { xmlFreeDoc(parsed) }
            throw .textTooLarge(limit: limits.maxTextBytes)
        }
        guard let doc = parsed, wellFormed else {
            if let parsed { xmlFreeDoc(parsed) }
            throw .malformed(line: lastError?.0 ?? 0, message: lastError?.1 ?? "not well-formed")
        }
        if doc.pointee.intSubset != nil || doc.pointee.extSubset != nil {
            xmlFreeDoc(doc)
            throw .doctypeForbidden
        }
        guard let rootNode = xmlDocGetRootElement(doc) else {
            xmlFreeDoc(doc)
            throw .malformed(line: 0, message: "no root element")
        }
        var builder = TreeBuilder(limits: limits, copyTextsUpTo: copyTextsUpTo, comments: comments)
        do {
            self.root = try builder.element(rootNode, depth: 1)
        } catch {
            xmlFreeDoc(doc)
            throw error
        }
        self.nodes = builder.nodes
        self.elementsInOrder = builder.built.map { $0! }
        self.omittedTexts = builder.omitted
        self.doc = doc
    }

    deinit { xmlFreeDoc(doc) }

    /// The XPath location of every element, by ordinal (computed on first use).
    package lazy var locations: [String] = {
        var out = [String](repeating: "", count: elementsInOrder.count)
        root.walk { e, path in out[e.ordinal] = path }
        return out
    }()

    /// The XPath location of `element` (`/x:XHE[1]/xha:Header[1]/…`).
    package func location(of element: XMLElement) -> String { locations[element.ordinal] }

    /// Canonicalizes the subtree of `element` (the whole document when `nil`) without the subtree
    /// of `excluding` (the enveloped-signature transform). Comments are never included: Kvitto
    /// only uses same-document references, whose node sets exclude comments.
    package func canonicalize(_ element: XMLElement?, excluding: XMLElement? = nil,
                              method: CanonicalizationMethod,
                              inclusivePrefixes: [String] = []) throws(XMLError) -> [UInt8] {
        var out: [UInt8] = []
        try canonicalize(element, excluding: excluding, method: method, inclusivePrefixes: inclusivePrefixes) { chunk in
            out.append(contentsOf: chunk)
        }
        return out
    }

    /// Streams the canonical form to `sink` in chunks (for hashing without keeping a copy).
    package func canonicalize(_ element: XMLElement?, excluding: XMLElement? = nil, method: CanonicalizationMethod,
                              inclusivePrefixes: [String] = [], sink: (UnsafeRawBufferPointer) -> Void) throws(XMLError) {
        var subset = kvitto_c14n_subset(include: element.map { nodes[$0.ordinal] },
                                        exclude: excluding.map { nodes[$0.ordinal] })
        let mode: Int32 = switch method {
        case .inclusive: Int32(XML_C14N_1_0.rawValue)
        case .exclusive: Int32(XML_C14N_EXCLUSIVE_1_0.rawValue)
        }
        var cStrings: [UnsafeMutablePointer<xmlChar>?] = inclusivePrefixes.map { p in xmlStrdup(p) }
        cStrings.append(nil)
        defer { for p in cStrings where p != nil { kvitto_xml_free(p) } }
        let rc: Int32 = withoutActuallyEscaping(sink) { escapable in
            let box = SinkBox(escapable)
            let context = Unmanaged.passUnretained(box).toOpaque()
            return withExtendedLifetime(box) {
                cStrings.withUnsafeMutableBufferPointer { list in
                    kvitto_c14n_stream(doc, &subset, mode,
                                       method == .exclusive && !inclusivePrefixes.isEmpty ? list.baseAddress : nil, 0,
                                       { ctx, buffer, length in
                                           guard let ctx, let buffer, length >= 0 else { return -1 }
                                           Unmanaged<SinkBox>.fromOpaque(ctx).takeUnretainedValue()
                                               .sink(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
                                           return length
                                       }, context)
                }
            }
        }
        guard rc == 0 else { throw .canonicalizationFailed("libxml2 could not canonicalize the node set") }
    }

    /// Runs `body` with libxml2's document (for ``XMLSchema``; stays inside the XML folder).
    func withDocumentPointer<R>(_ body: (xmlDocPtr) -> R) -> R { body(doc) }

    /// Ordinals by libxml2 node (built on first use), so mapping many schema errors back to
    /// elements costs one lookup each rather than a scan of the document.
    private lazy var ordinals: [xmlNodePtr: Int] = {
        var out: [xmlNodePtr: Int] = [:]
        out.reserveCapacity(nodes.count)
        for (i, n) in nodes.enumerated() { out[n] = i }
        return out
    }()

    /// The element for a libxml2 node, if it is one of this document's elements.
    func element(for node: xmlNodePtr?) -> XMLElement? {
        guard let node, let index = ordinals[node] else { return nil }
        return elementsInOrder[index]
    }

    /// Rejects a document type declaration, and encodings other than UTF-8, before libxml2 parses
    /// anything: with no DTD there is nothing to expand or to fetch.
    /// Returns whether the root element's start was reached within `bytes`.
    @discardableResult
    private static func checkProlog(_ bytes: [UInt8]) throws(XMLError) -> Bool {
        var i = 0
        if bytes.count >= 2, (bytes[0] == 0xFE && bytes[1] == 0xFF) || (bytes[0] == 0xFF && bytes[1] == 0xFE)
            || bytes[0] == 0 || bytes[1] == 0 {
            throw .malformed(line: 1, message: "only UTF-8 documents are accepted")
        }
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        func hasPrefix(_ s: String, at index: Int) -> Bool {
            let u = Array(s.utf8)
            guard index + u.count <= bytes.count else { return false }
            for k in 0..<u.count where bytes[index + k] != u[k] { return false }
            return true
        }
        func skip(past terminator: String, from index: Int) -> Int {
            let t = Array(terminator.utf8)
            var j = index
            while j + t.count <= bytes.count {
                if bytes[j] == t[0], hasPrefix(terminator, at: j) { return j + t.count }
                j += 1
            }
            return bytes.count
        }
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            case UInt8(ascii: "<"):
                // Too few bytes left to tell a comment, a declaration or a DOCTYPE from the root
                // element: undecided (a window's caller refuses; a whole document is too short).
                if i + 4 > bytes.count { return false }
                if hasPrefix("<?", at: i) {
                    i = skip(past: "?>", from: i + 2)
                } else if hasPrefix("<!--", at: i) {
                    i = skip(past: "-->", from: i + 4)
                } else if hasPrefix("<!", at: i) {
                    throw .doctypeForbidden
                } else {
                    return true
                }
            default:
                return true
            }
        }
        return false
    }
}

/// Hands the input to libxml2's read callback chunk by chunk.
private final class ChunkReader {
    /// Copies up to `max` bytes from `offset` into the buffer; returns how many (0 at the end,
    /// -1 on a read error).
    let source: (UnsafeMutablePointer<CChar>, Int, Int) -> Int
    var offset = 0
    init(_ source: @escaping (UnsafeMutablePointer<CChar>, Int, Int) -> Int) { self.source = source }

    func read(into buffer: UnsafeMutablePointer<CChar>, max: Int) -> Int32 {
        let n = source(buffer, offset, max)
        if n > 0 { offset += n }
        return Int32(n)
    }
}

/// The first read error of a spool being parsed.
private final class ReadFailure {
    var error: String?
}

/// Carries the Swift sink through libxml2's write callback.
private final class SinkBox {
    let sink: (UnsafeRawBufferPointer) -> Void
    init(_ sink: @escaping (UnsafeRawBufferPointer) -> Void) { self.sink = sink }
}

/// The canonicalization algorithms Kvitto signs and verifies with.
package enum CanonicalizationMethod: Sendable, Equatable {
    /// Canonical XML 1.0 (`http://www.w3.org/TR/2001/REC-xml-c14n-20010315`).
    case inclusive
    /// Exclusive XML Canonicalization 1.0 (`http://www.w3.org/2001/10/xml-exc-c14n#`).
    case exclusive
}

/// Converts libxml2's tree into ``XMLElement`` values, enforcing the limits.
private struct TreeBuilder {
    let limits: XMLLimits
    /// Longest text copied into the Swift view (nil: none); longer ones read as empty.
    let copyTextsUpTo: Int?
    let comments: Bool
    /// Ordinals of elements with a text longer than `copyTextsUpTo`, read as empty.
    var omitted: Set<Int> = []
    var nodes: [xmlNodePtr] = []
    var built: [XMLElement?] = []
    var count = 0

    init(limits: XMLLimits, copyTextsUpTo: Int?, comments: Bool) {
        self.limits = limits
        self.copyTextsUpTo = copyTextsUpTo
        self.comments = comments
    }

    mutating func counted() throws(XMLError) {
        count += 1
        if count > limits.maxNodes { throw .tooManyNodes(limit: limits.maxNodes) }
    }

    mutating func element(_ node: xmlNodePtr, depth: Int) throws(XMLError) -> XMLElement {
        guard depth <= limits.maxDepth else { throw .tooDeep(limit: limits.maxDepth) }
        try counted()
        let ordinal = nodes.count
        nodes.append(node)
        built.append(nil)
        var attributes: [XMLAttribute] = []
        var attr = node.pointee.properties
        while let a = attr {
            try counted()
            let value: String
            if let v = xmlNodeListGetString(node.pointee.doc, a.pointee.children, 1) {
                value = String(cString: v)
                kvitto_xml_free(v)
            } else {
                value = ""
            }
            attributes.append(XMLAttribute(namespaceURI: a.pointee.ns.map { String(cString: $0.pointee.href) } ?? "",
                                           localName: String(cString: a.pointee.name), value: value))
            attr = a.pointee.next
        }
        var declarations: [XMLNamespaceDeclaration] = []
        var ns = node.pointee.nsDef
        while let n = ns {
            declarations.append(XMLNamespaceDeclaration(prefix: n.pointee.prefix.map { String(cString: $0) },
                                                        uri: n.pointee.href.map { String(cString: $0) } ?? ""))
            ns = n.pointee.next
        }
        var children: [XMLNode] = []
        var child = kvitto_node_children(node)
        while let c = child {
            switch c.pointee.type {
            case XML_ELEMENT_NODE:
                children.append(.element(try element(c, depth: depth + 1)))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                try counted()
                let length = c.pointee.content.map { Int(strlen($0)) } ?? 0
                if length > limits.maxTextBytes { throw .textTooLarge(limit: limits.maxTextBytes) }
                let copied = copyTextsUpTo.map { length <= $0 } ?? false
                if !copied, copyTextsUpTo != nil { omitted.insert(ordinal) }
                children.append(.text(copied ? c.pointee.content.map { String(cString: $0) } ?? "" : ""))
            case XML_COMMENT_NODE:
                try counted()
                children.append(.comment(comments ? c.pointee.content.map { String(cString: $0) } ?? "" : ""))
            case XML_PI_NODE:
                try counted()
                children.append(.processingInstruction(target: String(cString: c.pointee.name),
                                                       data: c.pointee.content.map { String(cString: $0) } ?? ""))
            case XML_ENTITY_REF_NODE:
                throw .entityReference(name: String(cString: c.pointee.name))
            default:
                break
            }
            child = c.pointee.next
        }
        let result = XMLElement(
            namespaceURI: node.pointee.ns.map { String(cString: $0.pointee.href) } ?? "",
            localName: String(cString: node.pointee.name),
            prefix: node.pointee.ns.flatMap { $0.pointee.prefix.map { String(cString: $0) } },
            attributes: attributes, children: children, namespaceDeclarations: declarations,
            line: Int(xmlGetLineNo(node)), ordinal: ordinal)
        built[ordinal] = result
        return result
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = self
        while let last = s.last, last.isNewline || last == " " { s.removeLast() }
        return s
    }
}
