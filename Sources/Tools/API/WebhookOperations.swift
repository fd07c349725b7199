import Foundation
import Ledger
import Node
import OpenAPIRuntime
import Projections

/// The webhook operations (`/v1/webhooks…`): thin bindings of ``WebhookAdministration``.
extension NodeAPI {
    private func administration() throws(NodeError) -> WebhookAdministration {
        guard let webhooks else {
            throw NodeError(.webhooksOff, "this node delivers no webhooks (its operator turns them on with api.webhooks)")
        }
        return webhooks
    }

    private static func webhookID(_ n: Int) throws(NodeError) -> UInt64 {
        guard n >= 1 else { throw NodeError(.invalidRequest, "a webhook id is 1 or more") }
        return UInt64(n)
    }

    func listWebhooks(_ input: Operations.ListWebhooks.Input) async throws -> Operations.ListWebhooks.Output {
        do throws(NodeError) {
            let admin = try administration()
            let hooks = try admin.list(by: try caller())
            var out: [Components.Schemas.Webhook] = []
            for w in hooks { out.append(try Self.representation(w, admin)) }
            return .ok(.init(body: .json(.init(webhooks: out))))
        } catch {
            return .serviceUnavailable(.init(body: .applicationProblemJson(Problem(error).schema)))
        }
    }

    func createWebhook(_ input: Operations.CreateWebhook.Input) async throws -> Operations.CreateWebhook.Output {
        do throws(NodeError) {
            guard case .json(let body) = input.body else { throw NodeError(.invalidRequest, "a JSON body is required") }
            let admin = try administration()
            guard (body.mailboxes?.count ?? 0) <= 100, (body.types?.count ?? 0) <= 20 else {
                throw NodeError(.invalidRequest, "at most 100 mailboxes and 20 types")
            }
            var mailboxes: [FunctionalAddress] = []
            for m in body.mailboxes ?? [] { mailboxes.append(try Parameters.address(m)) }
            let request = Webhook.Request(url: body.url, mailboxes: mailboxes, types: (body.types ?? []).map(\.rawValue),
                                          description: body.description ?? "")
            let (w, secret) = try await admin.create(request, by: try caller())
            return .created(.init(body: .json(.init(webhook: try Self.representation(w, admin), secret: secret.text))))
        } catch {
            return Problem(error).answer()
        }
    }

    func getWebhook(_ input: Operations.GetWebhook.Input) async throws -> Operations.GetWebhook.Output {
        do throws(NodeError) {
            let (w, progress) = try await administration().webhook(try Self.webhookID(input.path.webhook), by: try caller())
            return .ok(.init(body: .json(Self.representation(w, progress))))
        } catch {
            return Problem(error).answer()
        }
    }

    func deleteWebhook(_ input: Operations.DeleteWebhook.Input) async throws -> Operations.DeleteWebhook.Output {
        do throws(NodeError) {
            let admin = try administration()
            let w = try await admin.delete(try Self.webhookID(input.path.webhook), by: try caller())
            return .ok(.init(body: .json(try Self.representation(w, admin))))
        } catch {
            return Problem(error).answer()
        }
    }

    func rotateWebhookSecret(_ input: Operations.RotateWebhookSecret.Input) async throws -> Operations.RotateWebhookSecret.Output {
        do throws(NodeError) {
            guard case .json(let body) = input.body else { throw NodeError(.invalidRequest, "a JSON body is required") }
            let admin = try administration()
            let (w, secret) = try await admin.rotateSecret(try Self.webhookID(input.path.webhook),
                                                           overlap: Double(body.overlapSeconds ?? 86_400), by: try caller())
            return .ok(.init(body: .json(.init(webhook: try Self.representation(w, admin), secret: secret.text))))
        } catch {
            return Problem(error).answer()
        }
    }

    func resumeWebhook(_ input: Operations.ResumeWebhook.Input) async throws -> Operations.ResumeWebhook.Output {
        do throws(NodeError) {
            let admin = try administration()
            let w = try await admin.resume(try Self.webhookID(input.path.webhook), by: try caller())
            return .ok(.init(body: .json(try Self.representation(w, admin))))
        } catch {
            return Problem(error).answer()
        }
    }

    /// `w` with where its deliveries stand (read from the store).
    static func representation(_ w: Webhook, _ admin: WebhookAdministration) throws(NodeError) -> Components.Schemas.Webhook {
        let progress: WebhookProgress?
        do { progress = try admin.store.progress(w.id) } catch { throw NodeError(.storage, "reading webhook \(w.id): \(error)") }
        return representation(w, progress)
    }

    static func representation(_ w: Webhook, _ p: WebhookProgress?) -> Components.Schemas.Webhook {
        let state: Components.Schemas.Webhook.StatePayload
        var reason: Components.Schemas.Webhook.DisabledReasonPayload?
        switch w.state {
        case .active: state = .active
        case .disabled(_, let r):
            state = .disabled
            reason = .init(rawValue: r)
        case .deleted: state = .deleted
        }
        let now = Timestamp.now()
        func date(_ seconds: Double?) -> Date? { seconds.map { Date(timeIntervalSince1970: $0) } }
        return .init(id: Int(w.id), owner: w.owner[0].description, url: w.url, mailboxes: w.mailboxes.map(\.description), types: w.types,
                     description: w.description, createdAt: Representation.date(w.createdAt), state: state, disabledReason: reason,
                     secrets: w.signingSecrets(at: now).map { .init(sha256: $0.sha256, validUntil: $0.validUntil.map(Representation.date)) },
                     delivery: p.map { p in
                         .init(position: Int(p.position), delivered: Int(p.delivered), attempts: p.retry.attempts, failingSince: date(p.retry.failingSince),
                               nextAttempt: date(p.retry.nextAttempt), lastError: p.retry.lastError, lastSuccess: date(p.lastSuccess))
                     })
    }
}

extension Operations.ListWebhooks.Output: AnswersUnavailable {}
extension Operations.CreateWebhook.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound, AnswersUnprocessable {}
extension Operations.GetWebhook.Output: AnswersUnavailable, AnswersBadRequest, AnswersNotFound {}
extension Operations.DeleteWebhook.Output: AnswersUnavailable, AnswersBadRequest, AnswersNotFound {}
extension Operations.RotateWebhookSecret.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound {}
extension Operations.ResumeWebhook.Output: AnswersUnavailable, AnswersBadRequest, AnswersNotFound, AnswersConflict {}
