import CLibXML2

/// A compiled W3C XML Schema (XSD 1.0, libxml2), loaded from Kvitto's `Schemas/` folder.
///
/// A parsed schema is read-only and libxml2 documents that one may be used by several validation
/// contexts at once, each on its own thread; every ``validate(_:)`` call creates its own context.
/// That is why this type may be `Sendable` although it holds a C pointer.
package final class XMLSchema: @unchecked Sendable {
    private let schema: xmlSchemaPtr
    /// The file it was loaded from.
    package let path: String

    /// Loads and compiles the schema at `path` (imports resolved relative to it).
    package init(path: String) throws(XMLError) {
        _ = try? XMLDocument(bytes: Array("<a/>".utf8))  // initializes libxml2 once
        guard let parser = xmlSchemaNewParserCtxt(path) else {
            throw .schemaUnavailable(path: path, message: "cannot create a schema parser")
        }
        defer { xmlSchemaFreeParserCtxt(parser) }
        kvitto_schema_parser_quiet(parser)
        guard let schema = xmlSchemaParse(parser) else {
            throw .schemaUnavailable(path: path, message: "the file is missing or is not a valid XSD")
        }
        self.schema = schema
        self.path = path
    }

    deinit { xmlSchemaFree(schema) }

    /// Most violations reported for one document (the rest are counted in one more entry): a
    /// hostile document cannot make validation, or the answer, grow without bound.
    package static let maxViolations = 200

    /// Validates `document`; returns every violation (empty when valid).
    package func validate(_ document: XMLDocument) -> [SchemaViolation] {
        guard let context = xmlSchemaNewValidCtxt(schema) else {
            return [SchemaViolation(line: 0, message: "out of memory creating a validation context", element: nil)]
        }
        defer { xmlSchemaFreeValidCtxt(context) }
        final class Sink {
            var raw: [(Int, String, xmlNodePtr?)] = []
            var omitted = 0
        }
        let sink = Sink()
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }
        var errors = kvitto_schema_errors(sink: { ctx, line, message, node in
            guard let ctx else { return }
            let sink = Unmanaged<Sink>.fromOpaque(ctx).takeUnretainedValue()
            guard sink.raw.count < XMLSchema.maxViolations else { sink.omitted += 1; return }
            let text = message.map { String(cString: $0).trimmingTrailingNewlines() } ?? "schema violation"
            sink.raw.append((Int(line), text, node))
        }, ctx: unmanaged.toOpaque())
        kvitto_schema_collect(context, &errors)
        let rc = document.withDocumentPointer { xmlSchemaValidateDoc(context, $0) }
        var out = sink.raw.map { line, message, node in
            SchemaViolation(line: line, message: message, element: document.element(for: node))
        }
        if sink.omitted > 0 {
            out.append(SchemaViolation(line: 0, message: "… and \(sink.omitted) more schema violations", element: nil))
        }
        if rc != 0 && out.isEmpty {
            out.append(SchemaViolation(line: 0, message: "the document is not valid against \(path)", element: nil))
        }
        return out
    }
}

/// One XSD violation reported by libxml2.
package struct SchemaViolation: Sendable, CustomStringConvertible {
    package let line: Int
    package let message: String
    /// The offending element when libxml2 names one.
    package let element: XMLElement?

    package var description: String { "line \(line): \(message)" }
}
