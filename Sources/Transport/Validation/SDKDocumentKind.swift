/// The SDK document types Kvitto builds, validates and exchanges.
package enum SDKDocumentKind: String, Sendable, Equatable, CaseIterable {
    /// SDK message v3 (`messagePayload`).
    case sdkMessage = "sdk-message"
    /// XHE 1.0 envelope.
    case xhe
    /// Meddelandekvittens (UBL ApplicationResponse 2.1).
    case applicationResponse = "meddelandekvittens"

    /// The kind of a document by its root element, or nil.
    package init?(root: XMLElement) {
        if root.isNamed(XMLNamespaces.sdk, "messagePayload") { self = .sdkMessage }
        else if root.isNamed(XMLNamespaces.xhe, "XHE") { self = .xhe }
        else if root.isNamed(XMLNamespaces.ubl, "ApplicationResponse") { self = .applicationResponse }
        else { return nil }
    }
}
