import Foundation
package import Ledger
package import Projections

/// A writing command of the CLI — grant, revoke, address-book changes, erasure — as a value, so
/// that it runs the same whoever holds the ledger: the CLI itself when the node is stopped, the
/// running node when the CLI hands it over through the ``ControlSocket``. Either way the principal
/// is the operating-system user (from the process, or from the kernel for a socket connection),
/// the grants decide, a refusal is recorded, and the answer is the same ``Outcome``.
///
/// Its JSON form is the control socket's administration request (`Schemas/control-socket.md`):
/// `{"operation": NAME, …arguments}`.
package enum AdminOperation: Sendable, Equatable {
    /// `kvitto grant`: records `access.granted`.
    case grant(Grant.Request)
    /// `kvitto revoke`: records `access.revoked` for grant `id`.
    case revoke(id: UInt64, reason: String)
    /// `kvitto addressbook add`: adds or renames an organisation, and optionally one functional
    /// address of it.
    case putAddress(participant: String, name: String, function: String?, functionName: String?)
    /// `kvitto addressbook remove`: removes a functional address, or (without `function`) the
    /// organisation with all of its addresses.
    case removeAddress(participant: String, function: String?)
    /// `kvitto erase`: erases a message's content under a retention rule (crypto-shredding what
    /// is encrypted at rest).
    case erase(message: String, rule: String, reason: String)
    /// `kvitto participant add`.
    case addParticipant(ParticipantAdministration.Addition)
    /// `kvitto participant update`.
    case updateParticipant(ParticipantAdministration.Update)
    /// `kvitto participant retire`.
    case retireParticipant(participant: String, reason: String)
    /// `kvitto route add`: a route to one organisation at any access point.
    case addRoute(RouteAdministration.Addition)
    /// `kvitto content-key create`: key-encryption keys for the participants without one (and
    /// content encryption turned on with `scope` when it is off).
    case createContentKeys(scope: String?, replaceLostKey: [String])
    /// `kvitto ledger checkpoint` on a running node's ledger: a signed tree head now (for a
    /// witness kept off the node).
    case checkpoint
    /// `kvitto ledger rotate-key` on a running node's ledger: a new signing key, `node.key.rotated`
    /// signed by the old one.
    case rotateKey

    /// What an operation did: a line for people and the same as JSON.
    package struct Outcome: Sendable, Equatable {
        package var text: String
        package var result: JSONValue

        package init(text: String, result: JSONValue) {
            self.text = text
            self.result = result
        }
    }

    /// The operation's name in its JSON form.
    package var name: String {
        switch self {
        case .grant: "grant"
        case .revoke: "revoke"
        case .putAddress: "addressbook.put"
        case .removeAddress: "addressbook.remove"
        case .erase: "erase"
        case .addParticipant: "participant.add"
        case .updateParticipant: "participant.update"
        case .retireParticipant: "participant.retire"
        case .addRoute: "route.add"
        case .createContentKeys: "content-key.create"
        case .checkpoint: "ledger.checkpoint"
        case .rotateKey: "ledger.rotate-key"
        }
    }

    // MARK: running it

    /// Runs the operation as `principal` against the node whose ledger `target` holds for writing.
    package func perform(_ target: AdminTarget, as principal: Principal) async throws(NodeError) -> Outcome {
        let access = target.access
        switch self {
        case .grant(let request):
            let g = try await GrantAdministration(access: access).grant(request, by: principal)
            return Outcome(text: "grant \(g.id): " + Self.line(g), result: g.json)
        case .revoke(let id, let reason):
            let g = try await GrantAdministration(access: access).revoke(id, reason: reason, by: principal)
            return Outcome(text: "grant \(g.id) revoked at seq \(g.revocation?.seq ?? 0)", result: g.json)
        case .putAddress(let participant, let name, let function, let functionName):
            let directory = AddressDirectory(access: access)
            var (organization, outcome) = try await directory.setOrganization(participant, name: name, by: principal)
            var outcomes = ["organisation \(participant): \(outcome)"]
            if let function {
                (organization, outcome) = try await directory.setFunction(participant, function: function, name: functionName ?? function, by: principal)
                outcomes.append("\(function)@\(participant): \(outcome)")
            }
            return Outcome(text: outcomes.joined(separator: "; "), result: Self.json(organization))
        case .removeAddress(let participant, let function?):
            let organization = try await AddressDirectory(access: access).removeFunction(participant, function: function, by: principal)
            return Outcome(text: "\(function)@\(participant): removed", result: Self.json(organization))
        case .removeAddress(let participant, nil):
            try await AddressDirectory(access: access).removeOrganization(participant, by: principal)
            return Outcome(text: "organisation \(participant) and its functional addresses: removed",
                           result: ["participant": .string(participant), "removed": .bool(true)])
        case .erase(let message, let rule, let reason):
            let erasure = try await access.eraseContent(message, rule: rule, reason: reason, as: principal)
            let seqs = erasure.events.map { String($0.seq) }.joined(separator: ", ")
            return Outcome(text: "erased \(erasure.events.count) blob(s) of \(message)"
                               + (erasure.shredded ? "; its content key is destroyed (crypto-shredded)" : "") + " — events \(seqs)",
                           result: ["message": .string(message), "shredded": .bool(erasure.shredded),
                                    "events": .array(erasure.events.map(\.json))])
        case .addParticipant(let a):
            return Self.outcome(try await target.participants.add(a, by: principal), participant: a.participant, verb: "added")
        case .updateParticipant(let u):
            return Self.outcome(try await target.participants.update(u, by: principal), participant: u.participant, verb: "updated")
        case .retireParticipant(let participant, let reason):
            return Self.outcome(try await target.participants.retire(participant, reason: reason, by: principal), participant: participant, verb: "retired")
        case .addRoute(let a):
            let o = try await RouteAdministration(access: access, directory: target.directory, table: target.routes, reloadTrust: target.reloadTrust)
                .add(a, by: principal)
            let seqs = o.events.map { String($0.seq) }.joined(separator: ", ")
            var text = "route to \(a.participant) at \(a.endpoint) added" + (o.events.isEmpty ? "" : " — events \(seqs)")
            for note in o.notes { text += "\n  " + note }
            return Outcome(text: text, result: ["participant": .string(a.participant), "endpoint": .string(a.endpoint),
                                                "events": .array(o.events.map(\.json)), "notes": .array(o.notes.map { .string($0) })])
        case .checkpoint:
            // The head of the whole ledger is for the node's managers, auditors and operators.
            let rights = try access.policy(for: principal).rights(on: .node)
            guard !rights.isDisjoint(with: [.manage, .audit, .operate]) else {
                await access.refuse(AccessDenial(reason: .noGrant, resource: "ledger", action: "checkpoint"), principal)
                throw NodeError(.forbidden, "a checkpoint of the whole ledger needs the manage, audit or operate right on the node; the refusal was recorded")
            }
            let checkpoint: Checkpoint
            do { checkpoint = try await access.ledger.checkpoint() } catch { throw NodeError(.storage, "writing the checkpoint: \(error)") }
            return Outcome(text: String(decoding: CanonicalJSON.encode(checkpoint.event.json), as: UTF8.self), result: checkpoint.event.json)
        case .rotateKey:
            guard try access.policy(for: principal).mayManage(.node) else {
                await access.refuse(AccessDenial(reason: .noManageGrant, resource: "ledger", action: "rotate_key"), principal)
                throw NodeError(.forbidden, "rotating the ledger's signing key needs the manage right on the node; the refusal was recorded")
            }
            let event: Event
            do { event = try await access.ledger.rotateKey() } catch { throw NodeError(.storage, "rotating the signing key: \(error)") }
            return Outcome(text: String(decoding: CanonicalJSON.encode(event.json), as: UTF8.self), result: event.json)
        case .createContentKeys(let scope, let replaceLostKey):
            let o = try await ContentKeyAdministration(access: access, directory: target.directory, running: target.roster != nil)
                .create(scope: scope, replaceLostKey: Set(replaceLostKey), by: principal)
            let lines = o.keys.map { "\($0.participant): \($0.path) (\($0.created ? "new" : "kept"), key \($0.id))" }
            return Outcome(text: lines.joined(separator: "\n"),
                           result: ["scope": .string(o.scope), "keys": .array(o.keys.map {
                               ["participant": .string($0.participant), "path": .string($0.path), "created": .bool($0.created), "id": .string($0.id)]
                           })])
        }
    }

    private static func outcome(_ o: ParticipantAdministration.Outcome, participant: String, verb: String) -> Outcome {
        let seqs = o.events.map { String($0.seq) }.joined(separator: ", ")
        var text = o.events.isEmpty ? "participant \(participant): unchanged" : "participant \(participant) \(verb) — events \(seqs)"
        for note in o.notes where !(o.events.isEmpty && note == "nothing changed") { text += "\n  " + note }
        var result: [String: JSONValue] = ["participant": .string(participant), "events": .array(o.events.map(\.json)),
                                           "notes": .array(o.notes.map { .string($0) })]
        if let r = o.record {
            result["name"] = .string(r.name)
            result["functions"] = .object(r.functions.mapValues { .string($0) })
            result["catch_all_function"] = r.catchAllFunction.map { .string($0) } ?? .null
            result["o2o_fingerprint_sha256"] = .string(r.o2oFingerprint)
        } else {
            result["retired"] = .bool(true)
        }
        return Outcome(text: text, result: .object(result))
    }

    /// A grant as one line (`kvitto grants` prints the same).
    package static func line(_ g: Grant) -> String {
        var s = g.grantee.description + " " + g.rights.listText + " on " + g.scope.description
        s += ", by " + g.grantedBy + " at " + g.grantedAt.rfc3339 + ": " + g.reason
        if let f = g.validFrom { s += "; from \(f.rfc3339)" }
        if let u = g.validUntil { s += "; until \(u.rfc3339)" }
        if let r = g.revocation { s += "; REVOKED at seq \(r.seq) by \(r.by): \(r.reason)" }
        return s
    }

    private static func json(_ functions: [NodeConfig.Function]) -> JSONValue {
        .array(functions.map { ["function": .string($0.function), "name": .string($0.name)] })
    }

    /// `[{"function": F, "name": N}, …]`.
    private static func functions(_ v: JSONValue?, _ operation: String, _ key: String) throws(NodeError) -> [NodeConfig.Function] {
        guard let list = v?.arrayElements else { throw NodeError(.invalidRequest, "\(operation): \(key) is a list of {function, name}") }
        var out: [NodeConfig.Function] = []
        for item in list {
            guard let o = item.objectValue, Set(o.keys) == ["function", "name"], let f = o["function"]?.stringValue, let n = o["name"]?.stringValue else {
                throw NodeError(.invalidRequest, "\(operation): each of \(key) is {\"function\": …, \"name\": …}")
            }
            out.append(.init(function: f, name: n))
        }
        return out
    }

    private static func identity(_ key: String?, _ certificates: String?, _ operation: String) throws(NodeError) -> ParticipantAdministration.IdentityText? {
        switch (key, certificates) {
        case (nil, nil): return nil
        case (let k?, let c?): return .init(keyPEM: k, certificatesPEM: c)
        default: throw NodeError(.invalidRequest, "\(operation): o2o_key_pem and o2o_certificate_pem come together")
        }
    }

    private static func flag(_ v: JSONValue?, _ operation: String, _ key: String) throws(NodeError) -> Bool {
        guard let v, v != .null else { return false }
        guard case .bool(let b) = v else { throw NodeError(.invalidRequest, "\(operation): \(key) is true or false") }
        return b
    }

    private static func json(_ o: AddressBook.Organization) -> JSONValue {
        ["participant": .string(o.participant), "name": .string(o.name),
         "functions": .object(o.functions.mapValues { .string($0) })]
    }

    // MARK: JSON form

    /// The request as the control socket carries it.
    package var json: JSONValue {
        var o: [String: JSONValue] = ["operation": .string(name)]
        switch self {
        case .grant(let r):
            o["grantee"] = .string(r.grantee.description)
            o["scope"] = .string(r.scope.description)
            o["rights"] = .array(r.rights.sorted().map { .string($0.rawValue) })
            o["reason"] = .string(r.reason)
            if let f = r.validFrom { o["valid_from"] = .string(f.rfc3339) }
            if let u = r.validUntil { o["valid_until"] = .string(u.rfc3339) }
        case .revoke(let id, let reason):
            o["grant"] = .int(Int64(id))
            o["reason"] = .string(reason)
        case .putAddress(let participant, let name, let function, let functionName):
            o["participant"] = .string(participant)
            o["name"] = .string(name)
            if let function { o["function"] = .string(function) }
            if let functionName { o["function_name"] = .string(functionName) }
        case .removeAddress(let participant, let function):
            o["participant"] = .string(participant)
            if let function { o["function"] = .string(function) }
        case .erase(let message, let rule, let reason):
            o["message"] = .string(message)
            o["rule"] = .string(rule)
            o["reason"] = .string(reason)
        case .addParticipant(let a):
            o["participant"] = .string(a.participant)
            o["name"] = .string(a.name)
            o["functions"] = Self.json(a.functions)
            if let c = a.catchAllFunction { o["catch_all_function"] = .string(c) }
            if let i = a.identity { o["o2o_key_pem"] = .string(i.keyPEM); o["o2o_certificate_pem"] = .string(i.certificatesPEM) }
            if let admin = a.administrator { o["administrator"] = .string(admin.description) }
            o["reason"] = .string(a.reason)
        case .updateParticipant(let u):
            o["participant"] = .string(u.participant)
            if let name = u.name { o["name"] = .string(name) }
            if !u.setFunctions.isEmpty { o["set_functions"] = Self.json(u.setFunctions) }
            if !u.removeFunctions.isEmpty { o["remove_functions"] = .array(u.removeFunctions.map { .string($0) }) }
            if let c = u.catchAllFunction { o["catch_all_function"] = .string(c) }
            if u.clearCatchAll { o["clear_catch_all"] = .bool(true) }
            if let i = u.identity { o["o2o_key_pem"] = .string(i.keyPEM); o["o2o_certificate_pem"] = .string(i.certificatesPEM) }
            if u.endOverlap { o["end_overlap"] = .bool(true) }
            o["reason"] = .string(u.reason)
        case .retireParticipant(let participant, let reason):
            o["participant"] = .string(participant)
            o["reason"] = .string(reason)
        case .addRoute(let a):
            o["participant"] = .string(a.participant)
            o["name"] = .string(a.name)
            o["functions"] = Self.json(a.functions)
            o["endpoint"] = .string(a.endpoint)
            o["as4_certificate_base64"] = .string(a.as4Certificate.base64EncodedString())
            o["o2o_certificate_base64"] = .string(a.o2oCertificate.base64EncodedString())
            o["trust"] = .array(a.trust.map { ["role": .string($0.role), "base64": .string($0.data.base64EncodedString())] })
        case .checkpoint, .rotateKey:
            break
        case .createContentKeys(let scope, let replaceLostKey):
            if let scope { o["scope"] = .string(scope) }
            if !replaceLostKey.isEmpty { o["replace_lost_key"] = .array(replaceLostKey.map { .string($0) }) }
        }
        return .object(o)
    }

    /// Parses the JSON form; `node.invalid_request` names what is wrong. Members it does not know
    /// are refused (a misspelt optional member would otherwise be silently ignored).
    package init(json v: JSONValue) throws(NodeError) {
        guard let o = v.objectValue, let operation = o["operation"]?.stringValue else {
            throw NodeError(.invalidRequest, "an administration request is a JSON object with an operation")
        }
        func string(_ key: String) throws(NodeError) -> String {
            guard let s = o[key]?.stringValue else { throw NodeError(.invalidRequest, "\(operation): \(key) (a string) is missing") }
            return s
        }
        func optional(_ key: String) throws(NodeError) -> String? {
            guard let value = o[key], value != .null else { return nil }
            guard let s = value.stringValue else { throw NodeError(.invalidRequest, "\(operation): \(key) must be a string") }
            return s
        }
        func time(_ key: String) throws(NodeError) -> Timestamp? {
            guard let text = try optional(key) else { return nil }
            guard let t = Timestamp(rfc3339: text) else { throw NodeError(.invalidRequest, "\(operation): \(key) is not an RFC 3339 time") }
            return t
        }
        let allowed: Set<String>
        switch operation {
        case "grant":
            allowed = ["grantee", "scope", "rights", "reason", "valid_from", "valid_until"]
            guard let grantee = PrincipalName(try string("grantee")) else {
                throw NodeError(.invalidRequest, "grant: grantee is not a principal name (os:, pnr:, hsa:, sub:, client: or cert:)")
            }
            guard let scope = AccessScope(try string("scope")) else {
                throw NodeError(.invalidRequest, "grant: scope is node, participant:ID or mailbox:FUNCTION@PARTICIPANT")
            }
            guard let list = o["rights"]?.arrayElements, !list.isEmpty,
                  let rights = Optional(Set(list.compactMap { $0.stringValue.flatMap(AccessRight.init(rawValue:)) })), rights.count == list.count else {
                throw NodeError(.invalidRequest, "grant: rights is a list of read, send, manage, audit, operate")
            }
            self = .grant(Grant.Request(grantee: grantee, scope: scope, rights: rights, reason: try string("reason"),
                                        validFrom: try time("valid_from"), validUntil: try time("valid_until")))
        case "revoke":
            allowed = ["grant", "reason"]
            guard let id = o["grant"]?.intValue, id > 0 else { throw NodeError(.invalidRequest, "revoke: grant (a positive integer) is missing") }
            self = .revoke(id: UInt64(id), reason: try string("reason"))
        case "addressbook.put":
            allowed = ["participant", "name", "function", "function_name"]
            self = .putAddress(participant: try string("participant"), name: try string("name"), function: try optional("function"),
                               functionName: try optional("function_name"))
        case "addressbook.remove":
            allowed = ["participant", "function"]
            self = .removeAddress(participant: try string("participant"), function: try optional("function"))
        case "erase":
            allowed = ["message", "rule", "reason"]
            self = .erase(message: try string("message"), rule: try string("rule"), reason: try optional("reason") ?? "")
        case "participant.add":
            allowed = ["participant", "name", "functions", "catch_all_function", "o2o_key_pem", "o2o_certificate_pem", "administrator", "reason"]
            var a = ParticipantAdministration.Addition(participant: try string("participant"), name: try string("name"),
                                                       functions: try Self.functions(o["functions"], operation, "functions"), reason: try string("reason"))
            a.catchAllFunction = try optional("catch_all_function")
            a.identity = try Self.identity(try optional("o2o_key_pem"), try optional("o2o_certificate_pem"), operation)
            if let admin = try optional("administrator") {
                guard let name = PrincipalName(admin) else {
                    throw NodeError(.invalidRequest, "participant.add: administrator is not a principal name (os:, pnr:, hsa:, sub:, client: or cert:)")
                }
                a.administrator = name
            }
            self = .addParticipant(a)
        case "participant.update":
            allowed = ["participant", "name", "set_functions", "remove_functions", "catch_all_function", "clear_catch_all",
                       "o2o_key_pem", "o2o_certificate_pem", "end_overlap", "reason"]
            var u = ParticipantAdministration.Update(participant: try string("participant"), reason: try string("reason"))
            u.name = try optional("name")
            if let f = o["set_functions"], f != .null { u.setFunctions = try Self.functions(f, operation, "set_functions") }
            if let r = o["remove_functions"], r != .null {
                guard case .array(let list) = r, let names = Optional(list.compactMap(\.stringValue)), names.count == list.count else {
                    throw NodeError(.invalidRequest, "participant.update: remove_functions is a list of functions")
                }
                u.removeFunctions = names
            }
            u.catchAllFunction = try optional("catch_all_function")
            u.clearCatchAll = try Self.flag(o["clear_catch_all"], operation, "clear_catch_all")
            u.identity = try Self.identity(try optional("o2o_key_pem"), try optional("o2o_certificate_pem"), operation)
            u.endOverlap = try Self.flag(o["end_overlap"], operation, "end_overlap")
            self = .updateParticipant(u)
        case "route.add":
            allowed = ["participant", "name", "functions", "endpoint", "as4_certificate_base64", "o2o_certificate_base64", "trust"]
            func bytes(_ key: String) throws(NodeError) -> Data {
                guard let d = Data(base64Encoded: try string(key)) else { throw NodeError(.invalidRequest, "route.add: \(key) is not base64") }
                return d
            }
            var a = RouteAdministration.Addition(participant: try string("participant"), name: try string("name"),
                                                 functions: try Self.functions(o["functions"], operation, "functions"), endpoint: try string("endpoint"),
                                                 as4Certificate: try bytes("as4_certificate_base64"), o2oCertificate: try bytes("o2o_certificate_base64"))
            if let t = o["trust"], t != .null {
                guard case .array(let list) = t else { throw NodeError(.invalidRequest, "route.add: trust is a list of {role, base64}") }
                for item in list {
                    guard let m = item.objectValue, Set(m.keys) == ["role", "base64"], let role = m["role"]?.stringValue,
                          let data = m["base64"]?.stringValue.flatMap({ Data(base64Encoded: $0) }) else {
                        throw NodeError(.invalidRequest, "route.add: each of trust is {\"role\": as4|o2o|tls, \"base64\": …}")
                    }
                    a.trust.append(.init(role: role, data: data))
                }
            }
            self = .addRoute(a)
        case "ledger.checkpoint":
            allowed = []
            self = .checkpoint
        case "ledger.rotate-key":
            allowed = []
            self = .rotateKey
        case "content-key.create":
            allowed = ["scope", "replace_lost_key"]
            var replace: [String] = []
            if let r = o["replace_lost_key"], r != .null {
                guard case .array(let list) = r, let names = Optional(list.compactMap(\.stringValue)), names.count == list.count else {
                    throw NodeError(.invalidRequest, "content-key.create: replace_lost_key is a list of participant ids")
                }
                replace = names
            }
            self = .createContentKeys(scope: try optional("scope"), replaceLostKey: replace)
        case "participant.retire":
            allowed = ["participant", "reason"]
            self = .retireParticipant(participant: try string("participant"), reason: try string("reason"))
        default:
            throw NodeError(.invalidRequest, "unknown operation \(operation): grant, revoke, addressbook.put, addressbook.remove, erase, participant.add, participant.update, participant.retire, route.add, content-key.create, ledger.checkpoint or ledger.rotate-key")
        }
        if let extra = o.keys.filter({ $0 != "operation" && !allowed.contains($0) }).sorted().first {
            throw NodeError(.invalidRequest, "\(operation): unknown member \(extra)")
        }
    }
}

/// What an ``AdminOperation`` works on: the ledger (through `access`), the node directory, and —
/// when the node runs — its participants, which participant operations replace.
package struct AdminTarget: Sendable {
    package let access: MessageAccess
    package let directory: String
    package let roster: ParticipantRoster?
    /// The running node's routing table, replaced by `route.add`.
    package var routes: StaticRoutingTable?
    /// Reloads the running node's trust folders (after `route.add` added anchors); a line per
    /// folder that did not load.
    package var reloadTrust: (@Sendable () -> [String])?

    package init(access: MessageAccess, directory: String, participants: ParticipantRoster?) {
        self.access = access
        self.directory = directory
        self.roster = participants
    }

    var participants: ParticipantAdministration { ParticipantAdministration(access: access, directory: directory, roster: roster) }
}
