/// Content read in chunks, checked as it is read: a stored blob (``BlobReader``) or content
/// encrypted at rest (``SealedBlobReader``). `next()` returns chunks, then nil; it throws when the
/// content does not check out, at the latest before the last chunk's end is reported.
public protocol ContentChunks: AnyObject {
    func next() throws(LedgerError) -> [UInt8]?
}

extension BlobReader: ContentChunks {}
extension SealedBlobReader: ContentChunks {}
