package import Ledger
package import Projections

/// Granting, revoking and listing grants, for every interface: a principal may grant or revoke
/// on a scope it manages (``AccessPolicy/mayManage(_:)``), and see the grants of scopes it
/// manages or audits, plus its own. Every grant and revocation is a ledger event, by the
/// principal; a refusal is recorded as `access.denied`.
package struct GrantAdministration: Sendable {
    package let access: MessageAccess

    package init(access: MessageAccess) { self.access = access }

    /// Records `request` as `access.granted`; returns the grant.
    package func grant(_ request: Grant.Request, by principal: Principal) async throws(NodeError) -> Grant {
        let policy = try access.policy(for: principal)
        guard policy.mayManage(request.scope) else {
            await access.refuse(AccessDenial(reason: .noManageGrant, resource: request.scope.description, action: "grant"), principal)
            throw NodeError(.forbidden, "you hold no manage right on \(request.scope); the refusal was recorded")
        }
        // The rules are checked for those who may grant (others learn nothing from them).
        if let problem = request.problem { throw NodeError(.unprocessable, problem) }
        // A grant may not outlast the granter's own right to make it.
        if case .some(.some(let end)) = policy.manageEnds(on: request.scope), request.validUntil.map({ $0 > end }) ?? true {
            throw NodeError(.unprocessable, "your manage right on \(request.scope) ends at \(end.rfc3339); give --valid-until at or before it")
        }
        do {
            let event = try await access.ledger.append(Grant.draft(request, actor: principal.actor))
            guard let g = Grant(granted: event) else { throw NodeError(.storage, "the recorded grant \(event.seq) does not read back") }
            return g
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.storage, "recording the grant: \(error)")
        }
    }

    /// Records the revocation of grant `id`; returns the revoked grant.
    package func revoke(_ id: UInt64, reason: String, by principal: Principal) async throws(NodeError) -> Grant {
        guard !reason.isEmpty, reason.unicodeScalars.count <= 1000 else { throw NodeError(.invalidRequest, "a revocation needs a reason (1 to 1000 characters)") }
        let policy = try access.policy(for: principal)
        let grant: Grant?
        do { grant = try GrantsProjection.grant(id, in: access.projections.storage) } catch {
            throw NodeError(.storage, "reading grant \(id): \(error)")
        }
        // A grant the principal cannot see (not its own, not on a scope it manages or audits) is
        // "not found", like a missing one. (`manage` implies seeing the grants: maySeeGrants covers both.)
        let refusal = AccessDenial(reason: .noManageGrant, resource: "grant:\(id)", action: "revoke")
        guard let grant, policy.maySeeGrants(on: grant.scope) || principal.names.contains(grant.grantee) else {
            await access.refuse(refusal, principal)
            throw NodeError(.notFound, "no grant \(id)")
        }
        guard policy.mayManage(grant.scope) else {
            await access.refuse(refusal, principal)
            throw NodeError(.forbidden, "you hold no manage right on \(grant.scope); the refusal was recorded")
        }
        if let r = grant.revocation { throw NodeError(.conflict, "grant \(id) was already revoked (event \(r.seq))") }
        do {
            let event = try await access.ledger.append(grant.revocationDraft(actor: principal.actor, reason: reason))
            var revoked = grant
            revoked.revocation = .init(seq: event.seq, by: event.actor, at: event.time, reason: reason)
            return revoked
        } catch {
            throw NodeError(.storage, "recording the revocation: \(error)")
        }
    }

    /// The grants the principal may see, filtered: to `grantee`; `concerning` a scope (grants
    /// that apply to it, and grants inside it); carrying `right`; with `asOf`, only those in force
    /// at that seq (at the wall-clock time of that event) — "who could read this mailbox on
    /// 1 March?" is `concerning: .mailbox(m), right: .read, asOf: <last seq of 1 March>`.
    /// Authorisation is the principal's rights now, whatever `asOf` asks about.
    /// `at` evaluates `valid_from`/`valid_until` at that time instead of the time of event `asOf`
    /// (for "on 1 March": `asOf` = the last seq at or before it, `at` = the moment asked about).
    package func grants(grantee: PrincipalName? = nil, concerning scope: AccessScope? = nil, right: AccessRight? = nil,
                        asOf: UInt64? = nil, at: Timestamp? = nil, by principal: Principal) throws(NodeError) -> [Grant] {
        if asOf == 0 { return [] }  // before the ledger's first event nothing was granted
        let policy = try access.policy(for: principal)
        let all: [Grant]
        let time: Timestamp?
        do {
            all = try GrantsProjection.all(in: access.projections.storage)
            if let asOf {
                guard let e = try access.ledger.event(asOf) else { throw NodeError(.positionNotReached, "the ledger has no seq \(asOf) yet; ask again later") }
                time = at ?? e.time
            } else {
                time = nil
            }
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.storage, "reading the grants: \(error)")
        }
        let mine = Set(principal.names)
        return all.filter { g in
            guard mine.contains(g.grantee) || policy.maySeeGrants(on: g.scope) else { return false }
            if let grantee, g.grantee != grantee { return false }
            if let scope, !g.scope.contains(scope), !scope.contains(g.scope) { return false }
            if let right, !g.rights.contains(right) { return false }
            if let asOf, let time, !g.isEffective(atSeq: asOf, time: time) { return false }
            return true
        }
    }
}
