/// Writes bytes into a buffer whose exact size was computed beforehand: the append path builds
/// each event's canonical bytes with one allocation and a handful of copies. Every write checks
/// the remaining room; running past the end is a sizing bug in the caller and stops the process
/// rather than corrupting memory.
struct ByteWriter: ~Copyable {
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        self.buffer = buffer
    }

    mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        precondition(bytes.count <= buffer.count - count, "ByteWriter: buffer sized too small")
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        (buffer.baseAddress! + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    mutating func write(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) {
        write(UnsafeBufferPointer(rebasing: bytes))
    }

    mutating func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { write($0) }
    }

    mutating func write(_ text: StaticString) {
        text.withUTF8Buffer { write($0) }
    }

    mutating func write(_ byte: UInt8, repeating n: Int) {
        precondition(n >= 0 && n <= buffer.count - count, "ByteWriter: buffer sized too small")
        (buffer.baseAddress! + count).update(repeating: byte, count: n)
        count += n
    }

    /// `value` in decimal, no sign, no leading zeros.
    mutating func writeDecimal(_ value: UInt64) {
        let n = Self.decimalDigits(value)
        precondition(n <= buffer.count - count, "ByteWriter: buffer sized too small")
        var v = value
        var i = count + n - 1
        repeat {
            buffer[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            i -= 1
        } while v > 0
        count += n
    }

    /// The number of decimal digits of `value` (1 for 0).
    static func decimalDigits(_ value: UInt64) -> Int {
        var n = 1
        var v = value
        while v >= 10 {
            v /= 10
            n += 1
        }
        return n
    }
}
