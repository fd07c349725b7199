import Crypto

/// Writes content encrypted at rest (``SealedBlobFormat``) to the blob store: plaintext in,
/// ciphertext stored under the ciphertext's hash. No plaintext byte reaches a file.
public final class SealedBlobWriter {
    let writer: BlobWriter
    let key: SymmetricKey
    let header: [UInt8]
    let segmentSize: Int
    var pending: [UInt8] = []
    var index: UInt64 = 0
    var plaintextSize: Int64 = 0

    /// Starts a sealed write under `dataKey`.
    public init(store: BlobStore, dataKey: DataKey, segmentSize: Int = SealedBlobFormat.segmentSize) throws(LedgerError) {
        var salt = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = rng.next() }
        writer = try store.makeWriter()
        key = dataKey.blobKey(salt: salt)
        header = SealedBlobFormat.header(salt: salt, segmentSize: segmentSize)
        self.segmentSize = segmentSize
        try writer.write(header)
    }

    /// Encrypts and writes `chunk` (whole segments as they fill).
    public func write(_ chunk: [UInt8]) throws(LedgerError) {
        pending += chunk
        plaintextSize += Int64(chunk.count)
        // A full segment is written only once more bytes follow it: the last segment is marked.
        var start = 0
        while pending.count - start > segmentSize {
            try seal(pending[start..<(start + segmentSize)], last: false)
            start += segmentSize
        }
        if start > 0 { pending.removeFirst(start) }
    }

    /// Writes the last segment and stores the blob; returns the ciphertext's reference.
    public func finish() throws(LedgerError) -> BlobRef {
        try seal(pending[...], last: true)
        pending = []
        return try writer.finish()
    }

    private func seal(_ segment: ArraySlice<UInt8>, last: Bool) throws(LedgerError) {
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.seal(segment, using: key, nonce: try AES.GCM.Nonce(data: SealedBlobFormat.nonce(index)),
                                   authenticating: SealedBlobFormat.aad(header: header, index: index, last: last))
        } catch {
            throw LedgerError(.blobIO, "encrypting content failed: \(error)")
        }
        index += 1
        try writer.write(Array(box.ciphertext) + Array(box.tag))
    }
}

extension BlobStore {
    /// Stores `bytes` encrypted under `dataKey` (``SealedBlobFormat``); returns the ciphertext's reference.
    public func putSealed(_ bytes: [UInt8], dataKey: DataKey) throws(LedgerError) -> BlobRef {
        let w = try SealedBlobWriter(store: self, dataKey: dataKey)
        try w.write(bytes)
        return try w.finish()
    }

    /// Opens a sealed blob for reading its plaintext under `dataKey`.
    public func openSealed(_ ref: BlobRef, dataKey: DataKey) throws(LedgerError) -> SealedBlobReader {
        try SealedBlobReader(reader: try open(ref.sha256), name: ref.sha256.hex, sealedSize: ref.size, dataKey: dataKey)
    }

    /// The whole plaintext of a sealed blob (for small content).
    public func readSealed(_ ref: BlobRef, dataKey: DataKey) throws(LedgerError) -> [UInt8] {
        let r = try openSealed(ref, dataKey: dataKey)
        var out: [UInt8] = []
        out.reserveCapacity(Int(SealedBlobFormat.plaintextSize(ofSealed: ref.size) ?? 0))
        while let chunk = try r.next() { out += chunk }
        return out
    }
}
