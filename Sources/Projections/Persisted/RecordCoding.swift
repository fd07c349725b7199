package import Ledger

/// How the node's records are kept as rows: canonical JSON (the ledger's own encoding), every
/// field named, so a row can be read by a person and by another backend — except the message
/// record, which every mailbox page reads fifty times and most events rewrite: it is a binary
/// row (``RowWriter``, field order documented at ``MessageRecord/row``). Decoding a row that is
/// not what encoding wrote throws ``LedgerError/Code/corrupt`` (rebuild the projection).
enum RecordCoding {
    static func encode(_ value: JSONValue) -> [UInt8] { CanonicalJSON.encode(value) }

    static func decode(_ bytes: [UInt8], _ what: String) throws -> JSONValue {
        do { return try JSONParser.parse(bytes) } catch {
            throw LedgerError(.corrupt, "a stored \(what) row is not JSON (\(error)); run `kvitto projections rebuild`")
        }
    }

    static func corrupt(_ what: String) -> LedgerError {
        LedgerError(.corrupt, "a stored \(what) row is damaged; run `kvitto projections rebuild`")
    }

    static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
    static func string(_ v: JSONValue?) -> String? { v?.stringValue }
    static func timestamp(_ t: Timestamp) -> JSONValue { .string(t.rfc3339) }
    static func timestamp(_ v: JSONValue?) -> Timestamp? { v?.stringValue.flatMap { Timestamp(rfc3339: $0) } }
    static func blob(_ r: BlobRef?) -> JSONValue { r.map(BlobField.json) ?? .null }
}

extension MessageRecord {
    /// The row's format byte (``RowWriter``).
    package static let rowFormat: UInt8 = 0x4D  // "M"
    /// The listing row's format byte.
    package static let listingFormat: UInt8 = 0x4C  // "L"

    /// What a mailbox page shows of the message, kept in the mailbox index (``MailboxIndex``):
    /// id, direction, status, from and to (each optional: function, participant), label
    /// (optional), confidential, created (nanoseconds), conversation (optional), reference
    /// (optional) — the fields of ``row`` in the same order and coding, the others left out.
    var listingRow: [UInt8] {
        var w = RowWriter(format: Self.listingFormat, capacity: 160 + (label?.utf8.count ?? 0))
        writeHead(&w, participant: false)
        w.optional(conversation)
        w.optional(reference)
        return w.bytes
    }

    /// The fields both rows begin with: id, (participant,) direction, status, from, to, label,
    /// confidential, created.
    private func writeHead(_ w: inout RowWriter, participant withParticipant: Bool) {
        w.string(id)
        if withParticipant { w.string(participant) }
        w.byte(direction == .outbound ? 0 : 1)
        w.byte(status.rowCode)
        for address in [from, to] {
            w.bool(address != nil)
            if let address { w.string(address.function); w.string(address.participant) }
        }
        w.optional(label)
        w.bool(confidential)
        w.int(createdAt.nanoseconds)
    }

    /// Whether `a` and `b` have the same ``listingRow``.
    static func sameListing(_ a: MessageRecord, _ b: MessageRecord) -> Bool {
        a.id == b.id && a.direction == b.direction && a.status == b.status && a.from == b.from && a.to == b.to && a.label == b.label
            && a.confidential == b.confidential && a.createdAt == b.createdAt && a.conversation == b.conversation && a.reference == b.reference
    }

    /// The record as a binary row (``RowWriter``), fields in this order: id, participant,
    /// direction (0 outbound, 1 inbound), status (a code: ``MessageStatus/rowCode``), from and
    /// to (optional: function, participant), label (optional), confidential, created at
    /// (nanoseconds since 1970, signed), event seqs (a list of increments from the previous seq),
    /// AS4 MessageId (optional), verdict (optional: status, receipt id (optional), lines: code,
    /// line id, reason), failure (optional), XHE (optional blob), SDK message (optional blob),
    /// attachments (a list: file name, content type, blob), content key (optional: blob, then
    /// the key-encryption key's id), receipt dispatch (optional),
    /// conversation (optional), reference (optional).
    var row: [UInt8] {
        var w = RowWriter(format: Self.rowFormat, capacity: 192 + (label?.utf8.count ?? 0) + 10 * eventSeqs.count)
        writeHead(&w, participant: true)
        w.uint(UInt64(eventSeqs.count))
        var previous: UInt64 = 0
        for seq in eventSeqs {
            // Seqs are appended in ledger order; an out-of-order one is written as a restart.
            if seq >= previous { w.uint((seq - previous) << 1) } else { w.uint(seq << 1 | 1) }
            previous = seq
        }
        w.optional(as4MessageId)
        w.bool(verdict != nil)
        if let verdict {
            w.string(verdict.status)
            w.optional(verdict.receiptID)
            w.uint(UInt64(verdict.lines.count))
            for line in verdict.lines { w.string(line.code); w.string(line.lineID); w.string(line.reason) }
        }
        w.optional(failure)
        w.optional(xhe)
        w.optional(sdkMessage)
        w.uint(UInt64(attachments.count))
        for a in attachments { w.string(a.fileName); w.string(a.contentType); w.blob(a.blob) }
        w.optional(contentKey?.blob)
        if let contentKey { w.string(contentKey.kek) }
        w.optional(receiptDispatch)
        w.optional(conversation)
        w.optional(reference)
        return w.bytes
    }

