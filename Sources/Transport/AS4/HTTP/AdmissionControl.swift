import Synchronization

/// Bounds the inbound requests an access point works on at once, in total and per peer (the
/// remote address), so that no sender — or all of them together — can make the node hold more
/// than a known number of request bodies in memory. A request over a bound is answered at once,
/// before its body is read: HTTP 503 when the node is full, 429 when that peer has too many in
/// progress. The senders' reception awareness sends it again later.
package final class AdmissionControl: Sendable {
    package let maxRequests: Int
    package let maxRequestsPerPeer: Int
    private let state = Mutex<(total: Int, perPeer: [String: Int])>((0, [:]))

    package init(maxRequests: Int = 32, maxRequestsPerPeer: Int = 16) {
        self.maxRequests = max(1, maxRequests)
        self.maxRequestsPerPeer = max(1, min(maxRequestsPerPeer, maxRequests))
    }

    package enum Admission: Equatable {
        case admitted
        /// The node is at ``maxRequests``.
        case full
        /// This peer is at ``maxRequestsPerPeer``.
        case peerFull
    }

    /// Takes a slot for `peer`; call ``release(_:)`` exactly once after an `.admitted`.
    package func admit(_ peer: String) -> Admission {
        state.withLock { s in
            if s.total >= maxRequests { return .full }
            if s.perPeer[peer, default: 0] >= maxRequestsPerPeer { return .peerFull }
            s.total += 1
            s.perPeer[peer, default: 0] += 1
            return .admitted
        }
    }

    package func release(_ peer: String) {
        state.withLock { s in
            s.total -= 1
            let n = s.perPeer[peer, default: 1] - 1
            s.perPeer[peer] = n > 0 ? n : nil
        }
    }

    /// Requests in progress now.
    package var inProgress: Int { state.withLock { $0.total } }
}
