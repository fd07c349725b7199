/// One failed check of an SDK document: an XSD violation (SV) or a business rule (BV).
///
/// `ruleID` is the official identifier (`R3-XHE`, `R8-APP`, the MessageConstraints pattern id such
/// as `conversationId`, `too-long` for the SDK size limit, or `XSD` for schema violations);
/// `message` is the official text; `location` the XPath of the offending node, or `NA`.
package struct RuleViolation: Sendable, Equatable, CustomStringConvertible {
    /// The response codes of a Meddelandekvittens line.
    package enum Kind: String, Sendable, Equatable {
        /// Schema violation (`SV`).
        case schema = "SV"
        /// Business rule violation (`BV`).
        case businessRule = "BV"
        /// Signature error (`SIG`).
        case signature = "SIG"
    }

    package let ruleID: String
    package let kind: Kind
    package let message: String
    package let location: String
    /// The schematron flag (`fatal`, `error`), `fatal` for XSD violations.
    package let flag: String

    package init(ruleID: String, kind: Kind, message: String, location: String, flag: String = "fatal") {
        self.ruleID = ruleID
        self.kind = kind
        self.message = message
        self.location = location
        self.flag = flag
    }

    package var description: String { "\(kind.rawValue) \(ruleID) at \(location): \(message)" }
}

/// An element with its ancestors, as rules see it while walking a document.
package struct RuleContext {
    package let element: XMLElement
    /// Ancestors from the root down to the parent.
    package let ancestors: [XMLElement]
    package let location: String

    /// Visits every element of the tree under `root` in document order.
    package static func walk(_ root: XMLElement, _ visit: (RuleContext) -> Void) {
        var stack: [XMLElement] = []
        func go(_ e: XMLElement, _ location: String) {
            visit(RuleContext(element: e, ancestors: stack, location: location))
            stack.append(e)
            var counts: [String: Int] = [:]
            for child in e.elements {
                let key = child.namespaceURI + "\u{0}" + child.localName
                let n = (counts[key] ?? 0) + 1
                counts[key] = n
                go(child, location + "/" + XMLNamespaces.step(for: child, position: n))
            }
            stack.removeLast()
        }
        go(root, "/" + XMLNamespaces.step(for: root, position: 1))
    }

    /// Whether the chain root…element is exactly `path` (an absolute path from the root).
    package func matches(_ path: ElementPath) -> Bool {
        guard ancestors.count + 1 == path.steps.count else { return false }
        for (i, step) in path.steps.enumerated() {
            let e = i < ancestors.count ? ancestors[i] : element
            guard e.namespaceURI == step.namespaceURI, e.localName == step.localName else { return false }
        }
        if let attribute = path.requiredAttribute { return element.attribute(attribute) != nil }
        return true
    }

    /// Whether the element's trailing steps are `suffix` (a relative XSLT match pattern like
    /// `tns:recipientID/tns:root`).
    package func endsWith(_ suffix: ElementPath) -> Bool {
        let chain = ancestors + [element]
        guard chain.count >= suffix.steps.count else { return false }
        for (offset, step) in suffix.steps.reversed().enumerated() {
            let e = chain[chain.count - 1 - offset]
            guard e.namespaceURI == step.namespaceURI, e.localName == step.localName else { return false }
        }
        return true
    }

    /// Whether an ancestor (not the element itself) has this name.
    package func hasAncestor(_ namespaceURI: String, _ localName: String) -> Bool {
        ancestors.contains { $0.isNamed(namespaceURI, localName) }
    }
}

/// A path of namespace-qualified steps, written with the prefixes of ``XMLNamespaces/prefixes``
/// (`/app:ApplicationResponse/cbc:ID[@schemeID]`). Only what the DIGG rules use: child steps and
/// one attribute-existence predicate on the last step.
package struct ElementPath: Sendable {
    package struct Step: Sendable {
        let namespaceURI: String
        let localName: String
    }

    package let steps: [Step]
    package let requiredAttribute: String?

    /// Parses `text`; prefixes come from `namespaces` (prefix → URI).
    package init(_ text: String, namespaces: [String: String]) {
        var body = text.hasPrefix("/") ? String(text.dropFirst()) : text
        var attribute: String?
        if let open = body.firstIndex(of: "["), body.hasSuffix("]") {
            let predicate = body[body.index(after: open)..<body.index(before: body.endIndex)]
            attribute = predicate.hasPrefix("@") ? String(predicate.dropFirst()) : nil
            body = String(body[..<open])
        }
        steps = body.split(separator: "/").map { raw in
            let parts = raw.split(separator: ":", maxSplits: 1)
            if parts.count == 2 {
                return Step(namespaceURI: namespaces[String(parts[0])] ?? "?\(parts[0])", localName: String(parts[1]))
            }
            return Step(namespaceURI: "", localName: String(raw))
        }
        requiredAttribute = attribute
    }
}
