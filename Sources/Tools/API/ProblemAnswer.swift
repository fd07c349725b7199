/// The problem answers an operation documents. Each generated `Output` enum conforms to the
/// protocols of the error statuses its operation lists in `Schemas/openapi.yaml` (the enum's
/// cases satisfy the requirements, so the compiler checks that the document lists them), and
/// ``Problem/answer()`` picks the case for a problem's status: a status the operation does not
/// list is answered 503 (the node could not answer), never an undocumented code.
protocol AnswersUnavailable { static func serviceUnavailable(_ r: Components.Responses.Unavailable) -> Self }
protocol AnswersBadRequest { static func badRequest(_ r: Components.Responses.BadRequest) -> Self }
protocol AnswersForbidden { static func forbidden(_ r: Components.Responses.Forbidden) -> Self }
protocol AnswersNotFound { static func notFound(_ r: Components.Responses.NotFound) -> Self }
/// 409 for an `asOf` ahead of the ledger.
protocol AnswersNotReached { static func conflict(_ r: Components.Responses.NotReached) -> Self }
/// 409 for a request colliding with the resource's state.
protocol AnswersConflict { static func conflict(_ r: Components.Responses.Conflict) -> Self }
protocol AnswersGone { static func gone(_ r: Components.Responses.Gone) -> Self }
protocol AnswersTooMany { static func tooManyRequests(_ r: Components.Responses.TooMany) -> Self }
protocol AnswersUnprocessable { static func unprocessableContent(_ r: Components.Responses.Unprocessable) -> Self }

extension Problem {
    /// This problem as the answer of an operation whose output is `Output`.
    func answer<Output: AnswersUnavailable>() -> Output {
        let body = schema
        let answer: Any? = switch status {
        case 400: (Output.self as? any AnswersBadRequest.Type)?.badRequest(.init(body: .applicationProblemJson(body)))
        case 403: (Output.self as? any AnswersForbidden.Type)?.forbidden(.init(body: .applicationProblemJson(body)))
        case 404: (Output.self as? any AnswersNotFound.Type)?.notFound(.init(body: .applicationProblemJson(body)))
        case 409: (Output.self as? any AnswersNotReached.Type)?.conflict(.init(body: .applicationProblemJson(body)))
            ?? (Output.self as? any AnswersConflict.Type)?.conflict(.init(body: .applicationProblemJson(body)))
        case 410: (Output.self as? any AnswersGone.Type)?.gone(.init(body: .applicationProblemJson(body)))
        case 422: (Output.self as? any AnswersUnprocessable.Type)?.unprocessableContent(.init(body: .applicationProblemJson(body)))
        case 429: (Output.self as? any AnswersTooMany.Type)?.tooManyRequests(.init(body: .applicationProblemJson(body)))
        default: nil
        }
        return answer as? Output ?? .serviceUnavailable(.init(body: .applicationProblemJson(body)))
    }
}

extension Operations.ListMessages.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound, AnswersNotReached, AnswersUnprocessable {}
extension Operations.SubmitMessage.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersConflict, AnswersUnprocessable {}
extension Operations.GetMessage.Output: AnswersUnavailable, AnswersBadRequest, AnswersNotFound, AnswersNotReached {}
extension Operations.GetTrace.Output: AnswersUnavailable, AnswersBadRequest, AnswersNotFound, AnswersNotReached {}
extension Operations.GetContent.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound, AnswersGone {}
extension Operations.AuditReport.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound, AnswersUnprocessable {}
extension Operations.GetEvidence.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound, AnswersNotReached {}
extension Operations.GetAttachment.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound, AnswersGone {}
extension Operations.AuditEvents.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound, AnswersNotReached, AnswersUnprocessable {}
extension Operations.ListGrants.Output: AnswersUnavailable, AnswersBadRequest, AnswersNotReached, AnswersUnprocessable {}
extension Operations.CreateGrant.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersUnprocessable {}
extension Operations.SearchAddressBook.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotReached {}
extension Operations.PutOrganization.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersConflict {}
extension Operations.DeleteOrganization.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound, AnswersConflict {}
extension Operations.PutFunction.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound, AnswersConflict {}
extension Operations.DeleteFunction.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound, AnswersConflict {}
extension Operations.RevokeGrant.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound, AnswersConflict {}
extension Operations.StreamEvents.Output: AnswersUnavailable, AnswersBadRequest, AnswersForbidden, AnswersNotFound, AnswersNotReached, AnswersTooMany {}
