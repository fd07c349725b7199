package import Ledger

/// What a listing shows of a stored message, read in place from its row or its listing row (the
/// formats ``MessageRecord`` writes): the texts are views into the row's bytes, checked to be UTF-8, valid
/// only inside the call that hands them out. A page of summaries costs no ``MessageRecord`` and
/// no string: the API's mailbox page writes them straight into its answer.
package struct MessageRowSummary {
    package var id: UnsafeBufferPointer<UInt8>
    package var direction: MessageRecord.Direction
    package var status: MessageStatus
    package var from: Address?
    package var to: Address?
    package var label: UnsafeBufferPointer<UInt8>?
    package var confidential: Bool
    package var createdAt: Timestamp
    package var conversation: UnsafeBufferPointer<UInt8>?
    package var reference: UnsafeBufferPointer<UInt8>?

    /// A functional address as stored: function, then participant.
    package struct Address {
        package var function: UnsafeBufferPointer<UInt8>
        package var participant: UnsafeBufferPointer<UInt8>
    }

    /// The message id of a listing row (``MessageRecord/listingRow``).
    static func id(ofListing row: [UInt8]) throws(LedgerError) -> String {
        try row.withUnsafeBufferPointer { bytes throws(LedgerError) in
            var r = View(bytes: bytes)
            guard try r.byte() == MessageRecord.listingFormat else { throw RecordCoding.corrupt("message") }
            let n = try r.count()
            guard let id = UTF8Text.exact(UnsafeBufferPointer(rebasing: bytes[r.at..<(r.at + n)])) else { throw RecordCoding.corrupt("message") }
            return id
        }
    }

    /// Reads the summary of `row` — a message row (``MessageRecord/row``) or a listing row
    /// (``MessageRecord/listingRow``) — and hands it to `body`, which must not keep it (its texts
    /// point into `row`); a row that is not a whole, well-formed one throws, like
    /// ``MessageRecord/init(row:)``.
    package static func read(_ row: [UInt8], _ body: (MessageRowSummary) throws -> Void) throws {
        try row.withUnsafeBufferPointer { try read($0, body) }
    }

    /// ``read(_:_:)`` of a row lent in place (valid during the call).
    package static func read(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (MessageRowSummary) throws -> Void) throws {
        do {
            var r = View(bytes: bytes)
            let format = try r.byte()
            guard format == MessageRecord.rowFormat || format == MessageRecord.listingFormat else { throw RecordCoding.corrupt("message") }
            let full = format == MessageRecord.rowFormat
            let id = try r.text()
            if full { _ = try r.text() }  // participant
            let direction: MessageRecord.Direction = switch try r.byte() {
            case 0: .outbound
            case 1: .inbound
            default: throw RecordCoding.corrupt("message")
            }
            guard let status = MessageStatus(rowCode: try r.byte()) else { throw RecordCoding.corrupt("message") }
            let from = try r.bool() ? Address(function: try r.text(), participant: try r.text()) : nil
            let to = try r.bool() ? Address(function: try r.text(), participant: try r.text()) : nil
            let label = try r.optionalText(), confidential = try r.bool()
            let created = Timestamp(nanoseconds: try r.int())
            if full { try r.skipMessageOnlyFields() }
            let conversation = try r.optionalText(), reference = try r.optionalText()
            guard r.at == bytes.count else { throw RecordCoding.corrupt("message") }
            try body(MessageRowSummary(id: id, direction: direction, status: status, from: from, to: to, label: label,
                                              confidential: confidential, createdAt: created, conversation: conversation,
                                              reference: reference))
        }
    }

    /// The message id of a listing row lent in place, as its UTF-8 bytes (valid during the call).
    static func idBytes(ofListing bytes: UnsafeBufferPointer<UInt8>) throws(LedgerError) -> UnsafeBufferPointer<UInt8> {
        var r = View(bytes: bytes)
        guard try r.byte() == MessageRecord.listingFormat else { throw RecordCoding.corrupt("message") }
        return try r.text()
    }

    /// A bounds-checked reader over the row's bytes.
    private struct View {
        /// The fields a message row has between `created` and `conversation` and a listing row
        /// leaves out, checked as ``MessageRecord/init(row:)`` checks them.
        mutating func skipMessageOnlyFields() throws(LedgerError) {
            var previous: UInt64 = 0
            for _ in 0..<(try count()) {  // event seqs
                let v = try uint()
                let (seq, overflow) = v & 1 == 1 ? (v >> 1, false) : previous.addingReportingOverflow(v >> 1)
                guard !overflow else { throw RecordCoding.corrupt("message") }
                previous = seq
            }
            _ = try optionalText()  // AS4 MessageId
            if try bool() {  // verdict
                _ = try text(); _ = try optionalText()
                for _ in 0..<(try count()) { _ = try text(); _ = try text(); _ = try text() }
            }
            _ = try optionalText()  // failure
            try optionalBlob(); try optionalBlob()  // XHE, SDK message
            for _ in 0..<(try count()) { _ = try text(); _ = try text(); try blob() }  // attachments
            if try bool() { try blob(); _ = try text() }  // content key: blob, key-encryption key id
            _ = try optionalText()  // receipt dispatch
        }

        let bytes: UnsafeBufferPointer<UInt8>
        var at = 0

        mutating func byte() throws(LedgerError) -> UInt8 {
            guard at < bytes.count else { throw RecordCoding.corrupt("message") }
            defer { at += 1 }
            return bytes[at]
        }

        mutating func bool() throws(LedgerError) -> Bool { try RowCoding.bool(try byte(), "message") }

        mutating func uint() throws(LedgerError) -> UInt64 { try RowCoding.uint("message") { () throws(LedgerError) in try byte() } }

        mutating func int() throws(LedgerError) -> Int64 { RowCoding.zigzag(try uint()) }

        mutating func count() throws(LedgerError) -> Int {
            let n = try uint()
            guard n <= UInt64(bytes.count - at) else { throw RecordCoding.corrupt("message") }
            return Int(n)
        }

        mutating func text() throws(LedgerError) -> UnsafeBufferPointer<UInt8> {
            let n = try count()
            let s = UnsafeBufferPointer(rebasing: bytes[at..<(at + n)])
            guard UTF8Text.isValid(s) else { throw RecordCoding.corrupt("message") }
            at += n
            return s
        }

        mutating func optionalText() throws(LedgerError) -> UnsafeBufferPointer<UInt8>? {
            try bool() ? try text() : nil
        }

        mutating func blob() throws(LedgerError) {
            guard bytes.count - at >= 32 else { throw RecordCoding.corrupt("message") }
            at += 32
            guard try int() >= 0 else { throw RecordCoding.corrupt("message") }
        }

        mutating func optionalBlob() throws(LedgerError) {
            if try bool() { try blob() }
        }
    }
}
