import Foundation
import Ledger
import Synchronization

/// A change of `kvitto.json` by an administration command (participants, routes): one at a time
/// per node, since each reads, checks and writes the whole file; saved before its events are
/// appended (so the ledger never names a change that was not in force), and put back when the
/// append fails. Only the process that holds the ledger for writing changes the file (the running
/// node, or the CLI while the node is stopped), so a process-wide lock suffices.
enum ConfigurationChange {
    private static let changing = Mutex<Set<String>>([])

    /// Runs `change` while no other configuration change of the node in `directory` runs; a
    /// concurrent one is refused (`node.conflict`: ask again).
    /// `checkOwner` (a CLI with the node stopped): refused unless this process runs as the node
    /// directory's owner.
    static func exclusively<T>(_ directory: String, checkOwner: Bool, _ change: () async throws(NodeError) -> T) async throws(NodeError) -> T {
        // Files a command writes as another user (root, say) would not be the node's to read or replace.
        var st = stat()
        guard stat(directory, &st) == 0 else { throw NodeError(.storage, "\(directory) cannot be read: \(String(cString: strerror(errno)))") }
        guard !checkOwner || st.st_uid == geteuid() else {
            throw NodeError(.forbidden, "\(directory) belongs to uid \(st.st_uid), not to you (uid \(geteuid())): change the node as its user (e.g. sudo -u \(OSUser.name(uid: st.st_uid).value) kvitto …), or while the node runs")
        }
        let key = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard changing.withLock({ $0.insert(key).inserted }) else {
            throw NodeError(.conflict, "another change of this node's configuration is in progress; ask again")
        }
        defer { _ = changing.withLock { $0.remove(key) } }
        return try await change()
    }

    /// Saves `config`, then appends `drafts`. When the append fails, `previous` is saved again
    /// and `undo` removes the files the change wrote — unless `previous` cannot be saved: then
    /// the files stay (the saved configuration names them, and the next start records it).
    static func commit(_ config: NodeConfig, previous: NodeConfig, directory: String, drafts: [EventDraft], to ledger: Ledger,
                       undo: () -> Void) async throws(NodeError) -> [Event]
    {
        do { try config.save(directory: directory) } catch {
            undo()
            throw error
        }
        do { return try await ledger.append(drafts) } catch {
            do { try previous.save(directory: directory) } catch {
                throw NodeError(.storage, "recording the change failed and \(NodeConfig.fileName) could not be put back (\(error)); the change is in force and the node records it at its next start")
            }
            undo()
            throw NodeError(.storage, "recording the change: \(error); nothing was changed")
        }
    }
}
