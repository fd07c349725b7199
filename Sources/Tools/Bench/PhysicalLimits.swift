import Crypto
import Dispatch
import Foundation
import Ledger

/// Measurements of what the machine itself can do, taken in the same run as a benchmark so that
/// every figure can be reported as a ratio to its physical limit.
enum PhysicalLimits {
    /// Ed25519 signatures per second over 32-byte messages, on `threads` threads, with BoringSSL
    /// and with OpenSSL.
    static func ed25519SignsPerSecond(threads: Int = Parallel.cores, seconds: Double = 1.5) -> FastestRate {
        let key = Curve25519.Signing.PrivateKey()
        let message = [UInt8](repeating: 7, count: 32)
        let boring = parallelRate(threads: threads, seconds: seconds) { _ = try? key.signature(for: message) }
        guard let openssl = OpenSSLReference.Ed25519(raw: Array(key.rawRepresentation), isPrivate: true),
              openssl.sign(message).map({ key.publicKey.isValidSignature($0, for: message) }) == true
        else { return FastestRate(rates: [("boringssl", boring)]) }
        return FastestRate(rates: [("boringssl", boring),
                                   ("openssl", parallelRate(threads: threads, seconds: seconds) { _ = openssl.sign(message) })])
    }

    /// Ed25519 verifications per second, on `threads` threads, with BoringSSL and with OpenSSL.
    static func ed25519VerifiesPerSecond(threads: Int = Parallel.cores, seconds: Double = 1.5) -> FastestRate {
        let key = Curve25519.Signing.PrivateKey()
        let message = [UInt8](repeating: 7, count: 32)
        let signature = (try? key.signature(for: message)) ?? Data()
        let pub = key.publicKey
        let boring = parallelRate(threads: threads, seconds: seconds) { _ = pub.isValidSignature(signature, for: message) }
        guard let openssl = OpenSSLReference.Ed25519(raw: Array(pub.rawRepresentation), isPrivate: false),
              openssl.isValidSignature(Array(signature), for: message)
        else { return FastestRate(rates: [("boringssl", boring)]) }
        let bytes = Array(signature)
        return FastestRate(rates: [("boringssl", boring),
                                   ("openssl", parallelRate(threads: threads, seconds: seconds) { _ = openssl.isValidSignature(bytes, for: message) })])
    }

    /// SHA-256 throughput in bytes per second on one core, over `blockSize`-byte inputs, with
    /// BoringSSL and with OpenSSL.
    static func sha256BytesPerSecond(blockSize: Int = 600, seconds: Double = 1.0) -> FastestRate {
        let block = [UInt8](repeating: 1, count: blockSize)
        let boring = parallelRate(threads: 1, seconds: seconds) { _ = SHA256.hash(data: block) } * Double(blockSize)
        let openssl = parallelRate(threads: 1, seconds: seconds) { _ = Digest32.sha256(block) } * Double(blockSize)
        return FastestRate(rates: [("boringssl", boring), ("openssl", openssl)])
    }

    /// The number available cores.
    static var cores: Int { Parallel.cores }

    static func parallelRate(threads: Int, seconds: Double, _ op: @escaping @Sendable () -> Void) -> Double {
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: threads)
        counts.initialize(repeating: 0)
        defer { counts.deallocate() }
        // Each thread writes only its own slot; concurrentPerform returns after all of them.
        nonisolated(unsafe) let slots = counts
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = start + UInt64(seconds * 1e9)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var n = 0
            while true {
                for _ in 0..<64 { op() }
                n += 64
                if DispatchTime.now().uptimeNanoseconds >= deadline { break }
            }
            slots[t] = n
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Double(counts.reduce(0, +)) / elapsed
    }

    /// Raw LMDB: `MDB_APPEND` puts of `valueSize`-byte values, `perTransaction` per durable
    /// (fully synced) transaction, in a fresh environment in `directory`. Returns puts per second
    /// and the commit latencies in seconds.
    static func lmdbAppend(directory: String, perTransaction: Int, valueSize: Int, seconds: Double)
        throws -> (putsPerSecond: Double, commitLatencies: [Double])
    {
        let store = try KeyValueStore(path: directory, tables: ["raw"], initialMapSize: 1 << 32, mapSizeLimit: 1 << 32)
        let value = [UInt8](repeating: 0x5A, count: valueSize)
        var key: UInt64 = 0
        var latencies: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = start + UInt64(seconds * 1e9)
        var puts = 0
        while DispatchTime.now().uptimeNanoseconds < deadline {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try store.write { w in
                for _ in 0..<perTransaction {
                    key += 1
                    try w.append("raw", withUnsafeBytes(of: key.bigEndian) { Array($0) }, value)
                }
            }
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            puts += perTransaction
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (Double(puts) / elapsed, latencies)
    }
}

