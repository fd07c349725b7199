import Foundation
import Hummingbird
import Ledger
import Node
import Projections

/// The mailbox pages: the person's mailboxes, one mailbox's messages with search, a message's
/// details and timeline, its evidence bundle, and audit-first reads of its content.
extension Console {
    /// `/console/` signed in: every mailbox the person's grants show, with their rights.
    func mailboxes(_ visit: Visit) async throws -> Response {
        let l = visit.language
        let policy = try access.policy(for: visit.principal)
        var body = HTML()
        var rows = HTML()
        for p in participants() {
            for f in p.functions {
                let address = FunctionalAddress(participant: p.id, function: f.function)
                guard policy.visibility(of: address) > .none else { continue }
                let rights = policy.rights(on: .mailbox(address)).map(\.rawValue).sorted().joined(separator: ", ")
                rows.raw("<tr><td><a href=\"/console/mailbox\(ConsoleForm.query([("address", address.description)]))\">")
                rows.add(address.description); rows.raw("</a></td><td>"); rows.add(f.name); rows.raw("</td><td>")
                rows.add(p.name); rows.raw("</td><td>"); rows.add(rights); rows.raw("</td></tr>")
            }
        }
        if rows.text.isEmpty {
            body.raw("<p>"); body.add(ConsoleText.noMailboxes.text(l)); body.raw("</p>")
        } else {
            body.raw("<table><thead><tr>")
            for k in [ConsoleText.address, .name, .participant, .rights] { body.raw("<th scope=\"col\">"); body.add(k.text(l)); body.raw("</th>") }
            body.raw("</tr></thead><tbody>"); body.raw(rows.text); body.raw("</tbody></table>")
        }
        body.raw("<p class=\"muted\">"); body.add(ConsoleText.asOf.text(l)); body.raw(" "); body.add(String(policy.seq)); body.raw("</p>")
        return ConsolePage.render(title: ConsoleText.mailboxes.text(l), body: body, visit: visit)
    }

    /// `/console/mailbox?address=&q=&cursor=`: messages newest first, searchable.
    func mailbox(_ request: Request, _ visit: Visit) async throws -> Response {
        let l = visit.language
        let q = Self.query(request)
        let address = try Parameters.address(q["address"] ?? "")
        let search = try Parameters.query(q.text("q"))
        let cursor = try Parameters.cursor(q.text("cursor"))
        let page = try await access.page(address, search: search, after: cursor, limit: 50, as: visit.principal)
        var body = HTML()
        body.raw("<p class=\"code\">"); body.add(address.description); body.raw("</p>")
        body.raw("<form class=\"search\" method=\"get\" action=\"/console/mailbox\" role=\"search\">")
        body.raw("<input type=\"hidden\" name=\"address\" value=\""); body.add(address.description); body.raw("\">")
        body.raw("<div><label for=\"q\">"); body.add(ConsoleText.searchLabel.text(l)); body.raw("</label>")
        body.raw("<input id=\"q\" name=\"q\" type=\"search\" maxlength=\"200\" value=\""); body.add(search ?? ""); body.raw("\"></div>")
        body.raw("<button type=\"submit\" id=\"search\">"); body.add(ConsoleText.search.text(l)); body.raw("</button></form>")
        if page.messages.isEmpty {
            body.raw("<p>"); body.add(ConsoleText.noMessages.text(l)); body.raw("</p>")
        } else {
            body.raw("<table id=\"messages\"><caption class=\"muted\">"); body.add(ConsoleText.messages.text(l)); body.raw("</caption><thead><tr>")
            for k in [ConsoleText.subject, .counterpart, .direction, .status, .created] { body.raw("<th scope=\"col\">"); body.add(k.text(l)); body.raw("</th>") }
            body.raw("</tr></thead><tbody>")
            for v in page.messages {
                let r = v.record
                let counterpart = (r.direction == .inbound ? r.from : r.to)?.description ?? ""
                body.raw("<tr><td><a class=\"message\" href=\"/console/messages/"); body.add(ConsoleForm.encode(r.id)); body.raw("\">")
                body.add(v.label ?? ConsoleText.hidden.text(l)); body.raw("</a>")
                if r.confidential { body.raw(" <span class=\"badge\">"); body.add(ConsoleText.confidential.text(l)); body.raw("</span>") }
                if v.visibility == .full, v.readSeq == nil, r.direction == .inbound {
                    body.raw(" <span class=\"badge\">"); body.add(ConsoleText.unread.text(l)); body.raw("</span>")
                }
                body.raw("</td><td>"); body.add(counterpart)
                body.raw("</td><td>"); body.add((r.direction == .inbound ? ConsoleText.inbound : .outbound).text(l))
                body.raw("</td><td>"); body.add(r.status.rawValue)
                body.raw("</td><td>"); body.add(r.createdAt.rfc3339); body.raw("</td></tr>")
            }
            body.raw("</tbody></table>")
        }
        if let next = page.next {
            body.raw("<p><a rel=\"next\" href=\"/console/mailbox")
            body.add(ConsoleForm.query([("address", address.description), ("q", search), ("cursor", Hex.encode(next))]))
            body.raw("\">"); body.add(ConsoleText.next.text(l)); body.raw("</a></p>")
        }
        return ConsolePage.render(title: ConsoleText.mailbox.text(l), body: body, visit: visit)
    }