    init(row bytes: [UInt8]) throws(LedgerError) {
        var r = try RowReader(bytes, format: Self.rowFormat, what: "message")
        let id = try r.string(), participant = try r.string()
        let direction: Direction = switch try r.byte() {
        case 0: .outbound
        case 1: .inbound
        default: throw RecordCoding.corrupt("message")
        }
        guard let status = MessageStatus(rowCode: try r.byte()) else { throw RecordCoding.corrupt("message") }
        var addresses: [FunctionalAddress?] = []
        for _ in 0..<2 {
            if try r.bool() {
                let function = try r.string()
                addresses.append(FunctionalAddress(participant: try r.string(), function: function))
            } else {
                addresses.append(nil)
            }
        }
        let label = try r.optionalString(), confidential = try r.bool()
        let created = Timestamp(nanoseconds: try r.int())
        self.init(id: id, participant: participant, direction: direction, status: status, createdAt: created)
        (from, to, self.label, self.confidential) = (addresses[0], addresses[1], label, confidential)
        let n = try r.count()
        eventSeqs.reserveCapacity(n)
        var previous: UInt64 = 0
        for _ in 0..<n {
            let v = try r.uint()
            let (seq, overflow) = v & 1 == 1 ? (v >> 1, false) : previous.addingReportingOverflow(v >> 1)
            guard !overflow else { throw RecordCoding.corrupt("message") }
            eventSeqs.append(seq)
            previous = seq
        }
        as4MessageId = try r.optionalString()
        if try r.bool() {
            let status = try r.string(), receiptID = try r.optionalString()
            var lines: [Verdict.Line] = []
            for _ in 0..<(try r.count()) {
                lines.append(Verdict.Line(code: try r.string(), lineID: try r.string(), reason: try r.string()))
            }
            verdict = Verdict(status: status, lines: lines, receiptID: receiptID)
        }
        failure = try r.optionalString()
        xhe = try r.optionalBlob()
        sdkMessage = try r.optionalBlob()
        for _ in 0..<(try r.count()) {
            attachments.append(Attachment(fileName: try r.string(), contentType: try r.string(), blob: try r.blob()))
        }
        if let key = try r.optionalBlob() { contentKey = ContentKeyRef(blob: key, kek: try r.string()) }
        receiptDispatch = try r.optionalString()
        conversation = try r.optionalString()
        reference = try r.optionalString()
        try r.end()
    }
}

extension MessageStatus {
    /// The status in a binary row; fixed codes, so that the order of the cases does not matter.
    var rowCode: UInt8 {
        switch self {
        case .submitted: 0
        case .dispatched: 1
        case .delivered: 2
        case .received: 3
        case .accepted: 4
        case .rejected: 5
        case .failed: 6
        }
    }

    init?(rowCode: UInt8) {
        switch rowCode {
        case 0: self = .submitted
        case 1: self = .dispatched
        case 2: self = .delivered
        case 3: self = .received
        case 4: self = .accepted
        case 5: self = .rejected
        case 6: self = .failed
        default: return nil
        }
    }
}

extension DispatchRecord {
    /// The dispatch as the events carry it, plus the schedule's state.
    var row: JSONValue {
        var o = json.objectValue ?? [:]
        o["message_id"] = .string(messageId)
        o["participant"] = .string(participant)
        o["attempts_started"] = .int(Int64(attemptsStarted))
        o["attempts_finished"] = .int(Int64(attemptsFinished))
        o["next_attempt_at"] = nextAttemptAt.map(RecordCoding.timestamp) ?? .null
        switch outcome {
        case .pending: o["outcome"] = ["state": "pending"]
        case .delivered: o["outcome"] = ["state": "delivered"]
        case .failed(let code, let detail): o["outcome"] = ["state": "failed", "code": .string(code), "detail": .string(detail)]
        }
        o["last_error"] = RecordCoding.optional(lastError)
        o["created_seq"] = .int(Int64(createdSeq))
        return .object(o)
    }

    init(row v: JSONValue) throws {
        guard let messageId = v["message_id"]?.stringValue, let participant = v["participant"]?.stringValue,
              var d = DispatchRecord(json: v, messageId: messageId, participant: participant) else { throw RecordCoding.corrupt("dispatch") }
        d.attemptsStarted = Int(v["attempts_started"]?.intValue ?? 0)
        d.attemptsFinished = Int(v["attempts_finished"]?.intValue ?? 0)
        d.nextAttemptAt = RecordCoding.timestamp(v["next_attempt_at"])
        switch v["outcome"]?["state"]?.stringValue {
        case "pending": d.outcome = .pending
        case "delivered": d.outcome = .delivered
        case "failed": d.outcome = .failed(code: v["outcome"]?["code"]?.stringValue ?? "?", detail: v["outcome"]?["detail"]?.stringValue ?? "")
        default: throw RecordCoding.corrupt("dispatch")
        }
        d.lastError = v["last_error"]?.stringValue
        d.createdSeq = UInt64(v["created_seq"]?.intValue ?? 0)
        self = d
    }
}

extension AddressBook.Organization {
    var row: JSONValue {
        ["participant": .string(participant), "name": .string(name),
         "functions": .object(functions.mapValues(JSONValue.string))]
    }

    init(row v: JSONValue) throws {
        guard let participant = v["participant"]?.stringValue, let name = v["name"]?.stringValue else {
            throw RecordCoding.corrupt("address book")
        }
        self.init(participant: participant, name: name,
                  functions: (v["functions"]?.objectValue ?? [:]).compactMapValues(\.stringValue))
    }
}