extension PhysicalLimits {
    /// Raw Ed25519 verifications per second over the stored signatures of `ledger` itself, on all
    /// cores, with nothing else done per event: the physical limit of verifying that ledger. Every
    /// signature is checked against the genesis key (a benchmark ledger has no rotation); returns
    /// the rate and how many signatures verified.
    static func ed25519VerifiesOfLedger(_ ledger: Ledger) throws -> (perSecond: Double, valid: Int, rate: FastestRate) {
        guard let genesis = try ledger.event(1), let text = genesis.payload["public_key"]?.stringValue,
            let key = LedgerPublicKey(base64: text)
        else { return (0, 0, FastestRate(rates: [])) }
        // Each library in turn over every stored signature; the faster one is the limit.
        func run(_ verify: @escaping (Digest32, [UInt8]) -> Bool) throws -> (Double, Int) {
            let start = DispatchTime.now().uptimeNanoseconds
            var next: UInt64 = 1
            var total = 0
            var valid = 0
            while true {
                let chunk = try ledger.storedSignatures(from: next, limit: 8192)
                if chunk.isEmpty { break }
                var ok = [Bool](repeating: false, count: chunk.count)
                Parallel.map(into: &ok, block: 16) { i in
                    guard let (hash, signature) = chunk[i] else { return false }
                    return verify(hash, signature)
                }
                valid += ok.filter { $0 }.count
                total += chunk.count
                next += UInt64(chunk.count)
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return (Double(total) / elapsed, valid)
        }
        let (boring, valid) = try run { key.isValidSignature($1, for: $0) }
        var rates: [(library: String, perSecond: Double)] = [("boringssl", boring)]
        if let openssl = OpenSSLReference.Ed25519(raw: key.raw, isPrivate: false) {
            let (rate, opensslValid) = try run { hash, signature in
                openssl.isValidSignature(signature, for: hash.bytes)
            }
            // A library that does not accept the same signatures is not measuring the same work.
            if opensslValid == valid { rates.append(("openssl", rate)) }
        }
        let fastest = FastestRate(rates: rates)
        return (fastest.perSecond, valid, fastest)
    }
}

extension PhysicalLimits {
    /// The raw read rate of `ledger`'s stored events: an LMDB cursor walks the events table in one
    /// read transaction and copies each record out of the map into one reused buffer — nothing
    /// decoded, hashed or allocated per record. Returns records and bytes per second over all
    /// `ledger`'s events (the fastest way to read them; what a rebuild is compared with), and a
    /// checksum of the last byte of each record (reported, so the copies cannot be optimised away).
    static func lmdbCursorRead(_ ledger: Ledger) throws -> (recordsPerSecond: Double, bytesPerSecond: Double, records: Int, checksum: UInt64) {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var records = 0, bytes = 0
        var checksum: UInt64 = 0
        let start = DispatchTime.now().uptimeNanoseconds
        try ledger.scanStoredRecords { value in
            if value.count > buffer.count { buffer = [UInt8](repeating: 0, count: value.count) }
            let n = value.count
            buffer.withUnsafeMutableBytes { $0.copyMemory(from: value) }
            if n > 0 { checksum &+= UInt64(buffer[n - 1]) }
            records += 1
            bytes += value.count
            return true
        }
        let elapsed = max(1e-9, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        return (Double(records) / elapsed, Double(bytes) / elapsed, records, checksum)
    }
}
