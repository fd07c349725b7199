/// A document could not be read into (or built from) a typed SDK model.
package struct SDKModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable code: `sdk.model.missing`, `sdk.model.invalid`, `sdk.model.wrong_root`.
    package let code: String
    package let detail: String

    static func missing(_ what: String) -> SDKModelError {
        SDKModelError(code: "sdk.model.missing", detail: "\(what) is required; validate the document (kvitto sdk validate) to see all problems")
    }

    static func invalid(_ what: String) -> SDKModelError {
        SDKModelError(code: "sdk.model.invalid", detail: what)
    }

    static func wrongRoot(_ found: XMLElement, expected: String) -> SDKModelError {
        SDKModelError(code: "sdk.model.wrong_root", detail: "expected \(expected), found \(found)")
    }

    package var description: String { "\(code): \(detail)" }
}

extension XMLElement {
    /// The normalized text of a required child.
    func required(_ ns: String, _ name: String) throws(SDKModelError) -> String {
        guard let e = element(ns, name) else { throw .missing("\(localName)/\(name)") }
        return e.stringValue
    }

    /// The text of an optional child.
    func optionalText(_ ns: String, _ name: String) -> String? { element(ns, name)?.stringValue }
}
