/// An ebMS 3.0 processing error, with its code (`EBMS:0004`), the standard short description,
/// severity and category, and a detail for the partner. Thrown inside the MSH and answered with
/// an `eb:Error` signal.
package struct EbMSError: Error, Sendable, Equatable, CustomStringConvertible {
    package var code: String
    package var shortDescription: String
    package var severity: Severity
    package var category: String
    package var detail: String
    /// The message this error refers to, when known.
    package var refToMessageId: String?
    /// What went wrong on our side, for our own log and ledger only: never written into the
    /// signal (``detail`` then holds one of the fixed ``PeerText`` texts).
    package var internalDetail: String?

    package enum Severity: String, Sendable { case failure, warning }

    package init(code: String, shortDescription: String, severity: Severity = .failure, category: String, detail: String,
                 refToMessageId: String? = nil) {
        self.code = code
        self.shortDescription = shortDescription
        self.severity = severity
        self.category = category
        self.detail = detail
        self.refToMessageId = refToMessageId
    }

    package var description: String { "\(code) \(shortDescription): \(detail)" }

    /// EBMS:0001 ValueNotRecognized.
    package static func valueNotRecognized(_ d: String) -> Self {
        .init(code: "EBMS:0001", shortDescription: "ValueNotRecognized", category: "Content", detail: d)
    }
    /// EBMS:0003 ValueInconsistent.
    package static func valueInconsistent(_ d: String) -> Self {
        .init(code: "EBMS:0003", shortDescription: "ValueInconsistent", category: "Content", detail: d)
    }
    /// EBMS:0004 Other (the SDK uses it with detail `NOT_SERVICED` for an unknown recipient).
    package static func other(_ d: String) -> Self {
        .init(code: "EBMS:0004", shortDescription: "Other", category: "Content", detail: d)
    }
    /// EBMS:0004 for a failure on our side: the peer reads the fixed ``PeerText/processingFailed``,
    /// `cause` stays in our log.
    package static func internalFailure(_ cause: String) -> Self {
        other(PeerText.processingFailed).withInternalDetail(cause)
    }

    /// This error with `cause` as its ``internalDetail`` (kept in our log, never sent).
    package func withInternalDetail(_ cause: String) -> Self {
        var e = self
        e.internalDetail = cause
        return e
    }
    /// EBMS:0004 with detail NOT_SERVICED: the final recipient is not served by this access point.
    package static let notServiced = other("NOT_SERVICED")
    /// EBMS:0009 InvalidHeader.
    package static func invalidHeader(_ d: String) -> Self {
        .init(code: "EBMS:0009", shortDescription: "InvalidHeader", category: "Unpackaging", detail: d)
    }
    /// EBMS:0101 FailedAuthentication.
    package static func failedAuthentication(_ d: String) -> Self {
        .init(code: "EBMS:0101", shortDescription: "FailedAuthentication", category: "Processing", detail: d)
    }
    /// EBMS:0102 FailedDecryption.
    package static func failedDecryption(_ d: String) -> Self {
        .init(code: "EBMS:0102", shortDescription: "FailedDecryption", category: "Processing", detail: d)
    }
    /// EBMS:0103 PolicyNoncompliance.
    package static func policyNoncompliance(_ d: String) -> Self {
        .init(code: "EBMS:0103", shortDescription: "PolicyNoncompliance", category: "Processing", detail: d)
    }
    /// EBMS:0301 MissingReceipt.
    package static func missingReceipt(_ d: String) -> Self {
        .init(code: "EBMS:0301", shortDescription: "MissingReceipt", category: "Communication", detail: d)
    }
    /// EBMS:0302 InvalidReceipt.
    package static func invalidReceipt(_ d: String) -> Self {
        .init(code: "EBMS:0302", shortDescription: "InvalidReceipt", category: "Communication", detail: d)
    }
    /// EBMS:0303 DecompressionFailure.
    package static func decompressionFailure(_ d: String) -> Self {
        .init(code: "EBMS:0303", shortDescription: "DecompressionFailure", category: "Communication", detail: d)
    }
    /// EBMS:0005 ConnectionFailure (local: the partner could not be reached).
    package static func connectionFailure(_ d: String) -> Self {
        .init(code: "EBMS:0005", shortDescription: "ConnectionFailure", category: "Communication", detail: d)
    }
}
