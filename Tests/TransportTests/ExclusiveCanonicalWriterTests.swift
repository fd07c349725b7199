import Foundation
import XCTest
@testable import Transport

/// The canonical writer (``XMLWriter/init(exclusiveCanonicalIn:)``), which the AS4 sealer digests
/// instead of parsing its own envelope, against libxml2's Exclusive C14N of the same element parsed
/// back from the document writer's bytes.
final class ExclusiveCanonicalWriterTests: XCTestCase {
    /// A tree written twice by the same calls.
    indirect enum Node {
        case element(name: String, attributes: [(String, String)], children: [Node])
        case text(String)

        func write(to w: inout XMLWriter) {
            switch self {
            case .text(let s):
                w.text(s)
            case .element(let name, let attributes, let children):
                // KeyValuePairs has no initializer from an array; the writer takes at most four here.
                precondition(attributes.count <= 4, "a test tree with more than four attributes on one element")
                switch attributes.count {
                case 0: w.start(name)
                case 1: w.start(name, [attributes[0].0: attributes[0].1])
                case 2: w.start(name, [attributes[0].0: attributes[0].1, attributes[1].0: attributes[1].1])
                case 3: w.start(name, [attributes[0].0: attributes[0].1, attributes[1].0: attributes[1].1, attributes[2].0: attributes[2].1])
                default: w.start(name, [attributes[0].0: attributes[0].1, attributes[1].0: attributes[1].1, attributes[2].0: attributes[2].1,
                                        attributes[3].0: attributes[3].1])
                }
                for c in children { c.write(to: &w) }
                w.end()
            }
        }
    }

    static let context: KeyValuePairs<String, String> = [
        "r": "urn:r", "a": "urn:a", "b": "urn:b", "eb": AS4Namespaces.eb, "ds": XMLNamespaces.ds, "wsu": AS4Namespaces.wsu,
    ]

    /// Writes `node` inside a root that declares ``context`` (and `default`, if any), parses it and
    /// returns libxml2's exclusive canonical form of `node`, with the canonical writer's bytes.
    func both(_ node: Node, defaultNamespace: String? = nil) throws -> (libxml2: String, writer: String) {
        var doc = XMLWriter(declaration: false)
        if let defaultNamespace {
            doc.start("r:root", ["xmlns:r": "urn:r", "xmlns:a": "urn:a", "xmlns:b": "urn:b", "xmlns:eb": AS4Namespaces.eb,
                                 "xmlns:ds": XMLNamespaces.ds, "xmlns:wsu": AS4Namespaces.wsu, "xmlns": defaultNamespace])
        } else {
            doc.start("r:root", ["xmlns:r": "urn:r", "xmlns:a": "urn:a", "xmlns:b": "urn:b", "xmlns:eb": AS4Namespaces.eb,
                                 "xmlns:ds": XMLNamespaces.ds, "xmlns:wsu": AS4Namespaces.wsu])
        }
        node.write(to: &doc)
        doc.end()
        let parsed = try XMLDocument(bytes: doc.bytes)
        let target = try XCTUnwrap(parsed.root.elements.first)
        let expected = try parsed.canonicalize(target, method: .exclusive)
        var canonical: XMLWriter
        if let defaultNamespace {
            canonical = XMLWriter(exclusiveCanonicalIn: ["r": "urn:r", "a": "urn:a", "b": "urn:b", "eb": AS4Namespaces.eb,
                                                         "ds": XMLNamespaces.ds, "wsu": AS4Namespaces.wsu, "": defaultNamespace])
        } else {
            canonical = XMLWriter(exclusiveCanonicalIn: Self.context)
        }
        node.write(to: &canonical)
        XCTAssertNil(canonical.canonicalFailure)
        return (String(decoding: expected, as: UTF8.self), String(decoding: canonical.bytes, as: UTF8.self))
    }