    /// `/console/messages/{id}`: details, the timeline (the evidence bundle's events, readable),
    /// the evidence download and, with a read grant, the forms that read content.
    func message(_ rawID: String, _ visit: Visit) async throws -> Response {
        let l = visit.language
        func t(_ k: ConsoleText) -> String { k.text(l) }
        let id = try Parameters.messageID(rawID)
        let v = try await access.message(id, as: visit.principal)
        let events = try await access.trace(id, as: visit.principal)
        let r = v.record
        var body = HTML()
        body.raw("<h2>"); body.add(t(.metadata)); body.raw("</h2><dl>")
        func row(_ k: String, _ value: String?) {
            guard let value else { return }
            body.raw("<dt>"); body.add(k); body.raw("</dt><dd>"); body.add(value); body.raw("</dd>")
        }
        row("Id", r.id)
        row(t(.subject), v.label ?? t(.hidden))
        row(t(.status), r.status.rawValue)
        row(t(.direction), (r.direction == .inbound ? ConsoleText.inbound : .outbound).text(l))
        row(t(.from), r.from?.description)
        row(t(.to), r.to?.description)
        row(t(.participant), r.participant)
        row(t(.created), r.createdAt.rfc3339)
        if v.visibility != .transport { row(t(.reference), v.reference) }
        row("AS4 MessageId", r.as4MessageId)
        if r.isInternal { row(t(.transport), t(.insideNode)) }
        if r.confidential { row(t(.confidential), "✓") }
        if v.visibility != .transport { row(t(.failure), r.failure) }
        body.raw("</dl>")

        body.raw("<h2 id=\"timeline-heading\">"); body.add(t(.timeline)); body.raw("</h2>")
        body.raw("<table id=\"timeline\" aria-labelledby=\"timeline-heading\"><thead><tr>")
        for k in [ConsoleText.seq, .time, .type, .actor, .summary] { body.raw("<th scope=\"col\">"); body.add(t(k)); body.raw("</th>") }
        body.raw("</tr></thead><tbody>")
        for e in events {
            body.raw("<tr><td>"); body.add(String(e.event.seq)); body.raw("</td><td>"); body.add(e.event.time.rfc3339)
            body.raw("</td><td class=\"event-type\">"); body.add(e.event.type); body.raw("</td><td>"); body.add(e.event.actor)
            body.raw("</td><td>"); body.add(MessageTimeline.summary(e.event, payload: e.payload))
            if !e.redacted.isEmpty { body.raw(" <span class=\"muted\">("); body.add(t(.redacted)); body.raw(")</span>") }
            body.raw("</td></tr>")
        }
        body.raw("</tbody></table>")

        let path = "/console/messages/" + ConsoleForm.encode(id)
        body.raw("<h2>"); body.add(t(.evidence)); body.raw("</h2><p>"); body.add(t(.evidenceHelp)); body.raw("</p>")
        body.raw("<p><a id=\"evidence\" href=\"\(path)/evidence\" download>"); body.add(t(.downloadEvidence)); body.raw("</a></p>")
        if v.visibility == .full {
            body.raw("<h2>"); body.add(t(.readContent)); body.raw("</h2>")
            body.raw("<form method=\"post\" action=\"\(path)/content\" class=\"query\">")
            body.raw("<input type=\"hidden\" name=\"csrf\" value=\""); body.add(visit.csrf); body.raw("\">")
            body.raw("<div><label for=\"purpose\">"); body.add(t(.purpose)); body.raw("</label>")
            body.raw("<input id=\"purpose\" name=\"purpose\" maxlength=\"500\" aria-describedby=\"purpose-help\" required></div>")
            if !r.attachments.isEmpty {
                body.raw("<div><label for=\"part\">"); body.add(t(.attachments)); body.raw("</label><select id=\"part\" name=\"part\">")
                body.raw("<option value=\"message\">"); body.add(t(.message)); body.raw("</option>")
                for (i, a) in r.attachments.enumerated() {
                    body.raw("<option value=\"\(i)\">"); body.add(a.fileName); body.raw("</option>")
                }
                body.raw("</select></div>")
            }
            body.raw("<button type=\"submit\" id=\"read\">"); body.add(t(.readContent)); body.raw("</button></form>")
            body.raw("<p id=\"purpose-help\" class=\"muted\">"); body.add(t(.purposeHelp)); body.raw("</p>")
        }
        return ConsolePage.render(title: t(.message) + " " + id, body: body, visit: visit)
    }

