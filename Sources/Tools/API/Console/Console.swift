import Foundation
import Hummingbird
import HTTPTypes
package import Identity
package import Logging
package import Node
import NIOCore
package import Projections

/// The web console (`Schemas/console.md`): HTML pages under `/console/` on the API's listener,
/// for people signed in with the organisation's OpenID provider. Every page calls the same types
/// as the API (``MessageAccess``, ``AuditLog``, ``AuditReporter``, ``EvidenceProducer``,
/// ``AddressDirectory``), so it obeys the same grants and records the same reads.
package struct Console: Sendable {
    package let settings: NodeConfig.Console
    let access: MessageAccess
    let participants: @Sendable () -> [NodeConfig.Participant]
    let verifier: TokenVerifier
    let signIn: OIDCSignIn
    let sessions: ConsoleSessions
    let evidence: EvidenceProducer
    let reporter: AuditReporter
    let logger: Logger

    static let sessionCookie = "__Host-kvitto-session"
    static let loginCookie = "__Host-kvitto-login"
    static let languageCookie = "kvitto-lang"
    static let fetchSite = HTTPField.Name("Sec-Fetch-Site")!

    /// - Parameters:
    ///   - trust: the entry of `settings.issuer` in `identity.issuers`.
    ///   - clientSecret: the confidential client's secret (`client_secret_file`'s text), or nil.
    ///   - now: seconds since 1970 (sessions' clock).
    package init(settings: NodeConfig.Console, trust: IssuerTrust, clientSecret: String?, access: MessageAccess,
                 participants: @escaping @Sendable () -> [NodeConfig.Participant], verifier: TokenVerifier, evidence: EvidenceProducer,
                 reporter: AuditReporter, logger: Logger, now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.settings = settings
        self.access = access
        self.participants = participants
        self.verifier = verifier
        self.signIn = OIDCSignIn(trust: trust, clientID: settings.clientId, clientSecret: clientSecret)
        self.sessions = ConsoleSessions(sessionSeconds: settings.sessionSeconds, idleSeconds: settings.idleSeconds, now: now)
        self.evidence = evidence
        self.reporter = reporter
        self.logger = logger
    }

    /// Stops the sign-in's HTTP client.
    package func shutdown() async { await signIn.shutdown() }

    /// Who is asking, in which language, with which session.
    struct Visit: Sendable {
        let principal: Principal
        let csrf: String
        let session: String
        let language: ConsoleLanguage
        /// Whether the person holds `operate` on the node (the deliveries page is offered).
        var operates = false
    }

    // MARK: routes

    func register(on router: Hummingbird.Router<APIRequestContext>) {
        let group = router.group("console")
        group.get { request, _ in await self.home(request) }
        group.get("style.css") { _, _ in ConsoleStyle.response() }
        group.get("login") { request, _ in await self.login(request) }
        group.get("callback") { request, _ in await self.callback(request) }
        group.post("logout") { request, _ in await self.posted(request) { form, visit in await self.logout(visit) } }
        group.get("mailbox") { request, _ in await self.page(request) { visit in try await self.mailbox(request, visit) } }
        group.get("messages/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.page(request) { visit in try await self.message(id, visit) }
        }
        group.get("messages/:id/evidence") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.page(request) { visit in try await self.evidenceDownload(id, content: false, purpose: nil, visit) }
        }
        group.post("messages/:id/evidence") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.posted(request) { form, visit in
                await self.answer(visit) { try await self.evidenceDownload(id, content: true, purpose: form.text("purpose"), visit) }
            }
        }
        group.post("messages/:id/content") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.posted(request) { form, visit in
                await self.answer(visit) { try await self.content(id, form, visit) }
            }
        }
        group.get("audit") { request, _ in await self.page(request) { visit in try await self.auditLog(request, visit) } }
        group.get("reports") { request, _ in await self.page(request) { visit in try await self.reports(request, visit) } }
        group.get("deliveries") { request, _ in
            await self.page(request) { visit in
                try await self.deliveries(request, visit, notice: Self.query(request)["done"] == "retry" ? .retryRequested : nil)
            }
        }
        group.post("deliveries/retry") { request, _ in
            await self.posted(request) { form, visit in await self.answer(visit) { try await self.retry(form, visit) } }
        }
        group.get("address-book") { request, _ in await self.page(request) { visit in try await self.addressBook(request, visit) } }
    }

    // MARK: visits

    /// The language of `request`: `?lang=`, else the cookie, else Swedish.
    static func language(_ request: Request) -> ConsoleLanguage {
        if let asked = query(request)["lang"], let l = ConsoleLanguage(rawValue: asked) { return l }
        if let kept = request.cookies[languageCookie]?.value, let l = ConsoleLanguage(rawValue: String(kept)) { return l }
        return .sv
    }

    static func query(_ request: Request) -> ConsoleForm {
        ConsoleForm(Substring(request.uri.query ?? "")) ?? ConsoleForm()
    }

    /// The visit of `request`'s live session, or nil.
    func visit(_ request: Request) async -> Visit? {
        guard let id = request.cookies[Self.sessionCookie]?.value, !id.isEmpty, id.count <= 100,
              let s = await sessions.session(String(id)) else { return nil }
        var visit = Visit(principal: s.principal, csrf: s.csrf, session: String(id), language: Self.language(request))
        visit.operates = (try? access.policy(for: s.principal).rights(on: .node).contains(.operate)) ?? false
        return visit
    }

    /// A GET page: signed in, or sent to the sign-in page. A page another site sent the browser to
    /// (`Sec-Fetch-Site` cross-site or same-site) is not run: the session cookie is `SameSite=Lax`,
    /// so a link elsewhere would otherwise act — record refusals, build bundles — in the person's
    /// name. It goes to the console's start page instead.
    func page(_ request: Request, _ body: @Sendable (Visit) async throws -> Response) async -> Response {
        if let site = request.headers[Self.fetchSite], site != "same-origin", site != "none" {
            logger.notice("console page asked for from another site", metadata: ["path": .string(request.uri.path), "site": .string(site)])
            return Self.redirect("/console/")
        }
        guard let visit = await visit(request) else { return Self.redirect("/console/") }
        var response = await answer(visit) { try await body(visit) }
        Self.keepLanguage(request, &response)
        return response
    }

    /// Runs `body`, answering a refusal or failure as a page.
    func answer(_ visit: Visit, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let error as NodeError {
            return failure(error, visit)
        } catch {
            logger.error("console page failed", metadata: ["error_type": .string("\(type(of: error))")])
            return failure(NodeError(.storage, "unexpected"), visit)
        }
    }

    /// A state-changing request: a POST with the session's CSRF token in its form and, when the
    /// browser names it, our own origin. Anything else is refused (403) and, for a signed-in
    /// person, recorded as `access.denied` (`forged_request`, action `console_csrf`).
    func posted(_ request: Request, _ body: @Sendable (ConsoleForm, Visit) async -> Response) async -> Response {
        var request = request
        let language = Self.language(request)
        let visit = await visit(request)
        var form: ConsoleForm?
        if let buffer = try? await request.collectBody(upTo: 64 * 1024) {
            form = ConsoleForm(Substring(String(buffer: buffer)))
        }
        let origin = request.headers[.origin]
        let originOK = origin == nil || origin.flatMap(NodeConfig.Console.origin) == settings.origin
        let tokenOK = visit.map { v in form?["csrf"].map { TokenVerifier.sameBytes(Array($0.utf8), Array(v.csrf.utf8)) } ?? false } ?? false
        guard let visit, let form, tokenOK, originOK else {
            logger.notice("console form refused", metadata: ["path": .string(request.uri.path), "signed_in": .string(visit == nil ? "no" : "yes"),
                                                             "origin_ok": .string(originOK ? "yes" : "no")])
            if let visit {
                await access.refuse(AccessDenial(reason: .forgedRequest, resource: "console", action: "console_csrf"), visit.principal)
            }
            return ConsolePage.message(status: .forbidden, title: .refused, text: .refusedText, visit: visit, language: language)
        }
        return await body(form, visit)
    }

    // MARK: answers

    func failure(_ error: NodeError, _ visit: Visit) -> Response {
        switch error.code {
        case .notFound, .erased:
            return ConsolePage.message(status: .notFound, title: .notFound, text: .notFoundText, visit: visit, language: visit.language)
        case .forbidden, .unauthenticated:
            var page = HTML()
            page.raw("<p>"); page.add(error.message); page.raw("</p><p class=\"code\">"); page.add(error.code.rawValue); page.raw("</p>")
            return ConsolePage.render(status: .forbidden, title: ConsoleText.refused.text(visit.language), body: page, visit: visit)
        case .invalidRequest, .unprocessable, .positionNotReached, .conflict:
            var page = HTML()
            page.raw("<p role=\"alert\">"); page.add(error.message); page.raw("</p><p class=\"code\">"); page.add(error.code.rawValue); page.raw("</p>")
            return ConsolePage.render(status: error.code == .conflict ? .conflict : .badRequest, title: ConsoleText.badInput.text(visit.language),
                                      body: page, visit: visit)
        default:
            logger.error("console page failed", metadata: ["code": .string(error.code.rawValue), "detail": .string(error.message)])
            return ConsolePage.message(status: .serviceUnavailable, title: .unavailable, text: .unavailableText, visit: visit, language: visit.language)
        }
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// Sets the language cookie when the request chose a language.
    static func keepLanguage(_ request: Request, _ response: inout Response) {
        if let asked = query(request)["lang"], let l = ConsoleLanguage(rawValue: asked) {
            response.headers.append(HTTPField(name: .setCookie, value: "\(languageCookie)=\(l.rawValue); Path=/console; Secure; HttpOnly; SameSite=Lax; Max-Age=31536000"))
        }
    }

    /// A download: `body` streamed as an attachment named `fileName` (as the API names it).
    static func download(_ body: ResponseBody, type: String, fileName: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .contentDisposition: NodeAPI.disposition(String(fileName.prefix(200)))], body: body)
    }
}
