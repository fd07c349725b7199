package import Ledger

/// A refused request, as `access.denied` records it.
package struct AccessDenial: Sendable, Equatable {
    /// Stable reason codes (`Schemas/access.md`).
    package enum Reason: String, Sendable, Hashable {
        /// No grant shows the resource to the caller (it is answered as not found).
        case notVisible = "not_visible"
        /// The caller sees the message but holds no `read` grant on its mailbox.
        case noReadGrant = "no_read_grant"
        /// The caller holds `read` but its authentication is weaker than content requires.
        case weakAuthentication = "weak_authentication"
        /// The caller may not send from that mailbox.
        case noSendGrant = "no_send_grant"
        /// The caller may not grant or revoke on that scope.
        case noManageGrant = "no_manage_grant"
        /// The caller may not audit that scope.
        case noAuditGrant = "no_audit_grant"
        /// The caller holds no grant at all on this node (what every identity needs before it
        /// may even search the address book).
        case noGrant = "no_grant"
        /// The caller holds no `operate` right on the node (deliveries and their retries).
        case noOperateGrant = "no_operate_grant"
        /// A console form arrived without the session's CSRF token, or from another origin
        /// (`Schemas/console.md`); nothing it asked for was done.
        case forgedRequest = "forged_request"
    }

    package var reason: Reason
    /// What was asked for: `message:<id>`, `mailbox:<address>`, `participant:<id>`, `grant:<id>`…
    package var resource: String
    /// What the caller tried: `read_content`, `read_attachment`, `grant`, `revoke`, `send`, `list`…
    package var action: String

    package init(reason: Reason, resource: String, action: String) {
        self.reason = reason
        self.resource = resource
        self.action = action
    }

    /// The `access.denied` draft; `coalesced` counts the earlier refusals of the same actor
    /// and reason that were not recorded one by one (``AccessDenials``).
    package func draft(principal: Principal, coalesced: Int, since: Timestamp?) -> EventDraft {
        var p: [String: JSONValue] = [
            "reason": .string(reason.rawValue), "resource": .string(resource), "action": .string(action),
            "interface": .string(principal.interface.rawValue), "coalesced": .int(Int64(coalesced)),
        ]
        if let since { p["coalesced_since"] = .string(since.rfc3339) }
        return EventDraft(type: AccessEventType.denied, subject: resource, actor: principal.actor, payload: .object(p))
    }
}