    /// The evidence bundle as a download; with content, the reads are recorded first.
    func evidenceDownload(_ rawID: String, content: Bool, purpose: String?, _ visit: Visit) async throws -> Response {
        let id = try Parameters.messageID(rawID)
        let purpose = try Parameters.purpose(purpose)
        if content, purpose == nil { throw NodeError(.invalidRequest, ConsoleText.purposeRequired.text(visit.language)) }
        let stream = try await evidence.bundle(id, EvidenceRequest(content: content, purpose: purpose), as: visit.principal)
        return Self.download(.init(asyncSequence: EvidenceBody.buffers(stream)), type: "application/octet-stream",
                             fileName: "evidence-\(id).json")
    }

    /// `POST /console/messages/{id}/content` (`purpose`, `part` = `message` or an attachment
    /// index): an audit-first read, `message.accessed` durable before the first byte leaves.
    func content(_ rawID: String, _ form: ConsoleForm, _ visit: Visit) async throws -> Response {
        let id = try Parameters.messageID(rawID)
        let part: MessageAccess.Part
        switch form.text("part") ?? "message" {
        case "message": part = .message
        case let n: guard let i = Int(n), i >= 0, i < 10_000 else { throw NodeError(.invalidRequest, "part is message or an attachment number") }
            part = .attachment(i)
        }
        guard let purpose = try Parameters.purpose(form.text("purpose")) else { throw NodeError(.invalidRequest, ConsoleText.purposeRequired.text(visit.language)) }
        let opened = try await access.openContent(id, part: part, purpose: purpose, as: visit.principal)
        var response = Self.download(.init(asyncSequence: ContentStream.buffers(opened)),
                                     type: part == .message ? "application/xml" : "application/octet-stream", fileName: opened.fileName)
        response.headers[.contentLength] = String(opened.size)
        return response
    }
}
