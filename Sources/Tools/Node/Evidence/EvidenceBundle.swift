import Foundation
package import Ledger

/// An evidence bundle read back strictly (Schemas/evidence-bundle.md §1–§8, checked as §10.1):
/// canonical JSON with a final LF, closed member sets, lowercase hex, canonical base64, integer
/// numbers. Anything else is `malformed_bundle`, naming the member by its JSON Pointer.
package struct EvidenceBundle {
    /// A full event entry: the event's canonical bytes with its hash, signature and proof.
    package struct Full {
        package let pointer: String
        package let seq: UInt64
        package let canonical: [UInt8]
        package let hash: Digest32
        package let prev: Digest32
        package let key: String
        package let sig: [UInt8]
        package let proof: (leafIndex: UInt64, path: [Digest32])?
    }

    /// A redacted event entry: what the requester was shown, unproven.
    package struct Redacted {
        package let pointer: String
        package let seq: UInt64
        package let time: Timestamp
        package let type: String
        package let subject: String
        package let actor: String
        package let payload: JSONValue
        package let removed: [String]
    }

    package enum Entry {
        case full(Full)
        case redacted(Redacted)

        package var seq: UInt64 {
            switch self {
            case .full(let f): f.seq
            case .redacted(let r): r.seq
            }
        }
    }

    package struct Key {
        package let pointer: String
        package let key: String
        package let publicKey: String
        package let activeFrom: UInt64
        package let event: Full
    }

    package struct Blob {
        package let pointer: String
        package let sha256: String
        package let size: Int64
        package let kind: String
        package let role: String
        package let references: [(seq: UInt64, pointer: String)]
        package let state: String
        package let data: [UInt8]?
        package let erasedBy: UInt64?
        package let reason: String?
    }

    package struct Part: Equatable {
        package let part: String
        package let attachment: Int64?
        package let fileName: String?
        package let contentType: String
        package let sha256: String
    }

    package struct Witness {
        package let pointer: String
        package let seq: UInt64
        package let hash: Digest32
        package let proof: (leafIndex: UInt64, path: [Digest32])?
        package let oldSize: UInt64
        package let oldRoot: Digest32
        package let consistency: [Digest32]
    }

    package let format: String
    package let generatedAt: String
    package let node: String
    package let ledgerFormat: String
    package let ledgerID: String
    package let messageID: String
    package let participant: String
    package let direction: String
    package let actor: String
    package let visibility: String
    package let interface: String
    package let purpose: String?
    package let position: UInt64
    package let checkpoint: Full
    package let keys: [Key]
    package let events: [Entry]
    package let blobs: [Blob]
    package let accessEvents: [UInt64]?
    package let parts: [Part]?
    /// The message's data key, when its content is encrypted at rest (`content-at-rest.md`).
    package let dataKey: [UInt8]?
    package let witnesses: [Witness]

    package typealias Failure = EvidenceReport.Failure

    /// Reads `bytes` as a bundle; throws `malformed_bundle` (or `unsupported_format`).
    package init(_ bytes: [UInt8]) throws(Failure) {
        guard bytes.last == 0x0A else { throw Self.malformed("/", "the file does not end with one LF after the canonical JSON") }
        let root: JSONValue
        do { root = try JSONParser.parseCanonical(Array(bytes.dropLast())) } catch {
            throw Self.malformed("/", "the file is not canonical JSON (RFC 8785): \(error)")
        }
        let r = Reader()
        let top = try r.object(root, "", required: ["format", "generated_at", "node", "ledger", "message", "requester", "position",
                                                      "checkpoint", "keys", "events", "blobs", "witnesses"], optional: ["content"])
        format = try r.string(top["format"], "/format")
        guard format == EvidenceFormat.version else {
            throw Failure("unsupported_format", "bundle", pointer: "/format", "format \(format) is not \(EvidenceFormat.version)")
        }
        generatedAt = try r.time(top["generated_at"], "/generated_at")
        node = try r.string(top["node"], "/node")
        let ledger = try r.object(top["ledger"]!, "/ledger", required: ["format", "ledger_id"])
        ledgerFormat = try r.string(ledger["format"], "/ledger/format")
        ledgerID = try r.string(ledger["ledger_id"], "/ledger/ledger_id")
        let message = try r.object(top["message"]!, "/message", required: ["id", "participant", "direction"])
        messageID = try r.string(message["id"], "/message/id")
        participant = try r.string(message["participant"], "/message/participant")
        direction = try r.string(message["direction"], "/message/direction")
        guard direction == "outbound" || direction == "inbound" else { throw Self.malformed("/message/direction", "must be outbound or inbound") }
        let requester = try r.object(top["requester"]!, "/requester", required: ["actor", "visibility", "interface"], optional: ["purpose"])
        actor = try r.string(requester["actor"], "/requester/actor")
        visibility = try r.string(requester["visibility"], "/requester/visibility")
        guard ["full", "audit", "transport"].contains(visibility) else { throw Self.malformed("/requester/visibility", "must be full, audit or transport") }
        interface = try r.string(requester["interface"], "/requester/interface")
        guard ["cli", "api", "console"].contains(interface) else { throw Self.malformed("/requester/interface", "must be cli, api or console") }
        purpose = try requester["purpose"].map { v throws(Failure) in try r.string(v, "/requester/purpose") }
        position = try r.count(top["position"], "/position")
        checkpoint = try r.full(top["checkpoint"]!, "/checkpoint", proof: false)
        keys = try r.array(top["keys"], "/keys").enumerated().map { i, v throws(Failure) in
            let p = "/keys/\(i)"
            let o = try r.object(v, p, required: ["key", "public_key", "active_from", "event"])
            return Key(pointer: p, key: try r.string(o["key"], p + "/key"), publicKey: try r.base64Text(o["public_key"], p + "/public_key"),
                       activeFrom: try r.count(o["active_from"], p + "/active_from"), event: try r.full(o["event"]!, p + "/event", proof: true))
        }
        guard !keys.isEmpty else { throw Self.malformed("/keys", "the key chain is empty") }
        events = try r.array(top["events"], "/events").enumerated().map { i, v throws(Failure) in try r.entry(v, "/events/\(i)") }
        guard !events.isEmpty else { throw Self.malformed("/events", "the bundle holds no event") }
        blobs = try r.array(top["blobs"], "/blobs").enumerated().map { i, v throws(Failure) in try r.blob(v, "/blobs/\(i)") }
        if let content = top["content"] {
            let c = try r.object(content, "/content", required: ["access_events", "parts"], optional: ["data_key"])
            dataKey = try c["data_key"].map { v throws(Failure) in
                let key = try r.base64(v, "/content/data_key")
                guard key.count == 32 else { throw Self.malformed("/content/data_key", "a data key is 32 bytes") }
                return key
            }
            accessEvents = try r.array(c["access_events"], "/content/access_events").enumerated().map { i, v throws(Failure) in
                try r.count(v, "/content/access_events/\(i)")
            }
            parts = try r.array(c["parts"], "/content/parts").enumerated().map { i, v throws(Failure) in try r.part(v, "/content/parts/\(i)") }
        } else {
            (accessEvents, parts, dataKey) = (nil, nil, nil)
        }
        witnesses = try r.array(top["witnesses"], "/witnesses").enumerated().map { i, v throws(Failure) in try r.witness(v, "/witnesses/\(i)") }
        try checkOrder()
    }

    /// Orders (§2), seq ranges and which forms the requester's visibility allows.
    private func checkOrder() throws(Failure) {
        for (i, e) in events.enumerated() where i > 0 && e.seq <= events[i - 1].seq {
            throw Self.malformed("/events/\(i)/seq", "events are not in strictly increasing seq order")
        }
        let keySeqs = Set(keys.map(\.event.seq))
        for (i, e) in events.enumerated() where keySeqs.contains(e.seq) || e.seq == checkpoint.seq {
            throw Self.malformed("/events/\(i)/seq", "seq \(e.seq) is also a key event or the checkpoint")
        }
        for (i, k) in keys.enumerated() where i > 0 && k.event.seq <= keys[i - 1].event.seq {
            throw Self.malformed("/keys/\(i)", "keys are not in seq order")
        }
        for (i, w) in witnesses.enumerated() where i > 0 && w.seq <= witnesses[i - 1].seq {
            throw Self.malformed("/witnesses/\(i)", "witnesses are not in strictly increasing seq order")
        }
        if let accessEvents {
            for (i, s) in accessEvents.enumerated() where i > 0 && s <= accessEvents[i - 1] {
                throw Self.malformed("/content/access_events/\(i)", "access events are not in strictly increasing seq order")
            }
        }
        if visibility == "full", let i = events.firstIndex(where: { if case .redacted = $0 { true } else { false } }) {
            throw Self.malformed("/events/\(i)", "a redacted entry in a bundle for a requester who sees everything")
        }
        if visibility != "full", parts != nil { throw Self.malformed("/content", "content in a bundle for a requester without read access") }
    }

    static func malformed(_ pointer: String, _ detail: String) -> Failure {
        Failure("malformed_bundle", "bundle", pointer: pointer, detail)
    }

    /// Typed access to parsed members, each failure naming its JSON Pointer.
    private struct Reader {
        func object(_ v: JSONValue, _ p: String, required: Set<String>, optional: Set<String> = []) throws(Failure) -> [String: JSONValue] {
            guard case .object(let o) = v else { throw malformed(p.isEmpty ? "/" : p, "must be an object") }
            for name in o.keys.sorted() where !required.contains(name) && !optional.contains(name) {
                throw malformed(p + "/" + BlobReferences.escape(name), "unknown member \(name)")
            }
            for name in required.sorted() where o[name] == nil { throw malformed(p + "/" + name, "missing member \(name)") }
            return o
        }

        func string(_ v: JSONValue?, _ p: String) throws(Failure) -> String {
            guard let s = v?.stringValue else { throw malformed(p, "must be a string") }
            return s
        }

        func count(_ v: JSONValue?, _ p: String) throws(Failure) -> UInt64 {
            guard let i = v?.intValue, i >= 0 else { throw malformed(p, "must be a non-negative integer") }
            return UInt64(i)
        }

        func array(_ v: JSONValue?, _ p: String) throws(Failure) -> [JSONValue] {
            guard case .array(let a)? = v else { throw malformed(p, "must be an array") }
            return a
        }

        func hex(_ v: JSONValue?, _ p: String) throws(Failure) -> Digest32 {
            let s = try string(v, p)
            guard s.utf8.count == 64, s.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
                  let d = Digest32(hex: s) else { throw malformed(p, "must be 64 lowercase hex digits") }
            return d
        }

        func base64(_ v: JSONValue?, _ p: String) throws(Failure) -> [UInt8] {
            let s = try string(v, p)
            guard let d = Data(base64Encoded: s), d.base64EncodedString() == s else {
                throw malformed(p, "must be canonical base64 (RFC 4648 §4, padded, no line breaks)")
            }
            return [UInt8](d)
        }

        func base64Text(_ v: JSONValue?, _ p: String) throws(Failure) -> String {
            _ = try base64(v, p)
            return try string(v, p)
        }

        func time(_ v: JSONValue?, _ p: String) throws(Failure) -> String {
            let s = try string(v, p)
            guard let t = Timestamp(rfc3339: s), t.rfc3339 == s else { throw malformed(p, "must be a time as YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ") }
            return s
        }

        func proof(_ v: JSONValue, _ p: String) throws(Failure) -> (UInt64, [Digest32]) {
            let o = try object(v, p, required: ["leaf_index", "path"])
            return (try count(o["leaf_index"], p + "/leaf_index"),
                    try array(o["path"], p + "/path").enumerated().map { i, h throws(Failure) in try hex(h, p + "/path/\(i)") })
        }

        func full(_ v: JSONValue, _ p: String, proof withProof: Bool) throws(Failure) -> Full {
            let o = try object(v, p, required: withProof ? ["seq", "form", "canonical", "hash", "prev", "key", "sig", "proof"]
                                                   : ["seq", "form", "canonical", "hash", "prev", "key", "sig"])
            guard try string(o["form"], p + "/form") == "full" else { throw malformed(p + "/form", "must be \"full\"") }
            return Full(pointer: p, seq: try count(o["seq"], p + "/seq"), canonical: try base64(o["canonical"], p + "/canonical"),
                        hash: try hex(o["hash"], p + "/hash"), prev: try hex(o["prev"], p + "/prev"), key: try string(o["key"], p + "/key"),
                        sig: try base64(o["sig"], p + "/sig"), proof: try o["proof"].map { v throws(Failure) in try proof(v, p + "/proof") })
        }

        func entry(_ v: JSONValue, _ p: String) throws(Failure) -> Entry {
            guard case .object(let o) = v else { throw malformed(p, "must be an object") }
            switch o["form"]?.stringValue {
            case "full": return .full(try full(v, p, proof: true))
            case "redacted":
                let r = try object(v, p, required: ["seq", "form", "shown", "redacted"])
                let s = try object(r["shown"]!, p + "/shown", required: ["time", "type", "subject", "actor", "payload"])
                guard let t = Timestamp(rfc3339: try time(s["time"], p + "/shown/time")) else { throw malformed(p + "/shown/time", "not a time") }
                guard case .object = s["payload"]! else { throw malformed(p + "/shown/payload", "must be an object") }
                let removed = try array(r["redacted"], p + "/redacted").enumerated().map { i, n throws(Failure) in try string(n, p + "/redacted/\(i)") }
                guard removed == removed.sorted(), Set(removed).count == removed.count else {
                    throw malformed(p + "/redacted", "must be sorted and without repeats")
                }
                return .redacted(Redacted(pointer: p, seq: try count(r["seq"], p + "/seq"), time: t, type: try string(s["type"], p + "/shown/type"),
                                          subject: try string(s["subject"], p + "/shown/subject"), actor: try string(s["actor"], p + "/shown/actor"),
                                          payload: s["payload"]!, removed: removed))
            default:
                throw malformed(p + "/form", "must be \"full\" or \"redacted\"")
            }
        }

        func blob(_ v: JSONValue, _ p: String) throws(Failure) -> Blob {
            let o = try object(v, p, required: ["sha256", "size", "kind", "role", "references", "state"], optional: ["data", "erased_by", "reason"])
            let refs = try array(o["references"], p + "/references").enumerated().map { i, r throws(Failure) in
                let ro = try object(r, p + "/references/\(i)", required: ["seq", "pointer"])
                return (seq: try count(ro["seq"], p + "/references/\(i)/seq"), pointer: try string(ro["pointer"], p + "/references/\(i)/pointer"))
            }
            let size = try count(o["size"], p + "/size")
            return Blob(pointer: p, sha256: try hex(o["sha256"], p + "/sha256").hex, size: Int64(size), kind: try string(o["kind"], p + "/kind"),
                        role: try string(o["role"], p + "/role"), references: refs, state: try string(o["state"], p + "/state"),
                        data: try o["data"].map { v throws(Failure) in try base64(v, p + "/data") },
                        erasedBy: try o["erased_by"].map { v throws(Failure) in try count(v, p + "/erased_by") },
                        reason: try o["reason"].map { v throws(Failure) in try string(v, p + "/reason") })
        }

        func part(_ v: JSONValue, _ p: String) throws(Failure) -> Part {
            let o = try object(v, p, required: ["part", "content_type", "sha256"], optional: ["attachment", "file_name"])
            return Part(part: try string(o["part"], p + "/part"), attachment: try o["attachment"].map { v throws(Failure) in Int64(try count(v, p + "/attachment")) },
                        fileName: try o["file_name"].map { v throws(Failure) in try string(v, p + "/file_name") },
                        contentType: try string(o["content_type"], p + "/content_type"), sha256: try hex(o["sha256"], p + "/sha256").hex)
        }

        func witness(_ v: JSONValue, _ p: String) throws(Failure) -> Witness {
            let o = try object(v, p, required: ["seq", "hash", "old_size", "old_root", "consistency"], optional: ["proof"])
            return Witness(pointer: p, seq: try count(o["seq"], p + "/seq"), hash: try hex(o["hash"], p + "/hash"),
                           proof: try o["proof"].map { v throws(Failure) in try proof(v, p + "/proof") },
                           oldSize: try count(o["old_size"], p + "/old_size"), oldRoot: try hex(o["old_root"], p + "/old_root"),
                           consistency: try array(o["consistency"], p + "/consistency").enumerated().map { i, h throws(Failure) in
                               try hex(h, p + "/consistency/\(i)")
                           })
        }
    }
}
