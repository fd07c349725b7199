package import X509
import Synchronization
import Transport

/// Where a participant's messages go: its access point's endpoint and the certificates to encrypt
/// to (AS4 for the transport, O2O for the XHE payload).
package struct Route: Sendable, Equatable {
    package var participant: String
    package var endpoint: String
    package var as4Certificate: Certificate
    package var o2oCertificate: Certificate

    /// The recipient access point's party id: the CN of its AS4 certificate.
    package var partyId: String { AS4Opener.commonName(as4Certificate) ?? "" }

    package init(participant: String, endpoint: String, as4Certificate: Certificate, o2oCertificate: Certificate) {
        self.participant = participant
        self.endpoint = endpoint
        self.as4Certificate = as4Certificate
        self.o2oCertificate = o2oCertificate
    }
}

/// Finds the route to a participant. The static table is the embedded default; an SMP 1.0 lookup
/// implements the same protocol.
package protocol Router: Sendable {
    func route(to participant: String) async throws(NodeError) -> Route?
}

/// The `routes` of the node configuration, replaced as a whole when `kvitto route add` changes
/// them while the node runs.
package final class StaticRoutingTable: Router {
    private let table: Mutex<[String: Route]>

    package init(routes: [Route]) {
        table = Mutex(Self.index(routes))
    }

    private static func index(_ routes: [Route]) -> [String: Route] {
        Dictionary(routes.map { ($0.participant, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The routes in force now, by participant.
    package var routes: [String: Route] { table.withLock { $0 } }

    /// Puts `other`'s routes in force (after the configuration that lists them was saved).
    package func replace(with other: StaticRoutingTable) { table.withLock { $0 = other.routes } }

    package static func load(_ config: NodeConfig, directory: String) throws(NodeError) -> StaticRoutingTable {
        var routes: [Route] = []
        for r in config.routes {
            func cert(_ p: String) throws(NodeError) -> Certificate {
                let path = NodeConfig.resolve(p, in: directory)
                do {
                    guard let c = try CertificateFile.read(path: path).first else { throw NodeError(.configInvalid, "no certificate in \(path)") }
                    return c
                } catch let e as NodeError { throw e } catch {
                    throw NodeError(.configInvalid, "route to \(r.participant): \(path): \(error)")
                }
            }
            routes.append(Route(participant: r.participant, endpoint: r.endpoint, as4Certificate: try cert(r.as4Certificate),
                                o2oCertificate: try cert(r.o2oCertificate)))
        }
        return StaticRoutingTable(routes: routes)
    }

    package func route(to participant: String) async throws(NodeError) -> Route? { table.withLock { $0[participant] } }
}
