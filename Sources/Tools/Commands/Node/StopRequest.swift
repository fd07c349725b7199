import Logging
import Synchronization

/// A request to stop `kvitto serve` (SIGINT or SIGTERM), which may arrive before the node's task
/// exists: the task is cancelled when it is attached, or at once if it already is.
final class StopRequest: Sendable {
    private struct State {
        var signal: Int32?
        var task: Task<Void, any Error>?
        var logger: Logger?
    }
    private let state = Mutex(State())

    var logger: Logger? {
        get { state.withLock { $0.logger } }
        set { state.withLock { $0.logger = newValue } }
    }

    func request(signal: Int32) {
        let (task, logger) = state.withLock { s in
            s.signal = signal
            return (s.task, s.logger)
        }
        logger?.notice("stopping", metadata: ["signal": .stringConvertible(signal)])
        task?.cancel()
    }

    func attach(_ task: Task<Void, any Error>) {
        let requested = state.withLock { s in
            s.task = task
            return s.signal
        }
        if let requested {
            logger?.notice("stopping", metadata: ["signal": .stringConvertible(requested)])
            task.cancel()
        }
    }
}
