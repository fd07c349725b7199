package import Ledger
package import Projections

/// Every read of messages, for every interface (CLI, API, console): authorised from the
/// principal's grants at the ledger's head, answered from the persisted projections, and for
/// content audit-first — `message.accessed` is appended and durable before a byte is returned;
/// if the append fails, the read fails. Refusals are recorded through ``AccessDenials``.
///
/// A message the principal may not see is "not found", exactly like a message that does not
/// exist (same code, same text).
package struct MessageAccess: Sendable {
    package let ledger: Ledger
    package let projections: ProjectionEngine
    package let denials: AccessDenials
    /// Grants read at the ledger's current head (shared by the copies of this value).
    let grantsCache: GrantsCache

    /// Opens content encrypted at rest.
    package let vault: ContentVault

    package init(ledger: Ledger, projections: ProjectionEngine, denials: AccessDenials, vault: ContentVault, grantsCache: GrantsCache = GrantsCache()) {
        self.vault = vault
        self.ledger = ledger
        self.projections = projections
        self.denials = denials
        self.grantsCache = grantsCache
    }

    /// The principal's rights now: the projections are caught up with the ledger's durable head
    /// first, so a grant or revocation just appended counts. While the head has not moved and the
    /// projections are still caught up with it, the grants read at it are reused
    /// (``GrantsCache``); the rights are decided at this moment.
    package func policy(for principal: Principal) throws(NodeError) -> AccessPolicy {
        do {
            let head = try ledger.durableHead()
            // Reused only while the projections are still where the grants were read: a rebuild
            // run by another process sets them back, and then this read catches up as any other.
            if let known = grantsCache.grants(of: principal.names, head: head), try projections.lowestApplied() >= known.seq {
                return AccessPolicy(principal: principal, grants: known.grants, seq: known.seq, time: .now())
            }
            let seq = try projections.catchUp()
            let grants = try GrantsProjection.grants(to: principal.names, in: projections.storage)
            grantsCache.remember(principal.names, head: head, seq: seq, grants: grants)
            return AccessPolicy(principal: principal, grants: grants, seq: seq, time: .now())
        } catch {
            throw NodeError(.storage, "reading the grants: \(error)")
        }
    }

    /// Refuses (and records) a submission from `mailbox` unless the principal holds `send` on it.
    package func authorizeSend(from mailbox: FunctionalAddress, as principal: Principal) async throws(NodeError) {
        guard try policy(for: principal).maySend(from: mailbox) else {
            await refuse(AccessDenial(reason: .noSendGrant, resource: "mailbox:\(mailbox)", action: "send"), principal)
            throw NodeError(.forbidden, "you hold no send right on \(mailbox); the refusal was recorded")
        }
    }

    /// A message and how much of it the principal sees.
    package struct Visible: Sendable {
        package let record: MessageRecord
        package let visibility: AccessPolicy.Visibility
        /// The seq of the principal's own first read of the message's content or an attachment
        /// (by the position asked about); nil while it has not read it.
        package var readSeq: UInt64? = nil

        /// The subject line, when the principal may see it (never for the operator; for a
        /// confidential message only with `read`).
        package var label: String? {
            Self.showsSubject(visibility, confidential: record.confidential) ? record.label : nil
        }

        /// The sender's reference (case number), shown as the subject is.
        package var reference: String? {
            Self.showsSubject(visibility, confidential: record.confidential) ? record.reference : nil
        }

        /// Whether a message's subject and reference are shown at `visibility`: with read; to
        /// auditors unless the message is confidential; never to the operator.
        package static func showsSubject(_ visibility: AccessPolicy.Visibility, confidential: Bool) -> Bool {
            switch visibility {
            case .full: true
            case .audit: !confidential
            case .transport, .none: false
            }
        }
    }

    /// The messages the principal may see (in `mailbox` only, when given), newest first.
    package func messages(mailbox: FunctionalAddress? = nil, as principal: Principal) async throws(NodeError) -> [Visible] {
        let policy = try policy(for: principal)
        if let mailbox, policy.visibility(of: mailbox) == .none {
            await refuse(AccessDenial(reason: .notVisible, resource: "mailbox:\(mailbox)", action: "list"), principal)
            throw Self.noMailbox(mailbox)
        }
        let records: [MessageRecord]
        do {
            records = try NodeStateProjection.messages(in: projections.storage) { r in
                guard mailbox == nil || r.mailbox == mailbox else { return false }
                return policy.visibility(of: r) > .none
            }
        } catch {
            throw NodeError(.storage, "reading the mailboxes: \(error)")
        }
        return records.map { Visible(record: $0, visibility: policy.visibility(of: $0)) }
            .sorted { ($0.record.eventSeqs.first ?? 0) > ($1.record.eventSeqs.first ?? 0) }
    }

    /// One page of `mailbox`, newest first, or its messages whose subject or counterpart matches
    /// every word of `search` (case- and diacritic-insensitive; words match as prefixes). Pass
    /// the returned cursor for the next page. Searching needs the subjects to be visible: the
    /// operator may not search, an auditor finds no confidential message.
    ///
    /// With `asOf`, the page shows the mailbox as it stood at that ledger position: messages that
    /// existed then, each as it was then (authorised by the grants in force now). Such a page may
    /// hold fewer than `limit` messages and still have a next cursor.
    package func page(_ mailbox: FunctionalAddress, search: String? = nil, conversation: String? = nil, after cursor: [UInt8]? = nil, limit: Int = 50,
                      asOf: UInt64? = nil, as principal: Principal) async throws(NodeError) -> (messages: [Visible], next: [UInt8]?) {
        let policy = try policy(for: principal)
        try checkPosition(asOf)
        let visibility = policy.visibility(of: mailbox)
        guard visibility > .none else {
            await refuse(AccessDenial(reason: .notVisible, resource: "mailbox:\(mailbox)", action: "list"), principal)
            throw Self.noMailbox(mailbox)
        }
        if search != nil, visibility == .transport {
            await refuse(AccessDenial(reason: .noReadGrant, resource: "mailbox:\(mailbox)", action: "search"), principal)
            throw NodeError(.forbidden, "searching reads subjects, which the operate right does not show; the refusal was recorded")
        }
        let bounded = max(1, min(limit, 1000))
        do {
            let ids: [String], next: [UInt8]?
            if let search {
                // Confidential messages are dropped before the limit, so the number of hits says
                // nothing about subjects the principal may not see.
                // Subjects and counterparts never change, so today's word index also finds what a
                // search as of a past position finds; messages that did not exist then are dropped
                // below (before the limit, which asOf lifts for the same reason).
                let matched = try MailboxIndex.search(mailbox, query: search, limit: visibility == .full && asOf == nil ? bounded : .max,
                                                      in: projections.storage)
                (ids, next) = (matched, nil)
            } else {
                (ids, next) = try MailboxIndex.page(mailbox, conversation: conversation, after: cursor, limit: bounded, asOf: asOf,
                                                    in: projections.storage)
            }
            var records = try NodeStateProjection.messages(ids, in: projections.storage)
            if let asOf { records = try records.compactMap { try record($0, asOf: asOf) } }
            let shown = records.filter { search == nil || visibility == .full || !$0.confidential }.prefix(bounded)
            let reads = try ReadMarks.firstReads(by: principal.actor, of: shown.map(\.id), upTo: asOf ?? .max, in: projections.storage)
            return (shown.map { Visible(record: $0, visibility: visibility, readSeq: reads[$0.id]) }, next)
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.storage, "reading mailbox \(mailbox): \(error)")
        }
    }

    /// ``page(_:search:conversation:after:limit:asOf:as:)`` without search and as the mailbox
    /// stands now, for writers that render rows as they are stored: authorised and refused the
    /// same way, then the page's listing rows (kept in the mailbox index) read in one transaction and
    /// handed to `row` in order, each
    /// with the visibility the principal has and its own first read of the message. Returns the
    /// cursor of the next page.
    package func pageRows(_ mailbox: FunctionalAddress, conversation: String? = nil, after cursor: [UInt8]? = nil, limit: Int = 50,
                          as principal: Principal,
                          _ row: (MessageRowSummary, AccessPolicy.Visibility, _ readSeq: UInt64?) throws -> Void) async throws(NodeError) -> [UInt8]? {
        let visibility = try policy(for: principal).visibility(of: mailbox)
        guard visibility > .none else {
            await refuse(AccessDenial(reason: .notVisible, resource: "mailbox:\(mailbox)", action: "list"), principal)
            throw Self.noMailbox(mailbox)
        }
        do {
            return try projections.storage.read { r in
                // The index holds each message's listing row: the page is one scan, each row with the reader's mark.
                let marks = ReadMarks.Lookup(actor: principal.actor, reading: r)
                return try MailboxIndex.listings(mailbox, conversation: conversation, after: cursor, limit: max(1, min(limit, 1000)),
                                                 reading: r) { id, listing in
                    let read = try marks.firstRead(of: id)
                    try MessageRowSummary.read(listing) { try row($0, visibility, read) }
                }
            }
        } catch {
            throw NodeError(.storage, "reading mailbox \(mailbox): \(error)")
        }
    }

    /// One message, if the principal may see it; otherwise "not found" (recorded).
    ///
    /// With `asOf`, the message as it stood at that ledger position (not found when it did not
    /// exist yet), authorised by the grants in force now.
    package func message(_ id: String, asOf: UInt64? = nil, as principal: Principal) async throws(NodeError) -> Visible {
        try checkPosition(asOf)
        var v = try await visible(id, principal, action: "metadata").0
        do {
            v.readSeq = try ReadMarks.firstReads(by: principal.actor, of: [id], upTo: asOf ?? .max, in: projections.storage)[id]
        } catch {
            throw NodeError(.storage, "reading message \(id): \(error)")
        }
        guard let asOf else { return v }
        let then: MessageRecord?
        do { then = try record(v.record, asOf: asOf) } catch { throw NodeError(.storage, "reading message \(id): \(error)") }
        guard let then else { throw Self.notFound(id) }
        return Visible(record: then, visibility: v.visibility, readSeq: v.readSeq)
    }

    /// `current` refolded from its own events up to `asOf`; nil when it had none by then. The
    /// confidentiality flag is today's: what may be shown of a message is decided by what it is,
    /// not by how far its processing had come.
    private func record(_ current: MessageRecord, asOf: UInt64) throws -> MessageRecord? {
        var state = NodeProjection()
        for seq in current.eventSeqs.sorted() where seq <= asOf {
            if let e = try ledger.event(seq) { NodeFold.apply(e, to: &state) }
        }
        guard var then = state.message(current.id) else { return nil }
        then.confidential = current.confidential
        return then
    }

    /// Refuses a position beyond the ledger's durable head.
    package func checkPosition(_ asOf: UInt64?) throws(NodeError) {
        guard let asOf else { return }
        let head: UInt64
        do { head = try ledger.durableHead() } catch { throw NodeError(.storage, "reading the ledger head: \(error)") }
        guard asOf <= head else { throw NodeError(.positionNotReached, "asOf is ahead of the ledger; ask again later") }
        guard asOf >= 1 else { throw NodeError(.invalidRequest, "asOf must be 1 or more") }
    }

    /// The events of message `id` in order (its own and the erasures of content it references),
    /// as the principal may see them.
    ///
    /// With `asOf`, only the events up to that ledger position (not found when there were none).
    package func trace(_ id: String, asOf: UInt64? = nil, as principal: Principal) async throws(NodeError) -> [VisibleEvent] {
        try checkPosition(asOf)
        let (v, _) = try await visible(id, principal, action: "trace")
        let limit = asOf ?? .max
        if let first = v.record.eventSeqs.min(), first > limit { throw Self.notFound(id) }
        return try traceEvents(of: v.record, upTo: limit).map { VisibleEvent($0, visibility: v.visibility, confidential: v.record.confidential) }
    }

    /// The events of `record` with seq ≤ `limit`, and the erasures (by then) of the blobs they
    /// reference, in seq order: what a trace shows, before redaction.
    func traceEvents(of record: MessageRecord, upTo limit: UInt64) throws(NodeError) -> [Event] {
        do {
            var seqs = Set(record.eventSeqs)
            var events: [Event] = []
            for seq in record.eventSeqs.sorted() where seq <= limit { if let e = try ledger.event(seq) { events.append(e) } }
            for e in events {
                for ref in BlobReferences.find(in: e.payload) {
                    // An erasure before this event erased an earlier copy of the same bytes, not this one.
                    if let seq = try NodeStateProjection.erasure(of: ref.sha256, in: projections.storage), seq > e.seq, seq <= limit, seqs.insert(seq).inserted,
                       let erased = try ledger.event(seq) { events.append(erased) }
                }
            }
            return events.sorted { $0.seq < $1.seq }
        } catch {
            throw NodeError(.storage, "reading the trace of \(record.id): \(error)")
        }
    }

    /// Which part of a message's content.
    package enum Part: Sendable, Equatable {
        /// The SDK message (XML: texts and attachments as the sender wrote them).
        case message
        /// One attachment, by its position (0-based) in the message.
        case attachment(Int)
    }

    /// Content returned after its reading was recorded.
    package struct Content: Sendable {
        package let bytes: [UInt8]
        package let fileName: String
        package let contentType: String
        /// The seq of the `message.accessed` event that recorded this read.
        package let accessSeq: UInt64
    }

    /// Reads content of message `id` audit-first: the principal needs `read` on the message's
    /// mailbox and strong authentication; `message.accessed` (who, what, interface, purpose) is
    /// durable before the bytes are returned. Throws (and returns nothing) when the append fails.
    package func content(_ id: String, part: Part, purpose: String? = nil, as principal: Principal) async throws(NodeError) -> Content {
        let opened = try await openContent(id, part: part, purpose: purpose, as: principal)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(opened.size))
        do {
            while let chunk = try opened.reader.next() { bytes += chunk }
        } catch {
            throw NodeError(.storage, "reading the content of \(id): \(error)")
        }
        return Content(bytes: bytes, fileName: opened.fileName, contentType: opened.contentType, accessSeq: opened.accessSeq)
    }

    /// Content opened for streaming after its reading was recorded: chunks from ``reader`` (which
    /// checks the content's hash when it reaches the end and throws if it was altered).
    package struct OpenedContent {
        package let reader: any ContentChunks
        /// The whole content's size (the plaintext's, for content encrypted at rest).
        package let size: Int64
        /// The bytes to send, when a range was asked for (the reader still reads them all).
        package let range: ClosedRange<Int64>?
        package let fileName: String
        package let contentType: String
        package let accessSeq: UInt64
        /// The whole content's SHA-256 (lower-case hex), as its events record it; empty for content
        /// encrypted at rest (the events record the ciphertext's).
        package var sha256: String = ""
    }

    /// Like ``content(_:part:purpose:as:)``, but the bytes are streamed rather than held in
    /// memory: the grants and the audit-first rule are the same (the blob is opened before the
    /// read is recorded, so a missing blob records nothing).
    ///
    /// With `range`, only those bytes are to be sent (``OpenedContent/range``), and the event
    /// records them; a range that selects nothing is refused (`node.range_not_satisfiable`)
    /// before anything is read or recorded.
    package func openContent(_ id: String, part: Part, purpose: String? = nil, range: ByteRangeRequest? = nil,
                             as principal: Principal) async throws(NodeError) -> OpenedContent {
        let action = part == .message ? "read_content" : "read_attachment"
        let (v, policy) = try await visible(id, principal, action: action)
        if let reason = policy.contentRefusal(v.record) {
            await refuse(AccessDenial(reason: reason, resource: "message:\(id)", action: action), principal)
            throw NodeError(.forbidden, reason == .weakAuthentication
                ? "reading content needs strong authentication (the configured acr/amr); the refusal was recorded"
                : "you may see message \(id) but hold no read grant on its mailbox; the refusal was recorded")
        }
        let blob: BlobRef, fileName: String, contentType: String
        switch part {
        case .message:
            guard let b = v.record.sdkMessage else { throw NodeError(.notFound, "message \(id) has no stored content") }
            (blob, fileName, contentType) = (b, "\(Self.safeName(id)).xml", "application/xml")
        case .attachment(let n):
            guard v.record.attachments.indices.contains(n) else {
                throw NodeError(.notFound, "message \(id) has \(v.record.attachments.count) attachment(s); there is no attachment \(n)")
            }
            let a = v.record.attachments[n]
            (blob, fileName, contentType) = (a.blob, a.fileName, a.contentType)
        }
        let size = v.record.contentSize(blob)
        var bytes: ClosedRange<Int64>?
        if let range {
            guard let r = range.resolved(size: size) else {
                throw NodeError(.rangeNotSatisfiable, "the range starts beyond the content's \(size) bytes")
            }
            bytes = r
        }
        let reader: any ContentChunks
        do {
            if let seq = try NodeStateProjection.erasure(of: blob.sha256, in: projections.storage) {
                throw NodeError(.erased, "the content was erased (event \(seq)); the events keep its hash")
            }
            // Content encrypted at rest is opened here: a missing key-encryption key or an
            // erased data key refuses before anything is recorded or sent.
            let storage = projections.storage
            reader = try vault.open(blob, of: v.record) { try NodeStateProjection.erasure(of: $0, in: storage) }
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.storage, "reading the content of \(id): \(error)")
        }
        var payload: [String: JSONValue] = [
            "message": .string(id), "participant": .string(v.record.participant),
            "mailbox": v.record.mailbox.map { .string($0.description) } ?? .null, "part": .string(part == .message ? "message" : "attachment"),
            "blob": BlobField.json(blob), "interface": .string(principal.interface.rawValue),
        ]
        if case .attachment(let n) = part { payload["attachment"] = .int(Int64(n)); payload["file_name"] = .string(fileName) }
        if let purpose, !purpose.isEmpty { payload["purpose"] = .string(String(purpose.prefix(500))) }
        if let bytes { payload["range"] = .string("\(bytes.lowerBound)-\(bytes.upperBound)") }
        let event: Event
        do {
            event = try await ledger.append(EventDraft(type: AccessEventType.accessed, subject: NodeEventType.subject(message: id),
                                                       actor: principal.actor, payload: .object(payload)))
        } catch {
            throw NodeError(.auditUnavailable, "the read could not be recorded in the ledger (\(error.code.rawValue)), so no content is returned; if the node is running, read through its API")
        }
        var opened = OpenedContent(reader: reader, size: size, range: bytes, fileName: fileName, contentType: contentType,
                                   accessSeq: event.seq)
        // Content encrypted at rest: its events record the ciphertext's hash, not the bytes sent.
        opened.sha256 = v.record.contentKey == nil ? blob.sha256.hex : ""
        return opened
    }

    func visible(_ id: String, _ principal: Principal, action: String) async throws(NodeError) -> (Visible, AccessPolicy) {
        let policy = try policy(for: principal)
        let record: MessageRecord?
        do { record = try NodeStateProjection.message(id, in: projections.storage) } catch {
            throw NodeError(.storage, "reading message \(id): \(error)")
        }
        guard let record, policy.visibility(of: record) > .none else {
            await refuse(AccessDenial(reason: .notVisible, resource: NodeEventType.subject(message: id), action: action), principal)
            throw Self.notFound(id)
        }
        return (Visible(record: record, visibility: policy.visibility(of: record)), policy)
    }

    /// Records a refusal; a failure to record does not change the answer (it stays a refusal).
    package func refuse(_ denial: AccessDenial, _ principal: Principal) async {
        _ = try? await denials.record(denial, by: principal)
    }

    /// The one answer for a message that is missing or not the caller's.
    package static func notFound(_ id: String) -> NodeError { NodeError(.notFound, "no message \(id)") }
    static func noMailbox(_ a: FunctionalAddress) -> NodeError { NodeError(.notFound, "no mailbox \(a)") }

    /// A file name from an id a peer chose: only letters, digits, `-`, `_` and `.`.
    private static func safeName(_ id: String) -> String {
        String(id.prefix(100).map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "_" })
    }
}
