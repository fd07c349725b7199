/// Why an XML document was refused before any business logic looked at it.
///
/// Every case has a stable ``code`` (for logs, receipts and the CLI) and a message that says what
/// to do. Parsing fails closed: a document that trips any limit is not partially processed.
package enum XMLError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The document is larger than ``XMLLimits/maxDocumentBytes``.
    case tooLarge(bytes: Int, limit: Int)
    /// The document has a document type declaration; DTDs (and with them entity definitions and
    /// external entities) are never processed.
    case doctypeForbidden
    /// Elements are nested deeper than ``XMLLimits/maxDepth``.
    case tooDeep(limit: Int)
    /// More nodes than ``XMLLimits/maxNodes``.
    case tooManyNodes(limit: Int)
    /// A single text node is larger than ``XMLLimits/maxTextBytes``.
    case textTooLarge(limit: Int)
    /// Not well-formed XML (libxml2's message and line).
    case malformed(line: Int, message: String)
    /// An entity reference survived parsing (only the five predefined entities and character
    /// references are allowed).
    case entityReference(name: String)
    /// The document could not be canonicalized.
    case canonicalizationFailed(String)
    /// An XSD could not be loaded.
    case schemaUnavailable(path: String, message: String)
    /// The input could not be read (a local I/O error, not the document's fault).
    case inputUnreadable(String)

    /// Stable machine-readable code.
    package var code: String {
        switch self {
        case .tooLarge: "xml.too_large"
        case .doctypeForbidden: "xml.doctype_forbidden"
        case .tooDeep: "xml.too_deep"
        case .tooManyNodes: "xml.too_many_nodes"
        case .textTooLarge: "xml.text_too_large"
        case .malformed: "xml.malformed"
        case .entityReference: "xml.entity_reference"
        case .canonicalizationFailed: "xml.c14n_failed"
        case .schemaUnavailable: "xml.schema_unavailable"
        case .inputUnreadable: "xml.input_unreadable"
        }
    }

    package var description: String {
        switch self {
        case .tooLarge(let bytes, let limit):
            "\(code): document is \(bytes) bytes, the limit is \(limit); split the content or raise the limit in the configuration"
        case .doctypeForbidden:
            "\(code): the document has a <!DOCTYPE>; DTDs and entity declarations are refused — send the document without one"
        case .tooDeep(let limit):
            "\(code): elements are nested deeper than \(limit) levels; no SDK document needs that"
        case .tooManyNodes(let limit):
            "\(code): the document has more than \(limit) nodes"
        case .textTooLarge(let limit):
            "\(code): a text node is larger than \(limit) bytes"
        case .malformed(let line, let message):
            "\(code): not well-formed XML at line \(line): \(message)"
        case .entityReference(let name):
            "\(code): entity reference &\(name); is not allowed (only predefined entities and character references)"
        case .canonicalizationFailed(let why):
            "\(code): canonicalization failed: \(why)"
        case .schemaUnavailable(let path, let message):
            "\(code): cannot load the XML schema \(path): \(message); check that Schemas/ is installed next to the binary"
        case .inputUnreadable(let why):
            "\(code): the document could not be read: \(why); check the disk holding the spool"
        }
    }
}
