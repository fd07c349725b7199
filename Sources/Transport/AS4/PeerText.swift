/// The fixed texts the access point sends to a peer where the cause lies on our side or could
/// reveal something (documented in the README's Security section). The cause itself goes to our
/// log (and ledger, where the refusal is recorded), never to the peer.
package enum PeerText {
    /// EBMS:0004 detail for a failure inside this access point.
    package static let processingFailed = "The message could not be processed by the receiving access point."
    /// The body of an HTTP 503 answer: nothing was stored, the sender should retry.
    package static let unavailable = "The message could not be stored now; send it again later.\n"
    /// The body of an HTTP 429 answer: the sender has too many requests in progress.
    package static let tooManyRequests = "Too many requests from this sender are in progress; send it again later.\n"
    /// EBMS:0004 detail for a Meddelandekvittens that does not verify, decrypt or parse — one
    /// text for every cause, so that the answer is no decryption oracle.
    package static let receiptUnreadable = "The Meddelandekvittens could not be verified, decrypted or read."
    /// EBMS:0004 detail for a message larger than the access point accepts.
    package static let tooLarge = "The message is larger than this access point accepts."
    /// EBMS:0009 detail for a SOAP envelope larger than the access point accepts.
    package static let envelopeTooLarge = "The SOAP envelope is larger than this access point accepts."
}