    func testHandWrittenCases() throws {
        let tricky = "a&b <c> \"q\" 's' tab\there line\nfeed cr\rreturn ]]> åäö 😀"
        let cases: [(Node, String?)] = [
            // Attributes sorted by namespace URI, then local name; unqualified ones first.
            (.element(name: "eb:Messaging", attributes: [("wsu:Id", "_m1"), ("zeta", "1"), ("r:mustUnderstand", "true"), ("alpha", tricky)],
                      children: [.element(name: "eb:Property", attributes: [("name", "x")], children: [.text(tricky)])]), nil),
            // A prefix declared locally, redeclared with another URI below, and again with the same URI.
            (.element(name: "eb:Receipt", attributes: [],
                      children: [.element(name: "b:NRI", attributes: [("xmlns:b", "urn:b2")],
                                          children: [.element(name: "b:Part", attributes: [("xmlns:b", "urn:b3"), ("b:k", "v")], children: []),
                                                     .element(name: "b:Same", attributes: [("xmlns:b", "urn:b2")], children: [])])]), nil),
            // A prefix used only by an attribute of a descendant; one in context that is never used.
            (.element(name: "a:x", attributes: [], children: [.element(name: "a:y", attributes: [("ds:Algorithm", "urn:alg")], children: [])]), nil),
            // Default namespaces: declared, inherited, undone.
            (.element(name: "plain", attributes: [("xmlns", "urn:d")],
                      children: [.element(name: "inner", attributes: [], children: [
                          .element(name: "undone", attributes: [("xmlns", "")], children: [.text("t")])])]), nil),
            (.element(name: "plain", attributes: [], children: [.element(name: "a:z", attributes: [], children: [.element(name: "p2", attributes: [], children: [])])]),
             "urn:ctx-default"),
            (.element(name: "plain", attributes: [("xml:lang", "sv"), ("b:q", "1"), ("a:q", "2")], children: [.text("")]), nil),
            // Code-point order, not Swift's: "é" (U+00E9) sorts after "f", "e" + U+0301 before it,
            // though Swift compares the two spellings of é as equal.
            (.element(name: "a:x", attributes: [("é", "1"), ("f", "2"), ("e\u{301}", "3")], children: []), nil),
        ]
        for (node, defaultNamespace) in cases {
            let (expected, written) = try both(node, defaultNamespace: defaultNamespace)
            XCTAssertEqual(written, expected)
        }
    }

    /// Random trees (seeded, 300 of them) of prefixes declared, redeclared and undone, sorted and
    /// unsorted attributes and values that need escaping.
    func testRandomTreesMatchLibxml2() throws {
        var state: UInt64 = 0x5EED_C14E
        func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
        let values = ["plain", "a&b", "<x>", "q\"uote", "'apos'", "tab\there", "line\nfeed", "cr\rreturn", "crlf\r\n", "åäö", "😀",
                      "]]>", "  spaces  ", "", "&amp;", ">"]
        let uris = ["urn:a", "urn:b", "urn:c", AS4Namespaces.eb]
        // scope: prefix → URI as the document declares it at this point ("" = default).
        func element(depth: Int, scope: [String: String]) -> Node {
            var scope = scope
            var attributes: [(String, String)] = []
            if next(4) == 0 {
                let p = ["a", "b", "c"][next(3)]
                let uri = uris[next(uris.count)]
                attributes.append(("xmlns:" + p, uri))
                scope[p] = uri
            }
            if next(6) == 0 {
                let uri = ["", "urn:d", "urn:e"][next(3)]
                attributes.append(("xmlns", uri))
                scope[""] = uri
            }
            let prefixes = scope.keys.filter { !$0.isEmpty }.sorted()
            let usePrefix = next(5) != 0 && !prefixes.isEmpty
            let name = usePrefix ? prefixes[next(prefixes.count)] + ":e\(next(3))" : "e\(next(3))"
            var usedExpanded: Set<String> = []
            for _ in 0..<next(3) {
                let local = ["Id", "name", "type", "k"][next(4)]
                let prefix = next(2) == 0 || prefixes.isEmpty ? "" : prefixes[next(prefixes.count)]
                let expanded = (prefix.isEmpty ? "" : scope[prefix]!) + "|" + local
                guard !usedExpanded.contains(expanded) else { continue }
                usedExpanded.insert(expanded)
                attributes.append((prefix.isEmpty ? local : prefix + ":" + local, values[next(values.count)]))
            }
            var children: [Node] = []
            if depth < 4 {
                for _ in 0..<next(4) {
                    children.append(next(3) == 0 ? .text(values[next(values.count)]) : element(depth: depth + 1, scope: scope))
                }
            }
            return .element(name: name, attributes: attributes, children: children)
        }
        let base: [String: String] = ["r": "urn:r", "a": "urn:a", "b": "urn:b", "eb": AS4Namespaces.eb, "ds": XMLNamespaces.ds,
                                      "wsu": AS4Namespaces.wsu]
        for i in 0..<300 {
            let node = element(depth: 0, scope: base)
            let (expected, written) = try both(node)
            XCTAssertEqual(written, expected, "tree \(i)")
            if written != expected { break }
        }
    }

