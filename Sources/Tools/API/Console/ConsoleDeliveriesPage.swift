import Foundation
import Hummingbird
import Ledger
import Node
import Projections

/// The operators' page: deliveries waiting for their next attempt (with "retry now", an audited
/// request) and the final failures of the last 30 days (``Deliveries``).
extension Console {
    /// `/console/deliveries`.
    func deliveries(_ request: Request, _ visit: Visit, notice: ConsoleText? = nil) async throws -> Response {
        let l = visit.language
        func t(_ k: ConsoleText) -> String { k.text(l) }
        let answer: Result<Deliveries.Overview, NodeError>
        do { answer = .success(try await Deliveries(access: access).overview(as: visit.principal)) } catch { answer = .failure(error) }
        let overview: Deliveries.Overview
        switch answer {
        case .success(let o): overview = o
        case .failure(let e) where e.code == .forbidden:
            return ConsolePage.message(status: .forbidden, title: .deliveries, text: .needsOperate, visit: visit, language: l)
        case .failure(let e): throw e
        }
        var body = HTML()
        if let notice { body.raw("<p role=\"status\" id=\"notice\">"); body.add(t(notice)); body.raw("</p>") }
        body.raw("<p>"); body.add(t(.deliveriesIntro)); body.raw("</p>")
        body.raw("<h2>"); body.add(t(.deliveriesWaiting)); body.raw("</h2>")
        if overview.pending.isEmpty {
            body.raw("<p>"); body.add(t(.noDeliveries)); body.raw("</p>")
        } else {
            body.raw("<table id=\"pending\"><thead><tr>")
            for k in [ConsoleText.message, .participant, .attempt, .lastError, .nextAttempt, .retryNow] {
                body.raw("<th scope=\"col\">"); body.add(t(k)); body.raw("</th>")
            }
            body.raw("</tr></thead><tbody>")
            for (i, item) in overview.pending.enumerated() {
                let d = item.dispatch
                body.raw("<tr><td><a href=\"/console/messages/"); body.add(ConsoleForm.encode(d.messageId)); body.raw("\">"); body.add(d.messageId)
                body.raw("</a><br><span class=\"code\">"); body.add(d.kind == .receipt ? "Meddelandekvittens" : "AS4"); body.raw(" ")
                body.add(d.as4MessageId); body.raw("</span></td><td>"); body.add(d.participant); body.raw("</td><td>")
                body.add("\(d.attemptsFinished) / \(d.policy.retries + 1)"); body.raw("</td><td>"); body.add(d.lastError ?? "")
                body.raw("</td><td>"); body.add(item.waiting ? d.nextAttemptAt?.rfc3339 ?? "" : "—"); body.raw("</td><td>")
                if item.waiting {
                    body.raw("<form method=\"post\" action=\"/console/deliveries/retry\" class=\"query\">")
                    body.raw("<input type=\"hidden\" name=\"csrf\" value=\""); body.add(visit.csrf); body.raw("\">")
                    body.raw("<input type=\"hidden\" name=\"as4_message_id\" value=\""); body.add(d.as4MessageId); body.raw("\">")
                    body.raw("<div><label for=\"reason-\(i)\">"); body.add(t(.reason)); body.raw("</label>")
                    body.raw("<input id=\"reason-\(i)\" name=\"reason\" maxlength=\"500\" required></div>")
                    body.raw("<button type=\"submit\" class=\"retry\">"); body.add(t(.retryNow)); body.raw("</button></form>")
                }
                body.raw("</td></tr>")
            }
            body.raw("</tbody></table>")
            if overview.pendingCount > overview.pending.count {
                body.raw("<p class=\"muted\">"); body.add("\(overview.pending.count) / \(overview.pendingCount)"); body.raw("</p>")
            }
        }
        body.raw("<p class=\"muted\">"); body.add(t(.retryHelp)); body.raw("</p>")
        body.raw("<h2>"); body.add(t(.deliveriesFailed)); body.raw("</h2>")
        if overview.failures.isEmpty {
            body.raw("<p>"); body.add(t(.noFailures)); body.raw("</p>")
        } else {
            body.raw("<table id=\"failed\"><thead><tr>")
            for k in [ConsoleText.time, .message, .participant, .lastError] { body.raw("<th scope=\"col\">"); body.add(t(k)); body.raw("</th>") }
            body.raw("</tr></thead><tbody>")
            for f in overview.failures {
                let p = f.event.payload
                let id = f.event.subject.hasPrefix("message:") ? String(f.event.subject.dropFirst("message:".count)) : f.event.subject
                body.raw("<tr><td>"); body.add(f.event.time.rfc3339); body.raw("</td><td><a href=\"/console/messages/")
                body.add(ConsoleForm.encode(id)); body.raw("\">"); body.add(id); body.raw("</a></td><td>")
                body.add(p["participant"]?.stringValue ?? ""); body.raw("</td><td>")
                body.add([p["reason"]?["code"]?.stringValue, p["reason"]?["detail"]?.stringValue].compactMap { $0 }.joined(separator: " "))
                body.raw("</td></tr>")
            }
            body.raw("</tbody></table>")
        }
        body.raw("<p class=\"muted\">"); body.add(t(.asOf)); body.raw(" "); body.add(String(overview.seq)); body.raw("</p>")
        return ConsolePage.render(title: t(.deliveries), body: body, visit: visit)
    }

    /// `POST /console/deliveries/retry` (`as4_message_id`, `reason`): records the request, then
    /// shows the page again (303, so a reload does not post twice).
    func retry(_ form: ConsoleForm, _ visit: Visit) async throws -> Response {
        _ = try await Deliveries(access: access).requestRetry(form.text("as4_message_id") ?? "", reason: form.text("reason") ?? "",
                                                             as: visit.principal)
        return Self.redirect("/console/deliveries?done=retry")
    }
}
