package import Ledger

/// One grant, as `access.granted` made it and `access.revoked` (if any) ended it. Its id is the
/// seq of its `access.granted` event. Grants are never deleted: a revoked grant keeps its
/// revocation, so the rights at any earlier ledger position can be answered.
package struct Grant: Sendable, Equatable {
    package struct Revocation: Sendable, Equatable {
        package var seq: UInt64
        package var by: String
        package var at: Timestamp
        package var reason: String

        package init(seq: UInt64, by: String, at: Timestamp, reason: String) {
            self.seq = seq
            self.by = by
            self.at = at
            self.reason = reason
        }
    }

    package var id: UInt64
    package var grantee: PrincipalName
    package var scope: AccessScope
    package var rights: Set<AccessRight>
    package var grantedBy: String
    package var grantedAt: Timestamp
    package var reason: String
    package var validFrom: Timestamp?
    package var validUntil: Timestamp?
    package var revocation: Revocation?

    /// Whether the grant was in force at ledger position `seq` and wall-clock `time` (which the
    /// caller takes from that position: now for the head, the event's time for a past seq).
    package func isEffective(atSeq seq: UInt64, time: Timestamp) -> Bool {
        var revokedAt: UInt64?
        if let r = revocation { revokedAt = r.seq }
        return Self.inForce(from: id, revokedAt: revokedAt, validFrom: validFrom, validUntil: validUntil, atSeq: seq, time: time)
    }

    /// The rule of ``isEffective(atSeq:time:)``: made at seq `from`, not yet revoked at `seq`,
    /// and inside its validity at `time` (``GrantTable`` asks it without a `Grant`).
    @inline(never)  // inlined into AccessPolicy.init, Swift 6.3.1's CopyPropagation crashes
    static func inForce(from: UInt64, revokedAt: UInt64?, validFrom: Timestamp?, validUntil: Timestamp?,
                        atSeq seq: UInt64, time: Timestamp) -> Bool {
        guard from <= seq else { return false }
        if let r = revokedAt, r <= seq { return false }
        if let f = validFrom, time < f { return false }
        if let u = validUntil, time >= u { return false }
        return true
    }

    // MARK: Events

    /// What a writer proposes; ``Grant/draft(_:actor:)`` turns it into `access.granted`.
    package struct Request: Sendable, Equatable {
        package var grantee: PrincipalName
        package var scope: AccessScope
        package var rights: Set<AccessRight>
        package var reason: String
        package var validFrom: Timestamp?
        package var validUntil: Timestamp?

        package init(grantee: PrincipalName, scope: AccessScope, rights: Set<AccessRight>, reason: String,
                     validFrom: Timestamp? = nil, validUntil: Timestamp? = nil) {
            self.grantee = grantee
            self.scope = scope
            self.rights = rights
            self.reason = reason
            self.validFrom = validFrom
            self.validUntil = validUntil
        }

        /// Why the request cannot be recorded, or nil when it can.
        package var problem: String? {
            if rights.isEmpty { return "a grant needs at least one right" }
            let extra = rights.subtracting(scope.allowedRights)
            if !extra.isEmpty {
                return "\(extra.listText) cannot be granted on \(scope) (allowed there: \(scope.allowedRights.listText))"
            }
            if reason.isEmpty || reason.unicodeScalars.count > 1000 { return "a grant needs a reason (1 to 1000 characters)" }
            if let f = validFrom, let u = validUntil, u <= f { return "valid_until must be after valid_from" }
            return nil
        }
    }

    /// The `access.granted` draft for `request`, by `actor`.
    package static func draft(_ request: Request, actor: String) -> EventDraft {
        var p: [String: JSONValue] = [
            "grantee": .string(request.grantee.description), "scope": .string(request.scope.description),
            "rights": .array(request.rights.sorted().map { .string($0.rawValue) }), "reason": .string(request.reason),
        ]
        if let f = request.validFrom { p["valid_from"] = .string(f.rfc3339) }
        if let u = request.validUntil { p["valid_until"] = .string(u.rfc3339) }
        return EventDraft(type: AccessEventType.granted, subject: request.grantee.subject, actor: actor, payload: .object(p))
    }

    /// The `access.revoked` draft ending this grant.
    package func revocationDraft(actor: String, reason: String) -> EventDraft {
        EventDraft(type: AccessEventType.revoked, subject: grantee.subject, actor: actor,
                   payload: ["grant": .int(Int64(id)), "scope": .string(scope.description), "reason": .string(reason)])
    }

    /// The grant an `access.granted` event made; nil when its payload is not a valid grant (the
    /// projections ignore such an event, and writers never append one).
    package init?(granted e: Event) {
        let p = e.payload
        guard e.type == AccessEventType.granted,
              let grantee = p["grantee"]?.stringValue.flatMap(PrincipalName.init),
              let scope = p["scope"]?.stringValue.flatMap(AccessScope.init),
              let names = p["rights"]?.arrayElements else { return nil }
        var rights = Set<AccessRight>()
        for n in names {
            guard let r = n.stringValue.flatMap(AccessRight.init) else { return nil }
            rights.insert(r)
        }
        let from = p["valid_from"]?.stringValue, until = p["valid_until"]?.stringValue
        let request = Request(grantee: grantee, scope: scope, rights: rights, reason: p["reason"]?.stringValue ?? "",
                              validFrom: from.flatMap(Timestamp.init(rfc3339:)), validUntil: until.flatMap(Timestamp.init(rfc3339:)))
        guard request.problem == nil, (from == nil) == (request.validFrom == nil), (until == nil) == (request.validUntil == nil) else {
            return nil
        }
        self.init(id: e.seq, grantee: grantee, scope: scope, rights: rights, grantedBy: e.actor, grantedAt: e.time,
                  reason: request.reason, validFrom: request.validFrom, validUntil: request.validUntil, revocation: nil)
    }

    package init(id: UInt64, grantee: PrincipalName, scope: AccessScope, rights: Set<AccessRight>, grantedBy: String,
                 grantedAt: Timestamp, reason: String, validFrom: Timestamp?, validUntil: Timestamp?, revocation: Revocation?) {
        self.id = id
        self.grantee = grantee
        self.scope = scope
        self.rights = rights
        self.grantedBy = grantedBy
        self.grantedAt = grantedAt
        self.reason = reason
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.revocation = revocation
    }

    // MARK: Rows

    /// The grant as a JSON object (projection rows, `kvitto grants --json`, the API).
    package var json: JSONValue {
        var o: [String: JSONValue] = [
            "id": .int(Int64(id)), "grantee": .string(grantee.description), "scope": .string(scope.description),
            "rights": .array(rights.sorted().map { .string($0.rawValue) }), "granted_by": .string(grantedBy),
            "granted_at": .string(grantedAt.rfc3339), "reason": .string(reason),
            "valid_from": validFrom.map { .string($0.rfc3339) } ?? .null,
            "valid_until": validUntil.map { .string($0.rfc3339) } ?? .null, "revoked": .null,
        ]
        if let r = revocation {
            o["revoked"] = ["seq": .int(Int64(r.seq)), "by": .string(r.by), "at": .string(r.at.rfc3339), "reason": .string(r.reason)]
        }
        return .object(o)
    }

    init(row v: JSONValue) throws {
        guard let id = v["id"]?.intValue, let grantee = v["grantee"]?.stringValue.flatMap(PrincipalName.init),
              let scope = v["scope"]?.stringValue.flatMap(AccessScope.init), let by = v["granted_by"]?.stringValue,
              let at = RecordCoding.timestamp(v["granted_at"]), let reason = v["reason"]?.stringValue else {
            throw RecordCoding.corrupt("grant")
        }
        let rights = Set((v["rights"]?.arrayElements ?? []).compactMap { $0.stringValue.flatMap(AccessRight.init) })
        var revocation: Revocation?
        if let r = v["revoked"], r != .null {
            guard let seq = r["seq"]?.intValue, let rby = r["by"]?.stringValue, let rat = RecordCoding.timestamp(r["at"]) else {
                throw RecordCoding.corrupt("grant revocation")
            }
            revocation = Revocation(seq: UInt64(seq), by: rby, at: rat, reason: r["reason"]?.stringValue ?? "")
        }
        self.init(id: UInt64(id), grantee: grantee, scope: scope, rights: rights, grantedBy: by, grantedAt: at, reason: reason,
                  validFrom: RecordCoding.timestamp(v["valid_from"]), validUntil: RecordCoding.timestamp(v["valid_until"]),
                  revocation: revocation)
    }
}
