import COpenSSL

/// Streaming AES-GCM (128 or 256) as XML-Enc 1.1 uses it: a 12-byte IV, then the ciphertext,
/// then the 16-byte tag. Decryption releases plaintext before the tag is checked, so callers must
/// treat the output as untrusted until ``finish(sink:)`` returns (Kvitto writes it to a spool file
/// and discards it on failure).
package final class AESGCMStream {
    package enum Mode { case encrypt, decrypt }

    private let context: OpaquePointer
    private let mode: Mode
    /// Decryption holds back the last 16 bytes seen: they may be the tag.
    private var pending: [UInt8] = []
    private var headerNeeded: Int
    private var ivBuffer: [UInt8] = []
    private let key: [UInt8]

    /// `iv` is required for encryption (12 random bytes) and read from the stream for decryption.
    package init(_ mode: Mode, key: [UInt8], iv: [UInt8]? = nil) throws(StreamError) {
        guard key.count == 16 || key.count == 32 else { throw .cipher("AES-GCM key must be 16 or 32 bytes") }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .cipher("out of memory") }
        self.context = ctx
        self.mode = mode
        self.key = key
        self.headerNeeded = mode == .decrypt ? 12 : 0
        if mode == .encrypt {
            guard let iv, iv.count == 12 else { throw .cipher("AES-GCM needs a 12-byte IV") }
            try initialize(iv: iv)
        }
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    private func initialize(iv: [UInt8]) throws(StreamError) {
        let cipher = key.count == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm()
        let ok = key.withUnsafeBufferPointer { k in
            iv.withUnsafeBufferPointer { v in
                mode == .encrypt
                    ? EVP_EncryptInit_ex(context, cipher, nil, k.baseAddress, v.baseAddress)
                    : EVP_DecryptInit_ex(context, cipher, nil, k.baseAddress, v.baseAddress)
            }
        }
        guard ok == 1 else { throw .cipher("AES-GCM init failed") }
    }

    /// Feeds `input` (for encryption: plaintext; for decryption: IV ‖ ciphertext ‖ tag, in any
    /// chunking). Output goes to `sink`.
    package func update(_ input: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var data = input
        if headerNeeded > 0 {
            let take = min(headerNeeded, data.count)
            ivBuffer.append(contentsOf: data[0..<take])
            headerNeeded -= take
            data = UnsafeRawBufferPointer(rebasing: data[take...])
            if headerNeeded == 0 { try initialize(iv: ivBuffer) }
            if data.isEmpty { return }
        }
        if mode == .encrypt {
            try process(data, sink: sink)
            return
        }
        // Keep the last 16 bytes back: they may be the tag.
        var combined = pending
        combined.append(contentsOf: data)
        guard combined.count > 16 else {
            pending = combined
            return
        }
        let cut = combined.count - 16
        try combined.withUnsafeBytes { try process(UnsafeRawBufferPointer(rebasing: $0[0..<cut]), sink: sink) }
        pending = Array(combined[cut...])
    }

    private func process(_ data: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !data.isEmpty else { return }
        var out = [UInt8](repeating: 0, count: data.count + 16)
        var produced: Int32 = 0
        let ok = out.withUnsafeMutableBufferPointer { o in
            mode == .encrypt
                ? EVP_EncryptUpdate(context, o.baseAddress, &produced, data.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(data.count))
                : EVP_DecryptUpdate(context, o.baseAddress, &produced, data.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(data.count))
        }
        guard ok == 1 else { throw StreamError.cipher("AES-GCM update failed") }
        try out.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<Int(produced)])) }
    }

    /// Encryption: emits the tag. Decryption: checks the tag; throws when it does not match.
    package func finish(sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var out = [UInt8](repeating: 0, count: 32)
        var produced: Int32 = 0
        switch mode {
        case .encrypt:
            guard out.withUnsafeMutableBufferPointer({ EVP_EncryptFinal_ex(context, $0.baseAddress, &produced) }) == 1 else {
                throw StreamError.cipher("AES-GCM final failed")
            }
            var tag = [UInt8](repeating: 0, count: 16)
            guard tag.withUnsafeMutableBytes({ EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, 16, $0.baseAddress) }) == 1 else {
                throw StreamError.cipher("AES-GCM tag failed")
            }
            try tag.withUnsafeBytes { try sink($0) }
        case .decrypt:
            guard headerNeeded == 0, pending.count == 16 else { throw StreamError.cipher("AES-GCM ciphertext is truncated") }
            var tag = pending
            guard tag.withUnsafeMutableBytes({ EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, 16, $0.baseAddress) }) == 1 else {
                throw StreamError.cipher("AES-GCM tag failed")
            }
            guard out.withUnsafeMutableBufferPointer({ EVP_DecryptFinal_ex(context, $0.baseAddress, &produced) }) == 1 else {
                throw StreamError.cipher("AES-GCM authentication failed: wrong key or altered ciphertext")
            }
        }
    }
}
