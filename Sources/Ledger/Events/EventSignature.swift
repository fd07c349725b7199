/// An Ed25519 signature (64 bytes) stored inline, so that an event carries its signature without
/// a heap allocation of its own.
struct EventSignature: Sendable, Hashable {
    private var w: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    static let byteCount = 64

    /// 64 zero bytes: an event built but not yet signed (the writer's chain pass builds events so,
    /// its sign pass fills each in; the committer refuses any still unset).
    static let unset = EventSignature()

    private init() {}

    /// The signature in `bytes`; nil unless it has exactly 64 bytes.
    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.byteCount else { return nil }
        withUnsafeMutableBytes(of: &w) { $0.copyMemory(from: bytes) }
    }

    init?(_ bytes: [UInt8]) {
        guard let s = bytes.withUnsafeBytes({ Self($0) }) else { return nil }
        self = s
    }

    /// Calls `body` with the 64 bytes, without copying them to the heap.
    func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try withUnsafeBytes(of: w, body)
    }

    var bytes: [UInt8] { withBytes { Array($0) } }

    static func == (a: EventSignature, b: EventSignature) -> Bool {
        a.withBytes { x in b.withBytes { y in x.elementsEqual(y) } }
    }

    func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: $0) }
    }
}
