/// Resource limits applied to every XML document Kvitto parses.
///
/// The defaults fit the SDK profile: an SDK message is at most 30 MB and travels base64-encoded
/// and encrypted inside the XHE, so an XHE may be ~41 MB; nothing in the SDK schemas nests deeper
/// than about 20 levels.
package struct XMLLimits: Sendable, Equatable {
    /// Largest accepted document, in bytes.
    package var maxDocumentBytes: Int
    /// Deepest accepted element nesting (the root element is depth 1).
    package var maxDepth: Int
    /// Most nodes (elements, attributes, text, comments) in one document.
    package var maxNodes: Int
    /// Largest single text node, in bytes.
    package var maxTextBytes: Int

    package init(maxDocumentBytes: Int = 48 << 20, maxDepth: Int = 64, maxNodes: Int = 1_000_000,
                 maxTextBytes: Int = 48 << 20) {
        self.maxDocumentBytes = maxDocumentBytes
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
        self.maxTextBytes = maxTextBytes
    }

    /// The defaults described above.
    package static let sdk = XMLLimits()

    /// Longest text copied into the Swift view when only a document's header is read (an XHE's
    /// identifiers, parties and payload description are far shorter).
    package static let headerText = 64 << 10
}
