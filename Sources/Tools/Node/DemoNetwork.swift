package import Foundation
import NIOCore
import NIOPosix

/// Two nodes for two organisations on 127.0.0.1, each routed to the other — what `kvitto demo`,
/// `kvitto bench node` and the end-to-end tests run. Node A serves Kommun A
/// (`0203:a.example.se`, function `socialtjansten`), node B Region B (`0203:b.example.se`,
/// function `registrator`); both certificates come from one throwaway CA (A's).
package enum DemoNetwork {
    package static let a = (participant: "0203:a.example.se", name: "Kommun A", function: "socialtjansten", functionName: "Socialtjänsten")
    package static let b = (participant: "0203:b.example.se", name: "Region B", function: "registrator", functionName: "Registraturen")

    package struct Settings: Sendable {
        package var tls = true
        package var receptionAwareness = NodeConfig.ReceptionAwareness.sdk
        /// Enable the development issuer on both nodes (`kvitto token`): the demo's API tokens.
        package var developmentIssuer = false
        package init() {}
    }

    /// Creates `<base>/node-a` and `<base>/node-b` on free ports; returns their directories.
    package static func create(in base: String, settings: Settings = Settings()) async throws -> (a: String, b: String) {
        let dirA = base + "/node-a", dirB = base + "/node-b"
        let ports = try await freePorts(settings.developmentIssuer ? 4 : 2)
        var optionsA = NodeSetup.Options(name: "node-a", participants: [.init(id: a.participant, name: a.name, functions: [(a.function, a.functionName)])])
        optionsA.port = ports[0]
        optionsA.apiPort = settings.developmentIssuer ? ports[2] : 0
        optionsA.developmentIssuer = settings.developmentIssuer
        optionsA.tls = settings.tls
        optionsA.receptionAwareness = settings.receptionAwareness
        _ = try await NodeSetup.initialize(directory: dirA, options: optionsA)
        var optionsB = NodeSetup.Options(name: "node-b", participants: [.init(id: b.participant, name: b.name, functions: [(b.function, b.functionName)])])
        optionsB.port = ports[1]
        optionsB.apiPort = settings.developmentIssuer ? ports[3] : 0
        optionsB.developmentIssuer = settings.developmentIssuer
        optionsB.tls = settings.tls
        optionsB.ca = dirA
        optionsB.receptionAwareness = settings.receptionAwareness
        _ = try await NodeSetup.initialize(directory: dirB, options: optionsB)
        try await NodeSetup.addPeer(directory: dirA, peer: dirB)
        try await NodeSetup.addPeer(directory: dirB, peer: dirA)
        return (dirA, dirB)
    }

    /// `count` distinct TCP ports free on 127.0.0.1 right now, chosen below the kernel's ephemeral
    /// range (`/proc/sys/net/ipv4/ip_local_port_range`). A port in that range can be taken at any
    /// moment as the local end of some outgoing connection — including a peer's retry that connects
    /// to the stopped node's own port and, by TCP simultaneous open, to itself — and then a node
    /// restarted on its configured port fails with "address already in use". Below the range only
    /// an explicit bind takes a port.
    package static func freePorts(_ count: Int) async throws -> [Int] {
        let ephemeral = ephemeralRange()
        // Below the range when there is room there, otherwise above it.
        let candidates: ClosedRange<Int>
        if ephemeral.lowerBound > 10_100 {
            candidates = 10_000...(ephemeral.lowerBound - 1)
        } else if ephemeral.upperBound < 65_000 {
            candidates = (ephemeral.upperBound + 1)...65_535
        } else {
            throw DemoNetworkError.noFreePort(outside: ephemeral)
        }
        var channels: [any Channel] = []
        defer { for c in channels { c.close(promise: nil) } }
        var ports: [Int] = []
        var rng = SystemRandomNumberGenerator()
        var tries = 0
        while ports.count < count {
            tries += 1
            guard tries <= 2_000 else { throw DemoNetworkError.noFreePort(outside: ephemeral) }
            let port = Int.random(in: candidates, using: &rng)
            guard !ports.contains(port) else { continue }
            guard let channel = try? await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: port).get() else { continue }
            channels.append(channel)
            ports.append(port)
        }
        for c in channels { try? await c.close() }
        channels = []
        return ports
    }

    /// The kernel's ephemeral port range; 32768–60999 (Linux's default) when unreadable.
    static func ephemeralRange() -> ClosedRange<Int> {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8) else { return 32_768...60_999 }
        let numbers = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard numbers.count == 2, 1...65_535 ~= numbers[0], numbers[0] <= numbers[1], numbers[1] <= 65_535 else { return 32_768...60_999 }
        return numbers[0]...numbers[1]
    }
}

/// Why `DemoNetwork` could not set up.
package enum DemoNetworkError: Error, CustomStringConvertible {
    case noFreePort(outside: ClosedRange<Int>)

    package var description: String {
        switch self {
        case .noFreePort(let ephemeral):
            "no free TCP port on 127.0.0.1 outside the kernel's ephemeral range \(ephemeral.lowerBound)–\(ephemeral.upperBound) after 2,000 tries; free some ports or narrow net.ipv4.ip_local_port_range"
        }
    }
}

extension DemoNetwork {
    /// Runs `nodes` (endpoint + workers) while `body` runs, then stops them. `body` gets the bound
    /// ports in the same order. Fails when a node does not listen within 30 s.
    package static func running<T: Sendable>(_ nodes: [Node], _ body: @Sendable @escaping ([Int]) async throws -> T) async throws -> T {
        let (stream, continuation) = AsyncStream.makeStream(of: (Int, Int).self)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            for (i, node) in nodes.enumerated() {
                group.addTask {
                    try await node.run { port in continuation.yield((i, port)) }
                    return nil
                }
            }
            group.addTask {
                var ports = [Int](repeating: 0, count: nodes.count)
                var seen = 0
                let timeout = Task {
                    try await Task.sleep(for: .seconds(30))
                    continuation.finish()
                }
                for await (i, port) in stream {
                    ports[i] = port
                    seen += 1
                    if seen == nodes.count { break }
                }
                timeout.cancel()
                guard seen == nodes.count else { throw NodeError(.storage, "a node did not start listening within 30 s") }
                return try await body(ports)
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let result = next { return result }
            }
            throw NodeError(.storage, "the nodes stopped before the work was done")
        }
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` seconds pass; returns whether it held.
    package static func wait(timeout: TimeInterval, _ condition: () throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return try condition()
    }
}
