import Foundation
import HTTPTypes
import Identity
import Ledger
import Node
import OpenAPIRuntime
import Projections

/// The operations of `Schemas/openapi.yaml` (the generated `APIProtocol`), each a projection of the
/// ledger read through ``MessageAccess`` under the caller's grants.
struct NodeAPI: APIProtocol {
    /// Every read goes through it (grants, audit-first content, recorded refusals).
    let access: MessageAccess
    /// The node's participants and their functional mailboxes, now.
    let participants: @Sendable () -> [NodeConfig.Participant]
    /// Submissions on callers' behalf (absent on a read-only API).
    let submission: MessageSubmission?
    /// The events the streams publish (absent: `GET /v1/events` answers 503).
    var feed: EventFeed? = nil
    /// Bounds on open event streams.
    var streams = StreamSlots()
    /// Webhook subscriptions (absent: the webhook operations answer 503).
    var webhooks: WebhookAdministration? = nil
    /// This process's commit statistics, for the metrics.
    let statistics: @Sendable () -> (appends: Int, events: Int, waitSeconds: Double)
    /// The configured certificates' expiries, for the metrics.
    let certificates: @Sendable () -> [CertificateExpiry]
    /// Evidence bundles (this process holds the ledger, so it writes the checkpoints they need).
    let evidence: EvidenceProducer
    /// Audit reports (likewise).
    let reporter: AuditReporter

    /// The caller; ``BearerAuthentication`` has set it for every operation but the health checks.
    func caller() throws(NodeError) -> Principal {
        guard let p = CurrentCaller.principal else { throw NodeError(.unauthenticated, "no authenticated caller") }
        return p
    }

    // MARK: health

    func getLive(_ input: Operations.GetLive.Input) async throws -> Operations.GetLive.Output {
        .ok(.init(body: .json(.init(status: .live))))
    }

    func getReady(_ input: Operations.GetReady.Input) async throws -> Operations.GetReady.Output {
        do {
            let head = try access.ledger.durableHead()
            let ready = try access.projections.status().allSatisfy { $0.appliedSeq >= head }
            // No positions: without a token, the ledger head would show every participant's traffic
            // (the metrics, for the operator, have the lag per projection).
            let body = Components.Schemas.Health(status: ready ? .ready : .catchingUp)
            return ready ? .ok(.init(body: .json(body))) : .serviceUnavailable(.init(body: .json(body)))
        } catch {
            return .serviceUnavailable(.init(body: .json(.init(status: .catchingUp))))
        }
    }

