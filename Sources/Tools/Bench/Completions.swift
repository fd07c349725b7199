import Foundation
import Ledger
import Node
import Projections
import Synchronization

/// Tells the benchmark's senders when their messages are complete (the sender holds the
/// Meddelandekvittens: status accepted or rejected), learned from the sender node's ledger as it
/// grows, the way a case system subscribed to its events learns it.
///
/// The senders used to ask the node's state every 2 ms each: at window 32 that was some 16,000
/// reads a second, each catching the projections up, on the same two cores as the node being
/// measured. Now one follower reads each new event once, and the state is read only for the
/// messages an event names.
final class Completions: Sendable {
    private struct Waiter {
        var deadline: Date
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let node: Node
    private let waiting = Mutex<[String: Waiter]>([:])
    /// Set once following failed: later waits fail at once instead of waiting for nobody.
    private let failure = Mutex<(any Error)?>(nil)

    init(node: Node) { self.node = node }

    /// Returns once message `id` of the sender node is accepted or rejected; fails at `deadline`.
    func wait(for id: String, deadline: Date) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            if let error = failure.withLock({ $0 }) {
                c.resume(throwing: error)
                return
            }
            waiting.withLock { $0[id] = Waiter(deadline: deadline, continuation: c) }
            check([id])  // complete already
            if let error = failure.withLock({ $0 }) { fail([id], error) }  // failed while registering
        }
    }

    /// Follows the sender's ledger from `seq` until cancelled: every new event about a message
    /// someone waits for makes that message's status be read once. An error fails every waiter.
    func follow(from seq: UInt64) async throws {
        var seen = seq
        do {
            while true {
                let head = try await node.ledger.waitForHead(after: seen)
                var named = Set<String>()
                // Only up to the durable head (the page limit stops there): a commit is readable a
                // moment before it is published, and the state read below shows nothing beyond it.
                while seen < head {
                    let page = try node.ledger.events(from: seen + 1, limit: Int(min(head - seen, 256)))
                    guard let last = page.last else { break }
                    for e in page where e.subject.hasPrefix("message:") { named.insert(String(e.subject.dropFirst(8))) }
                    seen = last.seq
                }
                let pending = waiting.withLock { w in named.filter { w[$0] != nil } }
                check(pending)
            }
        } catch {
            failAll(error)
            throw error
        }
    }

    /// Fails waiters past their deadline, once a second until cancelled.
    func expire() async throws {
        do {
            while true {
                try await Task.sleep(for: .seconds(1))
                let now = Date()
                let overdue = waiting.withLock { w -> [(String, Waiter)] in
                    let late = w.filter { $0.value.deadline < now }
                    for id in late.keys { w[id] = nil }
                    return Array(late)
                }
                for (id, w) in overdue {
                    w.continuation.resume(throwing: CLI.fail("bench: message \(id) did not complete by its deadline (\(w.deadline))"))
                }
            }
        } catch {
            failAll(error)
            throw error
        }
    }

    private func check(_ ids: some Collection<String>) {
        guard !ids.isEmpty else { return }
        let statuses: [String: MessageStatus?]
        do {
            statuses = try node.read { s in
                var out: [String: MessageStatus?] = [:]
                for id in ids { out[id] = try s.message(id)?.status }
                return out
            }
        } catch {
            fail(ids, error)
            return
        }
        for (id, status) in statuses where status == .accepted || status == .rejected {
            waiting.withLock { $0.removeValue(forKey: id) }?.continuation.resume()
        }
    }

    private func fail(_ ids: some Collection<String>, _ error: any Error) {
        for id in ids { waiting.withLock { $0.removeValue(forKey: id) }?.continuation.resume(throwing: error) }
    }

    private func failAll(_ error: any Error) {
        failure.withLock { if $0 == nil { $0 = error } }
        let all = waiting.withLock { w in
            defer { w.removeAll() }
            return Array(w.values)
        }
        for w in all { w.continuation.resume(throwing: error) }
    }
}
