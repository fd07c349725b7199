import Foundation
import Node

/// Runs a writing command of the CLI where the ledger is: in this process when the node is stopped,
/// in the running node through its control socket otherwise (`Schemas/control-socket.md`). The
/// operation, the principal (the operating-system user running the command), the grants that decide
/// and the answer are the same either way.
enum NodeAdmin {
    static func perform(_ operation: AdminOperation, node: String) async throws -> AdminOperation.Outcome {
        let socket = ControlSocket.path(node: node)
        // A node that is starting holds the ledger a moment before its socket answers: asked
        // again for up to 15 s (polled every 200 ms) before giving up.
        for attempt in 0..<75 {
            if FileManager.default.fileExists(atPath: socket) {
                do {
                    return try await ControlSocketClient.administer(node: node, operation)
                } catch is ControlSocketClient.NotListening {
                    // A socket file left by a node that is not running, or not listening yet.
                }
            }
            let reader: NodeReader
            do { reader = try NodeReader.open(node: node, needsWriting: true) } catch let e as NodeError where e.code == .running {
                guard attempt < 74 else { break }
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            defer { reader.close() }
            return try await operation.perform(AdminTarget(access: reader.access, directory: node, participants: nil), as: reader.principal)
        }
        throw NodeError(.running, "the ledger of \(node) is held by another process that does not answer on the control socket \(socket) (a node that cannot make its socket, or another kvitto command); see the node's log, or try again")
    }
}
