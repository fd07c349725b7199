/// An immutable, namespace-aware element of a parsed document.
///
/// Built once from libxml2's tree by ``XMLDocument``; safe to share between tasks. ``ordinal``
/// (document order among elements) ties it back to the libxml2 node for canonicalization.
package final class XMLElement: Sendable, CustomStringConvertible {
    /// Namespace name, `""` when the element is in no namespace.
    package let namespaceURI: String
    package let localName: String
    /// The prefix used in the document, if any (informational: matching is by namespace).
    package let prefix: String?
    package let attributes: [XMLAttribute]
    package let children: [XMLNode]
    /// Namespace declarations made on this element (prefix `nil` = default namespace).
    package let namespaceDeclarations: [XMLNamespaceDeclaration]
    /// Source line (1-based), 0 when unknown.
    package let line: Int
    /// Position among the document's elements in document order; the root is 0.
    package let ordinal: Int

    package init(namespaceURI: String, localName: String, prefix: String?, attributes: [XMLAttribute],
                 children: [XMLNode], namespaceDeclarations: [XMLNamespaceDeclaration], line: Int, ordinal: Int) {
        self.namespaceURI = namespaceURI
        self.localName = localName
        self.prefix = prefix
        self.attributes = attributes
        self.children = children
        self.namespaceDeclarations = namespaceDeclarations
        self.line = line
        self.ordinal = ordinal
    }

    /// The child elements, in order.
    package var elements: [XMLElement] {
        children.compactMap { if case .element(let e) = $0 { e } else { nil } }
    }

    /// Child elements with this namespace and local name.
    package func elements(_ namespaceURI: String, _ localName: String) -> [XMLElement] {
        elements.filter { $0.namespaceURI == namespaceURI && $0.localName == localName }
    }

    /// The first child element with this namespace and local name.
    package func element(_ namespaceURI: String, _ localName: String) -> XMLElement? {
        for case .element(let e) in children where e.namespaceURI == namespaceURI && e.localName == localName {
            return e
        }
        return nil
    }

    /// Whether the element has this namespace and local name.
    package func isNamed(_ namespaceURI: String, _ localName: String) -> Bool {
        self.namespaceURI == namespaceURI && self.localName == localName
    }

    /// The value of an attribute (no namespace unless given).
    package func attribute(_ localName: String, namespaceURI: String = "") -> String? {
        attributes.first { $0.localName == localName && $0.namespaceURI == namespaceURI }?.value
    }

    /// XPath string value: all descendant text, concatenated.
    package var stringValue: String {
        var out = ""
        appendText(to: &out)
        return out
    }

    private func appendText(to out: inout String) {
        for child in children {
            switch child {
            case .text(let t): out += t
            case .element(let e): e.appendText(to: &out)
            case .comment, .processingInstruction: break
            }
        }
    }

    /// True when ``stringValue`` is empty after `normalize-space()` (no non-whitespace text in
    /// any descendant); stops at the first non-whitespace character.
    package var isBlank: Bool {
        for child in children {
            switch child {
            case .text(let t):
                for b in t.utf8 where !(b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D) { return false }
            case .element(let e):
                if !e.isBlank { return false }
            case .comment, .processingInstruction: break
            }
        }
        return true
    }

    /// The XPath `normalize-space()` of ``stringValue``.
    package var normalizedValue: String { XMLText.normalizeSpace(stringValue) }

    /// True when the element has child elements.
    package var hasElementChildren: Bool { children.contains { if case .element = $0 { true } else { false } } }

    /// Depth-first visit of this element and its descendants, in document order, without building
    /// their locations (use ``walk(location:_:)`` when the XPath location is needed).
    package func forEachElement(_ visit: (XMLElement) -> Void) {
        visit(self)
        for case .element(let e) in children { e.forEachElement(visit) }
    }

    /// Depth-first walk over this element and its descendants, in document order, with the XPath
    /// location of each element (`/prefix:name[n]` steps, prefixes from ``XMLNamespaces``).
    package func walk(location: String? = nil, _ visit: (XMLElement, String) -> Void) {
        let here = location ?? "/" + XMLNamespaces.step(for: self, position: 1)
        visit(self, here)
        var counts: [String: Int] = [:]
        for e in elements {
            let key = e.namespaceURI + "\u{0}" + e.localName
            let n = (counts[key] ?? 0) + 1
            counts[key] = n
            e.walk(location: here + "/" + XMLNamespaces.step(for: e, position: n), visit)
        }
    }

    package var description: String {
        namespaceURI.isEmpty ? localName : "{\(namespaceURI)}\(localName)"
    }
}

/// A node in an element's content.
package enum XMLNode: Sendable {
    case element(XMLElement)
    case text(String)
    case comment(String)
    case processingInstruction(target: String, data: String)
}

/// An attribute of an element.
package struct XMLAttribute: Sendable, Equatable {
    package let namespaceURI: String
    package let localName: String
    package let value: String
}

/// A namespace declaration (`xmlns` or `xmlns:prefix`).
package struct XMLNamespaceDeclaration: Sendable, Equatable {
    package let prefix: String?
    package let uri: String
}

/// XPath text helpers.
package enum XMLText {
    /// XPath `normalize-space`: strip leading/trailing XML whitespace and collapse inner runs.
    package static func normalizeSpace(_ s: String) -> String {
        var out = ""
        var pendingSpace = false
        for scalar in s.unicodeScalars {
            switch scalar {
            case " ", "\t", "\n", "\r":
                pendingSpace = !out.isEmpty
            default:
                if pendingSpace { out.unicodeScalars.append(" "); pendingSpace = false }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// XPath `string-length`: the number of Unicode code points.
    package static func length(_ s: String) -> Int { s.unicodeScalars.count }
}
