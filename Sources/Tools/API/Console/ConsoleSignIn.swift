import Foundation
import Hummingbird
import HTTPTypes
import Identity
import Projections

/// Signing in and out (`Schemas/console.md`, "Signing in"): the authorization code flow with
/// PKCE, `state` and `nonce`, a one-time login id in a cookie, and a server-side session.
extension Console {
    /// `/console/`: the person's mailboxes when signed in, the sign-in page otherwise.
    func home(_ request: Request) async -> Response {
        let language = Self.language(request)
        var response: Response
        if let visit = await visit(request) {
            response = await answer(visit) { try await mailboxes(visit) }
        } else {
            var body = HTML()
            if Self.query(request)["signed_out"] == "1" {
                body.raw("<p role=\"status\" id=\"signed-out\">"); body.add(ConsoleText.signedOut.text(language)); body.raw("</p>")
                if let end = try? await signIn.endpoints().endSession {
                    let url = end + (end.contains("?") ? "&" : "?") + ConsoleForm.query([("client_id", settings.clientId)]).dropFirst()
                    body.raw("<p><a id=\"provider-sign-out\" href=\""); body.add(url); body.raw("\">")
                    body.add(ConsoleText.providerSignOut.text(language)); body.raw("</a></p>")
                }
            }
            body.raw("<p>"); body.add(ConsoleText.signInIntro.text(language)); body.raw("</p>")
            body.raw("<p><a class=\"button\" id=\"sign-in\" href=\"/console/login\">"); body.add(ConsoleText.signIn.text(language)); body.raw("</a></p>")
            response = ConsolePage.render(title: ConsoleText.signIn.text(language), body: body, visit: nil, language: language)
        }
        Self.keepLanguage(request, &response)
        return response
    }

    /// `GET /console/login`: fresh state, nonce and PKCE verifier kept server-side, then the
    /// redirect to the provider.
    func login(_ request: Request) async -> Response {
        let attempt = OIDCSignIn.Attempt.fresh()
        let location: String
        do {
            location = try await signIn.authorizationURL(attempt, redirectURI: settings.redirectURI)
        } catch {
            logger.notice("console sign-in cannot start", metadata: ["code": .string(error.code.rawValue), "detail": .string(error.detail)])
            return signInFailed(Self.language(request))
        }
        let sealed = await sessions.startLogin(attempt)
        var response = Self.redirect(location)
        response.headers.append(HTTPField(name: .setCookie, value: "\(Self.loginCookie)=\(sealed); Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600"))
        return response
    }

    /// `GET /console/callback?code&state`: the login cookie's attempt (used once), `state` equal
    /// to it, the code exchanged with the verifier, the ID token verified with the nonce.
    func callback(_ request: Request) async -> Response {
        let language = Self.language(request)
        let q = Self.query(request)
        guard let sealed = request.cookies[Self.loginCookie]?.value, !sealed.isEmpty,
              let (attempt, loginID) = await sessions.takeLogin(String(sealed)) else {
            logger.notice("console sign-in refused", metadata: ["code": "auth.sign_in_failed", "detail": "no login cookie, or one used or expired"])
            return signInFailed(language)
        }
        guard q["error"] == nil, let code = q["code"], !code.isEmpty, code.utf8.count <= 2048, let state = q["state"],
              TokenVerifier.sameBytes(Array(state.utf8), Array(attempt.state.utf8)) else {
            logger.notice("console sign-in refused", metadata: ["code": "auth.sign_in_failed",
                                                                "detail": .string(q["error"] != nil ? "the provider answered an error" : "no code, or a state that is not the sign-in's")])
            return signInFailed(language)
        }
        let principal: Principal
        do {
            let idToken = try await signIn.exchange(code: code, attempt: attempt, redirectURI: settings.redirectURI)
            principal = try await verifier.verify(idToken: idToken, issuer: settings.issuer, clientID: settings.clientId, nonce: attempt.nonce,
                                                 interface: .console)
        } catch {
            logger.notice("console sign-in refused", metadata: ["code": .string(error.code.rawValue), "detail": .string(error.detail)])
            return signInFailed(language)
        }
        await sessions.markUsed(loginID)
        // A session this browser still had ends: the new sign-in replaces it.
        if let old = request.cookies[Self.sessionCookie]?.value, !old.isEmpty, old.count <= 100 { await sessions.close(String(old)) }
        let session = await sessions.open(principal)
        logger.info("console session opened", metadata: ["actor": .string(principal.actor.description)])
        var response = Self.redirect("/console/")
        response.headers.append(HTTPField(name: .setCookie, value: "\(Self.sessionCookie)=\(session.id); Path=/; Secure; HttpOnly; SameSite=Lax"))
        response.headers.append(HTTPField(name: .setCookie, value: "\(Self.loginCookie)=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"))
        return response
    }

    /// `POST /console/logout` (CSRF-checked): the session ends; the sign-in page then offers the
    /// provider's own sign-out (its `end_session_endpoint`, when it has one).
    func logout(_ visit: Visit) async -> Response {
        await sessions.close(visit.session)
        var response = Self.redirect("/console/?signed_out=1")
        response.headers.append(HTTPField(name: .setCookie, value: "\(Self.sessionCookie)=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"))
        return response
    }

    private func signInFailed(_ language: ConsoleLanguage) -> Response {
        var body = HTML()
        body.raw("<p role=\"alert\">"); body.add(ConsoleText.signInFailed.text(language)); body.raw("</p>")
        body.raw("<p><a href=\"/console/login\">"); body.add(ConsoleText.signIn.text(language)); body.raw("</a></p>")
        return ConsolePage.render(status: .badRequest, title: ConsoleText.signIn.text(language), body: body, visit: nil, language: language)
    }
}
