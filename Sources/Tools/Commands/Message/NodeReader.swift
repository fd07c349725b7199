import Foundation
import Ledger
import Node
import Projections

/// The CLI's access to a node directory: the ledger (for writing when the node is not running,
/// so that reads and refusals are recorded; read-only otherwise, where allowed), the persisted
/// projections, and ``MessageAccess`` for the OS user running the command.
struct NodeReader {
    let access: MessageAccess
    /// Whether this process holds the ledger for writing (false: the node runs and holds it).
    let writable: Bool
    /// The node's name (`kvitto.json`).
    let name: String

    /// Opens `node`. With `needsWriting`, a running node is an error (`node.running`) that says
    /// what to do instead; without, the ledger is opened read-only then, and a refusal of this
    /// command cannot be recorded (the refusal stands; the node's API records its own).
    static func open(node: String, needsWriting: Bool) throws -> NodeReader {
        let config = try NodeConfig.load(directory: node)
        let path = NodeConfig.resolve(config.ledger, in: node)
        let (ledger, writable) = try openLedger(path, needsWriting: needsWriting)
        let projections: ProjectionEngine
        do { projections = try NodeProjectionStore.open(node: node, ledger: ledger) } catch {
            ledger.close()
            throw NodeError(.storage, "the projection store of \(node) cannot be opened: \(error)")
        }
        let denials = AccessDenials { drafts in
            guard writable else { throw NodeError(.running, "read-only") }
            _ = try await ledger.append(drafts)
        }
        let vault = ContentVault(config: config, directory: node, blobs: ledger.blobs)
        return NodeReader(access: MessageAccess(ledger: ledger, projections: projections, denials: denials, vault: vault), writable: writable,
                          name: config.name)
    }

    /// The ledger for writing, or read-only when the node holds it and `needsWriting` is false.
    private static func openLedger(_ path: String, needsWriting: Bool) throws -> (Ledger, Bool) {
        let failure: LedgerError
        do {
            return (try Ledger.open(at: path), true)
        } catch {
            failure = error
        }
        guard failure.code == .locked else { throw failure }
        guard !needsWriting else {
            throw NodeError(.running, "the node is running and holds the ledger, so this read cannot be recorded here; read through the node's API, or stop the node")
        }
        var options = LedgerOptions()
        options.readOnly = true
        return (try Ledger.open(at: path, options: options), false)
    }

    var principal: Principal { OSUser.principal() }

    func close() { access.ledger.close() }
}
