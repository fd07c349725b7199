package import Ledger
import Projections

/// A reproducible, randomised history of one node's events, in the payload shapes the node writes
/// (`Schemas/node-events.md`, `Schemas/access.md`): messages in both directions with their AS4
/// attempts, transport receipts, failures and retries, Meddelandekvittens, content reads, grants
/// and revocations, refusals, erasures and address-book changes — interleaved across messages as
/// on a busy node. It feeds the projection tests and `kvitto bench query`.
///
/// Blob references are well-formed but name no stored content: the history exercises the
/// projections, not the blob store. Grants are revoked by id, so the caller reports appended
/// events with ``appended(_:)``.
package struct SyntheticHistory {
    package struct Settings: Sendable {
        /// Our participant, and its functional mailboxes.
        package var participant: String
        package var functions: [String]
        /// How many other organisations messages go to and come from.
        package var counterparts: Int
        package var seed: UInt64
        /// The most messages in progress at once (their events interleave).
        package var inFlight: Int
        /// One person who makes `busyShare` of all reads (an officer's heaviest access log);
        /// nil: every read is by a random person.
        package var busyReader: String?
        package var busyShare = 0.1
        /// Some subjects and references with characters JSON must escape (quotes, backslash,
        /// slash, control characters), and SDK conversation ids and references on messages (for
        /// tests of what is written from them).
        package var awkwardTexts = false

        package init(participant: String, functions: [String], counterparts: Int = 200, seed: UInt64, inFlight: Int = 64) {
            self.participant = participant
            self.functions = functions
            self.counterparts = counterparts
            self.seed = seed
            self.inFlight = inFlight
        }
    }

    package let settings: Settings
    private var random: SeededRandom
    /// Each message in progress: its remaining events, in order.
    private var flights: [[EventDraft]] = []
    /// Messages whose content a person may read (recent ones, bounded).
    private var readable: [(id: String, mailbox: String, blob: BlobRef)] = []
    /// Grants in force that a revocation may end: id, grantee, scope.
    private var grants: [(id: UInt64, grantee: String, scope: String)] = []
    private var serial: UInt64 = 0
    /// Messages started so far.
    package private(set) var messages = 0

    package init(_ settings: Settings) {
        self.settings = settings
        random = SeededRandom(seed: settings.seed)
    }

    /// The address book of the history: our participant, its functions and the counterparts
    /// (append these first).
    package func addressBook() -> [EventDraft] {
        var out = [organization(settings.participant, name: "Kommunen")]
        for f in settings.functions { out.append(function(f, of: settings.participant)) }
        for c in 0..<settings.counterparts {
            let p = counterpart(c)
            out.append(organization(p, name: "\(Self.places[c % Self.places.count]) \(c)"))
            out.append(function("registrator", of: p))
        }
        return out
    }

    /// About `count` more events: new messages, the next step of messages in progress, and now
    /// and then a read, a grant, a revocation, a refusal, an erasure or an address-book change.
    package mutating func next(_ count: Int) -> [EventDraft] {
        var out: [EventDraft] = []
        out.reserveCapacity(count + 8)
        while out.count < count {
            if random.chance(0.06) {
                out.append(sideEvent())
            } else if flights.isEmpty || (flights.count < settings.inFlight && random.chance(0.25)) {
                flights.append(lifecycle())
            } else {
                let i = Int.random(in: 0..<flights.count, using: &random)
                out.append(flights[i].removeFirst())
                if flights[i].isEmpty { flights.swapAt(i, flights.count - 1); flights.removeLast() }
            }
        }
        return out
    }

    /// The remaining events of every message in progress, so nothing is left due or unanswered.
    package mutating func drain() -> [EventDraft] {
        defer { flights = [] }
        return flights.flatMap { $0 }
    }

    /// Learns the seqs of appended grants (revocations name them).
    package mutating func appended(_ events: [Event]) {
        for e in events where e.type == AccessEventType.granted {
            if let grantee = e.payload["grantee"]?.stringValue, let scope = e.payload["scope"]?.stringValue {
                grants.append((e.seq, grantee, scope))
            }
        }
    }

    // MARK: - Messages

    private mutating func lifecycle() -> [EventDraft] {
        messages += 1
        return random.chance(0.5) ? outbound() : inbound()
    }

    private mutating func outbound() -> [EventDraft] {
        let id = uuid(), as4 = uuid() + "@kvitto.example"
        let mailbox = "\(settings.functions.randomElement(using: &random)!)@\(settings.participant)"
        let to = "registrator@\(counterpart(Int.random(in: 0..<settings.counterparts, using: &random)))"
        let subject = "message:" + id
        let content = blob()
        var p: [String: JSONValue] = [
            "participant": .string(settings.participant), "from": .string(mailbox), "to": .string(to), "label": .string(label()),
            "confidential": .bool(random.chance(0.1)), "texts": 1, "sdk_message": BlobField.json(content), "xhe": BlobField.json(blob()),
            "attachments": .array(random.chance(0.3) ? [["file_name": "bilaga.pdf", "content_type": "application/pdf", "blob": BlobField.json(blob())]] : []),
            "dispatch": dispatch(as4, kind: "message", to: to),
        ]
        if random.chance(0.2) { p["submission_id"] = .string(uuid()) }
        if settings.awkwardTexts {
            if random.chance(0.5) { p["conversation_id"] = .string(random.chance(0.5) ? id : uuid()) }
            if random.chance(0.5) { p["reference"] = .string(Self.awkward.randomElement(using: &random)!) }
        }
        let actor = random.chance(0.5) ? "client:arendesystem" : person()
        var out = [EventDraft(type: NodeEventType.submitted, subject: subject, actor: actor, payload: .object(p))]
        var attempt: Int64 = 0
        func step(_ type: String, _ extra: [String: JSONValue]) -> EventDraft {
            var q: [String: JSONValue] = ["participant": .string(settings.participant), "as4_message_id": .string(as4),
                                          "kind": "message", "attempt": .int(attempt)]
            for (k, v) in extra { q[k] = v }
            return EventDraft(type: type, subject: subject, actor: "node", payload: .object(q))
        }
        func retryRequest() -> EventDraft {
            EventDraft(type: NodeEventType.retryRequested, subject: subject, actor: person(), payload: [
                "participant": .string(settings.participant), "as4_message_id": .string(as4), "kind": "message",
                "reason": ["code": "retry_requested", "detail": "Mottagaren är tillbaka"], "interface": "console",
            ])
        }
        let endpoint: JSONValue = .string("https://ap.example/as4")
        while true {
            out.append(step(NodeEventType.dispatched, ["endpoint": endpoint]))
            if random.chance(0.02) {
                // One that comes while the attempt is under way: recorded, and left alone by the fold.
                out.append(retryRequest())
            }
            if attempt < 3, random.chance(0.12) {
                let next: JSONValue = .string(nextAttempt().rfc3339)
                if random.chance(0.3) {
                    out.append(step(NodeEventType.transportErrorReceived, [
                        "reason": ["code": "EBMS:0005", "detail": "DeliveryFailure"], "next_attempt_at": next,
                        "errors": [["code": "EBMS:0005", "short_description": "DeliveryFailure", "detail": "Mottagaren är tillfälligt otillgänglig"]],
                        "response": BlobField.json(blob()),
                    ]))
                } else {
                    out.append(step(NodeEventType.attemptFailed, ["reason": ["code": "transport.unreachable", "detail": "connection refused"],
                                                                  "next_attempt_at": next]))
                }
                if random.chance(0.3) {
                    // An operator's "retry now" while the attempt waits (the fold brings it forward).
                    out.append(retryRequest())
                }
                attempt += 1
                continue
            }
            break
        }
        if random.chance(0.04) {
            out.append(step(NodeEventType.attemptFailed, ["reason": ["code": "EBMS:0004", "detail": "Other"], "next_attempt_at": .null]))
            out.append(step(NodeEventType.deliveryFailed, ["reason": ["code": "EBMS:0004", "detail": "Other"], "attempts": .int(attempt + 1)]))
            return out
        }
        out.append(step(NodeEventType.transportReceiptReceived, ["signal_message_id": .string(uuid() + "@ap.example"), "receipt": BlobField.json(blob())]))
        let status = random.chance(0.9) ? "ACCEPTED" : "REJECTED"
        out.append(EventDraft(type: NodeEventType.receiptReceived, subject: subject, actor: "ap:ap.example", payload: [
            "participant": .string(settings.participant), "as4_message_id": .string(uuid() + "@ap.example"), "receipt_id": .string(uuid()),
            "status": .string(status), "lines": .array(status == "ACCEPTED" ? [] : [["code": "BV", "line_id": "1", "reason_code": "BV", "reason": "Okänd mottagare"]]),
            "receipt": BlobField.json(blob()), "xhe": BlobField.json(blob()), "soap": BlobField.json(blob()),
            "from_party": "ap.example", "original_sender": .string(to), "conversation_id": .string(uuid()),
        ]))
        readable.append((id, mailbox, content))
        return out
    }

    private mutating func inbound() -> [EventDraft] {
        let id = uuid(), as4 = uuid() + "@ap.example"
        let mailbox = "\(settings.functions.randomElement(using: &random)!)@\(settings.participant)"
        let from = "registrator@\(counterpart(Int.random(in: 0..<settings.counterparts, using: &random)))"
        let subject = "message:" + id
        let participant: JSONValue = .string(settings.participant)
        var out = [
            EventDraft(type: NodeEventType.received, subject: subject, actor: "ap:ap.example", payload: [
                "participant": participant, "as4_message_id": .string(as4), "from_party": "ap.example", "original_sender": .string(from),
                "to": .string(mailbox), "conversation_id": .string(uuid()), "xhe": BlobField.json(blob()), "soap": BlobField.json(blob()),
            ]),
            EventDraft(type: NodeEventType.transportReceiptSent, subject: subject, actor: "node",
                       payload: ["participant": participant, "as4_message_id": .string(as4), "receipt": BlobField.json(blob())]),
        ]
        let accepted = random.chance(0.95)
        let content = blob(), receiptAS4 = uuid() + "@kvitto.example"
        var p: [String: JSONValue] = [
            "participant": participant, "receipt_id": .string(uuid()), "status": .string(accepted ? "ACCEPTED" : "REJECTED"),
            "lines": .array(accepted ? [] : [["code": "SIG", "line_id": "1", "reason_code": "SIG", "reason": "Signaturen kunde inte verifieras"]]),
            "receipt": BlobField.json(blob()), "xhe": BlobField.json(blob()), "dispatch": dispatch(receiptAS4, kind: "receipt", to: from),
        ]
        if accepted {
            var c: [String: JSONValue] = ["sdk_message": BlobField.json(content), "attachments": [], "label": .string(label()), "from": .string(from),
                                          "to": .string(mailbox), "confidential": .bool(random.chance(0.1)), "texts": 1]
            if settings.awkwardTexts {
                if random.chance(0.5) { c["conversation_id"] = .string(uuid()) }
                if random.chance(0.5) { c["reference"] = .string(Self.awkward.randomElement(using: &random)!) }
            }
            p["content"] = .object(c)
        }
        out.append(EventDraft(type: NodeEventType.receiptSent, subject: subject, actor: "node", payload: .object(p)))
        let step: [String: JSONValue] = ["participant": participant, "as4_message_id": .string(receiptAS4), "kind": "receipt", "attempt": 0]
        var dispatched = step, delivered = step
        dispatched["endpoint"] = "https://ap.example/as4"
        delivered["signal_message_id"] = .string(uuid() + "@ap.example")
        delivered["receipt"] = BlobField.json(blob())
        out.append(EventDraft(type: NodeEventType.dispatched, subject: subject, actor: "node", payload: .object(dispatched)))
        out.append(EventDraft(type: NodeEventType.transportReceiptReceived, subject: subject, actor: "node", payload: .object(delivered)))
        if accepted { readable.append((id, mailbox, content)) }
        if readable.count > 4096 { readable.removeFirst(1024) }
        return out
    }

    private mutating func dispatch(_ as4: String, kind: String, to: String) -> JSONValue {
        ["as4_message_id": .string(as4), "kind": .string(kind), "endpoint": "https://ap.example/as4",
         "recipient_certificate": BlobField.json(blob()), "soap": BlobField.json(blob()), "attachments": [],
         "signed_references": [], "retry": ["retries": 3, "interval_ms": 60000, "strategy": "constant"]]
    }

    // MARK: - Everything else

    private mutating func sideEvent() -> EventDraft {
        let roll = Int.random(in: 0..<100, using: &random)
        switch roll {
        case 0..<55 where !readable.isEmpty:
            let r = readable.randomElement(using: &random)!
            let actor = if let busy = settings.busyReader, random.chance(settings.busyShare) { busy } else { person() }
            return EventDraft(type: AccessEventType.accessed, subject: "message:" + r.id, actor: actor, payload: [
                "mailbox": .string(r.mailbox), "part": "message", "blob": BlobField.json(r.blob), "interface": "api",
                "purpose": .string("Ärende \(Int.random(in: 1000..<9999, using: &random))"),
            ])
        case 55..<70:
            let scope = "mailbox:\(settings.functions.randomElement(using: &random)!)@\(settings.participant)"
            return Grant.draft(.init(grantee: PrincipalName(person())!, scope: AccessScope(scope)!, rights: [.read],
                                     reason: "Handläggare"), actor: "os:admin")
        case 70..<80 where !grants.isEmpty:
            let g = grants.remove(at: Int.random(in: 0..<grants.count, using: &random))
            return EventDraft(type: AccessEventType.revoked, subject: "principal:" + g.grantee, actor: "os:admin",
                              payload: ["grant": .int(Int64(g.id)), "scope": .string(g.scope), "reason": "Slutat"])
        case 80..<88:
            return EventDraft(type: AccessEventType.denied, subject: "message:" + uuid(), actor: person(), payload: [
                "reason": "not_visible", "resource": "message", "action": "read", "interface": "api", "coalesced": 0,
            ])
        case 88..<94 where !readable.isEmpty:
            let r = readable.remove(at: Int.random(in: 0..<readable.count, using: &random))
            return EventDraft(type: NodeEventType.blobErased, subject: "blob:" + r.blob.sha256.hex, actor: "os:arkivarie", payload: [
                "blob": .string(r.blob.sha256.hex), "size": .int(r.blob.size), "rule": "Gallringsbeslut 2026:14", "reason": "gallring",
            ])
        case 94..<96:
            // An inbound message refused at the AS4 layer (an authenticated peer's bad request).
            let as4 = uuid() + "@ap.example"
            return EventDraft(type: NodeEventType.rejected, subject: "inbound:" + as4, actor: "ap:ap.example", payload: [
                "reason": ["code": "EBMS:0004", "detail": "Other"], "internal_detail": "no route back",
                "as4_message_id": .string(as4), "from_party": "ap.example", "action": "Message",
                "participant": .string(settings.participant), "repeats_before": 0, "coalescing_seconds": 60,
            ])
        case 96..<98:
            let c = counterpart(Int.random(in: 0..<settings.counterparts, using: &random))
            if random.chance(0.5) {
                return EventDraft(type: NodeEventType.functionRemoved, subject: "mailbox:ekonomi@\(c)", actor: "os:admin",
                                  payload: ["participant": .string(c), "function": "ekonomi", "name": "Ekonomi"])
            }
            return EventDraft(type: NodeEventType.organizationUpdated, subject: "organization:" + c, actor: "os:admin",
                              payload: ["participant": .string(c), "name": .string("Kommunförbundet \(c.prefix(12))")])
        default:
            let c = counterpart(Int.random(in: 0..<settings.counterparts, using: &random))
            return function("ekonomi", of: c)
        }
    }

    /// A retry time: fixed by the seed (not the clock), so a seed reproduces every payload.
    private mutating func nextAttempt() -> Timestamp {
        Timestamp(nanoseconds: 1_798_761_600_000_000_000 + Int64(serial) * 1_000_000_000)
    }

    private func organization(_ participant: String, name: String) -> EventDraft {
        EventDraft(type: NodeEventType.organizationAdded, subject: "organization:" + participant, actor: "os:admin",
                   payload: ["participant": .string(participant), "name": .string(name)])
    }

    private func function(_ f: String, of participant: String) -> EventDraft {
        EventDraft(type: NodeEventType.functionAdded, subject: "mailbox:\(f)@\(participant)", actor: "os:admin",
                   payload: ["participant": .string(participant), "function": .string(f), "name": .string(f.capitalized)])
    }

    private func counterpart(_ n: Int) -> String { "0203:org\(n).example.se" }

    private mutating func person() -> String { "pnr:19\(Int.random(in: 40..<99, using: &random))0101\(Int.random(in: 1000..<1100, using: &random))" }

    private mutating func label() -> String {
        let label = (0..<3).map { _ in Self.words.randomElement(using: &random)! }.joined(separator: " ") + " \(Self.places.randomElement(using: &random)!)"
        guard settings.awkwardTexts, random.chance(0.3) else { return label }
        return label + " " + Self.awkward.randomElement(using: &random)!
    }

    /// Texts with characters JSON escapes (``Settings/awkwardTexts``).
    static let awkward = ["Dnr 2026/0143", "\"brådskande\"", "a\\b", "rad ett\nrad två", "flik\there", "klocka\u{07}", "</script>",
                          "\u{1F}enhet", "e\u{301}", "🙂"]

    private mutating func uuid() -> String {
        serial += 1
        let a = random.next(), b = random.next()
        func hex(_ v: UInt64, _ n: Int) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: max(0, n - s.count)) + s.suffix(n)
        }
        return "\(hex(a >> 32, 8))-\(hex(a >> 16 & 0xffff, 4))-4\(hex(a & 0xfff, 3))-\(hex(0x8000 | b >> 48 & 0x3fff, 4))-\(hex(b & 0xffff_ffff_ffff, 12))"
    }

    private mutating func blob() -> BlobRef {
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in stride(from: 0, to: 32, by: 8) {
            withUnsafeBytes(of: random.next()) { for (j, b) in $0.enumerated() { bytes[i + j] = b } }
        }
        return BlobRef(sha256: Digest32(bytes: bytes)!, size: Int64.random(in: 512..<200_000, using: &random))
    }

    static let words = ["Ansökan", "om", "bistånd", "Överklagande", "beslut", "Yttrande", "bygglov", "Remiss", "Begäran",
                        "allmän", "handling", "Orosanmälan", "Faktura", "Tillsyn", "skolskjuts", "färdtjänst", "Vårdnadsutredning"]
    static let places = ["Malmö", "Östergötland", "Göteborg", "Umeå", "Växjö", "Luleå", "Örebro", "Jönköping", "Gävle", "Skåne"]
}
