package import Ledger

/// How events reference content in the blob store: `{"sha256": hex, "size": n}`.
package enum BlobField {
    package static func json(_ ref: BlobRef) -> JSONValue {
        ["sha256": .string(ref.sha256.hex), "size": .int(ref.size)]
    }

    package static func parse(_ value: JSONValue?) -> BlobRef? {
        guard let hex = value?["sha256"]?.stringValue, let digest = Digest32(hex: hex),
              let size = value?["size"]?.intValue else { return nil }
        return BlobRef(sha256: digest, size: size)
    }
}

extension JSONValue {
    /// The elements of an array value (empty for anything else).
    package var arrayElements: [JSONValue] {
        if case .array(let a) = self { return a }
        return []
    }

    package var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
}
