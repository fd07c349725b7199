/// Random identifiers (hex) for boundaries, Content-IDs and wsu:Ids.
package enum RandomID {
    /// `bytes` bytes from the system's random generator as lower-case hex (twice as many characters).
    ///
    /// The generator is asked for eight bytes at a time (one `getrandom` each); asking it once
    /// per byte made the identifiers of one AS4 exchange cost about 3% of its CPU time.
    package static func hex(_ bytes: Int) -> String {
        let count = max(0, bytes)
        var rng = SystemRandomNumberGenerator()
        return String(unsafeUninitializedCapacity: count * 2) { out in
            var word: UInt64 = 0
            for n in 0..<count {
                if n % 8 == 0 { word = rng.next() }
                let byte = UInt8(truncatingIfNeeded: word >> (8 * UInt64(n % 8)))
                out[2 * n] = digit(byte >> 4)
                out[2 * n + 1] = digit(byte & 15)
            }
            return count * 2
        }
    }

    private static func digit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
