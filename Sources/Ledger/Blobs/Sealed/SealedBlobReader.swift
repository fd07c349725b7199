import Crypto

/// Reads content encrypted at rest (``SealedBlobFormat``): each segment is authenticated before
/// any of its bytes is returned, the last one must be marked last, and the ciphertext's hash is
/// checked at the end (by the underlying ``BlobReader``). A wrong key, an altered byte, a
/// reordered or missing segment all throw `blob.corrupt`.
public final class SealedBlobReader {
    /// The ciphertext's chunks: a stored blob (which checks its hash at the end) or bytes in memory.
    let reader: any ContentChunks
    /// The blob's name in errors.
    let name: String
    let dataKey: DataKey
    let sealedSize: Int64
    var key: SymmetricKey?
    var header: [UInt8] = []
    var segmentSize = 0
    var segments: UInt64 = 0
    var buffer: [UInt8] = []
    var index: UInt64 = 0
    var done = false

    /// The plaintext's size.
    public let size: Int64

    init(reader: any ContentChunks, name: String, sealedSize: Int64, dataKey: DataKey) throws(LedgerError) {
        guard let size = SealedBlobFormat.plaintextSize(ofSealed: sealedSize) else {
            throw LedgerError(.blobCorrupt, "blob \(name) is not encrypted content: its size \(sealedSize) fits no sealed layout")
        }
        self.reader = reader
        self.name = name
        self.sealedSize = sealedSize
        self.dataKey = dataKey
        self.size = size
    }

    /// The next plaintext chunk (one or more segments), or nil at the end.
    public func next() throws(LedgerError) -> [UInt8]? {
        guard !done else { return nil }
        if key == nil { try readHeader() }
        let unit = segmentSize + SealedBlobFormat.tagSize
        while true {
            // Whole segments in the buffer (the last one is whatever is left at the end).
            var out: [UInt8] = []
            var start = 0
            while index < segments {
                let last = index == segments - 1
                let need = last ? Int(sealedSize - Int64(SealedBlobFormat.headerSize) - Int64(index) * Int64(unit)) : unit
                guard buffer.count - start >= need else { break }
                out += try open(buffer[start..<(start + need)], last: last)
                start += need
                index += 1
            }
            if start > 0 { buffer.removeFirst(start) }
            if index == segments {
                // The rest must be nothing, and the ciphertext's hash must hold.
                while let extra = try reader.next() {
                    guard extra.isEmpty else { throw corrupt("it is longer than recorded") }
                }
                guard buffer.isEmpty else { throw corrupt("it is longer than recorded") }
                done = true
                return out
            }
            if !out.isEmpty { return out }
            guard let chunk = try reader.next() else { throw corrupt("it ends early") }
            buffer += chunk
        }
    }

    private func readHeader() throws(LedgerError) {
        while buffer.count < SealedBlobFormat.headerSize {
            guard let chunk = try reader.next() else { throw corrupt("it has no header") }
            buffer += chunk
        }
        header = Array(buffer[0..<SealedBlobFormat.headerSize])
        buffer.removeFirst(SealedBlobFormat.headerSize)
        guard let (segmentSize, salt) = SealedBlobFormat.parse(header: header),
              let size = SealedBlobFormat.plaintextSize(ofSealed: sealedSize, segmentSize: segmentSize) else {
            throw corrupt("its header is not one of encrypted content")
        }
        self.segmentSize = segmentSize
        segments = UInt64(max(1, (size + Int64(segmentSize) - 1) / Int64(segmentSize)))
        key = dataKey.blobKey(salt: salt)
    }

    private func open(_ sealed: ArraySlice<UInt8>, last: Bool) throws(LedgerError) -> [UInt8] {
        guard let key, sealed.count >= SealedBlobFormat.tagSize else { throw corrupt("a segment is cut short") }
        let split = sealed.endIndex - SealedBlobFormat.tagSize
        do {
            let box = try AES.GCM.SealedBox(nonce: try AES.GCM.Nonce(data: SealedBlobFormat.nonce(index)),
                                            ciphertext: sealed[sealed.startIndex..<split], tag: sealed[split...])
            return Array(try AES.GCM.open(box, using: key, authenticating: SealedBlobFormat.aad(header: header, index: index, last: last)))
        } catch {
            throw corrupt("segment \(index) does not authenticate: the content was altered, or the key is not this message's")
        }
    }

    private func corrupt(_ why: String) -> LedgerError {
        LedgerError(.blobCorrupt, "encrypted blob \(name) does not open: \(why)")
    }
}

extension SealedBlobFormat {
    /// The plaintext of a whole sealed blob held in memory (an evidence bundle's part), every
    /// segment authenticated under `dataKey`.
    public static func open(_ sealed: [UInt8], dataKey: DataKey) throws(LedgerError) -> [UInt8] {
        let reader = try SealedBlobReader(reader: InMemoryChunks(sealed), name: "of \(sealed.count) bytes", sealedSize: Int64(sealed.count), dataKey: dataKey)
        var out: [UInt8] = []
        while let chunk = try reader.next() { out += chunk }
        return out
    }
}

/// Bytes in memory as one chunk.
final class InMemoryChunks: ContentChunks {
    private var bytes: [UInt8]?

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func next() throws(LedgerError) -> [UInt8]? {
        defer { bytes = nil }
        return bytes
    }
}
