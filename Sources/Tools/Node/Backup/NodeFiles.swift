import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The files of a node directory as a backup sees them.
///
/// - LMDB environments (`ledger`, `projections`, `webhooks`) are copied through LMDB, never as files;
///   the blob store (`ledger/blobs`) by the ledger's references; lock files and `run/` (sockets)
///   not at all.
/// - Private keys — the ledger's signing keys (`ledger/keys`), the development issuer's (`keys/`),
///   every file the configuration names as a key or secret (the console's client secret), and any
///   file that holds a PEM private key or is named like a key (`.key`, `.p12`, `.pfx`, `.pk8`,
///   `.ed25519`, `.secret`) — are copied only when asked, under `keys/` in the backup.
/// - Queued submissions (`submissions/`) are node state; everything else is configuration
///   (`kvitto.json`, certificates, trust folders, routes).
struct NodeFiles {
    /// Relative paths of the regular files to copy as files, by role.
    var state: [String] = []
    var config: [String] = []
    var keys: [String] = []
    /// Paths the configuration names outside the node directory (not copied).
    var external: [String] = []
    /// Files neither copied nor covered (symbolic links, sockets), for the operator's attention.
    var skipped: [String] = []

    /// `ledgerFolder`: the ledger's folder relative to the node directory (`ledger`).
    init(node directory: String, config: NodeConfig, ledgerFolder: String) throws(NodeError) {
        // The LMDB environments, by folder; folders copied otherwise (blobs) or not at all (run).
        let environments = [ledgerFolder, NodeProjectionStore.folder, WebhookStore.folder]
        let notFiles: Set<String> = [ledgerFolder + "/blobs", "run"]
        let keyFolders = [ledgerFolder + "/keys/", "keys/"]
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        var namedKeys: Set<String> = []
        var named: [String] = [config.as4.key, config.as4.certificate, config.trust.as4, config.trust.o2o, config.trust.tls]
        namedKeys.insert(config.as4.key)
        if let tls = config.as4.tls { named += [tls.key, tls.certificate]; namedKeys.insert(tls.key) }
        for p in config.participants { named += [p.o2oKey, p.o2oCertificate]; namedKeys.insert(p.o2oKey) }
        for p in config.retiredParticipants ?? [] { named += [p.o2oKey, p.o2oCertificate]; namedKeys.insert(p.o2oKey) }
        // Earlier identities still decrypting during an overlap.
        for old in (config.as4.previous ?? []) + config.participants.flatMap({ $0.o2oPrevious ?? [] }) {
            named += [old.key, old.certificate]; namedKeys.insert(old.key)
        }
        for r in config.routes { named += [r.as4Certificate, r.o2oCertificate] }
        if let schemas = config.schemas { named.append(schemas) }
        if let secret = config.api?.console?.clientSecretFile { named.append(secret); namedKeys.insert(secret) }
        if let c = config.contentEncryption {
            // Key-encryption keys: outside a backup unless keys are asked for, like every key.
            // Retired participants' too: their content stays readable to those granted it.
            for p in config.participants.map(\.id) + (config.retiredParticipants ?? []).map(\.id) {
                let kek = ContentVault.keyFile(participant: p, in: c.keyDirectory)
                named.append(kek); namedKeys.insert(kek)
            }
        }
        for path in named {
            let resolved = URL(fileURLWithPath: NodeConfig.resolve(path, in: directory)).standardizedFileURL.path
            if !(resolved == root || resolved.hasPrefix(root + "/")) { external.append(path) }
        }
        let keyPaths = Set(namedKeys.map { URL(fileURLWithPath: NodeConfig.resolve($0, in: directory)).standardizedFileURL.path })

        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: root) else {
            throw NodeError(.storage, "cannot list \(directory)")
        }
        while let relative = walker.nextObject() as? String {
            let full = root + "/" + relative
            var info = stat()
            guard lstat(full, &info) == 0 else { throw NodeError(.storage, "cannot read \(full): errno \(errno)") }
            let type = info.st_mode & S_IFMT
            if type == S_IFDIR {
                if notFiles.contains(relative) { walker.skipDescendants() }
                continue
            }
            let top = String(relative.split(separator: "/").first ?? "")
            if environments.contains(where: { relative.hasPrefix($0 + "/") }) && !keyFolders.contains(where: relative.hasPrefix) {
                continue  // data.mdb through LMDB; lock.mdb and writer.lock are per-process state
            }
            guard type == S_IFREG else {
                skipped.append(relative)
                continue
            }
            if keyFolders.contains(where: relative.hasPrefix) || keyPaths.contains(full) || Self.holdsPrivateKey(full) {
                keys.append(relative)
            } else if top == "submissions" {
                state.append(relative)
            } else {
                self.config.append(relative)
            }
        }
        state.sort(); self.config.sort(); keys.sort(); skipped.sort()
    }

    /// True for a PEM file with a private key block, a file named like a key, or a file that cannot
    /// be read (fail closed: it is treated as secret).
    static func holdsPrivateKey(_ path: String) -> Bool {
        let lower = path.lowercased()
        if [".p12", ".pfx", ".key", ".ed25519", ".pk8", ".secret", ".kek"].contains(where: lower.hasSuffix) { return true }
        guard let handle = FileHandle(forReadingAtPath: path) else { return true }
        defer { try? handle.close() }
        // Key files are small; a private key block in a large file is found in its first 1 MiB.
        guard let data = try? handle.read(upToCount: 1 << 20) else { return true }
        return data.range(of: Data("PRIVATE KEY-----".utf8)) != nil
    }
}
