package import Ledger

/// The compact binary form of the node's hottest rows (a message record is read for every line
/// of a mailbox page and rewritten at most events): a format byte, then the record's fields in a
/// fixed order, each as
///
/// - an unsigned integer: LEB128 (7 bits per byte, low bits first);
/// - a string: its UTF-8 length as an integer, then the bytes;
/// - an optional: one byte, 0 (absent) or 1 (present, the value follows);
/// - a blob reference: the 32 bytes of its SHA-256, then its size as an integer;
/// - a list: its length as an integer, then the elements.
///
/// The record types document their own field order next to their coding. Reading fails with
/// ``LedgerError/Code/corrupt`` on anything encoding did not write (a truncated row, an unknown
/// format byte, bytes after the last field, a string that is not UTF-8).
struct RowWriter {
    private(set) var bytes: [UInt8] = []

    init(format: UInt8, capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
        bytes.append(format)
    }

    mutating func byte(_ b: UInt8) { bytes.append(b) }
    mutating func bool(_ b: Bool) { bytes.append(b ? 1 : 0) }

    mutating func uint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Zig-zag, so that small negative numbers stay short.
    mutating func int(_ value: Int64) { uint(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { u in
            uint(UInt64(u.count))
            bytes.append(contentsOf: u)
        }
    }

    mutating func optional(_ s: String?) {
        guard let s else { return bytes.append(0) }
        bytes.append(1)
        string(s)
    }

    mutating func blob(_ r: BlobRef) {
        bytes.append(contentsOf: r.sha256.bytes)
        int(r.size)
    }

    mutating func optional(_ r: BlobRef?) {
        guard let r else { return bytes.append(0) }
        bytes.append(1)
        blob(r)
    }
}

/// Reads what ``RowWriter`` wrote; every read checks the bounds.
struct RowReader {
    private let bytes: [UInt8]
    private var at: Int
    private let what: String

    /// Starts after the format byte, which must be `format`.
    init(_ bytes: [UInt8], format: UInt8, what: String) throws(LedgerError) {
        guard bytes.first == format else { throw RecordCoding.corrupt(what) }
        self.bytes = bytes
        self.at = 1
        self.what = what
    }

    mutating func byte() throws(LedgerError) -> UInt8 {
        guard at < bytes.count else { throw RecordCoding.corrupt(what) }
        defer { at += 1 }
        return bytes[at]
    }

    mutating func bool() throws(LedgerError) -> Bool { try RowCoding.bool(try byte(), what) }

    mutating func uint() throws(LedgerError) -> UInt64 { try RowCoding.uint(what) { () throws(LedgerError) in try byte() } }

    mutating func int() throws(LedgerError) -> Int64 { RowCoding.zigzag(try uint()) }

    /// A length or count, bounded by what is left of the row.
    mutating func count() throws(LedgerError) -> Int {
        let n = try uint()
        guard n <= UInt64(bytes.count - at) else { throw RecordCoding.corrupt(what) }
        return Int(n)
    }

    mutating func string() throws(LedgerError) -> String {
        let n = try count()
        let end = at + n
        let s = bytes.withUnsafeBufferPointer { UTF8Text.exact(UnsafeBufferPointer(rebasing: $0[at..<end])) }
        guard let s else { throw RecordCoding.corrupt(what) }
        at = end
        return s
    }

    mutating func optionalString() throws(LedgerError) -> String? {
        try bool() ? try string() : nil
    }

    mutating func blob() throws(LedgerError) -> BlobRef {
        guard bytes.count - at >= 32 else { throw RecordCoding.corrupt(what) }
        guard let digest = Digest32(bytes: Array(bytes[at..<(at + 32)])) else { throw RecordCoding.corrupt(what) }
        at += 32
        let size = try int()
        guard size >= 0 else { throw RecordCoding.corrupt(what) }
        return BlobRef(sha256: digest, size: size)
    }

    mutating func optionalBlob() throws(LedgerError) -> BlobRef? {
        try bool() ? try blob() : nil
    }

    /// Checks that the whole row was read.
    func end() throws(LedgerError) {
        guard at == bytes.count else { throw RecordCoding.corrupt(what) }
    }
}

/// The primitives of the row format, shared by ``RowReader`` and ``MessageRowSummary``.
enum RowCoding {
    static func bool(_ b: UInt8, _ what: String) throws(LedgerError) -> Bool {
        switch b {
        case 0: false
        case 1: true
        default: throw RecordCoding.corrupt(what)
        }
    }

    /// An unsigned LEB128 number of at most 64 bits, its bytes from `next`.
    static func uint(_ what: String, _ next: () throws(LedgerError) -> UInt8) throws(LedgerError) -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            let b = try next()
            guard shift < 64, shift < 63 || b <= 1 else { throw RecordCoding.corrupt(what) }
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    /// A signed number from its zigzag form.
    static func zigzag(_ u: UInt64) -> Int64 { Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1))) }
}
