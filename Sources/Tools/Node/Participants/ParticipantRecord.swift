import Crypto
import Foundation
package import Ledger
package import Projections
import Transport
package import X509

/// A participant as `participant.added` / `participant.updated` record it: what the node serves it
/// with. The ledger's last such event of a participant is its recorded state (none after
/// `participant.retired`); `Schemas/node-events.md` documents the payloads.
package struct ParticipantRecord: Sendable, Equatable {
    package var id: String
    package var name: String
    /// Function → its display name.
    package var functions: [String: String]
    package var catchAllFunction: String?
    /// SHA-256 (hex) of the DER of the participant's current O2O certificate.
    package var o2oFingerprint: String

    package init(_ p: NodeConfig.Participant, o2o: Certificate) {
        id = p.id
        name = p.name
        functions = Dictionary(p.functions.map { ($0.function, $0.name) }, uniquingKeysWith: { _, last in last })
        catchAllFunction = p.catchAllFunction
        o2oFingerprint = Hex.encode(SHA256.hash(data: CertificateFile.der(o2o)))
    }

    init?(_ payload: JSONValue) {
        guard let id = payload["participant"]?.stringValue, let name = payload["name"]?.stringValue,
              let functions = payload["functions"]?.objectValue, let fingerprint = payload["o2o_fingerprint_sha256"]?.stringValue else { return nil }
        self.id = id
        self.name = name
        self.functions = functions.compactMapValues(\.stringValue)
        catchAllFunction = payload["catch_all_function"]?.stringValue
        o2oFingerprint = fingerprint
    }

    /// The members that differ from `other` (`name`, `functions`, `catch_all_function`, `o2o_certificate`).
    package func changes(from other: ParticipantRecord) -> [String] {
        var out: [String] = []
        if name != other.name { out.append("name") }
        if functions != other.functions { out.append("functions") }
        if catchAllFunction != other.catchAllFunction { out.append("catch_all_function") }
        if o2oFingerprint != other.o2oFingerprint { out.append("o2o_certificate") }
        return out
    }

    /// How the change came to be: a participant command, or a difference between `kvitto.json`
    /// and the ledger found at start (a hand edit, or a command cut off between its two steps).
    package enum Source: String, Sendable {
        case command
        case configuration
    }

    /// `participant.added` (no `previous`) or `participant.updated` (naming the members that changed).
    /// `also` names further members that changed without being part of the record (`o2o_previous`).
    package func draft(previous: ParticipantRecord?, reason: String, source: Source, actor: String, also: [String] = []) -> EventDraft {
        var p: [String: JSONValue] = [
            "participant": .string(id), "name": .string(name), "functions": .object(functions.mapValues { .string($0) }),
            "catch_all_function": catchAllFunction.map { .string($0) } ?? .null, "o2o_fingerprint_sha256": .string(o2oFingerprint),
            "reason": .string(reason), "source": .string(source.rawValue),
        ]
        if let previous { p["changed"] = .array((changes(from: previous) + also).map { .string($0) }) }
        return EventDraft(type: previous == nil ? NodeEventType.participantAdded : NodeEventType.participantUpdated,
                          subject: Self.subject(id), actor: actor, payload: .object(p))
    }

    /// `participant.retired`.
    package static func retiredDraft(_ id: String, name: String, reason: String, source: Source, actor: String) -> EventDraft {
        EventDraft(type: NodeEventType.participantRetired, subject: subject(id), actor: actor,
                   payload: ["participant": .string(id), "name": .string(name), "reason": .string(reason), "source": .string(source.rawValue)])
    }

    /// `participant:<id>`.
    package static func subject(_ id: String) -> String { "participant:" + id }

    /// Each participant's recorded state (retired ones absent) as of the durable head.
    package static func recorded(ledger: Ledger, projections: ProjectionEngine) throws(NodeError) -> [String: ParticipantRecord] {
        do {
            _ = try projections.catchUp()
            var out: [String: ParticipantRecord] = [:]
            for seq in try EventIndex.allSeqs(ofTypes: NodeEventType.participantLifecycle, in: projections.storage) {
                guard let e = try ledger.event(seq), let id = e.payload["participant"]?.stringValue else { continue }
                out[id] = e.type == NodeEventType.participantRetired ? nil : ParticipantRecord(e.payload)
            }
            return out
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.storage, "reading the recorded participants: \(error)")
        }
    }

    /// The events that bring the ledger up to date with `members` (the participants configured
    /// now): added, updated and retired, each with `source`.
    package static func drafts(configured members: ParticipantRoster.Members, recorded: [String: ParticipantRecord],
                               reason: String, source: Source, actor: String) -> [EventDraft] {
        var drafts: [EventDraft] = []
        for p in members.participants {
            guard let o2o = members.o2o[p.id] else { continue }
            let now = ParticipantRecord(p, o2o: o2o.certificate)
            let before = recorded[p.id]
            if before == now { continue }
            drafts.append(now.draft(previous: before, reason: reason, source: source, actor: actor))
        }
        let served = Set(members.participants.map(\.id))
        for (id, before) in recorded.sorted(by: { $0.key < $1.key }) where !served.contains(id) {
            drafts.append(retiredDraft(id, name: before.name, reason: reason, source: source, actor: actor))
        }
        return drafts
    }
}

