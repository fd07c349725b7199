import Crypto
import Foundation
import Hummingbird
import Ledger
import Node
import NIOCore
import Projections

/// The officers' pages: the access log (``AuditLog``) and audit reports (``AuditReporter``).
extension Console {
    /// The audit query a form names, or nil when it names nothing.
    /// A period alone (`since`, `until`) is the person's own events in it.
    private func auditQuery(_ q: ConsoleForm, ownActor: String? = nil) throws -> AuditLog.Query? {
        let named = ["participant", "mailbox", "actor", "type"].contains { q.text($0) != nil }
        guard named || (ownActor != nil && (q.text("since") != nil || q.text("until") != nil)) else { return nil }
        return try Parameters.auditQuery(participant: q.text("participant"), mailbox: q.text("mailbox"), actor: q.text("actor") ?? (named ? nil : ownActor),
                                         type: q.text("type"), since: try Self.date(q.text("since"), "since"),
                                         until: try Self.date(q.text("until"), "until"))
    }

    static func date(_ text: String?, _ name: String) throws(NodeError) -> Date? {
        guard let text else { return nil }
        let plain = ISO8601DateFormatter(), fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard text.count <= 40, let d = plain.date(from: text) ?? fractional.date(from: text) else {
            throw NodeError(.invalidRequest, "\(name) is not an RFC 3339 time such as 2026-03-01T00:00:00Z")
        }
        return d
    }

    /// The query form of the access log and the reports (`extra`: more fixed markup inside it).
    private func queryForm(action: String, _ q: ConsoleForm, actor: String?, _ l: ConsoleLanguage, button: ConsoleText, extra: String = "") -> HTML {
        var form = HTML()
        form.raw("<form class=\"query\" method=\"get\" action=\"\(action)\">")
        for (name, label, value) in [("actor", ConsoleText.auditActor, q["actor"] ?? actor), ("mailbox", .auditMailbox, q["mailbox"]),
                                     ("type", .auditType, q["type"]), ("since", .since, q["since"]), ("until", .until, q["until"])] {
            form.raw("<div><label for=\"\(name)\">"); form.add(label.text(l)); form.raw("</label>")
            form.raw("<input id=\"\(name)\" name=\"\(name)\" maxlength=\"600\" value=\""); form.add(value ?? ""); form.raw("\"></div>")
        }
        form.raw(extra)
        form.raw("<button type=\"submit\" id=\"show\">"); form.add(button.text(l)); form.raw("</button></form>")
        return form
    }

    /// `/console/audit`: the access log. Without a query, the person's own events.
    func auditLog(_ request: Request, _ visit: Visit) async throws -> Response {
        let l = visit.language
        let q = Self.query(request)
        var query = try auditQuery(q, ownActor: visit.principal.actor.description) ?? AuditLog.Query(actor: visit.principal.actor.description)
        if let c = q.text("cursor") {
            guard let after = UInt64(c) else { throw NodeError(.invalidRequest, "cursor is a next page's position") }
            query.after = after
        }
        query.limit = 100
        let page = try await AuditLog(access: access).events(query, as: visit.principal)
        var body = HTML()
        body.raw("<p>"); body.add(ConsoleText.auditIntro.text(l)); body.raw("</p>")
        body.raw(queryForm(action: "/console/audit", q, actor: visit.principal.actor.description, l, button: .show).text)
        if page.events.isEmpty {
            body.raw("<p>"); body.add(ConsoleText.noEvents.text(l)); body.raw("</p>")
        } else {
            body.raw("<table id=\"audit\"><thead><tr>")
            for k in [ConsoleText.seq, .time, .type, .actor, .message, .summary] { body.raw("<th scope=\"col\">"); body.add(k.text(l)); body.raw("</th>") }
            body.raw("</tr></thead><tbody>")
            for e in page.events {
                body.raw("<tr><td>"); body.add(String(e.event.seq)); body.raw("</td><td>"); body.add(e.event.time.rfc3339)
                body.raw("</td><td class=\"event-type\">"); body.add(e.event.type); body.raw("</td><td>"); body.add(e.event.actor); body.raw("</td><td>")
                if e.event.subject.hasPrefix("message:") {
                    let id = String(e.event.subject.dropFirst("message:".count))
                    body.raw("<a href=\"/console/messages/"); body.add(ConsoleForm.encode(id)); body.raw("\">"); body.add(id); body.raw("</a>")
                } else {
                    body.add(e.event.subject)
                }
                body.raw("</td><td>"); body.add(MessageTimeline.summary(e.event, payload: e.payload)); body.raw("</td></tr>")
            }
            body.raw("</tbody></table>")
        }
        if let next = page.next {
            var fields: [(String, String?)] = ["actor", "mailbox", "type", "since", "until"].map { ($0, q.text($0)) }
            if fields.allSatisfy({ $0.1 == nil }) { fields[0].1 = visit.principal.actor.description }
            body.raw("<p><a rel=\"next\" href=\"/console/audit"); body.add(ConsoleForm.query(fields + [("cursor", String(next))]))
            body.raw("\">"); body.add(ConsoleText.next.text(l)); body.raw("</a></p>")
        }
        body.raw("<p class=\"muted\">"); body.add(ConsoleText.asOf.text(l)); body.raw(" "); body.add(String(page.seq)); body.raw("</p>")
        return ConsolePage.render(title: ConsoleText.audit.text(l), body: body, visit: visit)
    }

