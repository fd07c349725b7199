/// An event as an appender proposes it; the ledger assigns `seq`, `time`, `prev`, `hash`, `sig`
/// and `key`.
public struct EventDraft: Sendable, Hashable {
    /// Dotted event type from the vocabulary in ``EventType``, e.g. `message.submitted`.
    public var type: String
    /// The version of the payload schema of `type`.
    public var typeVersion: Int64
    /// The stream the event belongs to: `message:<id>`, `mailbox:<address>`, `grant:<id>`…
    public var subject: String
    /// Who caused it: a user identity, a remote access point, or `node`.
    public var actor: String
    /// The typed payload; always a JSON object.
    public var payload: JSONValue

    public init(type: String, typeVersion: Int64 = 1, subject: String, actor: String, payload: JSONValue = [:]) {
        self.type = type
        self.typeVersion = typeVersion
        self.subject = subject
        self.actor = actor
        self.payload = payload
    }

    /// Reads a draft from a JSON object `{"type","subject","actor","payload"[,"type_version"]}`.
    public init(json: JSONValue) throws(LedgerError) {
        guard let o = json.objectValue else {
            throw LedgerError(.invalidDraft, "an event draft must be a JSON object with type, subject, actor and payload")
        }
        let allowed: Set<String> = ["type", "type_version", "subject", "actor", "payload"]
        if let extra = o.keys.first(where: { !allowed.contains($0) }) {
            throw LedgerError(.invalidDraft, "unknown draft member \"\(extra)\"; allowed: type, type_version, subject, actor, payload")
        }
        guard let type = o["type"]?.stringValue, let subject = o["subject"]?.stringValue,
            let actor = o["actor"]?.stringValue
        else {
            throw LedgerError(.invalidDraft, "an event draft needs string members type, subject and actor")
        }
        let version: Int64
        switch o["type_version"] {
        case nil: version = 1
        case .int(let v)?: version = v
        default: throw LedgerError(.invalidDraft, "type_version must be an integer")
        }
        self.init(type: type, typeVersion: version, subject: subject, actor: actor, payload: o["payload"] ?? [:])
    }
}