    func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        do throws(NodeError) {
            let principal = try caller()
            let policy = try access.policy(for: principal)
            guard policy.rights(on: .node).contains(.operate) else {
                await access.refuse(AccessDenial(reason: .notVisible, resource: "node:metrics", action: "metrics"), principal)
                throw NodeError(.forbidden, "the metrics need the operate right on the node; the refusal was recorded")
            }
            let text: String
            let metrics = NodeMetrics(access: access, statistics: statistics, certificates: certificates, openStreams: feed == nil ? nil : streams.count)
            do { text = try metrics.render() } catch {
                throw NodeError(.storage, "metrics: \(error)")
            }
            return .ok(.init(body: .plainText(HTTPBody(text))))
        } catch {
            let p = Problem(error)
            return p.status == 403 ? .forbidden(.init(body: .applicationProblemJson(p.schema)))
                : .serviceUnavailable(.init(body: .applicationProblemJson(p.schema)))
        }
    }

    // MARK: identity

    func getWhoami(_ input: Operations.GetWhoami.Input) async throws -> Operations.GetWhoami.Output {
        do {
            let p = try caller()
            let strong = participants().map(\.id).filter { p.assurance.isStrong(for: $0) }
            return .ok(.init(body: .json(.init(actor: p.actor, names: p.names.map(\.description), strongFor: strong))))
        } catch {
            return .unauthorized(.init(body: .applicationProblemJson(Problem(status: 401, code: "auth.missing_token", detail: "").schema)))
        }
    }

    // MARK: mailboxes

    func listMailboxes(_ input: Operations.ListMailboxes.Input) async throws -> Operations.ListMailboxes.Output {
        do throws(NodeError) {
            let policy = try access.policy(for: try caller())
            var out: [Components.Schemas.Mailbox] = []
            for p in participants() {
                for f in p.functions {
                    let address = FunctionalAddress(participant: p.id, function: f.function)
                    guard policy.visibility(of: address) > .none else { continue }
                    let rights = policy.rights(on: .mailbox(address)).map(\.rawValue).sorted()
                        .compactMap(Components.Schemas.Mailbox.RightsPayloadPayload.init(rawValue:))
                    out.append(.init(address: address.description, participant: p.id, name: f.name, rights: rights))
                }
            }
            return .ok(.init(body: .json(.init(mailboxes: out, ledgerSeq: Int(policy.seq)))))
        } catch {
            return .serviceUnavailable(.init(body: .applicationProblemJson(Problem(error).schema)))
        }
    }

    func listMessages(_ input: Operations.ListMessages.Input) async throws -> Operations.ListMessages.Output {
        do throws(NodeError) {
            let listing = MailboxListing(address: input.path.address, q: input.query.q, conversation: input.query.conversation,
                                         cursor: input.query.cursor, limit: input.query.limit, asOf: input.query.asOf)
            let page = try await listing.page(access, as: try caller())
            return .ok(.init(body: .json(.init(messages: page.messages.map(Representation.summary), nextCursor: page.next.map(Hex.encode)))))
        } catch {
            return Problem(error).answer()
        }
    }

    // MARK: messages

    func submitMessage(_ input: Operations.SubmitMessage.Input) async throws -> Operations.SubmitMessage.Output {
        do throws(NodeError) {
            let principal = try caller()
            guard let submission else { throw NodeError(.storage, "this API does not take submissions") }
            if let key = input.headers.idempotencyKey, !(1...200).contains(key.count) {
                throw NodeError(.invalidRequest, "Idempotency-Key must be 1–200 characters")
            }
            let body = try await SubmissionBody.read(input.body)
            let m = OutboundMessage(from: try Parameters.address(body.from), to: try Parameters.address(body.to), label: body.label,
                                    texts: body.texts, attachments: body.attachments, confidential: body.confidential,
                                    reference: body.reference,
                                    conversation: try body.conversationID.map { c throws(NodeError) in try Parameters.messageID(c) })
            let (id, replayed) = try await submission.submit(m, idempotencyKey: input.headers.idempotencyKey, as: principal)
            let answer = Components.Schemas.Submitted(id: id, status: .submitted)
            return replayed ? .ok(.init(body: .json(answer))) : .created(.init(body: .json(answer)))
        } catch {
            return Problem(error).answer()
        }
    }

    func getMessage(_ input: Operations.GetMessage.Input) async throws -> Operations.GetMessage.Output {
        do throws(NodeError) {
            let v = try await access.message(try Parameters.messageID(input.path.id), asOf: try Parameters.asOf(input.query.asOf), as: try caller())
            return .ok(.init(body: .json(Representation.message(v))))
        } catch {
            return Problem(error).answer()
        }
    }

    func getTrace(_ input: Operations.GetTrace.Input) async throws -> Operations.GetTrace.Output {
        do throws(NodeError) {
            let events = try await access.trace(try Parameters.messageID(input.path.id), asOf: try Parameters.asOf(input.query.asOf), as: try caller())
            var shown: [Components.Schemas.TraceEvent] = []
            for e in events { shown.append(try Representation.event(e)) }
            return .ok(.init(body: .json(.init(message: input.path.id, events: shown))))
        } catch {
            return Problem(error).answer()
        }
    }

    func getContent(_ input: Operations.GetContent.Input) async throws -> Operations.GetContent.Output {
        do throws(NodeError) {
            let c = try await access.openContent(try Parameters.messageID(input.path.id), part: .message,
                                                 purpose: try Parameters.purpose(input.query.purpose), as: try caller())
            return .ok(.init(headers: .init(contentDisposition: Self.disposition(c.fileName), kvittoAccessSeq: Int(c.accessSeq)),
                             body: .xml(ContentStream.body(c))))
        } catch {
            return Problem(error).answer()
        }
    }

    func getEvidence(_ input: Operations.GetEvidence.Input) async throws -> Operations.GetEvidence.Output {
        do throws(NodeError) {
            let id = try Parameters.messageID(input.path.id)
            let witnesses = try (input.query.witness ?? []).map { w throws(NodeError) in
                guard w >= 1 else { throw NodeError(.invalidRequest, "witness is the seq of a checkpoint you kept, 1 or more") }
                return UInt64(w)
            }
            guard witnesses.count <= 20 else { throw NodeError(.invalidRequest, "at most 20 witnesses") }
            let request = EvidenceRequest(content: input.query.content ?? false, purpose: try Parameters.purpose(input.query.purpose),
                                          witnesses: witnesses)
            let stream = try await evidence.bundle(id, request, as: try caller())
            return .ok(.init(headers: .init(contentDisposition: Self.disposition("evidence-\(id).json")),
                             body: .binary(EvidenceBody.body(stream))))
        } catch {
            return Problem(error).answer()
        }
    }

    func getAttachment(_ input: Operations.GetAttachment.Input) async throws -> Operations.GetAttachment.Output {
        do throws(NodeError) {
            let id = try Parameters.messageID(input.path.id), index = try Parameters.index(input.path.index)
            // One byte range is honoured; any other Range header is ignored (RFC 9110 allows it).
            let range = try Parameters.bounded(input.headers.range, 0...200, "Range").flatMap(ByteRangeRequest.init(header:))
            let principal = try caller()
            let c: MessageAccess.OpenedContent
            do {
                c = try await access.openContent(id, part: .attachment(index), purpose: try Parameters.purpose(input.query.purpose),
                                                 range: range, as: principal)
            } catch where error.code == .rangeNotSatisfiable {
                // Only a reader gets here: the size is the metadata it may see.
                let record = try await access.message(id, as: principal).record
                guard record.attachments.indices.contains(index) else { throw NodeError(.notFound, "message \(id) has no attachment \(index)") }
                let size = record.contentSize(record.attachments[index].blob)
                return .rangeNotSatisfiable(.init(headers: .init(contentRange: "bytes */\(size)"),
                                                  body: .applicationProblemJson(Problem(error).schema)))
            }
            let disposition = Self.disposition(c.fileName)
            if let r = c.range {
                return .partialContent(.init(headers: .init(contentDisposition: disposition, kvittoAccessSeq: Int(c.accessSeq),
                                                            contentRange: "bytes \(r.lowerBound)-\(r.upperBound)/\(c.size)"),
                                             body: .binary(ContentStream.body(c))))
            }
            return .ok(.init(headers: .init(contentDisposition: disposition, kvittoAccessSeq: Int(c.accessSeq), acceptRanges: "bytes"),
                             body: .binary(ContentStream.body(c))))
        } catch {
            return Problem(error).answer()
        }
    }

    // MARK: audit

    func auditReport(_ input: Operations.AuditReport.Input) async throws -> Operations.AuditReport.Output {
        do throws(NodeError) {
            let q = input.query
            if let c = q.checkpoint, c < 1 { throw NodeError(.invalidRequest, "checkpoint is the seq of a checkpoint event") }
            let query = try Parameters.auditQuery(participant: q.participant, mailbox: q.mailbox, actor: q.actor, type: q._type,
                                                  since: q.since, until: q.until)
            let report = try await reporter.report(query, checkpoint: q.checkpoint.map(UInt64.init), as: try caller())
            let language = AuditReportFormat.Language(rawValue: q.lang?.rawValue ?? "sv") ?? .sv
            switch q.format ?? .json {
            case .json:
                let bytes = AuditReportFormat.json.render(report)
                guard let object = try? JSONDecoder().decode(Operations.AuditReport.Output.Ok.Body.JsonPayload.self, from: Data(bytes)) else {
                    throw NodeError(.storage, "the report could not be encoded")
                }
                return .ok(.init(body: .json(object)))
            case .csv: return .ok(.init(body: .csv(HTTPBody(AuditReportFormat.csv.render(report)))))
            case .html: return .ok(.init(body: .html(HTTPBody(AuditReportFormat.html.render(report, language: language)))))
            }
        } catch {
            return Problem(error).answer()
        }
    }

    func auditEvents(_ input: Operations.AuditEvents.Input) async throws -> Operations.AuditEvents.Output {
        do throws(NodeError) {
            let q = input.query
            if let limit = q.limit, !(1...1000).contains(limit) { throw NodeError(.invalidRequest, "limit must be 1–1000") }
            if let cursor = q.cursor, cursor < 0 { throw NodeError(.invalidRequest, "cursor must be a next_cursor") }
            var query = try Parameters.auditQuery(participant: q.participant, mailbox: q.mailbox, actor: q.actor, type: q._type,
                                                  since: q.since, until: q.until)
            query.after = UInt64(max(0, q.cursor ?? 0))
            query.limit = q.limit ?? 100
            query.asOf = try Parameters.asOf(q.asOf)
            let page = try await AuditLog(access: access).events(query, as: try caller())
            var shown: [Components.Schemas.TraceEvent] = []
            for e in page.events { shown.append(try Representation.event(e)) }
            return .ok(.init(body: .json(.init(events: shown, nextCursor: page.next.map { Int($0) }, asOf: Int(page.seq)))))
        } catch {
            return Problem(error).answer()
        }
    }

    // MARK: grants

    func listGrants(_ input: Operations.ListGrants.Input) async throws -> Operations.ListGrants.Output {
        do throws(NodeError) {
            let q = input.query
            guard q.asOf == nil || q.at == nil else { throw NodeError(.unprocessable, "give asOf or at, not both") }
            var position = try Parameters.asOf(q.asOf)
            if let at = q.at { position = try LedgerPosition.seq(atOrBefore: Parameters.moment(at), in: access.ledger) }
            let grants = try GrantAdministration(access: access).grants(
                grantee: try q.grantee.map(Parameters.principalName), concerning: try q.scope.map(Parameters.scope),
                right: q.right.flatMap { AccessRight(rawValue: $0.rawValue) }, asOf: position, at: q.at.map(Parameters.moment),
                by: try caller())
            return .ok(.init(body: .json(.init(grants: grants.map(Representation.grant), asOf: position.map { Int($0) }))))
        } catch {
            return Problem(error).answer()
        }
    }

    func createGrant(_ input: Operations.CreateGrant.Input) async throws -> Operations.CreateGrant.Output {
        do throws(NodeError) {
            guard case .json(let body) = input.body else { throw NodeError(.invalidRequest, "a JSON body is required") }
            let rights = Set(body.rights.compactMap { AccessRight(rawValue: $0.rawValue) })
            guard (1...5).contains(body.rights.count), rights.count == body.rights.count else {
                throw NodeError(.invalidRequest, "rights must list 1–5 different rights")
            }
            let request = Grant.Request(grantee: try Parameters.principalName(body.grantee), scope: try Parameters.scope(body.scope),
                                        rights: rights, reason: try Parameters.reason(body.reason),
                                        validFrom: try body.validFrom.map { d throws(NodeError) in try Parameters.timestamp(d, "valid_from") },
                                        validUntil: try body.validUntil.map { d throws(NodeError) in try Parameters.timestamp(d, "valid_until") })
            let g = try await GrantAdministration(access: access).grant(request, by: try caller())
            return .created(.init(body: .json(Representation.grant(g))))
        } catch {
            return Problem(error).answer()
        }
    }

    func revokeGrant(_ input: Operations.RevokeGrant.Input) async throws -> Operations.RevokeGrant.Output {
        do throws(NodeError) {
            guard case .json(let body) = input.body else { throw NodeError(.invalidRequest, "a JSON body is required") }
            guard input.path.grant >= 1 else { throw NodeError(.invalidRequest, "a grant id is 1 or more") }
            let g = try await GrantAdministration(access: access).revoke(UInt64(input.path.grant), reason: try Parameters.reason(body.reason),
                                                                         by: try caller())
            return .ok(.init(body: .json(Representation.grant(g))))
        } catch {
            return Problem(error).answer()
        }
    }

    /// `attachment; filename*=UTF-8''…` (RFC 6266 / 8187), with an ASCII fallback name.
    static func disposition(_ name: String) -> String {
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? Character($0) : "_" })
        // Every byte outside the unreserved ASCII set (CharacterSet.alphanumerics would let
        // non-ASCII letters through, and a header value is ASCII).
        let encoded = FormEncoding.encode(name)
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}
