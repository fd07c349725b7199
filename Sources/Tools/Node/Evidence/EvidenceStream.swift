import Foundation
package import Ledger

/// The evidence bundle format's fixed names (Schemas/evidence-bundle.md).
package enum EvidenceFormat {
    /// The `format` member this build writes and reads.
    package static let version = "kvitto-evidence/1"

    /// A purpose as recorded: its first 500 Unicode scalars (code points, so that every
    /// language's verifier cuts it at the same place).
    package static func cut(_ text: String) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: text.unicodeScalars.prefix(500))
        return String(view)
    }
}

/// An evidence bundle written as its canonical JSON (RFC 8785) and a final LF, chunk by chunk:
/// the included blobs are read from the store and base64-encoded as they are written, so a
/// bundle holding a 200 MiB XHE costs a few chunks of memory, not the XHE.
///
/// `blobs` is the first member of the bundle object and `data` the first member of a blob entry
/// (canonical order), so the stream is: `{"blobs":[`, each blob entry with its `data` streamed,
/// `],` and the rest of the object encoded at once.
///
/// The bytes of an included blob are shipped as the store holds them, without judging them: a
/// blob altered on disk reaches the verifier, which names it.
package final class EvidenceStream {
    /// One `blobs` entry: its members (without `data`) and, when included, the open reader.
    package struct Blob {
        package let entry: [String: JSONValue]
        package let reader: BlobReader?
    }

    private var pending: [[UInt8]] = []
    private var blobs: ArraySlice<Blob>
    private var tail: [UInt8]
    private var reading: (reader: BlobReader, rest: [UInt8])?
    /// 0–2 bytes of the current blob not yet encoded (base64 works in groups of three).
    private var carry: [UInt8] = []
    private var first = true

    init(top: [String: JSONValue], blobs: [Blob]) {
        var rest = top
        rest["blobs"] = nil
        // `{"blobs":[ … ],` then the other members: the canonical object minus its `{`.
        tail = [UInt8]("],".utf8) + CanonicalJSON.encode(.object(rest)).dropFirst() + [0x0A]
        self.blobs = blobs[...]
        pending = [[UInt8]("{\"blobs\":[".utf8)]
    }

    /// The next chunk of the bundle, or nil at its end. Throws when a blob cannot be read (the
    /// bundle is then incomplete and must be discarded).
    package func next() throws(NodeError) -> [UInt8]? {
        while true {
            if !pending.isEmpty { return pending.removeFirst() }
            if let (reader, rest) = reading {
                let chunk: [UInt8]?
                do { chunk = try reader.next() } catch {
                    // Altered content is shipped as it is (the verifier names it); anything else fails.
                    guard error.code == .blobCorrupt else { throw NodeError(.storage, "reading blob \(reader.hash): \(error)") }
                    chunk = nil
                }
                if let chunk {
                    let bytes = carry + chunk
                    let whole = bytes.count - bytes.count % 3
                    carry = Array(bytes[whole...])
                    if whole > 0 { return Array(Data(bytes[..<whole]).base64EncodedString().utf8) }
                    continue
                }
                var out = Array(Data(carry).base64EncodedString().utf8)
                out += [UInt8]("\",".utf8) + rest
                carry = []
                reading = nil
                return out
            }
            guard let blob = blobs.popFirst() else {
                guard !tail.isEmpty else { return nil }
                defer { tail = [] }
                return tail
            }
            var out: [UInt8] = first ? [] : [UInt8](",".utf8)
            first = false
            let encoded = CanonicalJSON.encode(.object(blob.entry))
            if let reader = blob.reader {
                // `data` sorts before every other member of an entry.
                out += [UInt8]("{\"data\":\"".utf8)
                reading = (reader, Array(encoded.dropFirst()))
            } else {
                out += encoded
            }
            return out
        }
    }

    /// Writes the whole bundle to `write` (for files; the API streams ``next()`` instead).
    package func write(_ write: ([UInt8]) throws -> Void) throws {
        while let chunk = try next() { try write(chunk) }
    }
}
