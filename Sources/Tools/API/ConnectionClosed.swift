import NIOCore
import Synchronization

/// Whether a caller's connection is gone, for an event stream that would otherwise learn it only
/// at its next write (a heartbeat may be a minute away), holding its place among the open
/// streams meanwhile. Gone means closed, or closed by the client on its side: the API's server
/// allows half-closed connections, so a client that exits leaves the connection open on ours
/// until we write; a watcher placed first in the connection's pipeline sees the end of its input.
/// A client that ends its input in the instant between its request and the watcher's placement
/// is noticed at the stream's next write, as before.
///
/// ``wait()`` returns once the connection is gone or the waiting task is cancelled (an
/// `EventLoopFuture`'s `get()` would hold the task until the connection closes).
final class ConnectionClosed: Sendable {
    private struct State {
        var closed = false
        var next = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())
    private let channel: any Channel
    private let watcherName: String

    init(_ channel: any Channel) {
        self.channel = channel
        watcherName = "kvitto.input-watcher.\(ObjectIdentifier(channel).hashValue).\(Int.random(in: 0..<Int.max))"
        // Weakly: the stream holds this object; when it goes, deinit takes the watcher out of
        // a connection that lives on (a keep-alive connection may carry many streams in turn).
        channel.closeFuture.whenComplete { [weak self] _ in self?.closed() }
        let name = watcherName
        channel.eventLoop.execute { [weak self] in
            guard channel.isActive else { self?.closed(); return }
            try? channel.pipeline.syncOperations.addHandler(InputWatcher { [weak self] in self?.closed() }, name: name, position: .first)
        }
    }

    deinit {
        let channel = channel, name = watcherName
        channel.eventLoop.execute { _ = try? channel.pipeline.syncOperations.removeHandler(name: name) }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// Returns once the connection is gone, or the task is cancelled.
    func wait() async {
        let id = state.withLock { s in
            s.next += 1
            return s.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s in
                    if s.closed || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    private func closed() {
        let waiters = state.withLock { s in
            s.closed = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    /// Passes everything on; calls `ended` when the connection's input ends or it goes inactive.
    private final class InputWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny
        private let ended: () -> Void

        init(_ ended: @escaping () -> Void) { self.ended = ended }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let e = event as? ChannelEvent, case .inputClosed = e { ended() }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            ended()
            context.fireChannelInactive()
        }
    }
}
