import Node
import OpenAPIRuntime
import Projections

/// The address-book operations of `Schemas/openapi.yaml`, through ``AddressDirectory``.
extension NodeAPI {
    func searchAddressBook(_ input: Operations.SearchAddressBook.Input) async throws -> Operations.SearchAddressBook.Output {
        do throws(NodeError) {
            let q = input.query
            let query = AddressDirectory.Query(text: try Parameters.bounded(q.q, 1...200, "q"), after: try Parameters.bounded(q.cursor, 1...200, "cursor"),
                                               limit: q.limit ?? 100, asOf: try Parameters.asOf(q.asOf))
            let page = try await AddressDirectory(access: access).search(query, as: try caller())
            return .ok(.init(body: .json(.init(organizations: page.organizations.map(Representation.organization), nextCursor: page.next,
                                               asOf: Int(page.seq)))))
        } catch {
            return Problem(error).answer()
        }
    }

    func putOrganization(_ input: Operations.PutOrganization.Input) async throws -> Operations.PutOrganization.Output {
        do throws(NodeError) {
            guard case .json(let body) = input.body else { throw NodeError(.invalidRequest, "a JSON body is required") }
            let (o, outcome) = try await AddressDirectory(access: access).setOrganization(input.path.participant, name: body.name, by: try caller())
            let shown = Representation.organization(o)
            return outcome == .added ? .created(.init(body: .json(shown))) : .ok(.init(body: .json(shown)))
        } catch {
            return Problem(error).answer()
        }
    }

    func deleteOrganization(_ input: Operations.DeleteOrganization.Input) async throws -> Operations.DeleteOrganization.Output {
        do throws(NodeError) {
            try await AddressDirectory(access: access).removeOrganization(input.path.participant, by: try caller())
            return .noContent(.init())
        } catch {
            return Problem(error).answer()
        }
    }

    func putFunction(_ input: Operations.PutFunction.Input) async throws -> Operations.PutFunction.Output {
        do throws(NodeError) {
            guard case .json(let body) = input.body else { throw NodeError(.invalidRequest, "a JSON body is required") }
            let (o, outcome) = try await AddressDirectory(access: access).setFunction(input.path.participant, function: input.path.function,
                                                                                       name: body.name, by: try caller())
            let shown = Representation.organization(o)
            return outcome == .added ? .created(.init(body: .json(shown))) : .ok(.init(body: .json(shown)))
        } catch {
            return Problem(error).answer()
        }
    }

    func deleteFunction(_ input: Operations.DeleteFunction.Input) async throws -> Operations.DeleteFunction.Output {
        do throws(NodeError) {
            let o = try await AddressDirectory(access: access).removeFunction(input.path.participant, function: input.path.function,
                                                                              by: try caller())
            return .ok(.init(body: .json(Representation.organization(o))))
        } catch {
            return Problem(error).answer()
        }
    }
}
