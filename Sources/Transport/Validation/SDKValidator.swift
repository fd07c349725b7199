/// Validates SDK documents: XSD (SV) and the DIGG business rules (BV), the way a receiving
/// organisation must before it answers with a Meddelandekvittens.
///
/// An XHE whose payload is an unencrypted SDK message is validated together with that message
/// (its locations are prefixed with the PayloadContent's). An SDK message larger than
/// ``maxSDKMessageBytes`` fails with BV `too-long` without being parsed further.
package struct SDKValidator: Sendable {
    /// SDK: an SDK message may be at most 30 MB (taken as 30 MiB).
    package static let maxSDKMessageBytes = 30 << 20

    package let schemas: SDKSchemas
    package let limits: XMLLimits

    package init(schemas: SDKSchemas, limits: XMLLimits = .sdk) {
        self.schemas = schemas
        self.limits = limits
    }

    /// The result of validating one document.
    package struct Report: Sendable {
        package let kind: SDKDocumentKind
        package let violations: [RuleViolation]
        /// True when there is no violation.
        package var isValid: Bool { violations.isEmpty }
        /// XSD violations only.
        package var schemaViolations: [RuleViolation] { violations.filter { $0.kind == .schema } }
        /// Business-rule violations only.
        package var ruleViolations: [RuleViolation] { violations.filter { $0.kind == .businessRule } }
    }

    /// Parses and validates `bytes`. Throws when the bytes are not an acceptable XML document
    /// (hostile, malformed or too large) or not an SDK document type.
    package func validate(_ bytes: [UInt8]) throws(SDKValidationError) -> Report {
        let document: XMLDocument
        do { document = try XMLDocument(bytes: bytes, limits: limits) } catch { throw .xml(error) }
        guard let kind = SDKDocumentKind(root: document.root) else {
            throw .unknownDocument(document.root.description)
        }
        return validate(document, kind: kind, byteCount: bytes.count)
    }

    /// Validates an already parsed document.
    package func validate(_ document: XMLDocument, kind: SDKDocumentKind, byteCount: Int) -> Report {
        switch kind {
        case .sdkMessage:
            return Report(kind: kind, violations: validateSDKMessage(document, byteCount: byteCount, locationPrefix: ""))
        case .applicationResponse:
            var v = schemaViolations(schemas.applicationResponse.validate(document), in: document, prefix: "")
            v += ApplicationResponseBusinessRules.check(document.root)
            return Report(kind: kind, violations: v)
        case .xhe:
            var v = schemaViolations(schemas.xhe.validate(document), in: document, prefix: "")
            v += XHEBusinessRules.check(document.root)
            v += validateInlineMessage(in: document)
            return Report(kind: kind, violations: v)
        }
    }

    private func validateSDKMessage(_ document: XMLDocument, byteCount: Int, locationPrefix: String) -> [RuleViolation] {
        if byteCount > Self.maxSDKMessageBytes {
            return [RuleViolation(ruleID: "too-long", kind: .businessRule,
                                  message: "The SDK message is \(byteCount) bytes; the SDK allows at most \(Self.maxSDKMessageBytes)",
                                  location: "NA", flag: "fatal")]
        }
        var v = schemaViolations(schemas.sdkMessage.validate(document), in: document, prefix: locationPrefix)
        v += MessageConstraintRules.check(document.root).map {
            RuleViolation(ruleID: $0.ruleID, kind: $0.kind, message: $0.message,
                          location: locationPrefix + $0.location, flag: $0.flag)
        }
        return v
    }

    /// The SDK message carried unencrypted in the XHE payload, if any, validated on its own.
    private func validateInlineMessage(in xhe: XMLDocument) -> [RuleViolation] {
        let xha = XMLNamespaces.xha
        var out: [RuleViolation] = []
        RuleContext.walk(xhe.root) { c in
            guard c.element.isNamed(xha, "PayloadContent"),
                  let message = c.element.element(XMLNamespaces.sdk, "messagePayload") else { return }
            do {
                let bytes = try xhe.canonicalize(message, method: .inclusive)
                let inner = try XMLDocument(bytes: bytes, limits: limits)
                let prefix = c.location
                out += validateSDKMessage(inner, byteCount: bytes.count, locationPrefix: prefix)
            } catch {
                out.append(RuleViolation(ruleID: "XSD", kind: .schema, message: String(describing: error),
                                         location: c.location))
            }
        }
        return out
    }

    private func schemaViolations(_ raw: [SchemaViolation], in document: XMLDocument, prefix: String) -> [RuleViolation] {
        raw.map { s in
            RuleViolation(ruleID: "XSD", kind: .schema, message: s.message,
                          location: s.element.map { prefix + document.location(of: $0) } ?? "NA")
        }
    }
}

/// Why a document could not be validated at all.
package enum SDKValidationError: Error, Sendable, CustomStringConvertible {
    /// The XML layer refused the bytes (hostile, malformed, too large).
    case xml(XMLError)
    /// The root element is not an SDK document type.
    case unknownDocument(String)

    package var code: String {
        switch self {
        case .xml(let e): e.code
        case .unknownDocument: "sdk.unknown_document"
        }
    }

    package var description: String {
        switch self {
        case .xml(let e): e.description
        case .unknownDocument(let root):
            "\(code): root element \(root) is not an SDK message v3, an XHE 1.0 envelope or a Meddelandekvittens"
        }
    }
}
