import Foundation
import Node

/// Runs a writing command of the CLI where the ledger is: in this process when the node is stopped,
/// in the running node through its control socket otherwise (`Schemas/control-socket.md`). The
/// operation, the principal (the operating-system user running the command), the grants that decide
/// and the answer are the same either way.
enum NodeAdmin {
    static func perform(_ operation: AdminOperation, node: String) async throws -> AdminOperation.Outcome {
        let socket = ControlSocket.path(node: node)
        if FileManager.default.fileExists(atPath: socket) {
            do {
                return try await ControlSocketClient.administer(node: node, operation)
            } catch is ControlSocketClient.NotListening {
                // A socket file left by a node that is not running: the ledger is free.
            }
        }
        let reader: NodeReader
        do { reader = try NodeReader.open(node: node, needsWriting: true) } catch let e as NodeError where e.code == .running {
            throw NodeError(.running, "the ledger of \(node) is held by another process that does not answer on the control socket \(socket) (a node still starting, or another kvitto command); try again in a moment, or see the node's log")
        }
        defer { reader.close() }
        return try await operation.perform(reader.access, as: reader.principal)
    }
}
