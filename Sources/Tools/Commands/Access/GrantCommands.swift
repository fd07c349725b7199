import ArgumentParser
import Foundation
import Ledger
import Node
import Projections

/// `kvitto grant`: records `access.granted`.
struct GrantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant", abstract: "Grant rights on a mailbox, a participant or the node (recorded as access.granted).",
        discussion: """
            You (os:<user>) need the manage right on the scope or a scope containing it; `kvitto init` grants it \
            on the node to the user who created the node. Schemas/access.md explains names, scopes and rights.
            Example: kvitto grant --node n --grantee pnr:197001011234 --scope mailbox:registrator@0203:a.example.se \
            --rights read,send --reason "Registrator, ärende 2026/14"
            """)

    @OptionGroup var location: NodeLocation
    @Option(help: "Who gets the rights: os:USER, pnr:NUMBER, hsa:HSAID, sub:ISSUER#SUB, client:ISSUER#ID or cert:SHA256.") var grantee: String
    @Option(help: "node, participant:ID or mailbox:FUNCTION@PARTICIPANT.") var scope: String
    @Option(help: "Comma-separated: read, send, manage, audit, operate.") var rights: String
    @Option(help: "Why (recorded).") var reason: String
    @Option(help: "In force from (RFC 3339, e.g. 2027-01-01T00:00:00Z); default: now.") var validFrom: String?
    @Option(help: "In force until (RFC 3339, exclusive); default: until revoked.") var validUntil: String?
    @Flag(help: "Print the grant as JSON.") var json = false

    func run() async throws {
        try await NodeCLI.run {
            guard let name = try GrantsCommand.principalName(grantee), let target = try GrantsCommand.scope(scope) else { return }
            guard let set = AccessRight.parseList(rights) else {
                throw NodeError(.invalidRequest, "--rights \(rights): a comma-separated list of read, send, manage, audit, operate")
            }
            let request = Grant.Request(grantee: name, scope: target, rights: set, reason: reason,
                                        validFrom: try GrantsCommand.time(validFrom, "--valid-from"),
                                        validUntil: try GrantsCommand.time(validUntil, "--valid-until"))
            let outcome = try await NodeAdmin.perform(.grant(request), node: location.node)
            print(json ? String(decoding: CanonicalJSON.encode(outcome.result), as: UTF8.self) : outcome.text)
        }
    }
}

/// `kvitto revoke`: records `access.revoked`.
struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a grant (recorded as access.revoked); it stops counting from that event on.")

    @OptionGroup var location: NodeLocation
    @Argument(help: "The grant's id (the seq of its access.granted event; see `kvitto grants`).") var grant: UInt64
    @Option(help: "Why (recorded).") var reason: String

    func run() async throws {
        try await NodeCLI.run {
            print(try await NodeAdmin.perform(.revoke(id: grant, reason: reason), node: location.node).text)
        }
    }
}

/// `kvitto grants`: the grants the caller may see, now or at a past position.
struct GrantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grants", abstract: "List grants (yours, and those of scopes you manage or audit), now or as of a past position.",
        discussion: "Who could read a mailbox on 1 March: kvitto grants --node n --scope mailbox:socialtjansten@0203:a.example.se --right read --at 2027-03-01T23:59:59Z")

    @OptionGroup var location: NodeLocation
    @Option(help: "Only grants to this principal name.") var grantee: String?
    @Option(help: "Only grants that apply to this scope or lie inside it.") var scope: String?
    @Option(help: "Only grants carrying this right.") var right: String?
    @Option(help: "As of this ledger seq: only grants in force then.") var asOf: UInt64?
    @Option(help: "As of this time (RFC 3339): the last ledger position at or before it.") var at: String?
    @Flag(help: "One JSON object per grant.") var json = false

    func run() async throws {
        try await NodeCLI.run {
            if asOf != nil && at != nil { throw NodeError(.invalidRequest, "give --as-of or --at, not both") }
            let name: PrincipalName? = try grantee.flatMap(Self.principalName)
            let target: AccessScope? = try scope.flatMap(Self.scope)
            let r: AccessRight? = try right.flatMap(Self.right)
            let reader = try NodeReader.open(node: location.node, needsWriting: false)
            defer { reader.close() }
            let position = try Self.position(asOf: asOf, at: at, ledger: reader.access.ledger)
            let moment = try Self.time(at, "--at")
            let grants = try GrantAdministration(access: reader.access).grants(grantee: name, concerning: target, right: r,
                                                                               asOf: position, at: moment, by: reader.principal)
            for g in grants {
                let text: String = json ? String(decoding: CanonicalJSON.encode(g.json), as: UTF8.self) : "\(g.id)  " + Self.line(g)
                print(text)
            }
        }
    }

    static func principalName(_ g: String) throws -> PrincipalName? {
        guard let n = PrincipalName(g) else {
            throw NodeError(.invalidRequest, "\(g) is not a principal name (os:, pnr:, hsa:, sub:, client: or cert:; see Schemas/access.md)")
        }
        return n
    }

    static func scope(_ s: String) throws -> AccessScope? {
        guard let t = AccessScope(s) else { throw NodeError(.invalidRequest, "scope \(s): write node, participant:ID or mailbox:FUNCTION@PARTICIPANT") }
        return t
    }

    static func right(_ s: String) throws -> AccessRight? {
        guard let r = AccessRight(rawValue: s) else { throw NodeError(.invalidRequest, "right \(s): read, send, manage, audit or operate") }
        return r
    }

    /// The seq `--as-of` names, or the last one at or before `--at`.
    static func position(asOf: UInt64?, at: String?, ledger: Ledger) throws -> UInt64? {
        guard let at else { return asOf }
        guard let t = try time(at, "--at") else { return asOf }
        let seq = try LedgerPosition.seq(atOrBefore: t, in: ledger)
        FileHandleOutput.stderr("kvitto: as of seq \(seq), the last event at or before \(t.rfc3339)\n")
        return seq
    }

    static func line(_ g: Grant) -> String { AdminOperation.line(g) }

    static func time(_ text: String?, _ option: String) throws(NodeError) -> Timestamp? {
        guard let text else { return nil }
        guard let t = Timestamp(rfc3339: text) else { throw NodeError(.invalidRequest, "\(option) \(text) is not an RFC 3339 time, e.g. 2027-03-01T00:00:00Z") }
        return t
    }
}
