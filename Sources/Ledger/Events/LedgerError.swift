/// An error of the ledger, with a stable code and a message that says what to do.
public struct LedgerError: Error, Sendable, CustomStringConvertible {
    /// Stable error codes; scripts may match on the raw values.
    public enum Code: String, Sendable {
        case ledgerNotFound = "ledger.not_found"
        case notALedger = "ledger.not_a_ledger"
        case unsupportedFormat = "ledger.unsupported_format"
        case eventTooLarge = "ledger.event_too_large"
        case unknownEventType = "ledger.unknown_event_type"
        case unsupportedEventVersion = "ledger.unsupported_event_version"
        case reservedEventType = "ledger.reserved_event_type"
        case invalidDraft = "ledger.invalid_draft"
        /// A ``LedgerOptions`` value is out of its range.
        case invalidOptions = "ledger.invalid_options"
        case storageFull = "ledger.storage_full"
        case storage = "ledger.storage_error"
        /// Another process holds the writer lock.
        case locked = "ledger.locked"
        case fileTruncated = "ledger.file_truncated"
        case keyUnavailable = "ledger.key_unavailable"
        case keyMismatch = "ledger.key_mismatch"
        case closed = "ledger.closed"
        case seqOutOfRange = "ledger.seq_out_of_range"
        case noCheckpoint = "ledger.no_checkpoint"
        case corrupt = "ledger.corrupt"
        case blobNotFound = "blob.not_found"
        case blobCorrupt = "blob.corrupt"
        case blobIO = "blob.io_error"
        case blobAlreadyErased = "blob.already_erased"
        /// Content is encrypted at rest and its key-encryption key is not available here.
        case contentKeyUnavailable = "content.key_unavailable"
    }

    public let code: Code
    /// What happened and what to do about it, in one line.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static func storage(_ error: any Error, _ doing: String) -> LedgerError {
        if let e = error as? LedgerError { return e }
        return LedgerError(.storage, "\(doing): \(error); the ledger is unchanged, check disk space and permissions")
    }
}
