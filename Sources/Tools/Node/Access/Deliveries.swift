import Foundation
package import Ledger
package import Projections

/// Operators' view of outbound deliveries (the web console's "Leveranser"): dispatches waiting
/// for their next attempt, recent final failures, and "retry now" — recorded as
/// `message.retry.requested`, which the node's scheduler (a fold of the ledger) honours at its
/// next look, so the request is audited and survives a restart. Needs the `operate` right on the
/// node; refusals are recorded as `access.denied` (`no_operate_grant`).
package struct Deliveries: Sendable {
    package let access: MessageAccess

    package init(access: MessageAccess) { self.access = access }

    /// A pending delivery.
    package struct Item: Sendable {
        package let dispatch: DispatchRecord
        /// Whether "retry now" applies: pending, no attempt under way, a next attempt scheduled.
        package var waiting: Bool {
            dispatch.outcome == .pending && dispatch.attemptsStarted == dispatch.attemptsFinished && dispatch.nextAttemptAt != nil
        }
    }

    /// A final failure (`message.delivery.failed`).
    package struct Failure: Sendable {
        package let event: Event
    }

    /// What the deliveries page shows, as of the ledger position ``seq``.
    package struct Overview: Sendable {
        package let pending: [Item]
        /// How many deliveries are pending in all (``pending`` holds the oldest ``maxPending``).
        package let pendingCount: Int
        package let failures: [Failure]
        package let seq: UInt64
    }

    /// How far back the failures reach, and how many are shown at most.
    package static let failureDays = 30.0
    package static let maxFailures = 200
    /// Pending deliveries shown at most (the oldest).
    package static let maxPending = 500
    /// Failure index entries read at most to find the newest ones.
    static let maxFailuresExamined = 100_000

    /// Pending deliveries (oldest first) and the final failures of the last ``failureDays`` days
    /// (newest first, at most ``maxFailures``).
    package func overview(as principal: Principal) async throws(NodeError) -> Overview {
        let policy = try await require(principal, action: "list")
        let storage = access.projections.storage
        do {
            let all = try access.projections.currentNodeState { reader in try reader.pendingDispatches() }
            let since = Timestamp(nanoseconds: Timestamp.now().nanoseconds - Int64(Self.failureDays * 86_400 * 1e9))
            // The index reads forward: page through the period, keeping the newest.
            var after = try LedgerPosition.seq(atOrBefore: since, in: access.ledger), newest: [UInt64] = [], examined = 0
            while examined < Self.maxFailuresExamined {
                let page = try EventIndex.seqs(.type(NodeEventType.deliveryFailed), after: after, upTo: policy.seq, limit: 5000, in: storage)
                guard let last = page.last else { break }
                newest = Array((newest + page).suffix(Self.maxFailures))
                examined += page.count
                after = last
            }
            var failures: [Failure] = []
            for seq in newest.reversed() {
                guard let e = try access.ledger.event(seq) else { continue }
                failures.append(Failure(event: e))
            }
            return Overview(pending: all.prefix(Self.maxPending).map(Item.init), pendingCount: all.count, failures: failures, seq: policy.seq)
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.storage, "reading the deliveries: \(error)")
        }
    }

    /// Asks for the next attempt of the waiting delivery `as4MessageId` now: appends
    /// `message.retry.requested` (actor, reason, interface) and returns its seq.
    package func requestRetry(_ as4MessageId: String, reason: String, as principal: Principal) async throws(NodeError) -> UInt64 {
        _ = try await require(principal, action: "retry")
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...500).contains(reason.count), reason.utf8.count <= 2000 else {
            throw NodeError(.invalidRequest, "give a reason of 1–500 characters (it is recorded)")
        }
        guard (1...300).contains(as4MessageId.utf8.count) else { throw NodeError(.notFound, "no delivery \(as4MessageId)") }
        let item: Item?
        do {
            item = try access.projections.currentNodeState { reader in
                try reader.dispatch(as4MessageId).map(Item.init)
            }
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.storage, "reading delivery \(as4MessageId): \(error)")
        }
        guard let item else { throw NodeError(.notFound, "no delivery \(as4MessageId)") }
        guard item.waiting else {
            throw NodeError(.conflict, "delivery \(as4MessageId) is not waiting for a retry (delivered, failed for good, or an attempt is under way)")
        }
        let d = item.dispatch
        let payload: JSONValue = [
            "participant": .string(d.participant), "as4_message_id": .string(d.as4MessageId), "kind": .string(d.kind.rawValue),
            "reason": ["code": "retry_requested", "detail": .string(reason)], "interface": .string(principal.interface.rawValue),
        ]
        do {
            return try await access.ledger.append(EventDraft(type: NodeEventType.retryRequested, subject: NodeEventType.subject(message: d.messageId),
                                                             actor: principal.actor, payload: payload)).seq
        } catch {
            throw NodeError(.auditUnavailable, "the request could not be recorded in the ledger (\(error.code.rawValue)); nothing was changed")
        }
    }

    private func require(_ principal: Principal, action: String) async throws(NodeError) -> AccessPolicy {
        let policy = try access.policy(for: principal)
        guard policy.rights(on: .node).contains(.operate) else {
            await access.refuse(AccessDenial(reason: .noOperateGrant, resource: "deliveries", action: action), principal)
            throw NodeError(.forbidden, "deliveries need the operate right on the node")
        }
        return policy
    }
}
