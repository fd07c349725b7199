import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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

    /// A second signal before the node's task exists (an open that hangs) ends the process by
    /// the signal's default action, as Ctrl-C twice is expected to.
    func request(signal sig: Int32) {
        let (task, logger, again) = state.withLock { s in
            let again = s.signal != nil && s.task == nil
            s.signal = sig
            return (s.task, s.logger, again)
        }
        if again {
            signal(sig, SIG_DFL)
            raise(sig)
            return
        }
        logger?.notice("stopping", metadata: ["signal": .stringConvertible(sig)])
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
