import ArgumentParser
import Dispatch
import Foundation
import Logging
import API
import Node

#if canImport(Glibc)
import Glibc
#endif

/// `kvitto serve`: the AS4 endpoint and the workers, until SIGINT or SIGTERM. SIGHUP reloads the
/// trust folders (anchors, intermediates, CRLs); a folder that does not load keeps its previous trust.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the node: the AS4 endpoint (HTTPS, mutual TLS as configured), dispatch with retries, Meddelandekvittens.")

    @OptionGroup var location: NodeLocation
    @Option(help: "trace, debug, info, notice, warning, error or critical.") var logLevel = "info"
    @Option(help: "Write the bound port to this file once listening (for scripts and tests).") var portFile: String?
    @Option(help: "Write the HTTP API's bound port to this file once listening.") var apiPortFile: String?

    func run() async throws {
        MemoryTuning.apply()
        try NodeCLI.bootstrapLogging(level: logLevel)
        try await NodeCLI.run {
            // SIGINT and SIGTERM are caught before anything starts: one that arrives while the node
            // opens or catches up stops it cleanly as soon as it runs (never the default action,
            // which would end the process in the middle of a step).
            let stop = StopRequest()
            signal(SIGINT, SIG_IGN)
            signal(SIGTERM, SIG_IGN)
            signal(SIGHUP, SIG_IGN)  // handled once the node runs (a reload before that has nothing to reload)
            let sources = [SIGINT, SIGTERM].map { sig in
                let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                s.setEventHandler { stop.request(signal: sig) }
                s.resume()
                return s
            }
            defer { sources.forEach { $0.cancel() } }
            // The checks of `kvitto check`: an error refuses to start, a warning is logged.
            _ = try NodeConfig.load(directory: location.node)  // a missing or unreadable config: its own error
            let findings = await NodeCheck(node: location.node).run()
            let errors = findings.filter { $0.severity == .error }
            let checkLog = Logger(label: "kvitto.check")
            for f in findings {
                let metadata: Logger.Metadata = ["code": .string(f.code.rawValue), "member": .string(f.member)]
                if f.severity == .error { checkLog.error("\(f.message)", metadata: metadata) } else { checkLog.warning("\(f.message)", metadata: metadata) }
            }
            if let first = errors.first {
                throw NodeError(.configInvalid, "\(errors.count) configuration errors (`kvitto check --node \(location.node)` lists them), the first: \(first.member): \(first.message)")
            }
            let node = try Node.open(directory: location.node)
            stop.logger = node.logger
            let portFile = self.portFile, apiPortFile = self.apiPortFile
            let api: APIServer?
            do { api = try APIServer.configured(for: node, logger: node.logger) } catch {
                await node.close()
                throw error
            }
            let task = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try await node.run { port in Self.writePort(port, to: portFile) }
                    }
                    // `kvitto read` while the node holds the ledger.
                    group.addTask {
                        var socket = ControlSocket(access: node.access, node: node.directory, logger: node.logger)
                        socket.participants = node.keys.participants
                        socket.routes = node.router as? StaticRoutingTable
                        socket.reloadTrust = {
                            node.reloadTrust(reason: "route added").values.compactMap {
                                if case .failed(let error, _) = $0 { return error.description }
                                return nil
                            }
                        }
                        socket.submitter = { message, principal, request async throws(NodeError) in
                            try await node.submit(message, as: principal, request: request)
                        }
                        await socket.runUntilCancelled()
                        try Task.checkCancellation()
                    }
                    if let api {
                        group.addTask {
                            try await api.run { port in
                                node.logger.info("HTTP API listening", metadata: ["port": .stringConvertible(port), "tls": .stringConvertible(api.tls != nil)])
                                Self.writePort(port, to: apiPortFile)
                            }
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
            stop.attach(task)
            signal(SIGHUP, SIG_IGN)
            let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
            hangup.setEventHandler { node.reloadTrust(force: true, reason: "SIGHUP") }
            hangup.resume()
            defer { hangup.cancel() }
            let result = await task.result
            await api?.verifier.shutdown()
            await node.close()
            node.logger.notice("stopped; the ledger is closed")
            if case .failure(let error) = result, !(error is CancellationError) {
                throw CLI.fail("the node stopped: \(error)")
            }
        }
    }

    private static func writePort(_ port: Int, to file: String?) {
        guard let file else { return }
        try? "\(port)\n".write(toFile: file + ".tmp", atomically: false, encoding: .utf8)
        _ = rename(file + ".tmp", file)
    }
}