    /// The sealer's canonical writers assume the namespaces its envelope declares; they must be
    /// exactly those the written envelope declares.
    func testSealerEnvelopeDeclaresTheNamespacesItsDigestsAssume() throws {
        let p = AS4RoundTripTests.peers
        let wire = try AS4Sealer(pmode: .sdk(), signer: p.sender).seal(
            SignalMessage(messageId: "s1@kvitto", timestamp: AS4Time.string(Date()), refToMessageId: "m1@kvitto", content: .errors([.notServiced])))
        let envelope = try XMLDocument(bytes: wire.soap).root
        let declared = Dictionary(uniqueKeysWithValues: envelope.namespaceDeclarations.map { ($0.prefix ?? "", $0.uri) })
        let assumed = Dictionary(uniqueKeysWithValues: AS4Sealer.envelopeNamespaces.map { ($0.key, $0.value) })
        XCTAssertEqual(declared, assumed)
    }

    /// What the writer cannot vouch for makes its bytes unusable rather than wrong.
    func testWhatItCannotRenderIsReported() {
        var raw = XMLWriter(exclusiveCanonicalIn: Self.context)
        raw.start("a:x")
        raw.raw(Array("<a:y/>".utf8))
        raw.end()
        XCTAssertNotNil(raw.canonicalFailure)

        var control = XMLWriter(exclusiveCanonicalIn: Self.context)
        control.element("a:x", "bell \u{07}")
        XCTAssertNotNil(control.canonicalFailure)

        var relative = XMLWriter(exclusiveCanonicalIn: Self.context)
        relative.start("q:x", ["xmlns:q": "relative/ns"])
        relative.end()
        XCTAssertNotNil(relative.canonicalFailure)

        var unbound = XMLWriter(exclusiveCanonicalIn: Self.context)
        unbound.start("zz:x")
        unbound.end()
        XCTAssertNotNil(unbound.canonicalFailure)

        var fine = XMLWriter(exclusiveCanonicalIn: Self.context)
        fine.element("a:x", "tab\t, cr\r, 😀", ["k": "v>"])
        XCTAssertNil(fine.canonicalFailure)
        XCTAssertEqual(String(decoding: fine.bytes, as: UTF8.self), "<a:x xmlns:a=\"urn:a\" k=\"v>\">tab\t, cr&#xD;, 😀</a:x>")
    }

    /// A message whose header values need escaping is sealed from the canonical writer's digests
    /// and opened by the receiving side, which canonicalizes with libxml2; one with a character XML
    /// does not allow is refused when sealed, as before.
    func testSealedMessageWithEscapedValuesOpens() async throws {
        let p = AS4RoundTripTests.peers
        var message = AS4RoundTripTests.sampleUserMessage()
        message.conversationId = "conv & <id> \"q\" ]]> åäö 😀"
        message.properties.append(.init(name: "note\"&<>", type: "t\tx\ny\rz>", value: "a&b <c> d\re"))
        let sealer = AS4Sealer(pmode: .sdk(), signer: p.sender)
        let wire = try sealer.seal(message, payloads: [AS4Payload(contentID: "message", mimeType: "application/xml",
                                                                  content: Spool(bytes: Array("<x/>".utf8)))],
                                   recipient: p.receiver.certificate)
        let opener = AS4Opener(identity: p.receiver, trust: p.pki.trust(.as4), pmode: .sdk())
        var body: [UInt8] = []
        let contentType = try wire.httpBody(writer: MIMEMultipartWriter()) { body.append(contentsOf: $0) }
        let type = try XCTUnwrap(ContentType(contentType))
        let parser = MIMEMultipartParser(boundary: try XCTUnwrap(type.parameters["boundary"]))
        try body.withUnsafeBytes { try parser.feed($0) }
        let (soap, rest) = try AS4Opener.soapPart(try parser.finish(), contentType: type)
        let inbound = try await opener.open(soap: try soap.body.bytes(), attachments: rest)
        XCTAssertEqual(inbound.userMessage.conversationId, message.conversationId)
        XCTAssertEqual(inbound.signer, p.sender.certificate)

        var bad = message
        bad.conversationId = "bell \u{07}"
        XCTAssertThrowsError(try sealer.seal(bad, payloads: [], recipient: p.receiver.certificate))
    }
}
