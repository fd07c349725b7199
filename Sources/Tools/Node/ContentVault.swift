package import Ledger
package import Projections
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Content encrypted at rest (`Schemas/content-at-rest.md`): which messages' content is sealed,
/// sealing it as it is stored, and opening it for an audited read. Each message gets its own
/// ``DataKey``, stored only wrapped by its participant's ``KeyEncryptionKey`` as a blob of its
/// own (erasing that blob shreds the content); the content and attachments are stored sealed
/// (``SealedBlobFormat``) and the events reference the ciphertext.
///
/// Key-encryption keys are read from their files when needed and kept while the file stays the
/// same; a missing or unsafe file refuses that participant's sealing and opening at once (fails
/// closed), and is tried again at the next use, so putting the file back needs no restart.
/// Metadata never needs a key.
package struct ContentVault: Sendable {
    let blobs: BlobStore
    let keys: KeyCache

    /// What `content_encryption` says now (`kvitto content-key create` may turn it on while the
    /// node runs) and the loaded key-encryption keys by participant, with the state of the file
    /// each was read from.
    final class KeyCache: Sendable {
        let configured: Mutex<(settings: NodeConfig.ContentEncryption?, keyDirectory: String?)>
        let loaded = Mutex<[String: (key: KeyEncryptionKey, file: FileState)]>([:])

        init(settings: NodeConfig.ContentEncryption?, keyDirectory: String?) { configured = Mutex((settings, keyDirectory)) }
    }

    /// Which content is encrypted at rest now (nil: none).
    package var settings: NodeConfig.ContentEncryption? { keys.configured.withLock { $0.settings } }
    var keyDirectory: String? { keys.configured.withLock { $0.keyDirectory } }

    /// Puts `config`'s `content_encryption` in force (after it was saved).
    package func reconfigure(_ config: NodeConfig, directory: String) {
        let folder = config.contentEncryption.map { NodeConfig.resolve($0.keyDirectory, in: directory) }
        keys.configured.withLock { $0 = (config.contentEncryption, folder) }
    }

    /// What identifies a key file's content and safety: a change of any of them (the file
    /// replaced, removed, rewritten, its mode or owner changed) reads it again, with every check.
    struct FileState: Equatable {
        var device: UInt64, inode: UInt64, size: Int64, modified: Int64, modifiedNanoseconds: Int64, mode: UInt32, owner: UInt32

        /// The state of `path` itself (a symbolic link is not followed); nil when it cannot be had.
        static func of(_ path: String) -> FileState? {
            var st = stat()
            guard lstat(path, &st) == 0 else { return nil }
            return FileState(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size), modified: Int64(st.st_mtim.tv_sec),
                             modifiedNanoseconds: Int64(st.st_mtim.tv_nsec), mode: UInt32(st.st_mode), owner: UInt32(st.st_uid))
        }
    }

    package init(config: NodeConfig, directory: String, blobs: BlobStore) {
        self.blobs = blobs
        keys = KeyCache(settings: config.contentEncryption, keyDirectory: config.contentEncryption.map { NodeConfig.resolve($0.keyDirectory, in: directory) })
    }

    /// Where the key-encryption key of `participant` is kept.
    package static func keyFile(participant: String, in directory: String) -> String {
        directory + "/" + NodeSetup.slugify(participant) + ".kek"
    }

    /// The key-encryption key of `participant`. The file is looked at before every use (one
    /// `lstat`): read again, with every check, whenever it changed, so a key removed or made
    /// readable by others stops working at once, and one put back works without a restart.
    package func keyEncryptionKey(_ participant: String) throws(NodeError) -> KeyEncryptionKey {
        guard let keyDirectory else {
            throw NodeError(.contentKeyUnavailable, "content encryption is not configured (content_encryption in kvitto.json), so no key-encryption key is available")
        }
        let path = Self.keyFile(participant: participant, in: keyDirectory)
        let before = FileState.of(path)
        if let before, let cached = keys.loaded.withLock({ $0[participant] }), cached.file == before { return cached.key }
        let k: KeyEncryptionKey
        do { k = try KeyEncryptionKey.load(path: path) } catch {
            keys.loaded.withLock { $0[participant] = nil }
            throw NodeError(.contentKeyUnavailable, "\(error.message); until then the content of \(participant)'s encrypted messages cannot be stored or read (their metadata can)")
        }
        // Kept only when the file did not change while it was read (otherwise read again next time).
        if let before, FileState.of(path) == before { keys.loaded.withLock { $0[participant] = (k, before) } }
        return k
    }

    /// A sealer for the content of `message` of `participant`, or nil when its content is stored
    /// as it is (no content encryption, or the scope does not cover it).
    package func sealer(participant: String, message: String, confidential: Bool) throws(NodeError) -> ContentSealer? {
        guard let settings, settings.covers(confidential: confidential) else { return nil }
        let kek = try keyEncryptionKey(participant)
        let dataKey = DataKey.random()
        do {
            let wrapped = try WrappedDataKey.wrap(dataKey, with: kek, participant: participant, message: message)
            // A file, not a row of the ledger's table: crypto-shredding removes it, and a deleted row
            // would leave its bytes in freed pages of the ledger's file.
            return ContentSealer(blobs: blobs, dataKey: dataKey, key: ContentKeyRef(blob: try blobs.putAsFile(wrapped), kek: kek.id, check: dataKey.check))
        } catch {
            throw NodeError(.storage, "storing the content key of \(message): \(error)")
        }
    }

    /// The data key of a message whose content is sealed; nil for content stored as it is.
    /// Throws `node.erased` when the key was erased (crypto-shredded), and
    /// `content.key_unavailable` when the participant's key-encryption key is not available.
    package func dataKey(of record: MessageRecord, erasure: (Digest32) throws -> UInt64?) throws(NodeError) -> DataKey? {
        guard let ref = record.contentKey else { return nil }
        let erasedBy: UInt64?
        do { erasedBy = try erasure(ref.blob.sha256) } catch { throw NodeError(.storage, "reading erasures: \(error)") }
        if let seq = erasedBy {
            throw NodeError(.erased, "the content's key was erased (event \(seq)): the content is encrypted and can no longer be read by anyone")
        }
        let kek = try keyEncryptionKey(record.participant)
        do {
            return try WrappedDataKey.unwrap(try blobs.read(ref.blob.sha256), with: kek, participant: record.participant, message: record.id)
        } catch {
            if error.code == .contentKeyUnavailable { throw NodeError(.contentKeyUnavailable, error.message) }
            if error.code == .blobNotFound {
                throw NodeError(.erased, "the content's key is not in the blob store (\(error.message)): the content cannot be decrypted")
            }
            throw NodeError(.storage, "opening the content key of \(record.id): \(error)")
        }
    }

    /// Opens `blob` (the message's content or one of its attachments) for reading its plaintext.
    package func open(_ blob: BlobRef, of record: MessageRecord, erasure: (Digest32) throws -> UInt64?) throws(NodeError) -> any ContentChunks {
        let key = try dataKey(of: record, erasure: erasure)
        do {
            if let key { return try blobs.openSealed(blob, dataKey: key) }
            return try blobs.open(blob.sha256)
        } catch { throw NodeError(.storage, "reading the content of \(record.id): \(error)") }
    }

    /// The whole plaintext of `blob` (small content: the SDK message for sealing again).
    package func read(_ blob: BlobRef, of record: MessageRecord, erasure: (Digest32) throws -> UInt64?) throws(NodeError) -> [UInt8] {
        let reader = try open(blob, of: record, erasure: erasure)
        var out: [UInt8] = []
        do { while let chunk = try reader.next() { out += chunk } } catch {
            throw NodeError(.storage, "reading the content of \(record.id): \(error)")
        }
        return out
    }
}

/// Stores one message's content sealed under its data key.
package struct ContentSealer {
    let blobs: BlobStore
    let dataKey: DataKey
    /// The wrapped data key's blob and the key-encryption key that wrapped it.
    package let key: ContentKeyRef

    /// Stores `bytes` sealed; returns the ciphertext's reference.
    package func put(_ bytes: [UInt8]) throws(NodeError) -> BlobRef {
        do { return try blobs.putSealed(bytes, dataKey: dataKey) } catch { throw NodeError(.storage, "\(error)") }
    }
}