extension ParticipantRecord {
    /// `participant`'s entry in the address book as the projections hold it now.
    package static func currentBook(_ participant: String, projections: ProjectionEngine) throws(NodeError) -> AddressBook {
        do { return try projections.currentNodeState { try $0.addressBook(participants: [participant]) } } catch {
            throw NodeError(.storage, "reading the address book: \(error)")
        }
    }

    /// The address-book events that make `participant`'s entry in `book` show its name and each of
    /// `functions` (added or renamed), without `remove`.
    package static func bookDrafts(_ participant: String, name: String, functions: [NodeConfig.Function], remove: [String] = [],
                                   book: AddressBook, actor: String) -> [EventDraft] {
        let current = book.organization(participant)
        var drafts: [EventDraft] = []
        if current == nil {
            drafts.append(AddressBook.draft(NodeEventType.organizationAdded, participant: participant, name: name, actor: actor))
        } else if current?.name != name {
            drafts.append(AddressBook.draft(NodeEventType.organizationUpdated, participant: participant, name: name, actor: actor))
        }
        for f in functions {
            let existing = current?.functions[f.function]
            if existing == f.name { continue }
            drafts.append(AddressBook.draft(existing == nil ? NodeEventType.functionAdded : NodeEventType.functionUpdated,
                                            participant: participant, function: f.function, name: f.name, actor: actor))
        }
        for f in remove where current?.functions[f] != nil {
            drafts.append(AddressBook.draft(NodeEventType.functionRemoved, participant: participant, function: f, actor: actor))
        }
        return drafts
    }
}

extension Node {
    /// Compares the participants configured now with those the ledger records and appends, in one
    /// step, `participant.added|updated|retired` for each difference (source `configuration`: an
    /// edit of `kvitto.json` by hand, or a participant command cut off between saving the
    /// configuration and recording it). Run at start, before the node sends or receives.
    @discardableResult
    package func recordParticipantChanges() async throws(NodeError) -> [Event] {
        let recorded = try ParticipantRecord.recorded(ledger: ledger, projections: projections)
        let members = keys.participants.current
        var drafts = ParticipantRecord.drafts(configured: members, recorded: recorded,
                                              reason: "found in \(NodeConfig.fileName) at start", source: .configuration, actor: "node")
        guard !drafts.isEmpty else { return [] }
        // A participant added or changed in the file gets its address-book entry too (a command
        // cut off before its append left it out).
        let changed = Set(drafts.compactMap { $0.type == NodeEventType.participantRetired ? nil : $0.payload["participant"]?.stringValue })
        let book = try read { try $0.addressBook(participants: changed) }
        for p in members.participants where changed.contains(p.id) {
            drafts += ParticipantRecord.bookDrafts(p.id, name: p.name, functions: p.functions, book: book, actor: "node")
        }
        let events: [Event]
        do { events = try await ledger.append(drafts) } catch {
            throw NodeError(.storage, "recording the participant changes: \(error)")
        }
        for e in events {
            logger.notice("participant change found in the configuration and recorded", metadata: [
                "participant": .string(e.payload["participant"]?.stringValue ?? ""), "type": .string(e.type), "seq": .stringConvertible(e.seq),
            ])
        }
        return events
    }
}