    /// `/console/reports`: the form, or with a query the report itself (HTML to print, CSV or JSON).
    func reports(_ request: Request, _ visit: Visit) async throws -> Response {
        let l = visit.language
        let q = Self.query(request)
        guard let query = try auditQuery(q) else {
            var body = HTML()
            body.raw("<p>"); body.add(ConsoleText.reportsIntro.text(l)); body.raw("</p>")
            var extra = HTML()
            extra.raw("<div><label for=\"format\">"); extra.add(ConsoleText.format.text(l)); extra.raw("</label><select id=\"format\" name=\"format\">")
            for f in ["html", "csv", "json"] { extra.raw("<option value=\"\(f)\">\(f.uppercased())</option>") }
            extra.raw("</select></div>")
            body.raw(queryForm(action: "/console/reports", q, actor: nil, l, button: .makeReport, extra: extra.text).text)
            return ConsolePage.render(title: ConsoleText.reports.text(l), body: body, visit: visit)
        }
        let report = try await reporter.report(query, as: visit.principal)
        switch q["format"] ?? "html" {
        case "csv":
            return Self.download(.init(byteBuffer: ByteBuffer(bytes: AuditReportFormat.csv.render(report))), type: "text/csv; charset=utf-8",
                                 fileName: "audit-report-\(report.position).csv")
        case "json":
            return Self.download(.init(byteBuffer: ByteBuffer(bytes: AuditReportFormat.json.render(report))), type: "application/json",
                                 fileName: "audit-report-\(report.position).json")
        case "html":
            let bytes = AuditReportFormat.html.render(report, language: l == .sv ? .sv : .en)
            var response = Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            // The printable report is a document of its own: its one style block is allowed by hash.
            response.headers[.contentSecurityPolicy] = Self.reportPolicy(bytes)
            return response
        default:
            throw NodeError(.invalidRequest, "format is html, csv or json")
        }
    }

    /// The content security policy of a printable report: no script, its inline style block by hash.
    static func reportPolicy(_ html: [UInt8]) -> String {
        let text = String(decoding: html, as: UTF8.self)
        var styles = ""
        if let open = text.range(of: "<style>"), let close = text.range(of: "</style>", range: open.upperBound..<text.endIndex) {
            let digest = SHA256.hash(data: Data(text[open.upperBound..<close.lowerBound].utf8))
            styles = " 'sha256-\(Data(digest).base64EncodedString())'"
        }
        return "default-src 'none'; style-src\(styles.isEmpty ? " 'none'" : styles); img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    }

    /// `/console/address-book?q=`: organisations and functional addresses.
    func addressBook(_ request: Request, _ visit: Visit) async throws -> Response {
        let l = visit.language
        let q = Self.query(request)
        var query = AddressDirectory.Query()
        query.text = try Parameters.query(q.text("q"))
        query.after = try Parameters.bounded(q.text("after"), 1...200, "after")
        query.limit = 100
        let page = try await AddressDirectory(access: access).search(query, as: visit.principal)
        var body = HTML()
        body.raw("<form class=\"search\" method=\"get\" action=\"/console/address-book\" role=\"search\"><div><label for=\"q\">")
        body.add(ConsoleText.search.text(l)); body.raw("</label><input id=\"q\" name=\"q\" type=\"search\" maxlength=\"200\" value=\"")
        body.add(query.text ?? ""); body.raw("\"></div><button type=\"submit\">"); body.add(ConsoleText.search.text(l)); body.raw("</button></form>")
        if page.organizations.isEmpty {
            body.raw("<p>"); body.add(ConsoleText.noOrganizations.text(l)); body.raw("</p>")
        } else {
            body.raw("<table id=\"organizations\"><thead><tr>")
            for k in [ConsoleText.participant, .name, .functions] { body.raw("<th scope=\"col\">"); body.add(k.text(l)); body.raw("</th>") }
            body.raw("</tr></thead><tbody>")
            for o in page.organizations {
                body.raw("<tr><td class=\"code\">"); body.add(o.participant); body.raw("</td><td>"); body.add(o.name); body.raw("</td><td><ul>")
                for (f, name) in o.functions.sorted(by: { $0.key < $1.key }) {
                    body.raw("<li><span class=\"code\">"); body.add(f + "@" + o.participant); body.raw("</span> "); body.add(name); body.raw("</li>")
                }
                body.raw("</ul></td></tr>")
            }
            body.raw("</tbody></table>")
        }
        if let next = page.next {
            body.raw("<p><a rel=\"next\" href=\"/console/address-book"); body.add(ConsoleForm.query([("q", query.text), ("after", next)]))
            body.raw("\">"); body.add(ConsoleText.next.text(l)); body.raw("</a></p>")
        }
        return ConsolePage.render(title: ConsoleText.addressBook.text(l), body: body, visit: visit)
    }
}
