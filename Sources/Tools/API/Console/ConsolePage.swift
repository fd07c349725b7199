import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// The console's page frame: language, landmarks (`header`, `nav`, `main`), a skip link, one
/// `h1`, the signed-in person and the sign-out form (a POST carrying the CSRF token).
enum ConsolePage {
    static func render(status: HTTPResponse.Status = .ok, title: String, body: HTML, visit: Console.Visit?,
                       language: ConsoleLanguage? = nil) -> Response {
        let l = language ?? visit?.language ?? .sv
        func t(_ k: ConsoleText) -> String { HTML.escape(k.text(l)) }
        var page = HTML()
        page.raw("<!DOCTYPE html>\n<html lang=\"\(l.rawValue)\"><head><meta charset=\"utf-8\">")
        page.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
        page.add(title); page.raw(" – Kvitto</title><link rel=\"stylesheet\" href=\"/console/style.css\"></head><body>")
        page.raw("<a class=\"skip\" href=\"#main\">\(t(.skip))</a><header><a class=\"product\" href=\"/console/\">Kvitto</a>")
        if let visit {
            page.raw("<nav aria-label=\"\(t(.product))\"><ul>")
            var links = [("/console/", ConsoleText.navMailboxes), ("/console/audit", .navAudit), ("/console/reports", .navReports),
                         ("/console/address-book", .navAddressBook)]
            if visit.operates { links.append(("/console/deliveries", .navDeliveries)) }
            for (path, key) in links {
                page.raw("<li><a href=\"\(path)\">\(t(key))</a></li>")
            }
            page.raw("</ul></nav><div class=\"who\"><span>\(t(.signedInAs)) <span id=\"who\">")
            page.add(visit.principal.actor.description)
            page.raw("</span></span><form class=\"inline\" method=\"post\" action=\"/console/logout\">")
            page.raw("<input type=\"hidden\" name=\"csrf\" value=\""); page.add(visit.csrf)
            page.raw("\"><button type=\"submit\" id=\"sign-out\">\(t(.signOut))</button></form>")
            page.raw("<a href=\"?lang=\(l == .sv ? "en" : "sv")\" lang=\"\(l == .sv ? "en" : "sv")\">\(t(.language))</a></div>")
        } else {
            page.raw("<div class=\"who\"><a href=\"?lang=\(l == .sv ? "en" : "sv")\" lang=\"\(l == .sv ? "en" : "sv")\">\(t(.language))</a></div>")
        }
        page.raw("</header><main id=\"main\" tabindex=\"-1\"><h1>"); page.add(title); page.raw("</h1>")
        page.raw(body.text)
        page.raw("</main></body></html>\n")
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: page.text)))
    }

    /// A page of one fixed sentence.
    static func message(status: HTTPResponse.Status, title: ConsoleText, text: ConsoleText, visit: Console.Visit?,
                        language: ConsoleLanguage) -> Response {
        var body = HTML()
        body.raw("<p role=\"alert\">"); body.add(text.text(language)); body.raw("</p>")
        return render(status: status, title: title.text(language), body: body, visit: visit, language: language)
    }
}
