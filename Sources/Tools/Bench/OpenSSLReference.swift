import COpenSSL
import Crypto
import Ledger

/// OpenSSL's libcrypto doing what a benchmark's limit measures, next to swift-crypto's BoringSSL:
/// every limit is the faster of the two in the same run (``FastestRate``; OpenSSL's SHA-256 is
/// `Digest32.sha256`, the ledger's own). Kvitto itself uses
/// whichever is faster for its own work; these exist so that the limit never flatters it.
enum OpenSSLReference {
    /// An Ed25519 key held by OpenSSL.
    final class Ed25519: @unchecked Sendable {
        // @unchecked: the EVP_PKEY is made in init, never modified, freed in deinit; every call uses
        // its own EVP_MD_CTX (openssl-threads(7): concurrent use of one key through separate
        // contexts).
        private let key: OpaquePointer

        /// From a 32-byte seed (private) or raw public key.
        init?(raw: [UInt8], isPrivate: Bool) {
            guard raw.count == 32, let key = raw.withUnsafeBufferPointer({ kvitto_ed25519_key($0.baseAddress, isPrivate ? 1 : 0) }) else {
                return nil
            }
            self.key = key
        }

        deinit { EVP_PKEY_free(key) }

        func sign(_ message: [UInt8]) -> [UInt8]? {
            var signature = [UInt8](repeating: 0, count: 64)
            let ok = message.withUnsafeBufferPointer { m in
                signature.withUnsafeMutableBufferPointer { kvitto_ed25519_sign(key, m.baseAddress, m.count, $0.baseAddress) }
            }
            return ok == 1 ? signature : nil
        }

        func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
            guard signature.count == 64 else { return false }
            return signature.withUnsafeBufferPointer { s in
                message.withUnsafeBufferPointer { kvitto_ed25519_verify(key, s.baseAddress, $0.baseAddress, $0.count) }
            } == 1
        }
    }

    /// AES-256-CBC without padding (`bytes.count` a multiple of 16) through OpenSSL's EVP, into
    /// `out` (at least `bytes.count + 16` bytes, reused between calls).
    static func aes256CBC(_ bytes: [UInt8], key: [UInt8], iv: [UInt8], into out: inout [UInt8]) -> Bool {
        guard key.count == 32, iv.count == 16, bytes.count % 16 == 0, bytes.count <= Int(Int32.max) - 16,
              out.count >= bytes.count + 16 else { return false }
        return bytes.withUnsafeBufferPointer { b in
            key.withUnsafeBufferPointer { k in
                iv.withUnsafeBufferPointer { i in
                    out.withUnsafeMutableBufferPointer { kvitto_aes256cbc_encrypt(k.baseAddress, i.baseAddress, b.baseAddress, Int32(b.count), $0.baseAddress) }
                }
            }
        } == 1
    }
}

/// A rate measured with each library that can do the work; the limit is the faster one.
struct FastestRate {
    /// Per library, in the order measured.
    var rates: [(library: String, perSecond: Double)]

    var perSecond: Double { rates.map(\.perSecond).max() ?? 0 }
    var library: String { rates.max { $0.perSecond < $1.perSecond }?.library ?? "" }

    /// Benchmark extras under `prefix`: the rate of each library and which was faster.
    func extra(_ prefix: String, scale: Double = 1) -> [String: JSONValue] {
        var out: [String: JSONValue] = [prefix + "_library": .string(library)]
        for r in rates { out[prefix + "_" + r.library.lowercased() + "_per_s"] = .int(Int64(r.perSecond / scale)) }
        return out
    }
}
