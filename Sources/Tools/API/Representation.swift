import Foundation
import Ledger
import Node
import OpenAPIRuntime
import Projections

/// Messages and events as the API's schemas, each showing only what the caller's visibility allows.
enum Representation {
    static func date(_ t: Timestamp) -> Date { Date(timeIntervalSince1970: Double(t.nanoseconds) / 1_000_000_000) }

    static func visibility(_ v: AccessPolicy.Visibility) -> Components.Schemas.MessageSummary.VisibilityPayload {
        switch v {
        case .full: .full
        case .audit: .audit
        case .transport, .none: .transport
        }
    }

    static func summary(_ v: MessageAccess.Visible) -> Components.Schemas.MessageSummary {
        let r = v.record
        return .init(id: r.id, direction: r.direction == .inbound ? .inbound : .outbound,
                     status: .init(rawValue: r.status.rawValue) ?? .failed,
                     from: r.from?.description, to: r.to?.description, label: v.label, confidential: r.confidential,
                     createdAt: date(r.createdAt), visibility: visibility(v.visibility), readSeq: v.readSeq.map { Int($0) },
                     conversationId: r.conversation, reference: v.reference)
    }

    static func message(_ v: MessageAccess.Visible) -> Components.Schemas.Message {
        let r = v.record
        // Attachment names are content metadata: shown with read, and to auditors unless the
        // message is confidential; never to the operator.
        let names = v.visibility == .full || (v.visibility == .audit && !r.confidential)
        let attachments = r.attachments.enumerated().map { i, a in
            Components.Schemas.Message.AttachmentsPayloadPayload(
                index: i, fileName: names ? a.fileName : nil, contentType: names ? a.contentType : nil, size: Int(r.contentSize(a.blob)))
        }
        return .init(id: r.id, participant: r.participant, mailbox: r.mailbox?.description,
                     direction: r.direction == .inbound ? .inbound : .outbound,
                     status: .init(rawValue: r.status.rawValue) ?? .failed,
                     from: r.from?.description, to: r.to?.description, label: v.label, confidential: r.confidential,
                     createdAt: date(r.createdAt), visibility: .init(rawValue: visibility(v.visibility).rawValue) ?? .transport,
                     as4MessageId: r.as4MessageId, transport: r.isInternal ? ._internal : .as4, failure: v.visibility == .transport ? nil : r.failure,
                     attachments: attachments, eventSeqs: r.eventSeqs.map { Int($0) }, readSeq: v.readSeq.map { Int($0) },
                     conversationId: r.conversation, reference: v.reference)
    }

    static func event(_ e: VisibleEvent) throws(NodeError) -> Components.Schemas.TraceEvent {
        let object = e.payload.objectValue ?? [:]
        let container: OpenAPIObjectContainer
        do { container = try OpenAPIObjectContainer(unvalidatedValue: object.mapValues(any)) } catch {
            throw NodeError(.storage, "event \(e.event.seq): \(error)")
        }
        return .init(seq: Int(e.event.seq), time: date(e.event.time), _type: e.event.type, subject: e.event.subject,
                     actor: e.event.actor, payload: .init(additionalProperties: container),
                     redacted: e.redacted.isEmpty ? nil : e.redacted)
    }

    /// A JSON value as the runtime's untyped containers take it.
    static func any(_ v: JSONValue) -> (any Sendable)? {
        switch v {
        case .null: nil
        case .bool(let b): b
        case .int(let i): Int(i)
        case .string(let s): s
        case .array(let a): a.map(any)
        case .object(let o): o.mapValues(any)
        }
    }

    static func grant(_ g: Grant) -> Components.Schemas.Grant {
        .init(id: Int(g.id), grantee: g.grantee.description, scope: g.scope.description,
              rights: g.rights.sorted().compactMap { .init(rawValue: $0.rawValue) },
              grantedBy: g.grantedBy, grantedAt: date(g.grantedAt), reason: g.reason,
              validFrom: g.validFrom.map(date), validUntil: g.validUntil.map(date),
              revocation: g.revocation.map { .init(seq: Int($0.seq), by: $0.by, at: date($0.at), reason: $0.reason) })
    }

    static func organization(_ o: AddressBook.Organization) -> Components.Schemas.Organization {
        .init(participant: o.participant, name: o.name, functions: o.functions.sorted { $0.key < $1.key }.map {
            .init(address: FunctionalAddress(participant: o.participant, function: $0.key).description, function: $0.key, name: $0.value)
        })
    }
}
