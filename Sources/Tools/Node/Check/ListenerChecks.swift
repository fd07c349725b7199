import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The listening ports: neither the AS4 endpoint's nor the API's already taken by another process
/// (a warning: it may be this node, running). The two on one address is refused by the
/// configuration's own check.
enum ListenerChecks {
    static func run(_ c: CheckContext) -> [ConfigFinding] {
        var out: [ConfigFinding] = []
        let as4 = c.config.as4
        var listeners = [("as4.port", as4.host, as4.port)]
        if let api = c.config.api, api.port != as4.port { listeners.append(("api.port", api.host, api.port)) }
        for (member, host, port) in listeners where port != 0 && inUse(host: host, port: port) {
            out.append(ConfigFinding(.warning, .portConflict, member,
                "\(host):\(port) is in use by another process (is this node already running?); `kvitto serve` cannot listen there while it is"))
        }
        return out
    }

    /// True when an IPv4 literal `host` and `port` cannot be bound because something listens there.
    static func inUse(host: String, port: Int) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return false }  // names are resolved at start
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound != 0 && errno == EADDRINUSE
    }
}
