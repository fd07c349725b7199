package import Ledger

/// How the node's records are kept as rows: canonical JSON (the ledger's own encoding), every
/// field named, so a row can be read by a person and by another backend. Decoding a row that is
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
    var row: JSONValue {
        [
            "id": .string(id), "participant": .string(participant), "direction": .string(direction.rawValue),
            "status": .string(status.rawValue), "from": RecordCoding.optional(from?.description),
            "to": RecordCoding.optional(to?.description), "label": RecordCoding.optional(label), "confidential": .bool(confidential),
            "created_at": RecordCoding.timestamp(createdAt), "event_seqs": .array(eventSeqs.map { .int(Int64($0)) }),
            "as4_message_id": RecordCoding.optional(as4MessageId),
            "verdict": verdict.map { v in
                ["status": .string(v.status), "receipt_id": RecordCoding.optional(v.receiptID),
                 "lines": .array(v.lines.map { ["code": .string($0.code), "line_id": .string($0.lineID), "reason": .string($0.reason)] })]
            } ?? .null,
            "failure": RecordCoding.optional(failure), "xhe": RecordCoding.blob(xhe), "sdk_message": RecordCoding.blob(sdkMessage),
            "attachments": .array(attachments.map {
                ["file_name": .string($0.fileName), "content_type": .string($0.contentType), "blob": BlobField.json($0.blob)]
            }),
            "receipt_dispatch": RecordCoding.optional(receiptDispatch),
        ]
    }

    init(row v: JSONValue) throws {
        guard let id = v["id"]?.stringValue, let participant = v["participant"]?.stringValue,
              let direction = v["direction"]?.stringValue.flatMap(Direction.init(rawValue:)),
              let status = v["status"]?.stringValue.flatMap(MessageStatus.init(rawValue:)),
              let created = RecordCoding.timestamp(v["created_at"]) else { throw RecordCoding.corrupt("message") }
        self.init(id: id, participant: participant, direction: direction, status: status, createdAt: created)
        from = v["from"]?.stringValue.flatMap(FunctionalAddress.init)
        to = v["to"]?.stringValue.flatMap(FunctionalAddress.init)
        label = v["label"]?.stringValue
        confidential = v["confidential"]?.boolValue ?? false
        eventSeqs = (v["event_seqs"]?.arrayElements ?? []).compactMap { $0.intValue.map(UInt64.init) }
        as4MessageId = v["as4_message_id"]?.stringValue
        if let verdict = v["verdict"], verdict != .null {
            self.verdict = Verdict(status: verdict["status"]?.stringValue ?? "?",
                                   lines: (verdict["lines"]?.arrayElements ?? []).map {
                                       Verdict.Line(code: $0["code"]?.stringValue ?? "?", lineID: $0["line_id"]?.stringValue ?? "NA",
                                                    reason: $0["reason"]?.stringValue ?? "")
                                   },
                                   receiptID: verdict["receipt_id"]?.stringValue)
        }
        failure = v["failure"]?.stringValue
        xhe = BlobField.parse(v["xhe"])
        sdkMessage = BlobField.parse(v["sdk_message"])
        attachments = MessageRecord.attachments(v["attachments"])
        receiptDispatch = v["receipt_dispatch"]?.stringValue
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
