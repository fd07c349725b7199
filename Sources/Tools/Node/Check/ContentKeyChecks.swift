import Ledger

/// Content encryption at rest (`Schemas/content-at-rest.md`): off (a warning: confidential content
/// is then stored as it is), or each participant's key-encryption key present and safe. A key the
/// node cannot use is a warning, not an error: the node starts and serves metadata, and refuses
/// that participant's encrypted content until the key is back.
enum ContentKeyChecks {
    static func run(_ c: CheckContext) -> [ConfigFinding] {
        guard let encryption = c.config.contentEncryption else {
            return [ConfigFinding(.warning, .contentNotEncrypted, "content_encryption",
                "content is stored unencrypted, confidential messages included; add content_encryption (see Schemas/content-at-rest.md)")]
        }
        let folder = c.path(encryption.keyDirectory)
        var out: [ConfigFinding] = []
        for p in c.config.participants {
            do { _ = try KeyEncryptionKey.load(path: ContentVault.keyFile(participant: p.id, in: folder)) } catch {
                out.append(ConfigFinding(.warning, .contentKeyUnusable, "content_encryption.key_directory",
                    "\(error.message); until then \(p.id)'s encrypted content cannot be read and its new confidential content is refused"))
            }
        }
        return out
    }
}
