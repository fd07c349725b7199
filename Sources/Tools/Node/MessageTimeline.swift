package import Ledger
package import Projections

/// A readable history of one message, from one or more ledgers (e.g. the sender's and the
/// recipient's), merged by time.
package enum MessageTimeline {
    package struct Entry: Sendable {
        package var node: String
        package var event: Event
        /// The payload as the reader may see it (``VisibleEvent``); the event's own by default.
        package var payload: JSONValue

        package init(node: String, event: Event, payload: JSONValue? = nil) {
            self.node = node
            self.event = event
            self.payload = payload ?? event.payload
        }
    }

    /// The events of message `id` in the nodes' ledgers (label, projections), merged by event time.
    package static func entries(message id: String, from ledgers: [(label: String, projections: ProjectionEngine)]) throws -> [Entry] {
        var out: [Entry] = []
        for (label, projections) in ledgers {
            let seqs = try projections.currentNodeState { try $0.message(id)?.eventSeqs ?? [] }
            for seq in seqs {
                if let e = try projections.ledger.event(seq) { out.append(Entry(node: label, event: e)) }
            }
        }
        return out.sorted { ($0.event.time, $0.node, $0.event.seq) < ($1.event.time, $1.node, $1.event.seq) }
    }

    /// One line per event: time, node, seq, type and what it says.
    package static func render(_ entries: [Entry]) -> String {
        let width = entries.map(\.node.count).max() ?? 0
        return entries.map { e in
            let node = e.node.padding(toLength: width, withPad: " ", startingAt: 0)
            let type = e.event.type.padding(toLength: 27, withPad: " ", startingAt: 0)
            let seq = "#\(e.event.seq)".padding(toLength: 5, withPad: " ", startingAt: 0)
            return "  \(e.event.time.rfc3339)  \(node)  \(seq) \(type) \(summary(e.event, payload: e.payload))"
        }.joined(separator: "\n")
    }

    /// What an event says, in a few words.
    package static func summary(_ e: Event, payload: JSONValue? = nil) -> String {
        let p = payload ?? e.payload
        func s(_ k: String) -> String { p[k]?.stringValue ?? "?" }
        func attempt() -> String { "attempt \((p["attempt"]?.intValue ?? 0) + 1)" }
        func reason() -> String { "\(p["reason"]?["code"]?.stringValue ?? "?") \(p["reason"]?["detail"]?.stringValue ?? "")" }
        switch e.type {
        case NodeEventType.submitted:
            let files = p["attachments"].map { "\($0.arrayElements.count)" } ?? "?"
            return "\(s("from")) → \(s("to")), \(p["texts"]?.intValue.map { "\($0)" } ?? "?") text part(s), \(files) attachment(s), signed + encrypted XHE"
        case NodeEventType.dispatched:
            return "\(p["kind"]?.stringValue == "receipt" ? "Meddelandekvittens" : "message") \(attempt()) → \(s("endpoint"))"
        case NodeEventType.transportReceiptReceived:
            return "signed AS4 receipt for \(s("as4_message_id")) (\(attempt()))"
        case NodeEventType.transportErrorReceived:
            return "AS4 error: \(reason())"
        case NodeEventType.attemptFailed:
            if let next = p["next_attempt_at"]?.stringValue { return "\(attempt()) failed: \(reason()); next attempt \(next)" }
            return "\(attempt()) failed: \(reason()); no retry left"
        case NodeEventType.deliveryFailed:
            return "not delivered: \(reason())"
        case NodeEventType.resealed:
            return "sealed again, same AS4 MessageId and XHE ID: \(p["reason"]?["detail"]?.stringValue ?? "?")"
        case NodeEventType.retryRequested:
            return "next attempt asked for now by \(e.actor) through the \(s("interface")): \(p["reason"]?["detail"]?.stringValue ?? "?")"
        case NodeEventType.received where p["transport"]?.stringValue == NodeEventType.internalTransport:
            return "from \(s("original_sender")) inside this node for \(p["to"]?.stringValue ?? s("participant")), XHE \(s("xhe_id"))"
        case NodeEventType.deliveredInternally:
            return "delivered inside this node (no AS4 hop) as \(s("recipient_message_id"))"
        case NodeEventType.received:
            return "from access point \(s("from_party")) for \(p["to"]?.stringValue ?? s("participant")), AS4 \(s("as4_message_id"))"
        case NodeEventType.transportReceiptSent:
            return "signed AS4 receipt returned for \(s("as4_message_id"))"
        case NodeEventType.receiptSent, NodeEventType.receiptReceived:
            let lines = (p["lines"]?.arrayElements ?? []).map { "\($0["code"]?.stringValue ?? "?") \($0["reason_code"]?.stringValue ?? "")".trimmingCharacters(in: .whitespaces) }
            let verdict = s("status") + (lines.isEmpty ? "" : " (" + lines.joined(separator: ", ") + ")")
            return e.type == NodeEventType.receiptSent ? "Meddelandekvittens issued: \(verdict)" : "Meddelandekvittens: \(verdict)"
        case NodeEventType.rejected:
            return "refused: \(reason())"
        case NodeEventType.blobErased:
            let why = s("reason")
            return "content \(s("blob").prefix(12))… (\(p["size"]?.intValue ?? 0) bytes) erased by \(e.actor) under \(s("rule"))"
                + (why.isEmpty || why == "?" ? "" : ": \(why)")
        case AccessEventType.accessed:
            let what = s("part") == "attachment" ? "attachment \(p["attachment"]?.intValue ?? 0)" : "content"
            let purpose = p["purpose"]?.stringValue.map { ", purpose: \($0)" } ?? ""
            return "\(what) read by \(e.actor) through the \(s("interface"))\(purpose)"
        case AccessEventType.denied:
            let more = (p["coalesced"]?.intValue ?? 0) > 0 ? " (+\(p["coalesced"]?.intValue ?? 0) earlier refusals coalesced)" : ""
            return "refused to \(e.actor): \(s("action")) (\(s("reason")))\(more)"
        default:
            return ""
        }
    }
}
