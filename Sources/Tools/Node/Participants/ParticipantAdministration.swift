import Crypto
import _CryptoExtras
package import Foundation
package import Ledger
package import Projections
package import Transport
import X509

/// `kvitto participant add|update|retire`: onboarding, changing and retiring an organisation the
/// node serves, as ledger events, with no file edited by hand and no restart.
///
/// Each change is checked whole before anything is written (the identity a working pair from the
/// O2O trust naming the organisation, the configuration valid), then: the identity's files are
/// written (never over an existing file), `kvitto.json` is saved, and one append records
/// `participant.*` with the certificate change, the address book and the administrator's grant.
/// A running node then serves the new set at once. A failure before the append undoes the files
/// and the configuration; a process cut off between saving and appending is caught up at the
/// next start (``Node/recordParticipantChanges()``).
///
/// Adding and retiring a participant, and replacing its O2O identity, need the `manage` right on
/// the node; renaming it or changing its functions, `manage` on the participant. Refusals are
/// recorded as `access.denied`.
package struct ParticipantAdministration: Sendable {
    package let access: MessageAccess
    /// The node directory (its `kvitto.json` and `pki/`).
    package let directory: String
    /// The running node's participants (nil when the node is stopped).
    package let roster: ParticipantRoster?

    package init(access: MessageAccess, directory: String, roster: ParticipantRoster?) {
        self.access = access
        self.directory = directory
        self.roster = roster
    }

    /// An O2O identity as text: the private key (PEM) and the certificate with its chain (PEM),
    /// leaf first. The CLI reads it from a PKCS#12 file or a PEM bundle.
    package struct IdentityText: Sendable, Equatable {
        package var keyPEM: String
        package var certificatesPEM: String

        package init(keyPEM: String, certificatesPEM: String) {
            self.keyPEM = keyPEM
            self.certificatesPEM = certificatesPEM
        }

        package init(_ identity: SigningIdentity) {
            keyPEM = identity.privateKey.pemRepresentation
            certificatesPEM = ([identity.certificate] + identity.chain).map(CertificateFile.pem).joined(separator: "\n")
        }

        func identity() throws(NodeError) -> SigningIdentity {
            do {
                let key = try _RSA.Signing.PrivateKey(pemRepresentation: keyPEM)
                let certificates = try CertificateFile.parse(Array(certificatesPEM.utf8))
                guard let leaf = certificates.first else { throw NodeError(.invalidRequest, "the O2O identity holds no certificate") }
                return try SigningIdentity(privateKey: key, certificate: leaf, chain: Array(certificates.dropFirst()))
            } catch let e as NodeError {
                throw e
            } catch {
                throw NodeError(.keyUnusable, "the O2O identity is not an RSA private key with its certificate: \(error)")
            }
        }
    }

    /// A new participant.
    package struct Addition: Sendable, Equatable {
        package var participant: String
        package var name: String
        package var functions: [NodeConfig.Function]
        package var catchAllFunction: String?
        /// Its O2O identity; nil on a node with a throwaway CA (demos, tests), which issues one.
        package var identity: IdentityText?
        /// Who gets the `manage` right on the participant (to grant its mailboxes to people).
        package var administrator: PrincipalName?
        package var reason: String

        package init(participant: String, name: String, functions: [NodeConfig.Function], reason: String) {
            self.participant = participant
            self.name = name
            self.functions = functions
            self.reason = reason
        }
    }

    /// Changes to a participant; what is nil or empty stays as it is.
    package struct Update: Sendable, Equatable {
        package var participant: String
        package var name: String?
        /// Functions added, or renamed when the participant has them already.
        package var setFunctions: [NodeConfig.Function] = []
        package var removeFunctions: [String] = []
        /// A new catch-all function; `clearCatchAll` removes it.
        package var catchAllFunction: String?
        package var clearCatchAll = false
        /// A new O2O identity: the current one is kept in `o2o_previous` to decrypt what senders
        /// still encrypt to it (until `endOverlap`).
        package var identity: IdentityText?
        /// Drops the earlier O2O identities (their files stay where they are).
        package var endOverlap = false
        package var reason: String

        package init(participant: String, reason: String) {
            self.participant = participant
            self.reason = reason
        }
    }

    /// What a change did.
    package struct Outcome: Sendable {
        /// The participant as the ledger now records it (nil after retirement).
        package var record: ParticipantRecord?
        /// The events appended (none when nothing changed).
        package var events: [Event]
        /// Notes for the operator (files written, rules removed).
        package var notes: [String]
    }

    // MARK: add

    package func add(_ a: Addition, by principal: Principal) async throws(NodeError) -> Outcome {
        try AddressDirectory.check(participant: a.participant)
        try AddressDirectory.check(name: a.name)
        guard !a.functions.isEmpty else { throw NodeError(.invalidRequest, "a participant needs at least one function (its functional mailboxes), e.g. --function registrator=Registrator") }
        for f in a.functions {
            try AddressDirectory.check(function: f.function)
            try AddressDirectory.check(name: f.name)
        }
        guard Set(a.functions.map(\.function)).count == a.functions.count else { throw NodeError(.invalidRequest, "a function is listed twice") }
        if let c = a.catchAllFunction, !a.functions.contains(where: { $0.function == c }) {
            throw NodeError(.invalidRequest, "the catch-all function \(c) is not one of the participant's functions")
        }
        try await authorize(.node, a.participant, action: "participant_add", principal,
                            "adding a participant needs the manage right on the node")
        return try await exclusively { () async throws(NodeError) in
            var config = try NodeConfig.load(directory: directory)
            let before = config
            if config.participants.contains(where: { $0.id == a.participant }) {
                throw NodeError(.exists, "this node serves \(a.participant) already; change it with `kvitto participant update`")
            }
            // Key files are named after the id with punctuation folded: two ids that fold alike
            // would share a key-encryption key.
            let slug = NodeSetup.slugify(a.participant)
            let others = config.participants.map(\.id) + (config.retiredParticipants ?? []).map(\.id)
            if let clash = others.first(where: { $0 != a.participant && NodeSetup.slugify($0) == slug }) {
                throw NodeError(.conflict, "\(a.participant) and \(clash) differ only in case or punctuation, and would share key files named \(slug); a node cannot serve both")
            }
            if let i = config.routes.firstIndex(where: { $0.participant == a.participant }) {
                throw NodeError(.conflict, "routes[\(i)] sends \(a.participant)'s messages to another access point (\(config.routes[i].endpoint)); remove that route before serving it here")
            }
            let identity: SigningIdentity
            var notes: [String] = []
            if let text = a.identity {
                identity = try text.identity()
            } else {
                identity = try issueThrowaway(a, config: config)
                notes.append("its O2O certificate was issued by the node's throwaway CA (demos and tests only)")
            }
            var written = Written()
            do throws(NodeError) {
                var newKey: EventDraft?
                let (key, certificate) = try written.identity(identity, base: "pki/o2o-" + NodeSetup.slugify(a.participant), in: directory)
                var participant = NodeConfig.Participant(id: a.participant, name: a.name, o2oKey: key, o2oCertificate: certificate,
                                                         functions: a.functions, catchAllFunction: a.catchAllFunction, o2oPrevious: nil)
                participant.o2oPrevious = nil
                config.participants.append(participant)
                config.retiredParticipants?.removeAll { $0.id == a.participant }
                if config.retiredParticipants?.isEmpty == true { config.retiredParticipants = nil }
                if let c = config.contentEncryption {
                    let folder = NodeConfig.resolve(c.keyDirectory, in: directory)
                    let kek = ContentVault.keyFile(participant: a.participant, in: folder)
                    let returning = before.retiredParticipants?.contains { $0.id == a.participant } ?? false
                    var st = stat()
                    if lstat(kek, &st) == 0 {
                        // Only a participant coming back finds its own key there.
                        guard returning else {
                            throw NodeError(.conflict, "\(kek) exists already but belongs to no participant of this node (one removed from \(NodeConfig.fileName) by hand, or an id that differs only in case or punctuation); move it away — keeping it while content may need it — and ask again")
                        }
                        notes.append("its key-encryption key from before its retirement (\(kek)) is used again")
                    } else {
                        if let needed = try sealedUnder(a.participant).first {
                            throw NodeError(.conflict, "\(a.participant) has content sealed under key \(needed) from before, but \(kek) is missing: restore it from its safe copy before adding \(a.participant) again (a new key cannot open that content)")
                        }
                        try written.keyEncryptionKey(a.participant, in: folder)
                        newKey = ContentKeyRecord.draft(participant: a.participant, keyID: try ContentKeyRecord.keyID(kek), scope: c.scope,
                                                        turnedOn: false, replacesLostKey: false, command: .participantAdd, actor: principal.actor)
                        notes.append("its key-encryption key is \(kek) (keep a safe copy apart from backups: content sealed under it is lost with it)")
                    }
                }
                let members = try await check(config, participant: participant, member: "participants[\(config.participants.count - 1)]",
                                              identityChanged: true)
                let record = ParticipantRecord(participant, o2o: identity.certificate)
                var drafts = try await recordDrafts(participant, id: a.participant, certificate: identity.certificate, config: config,
                                                    members: members, reason: a.reason, principal: principal)
                drafts += try addressBookDrafts(a.participant, name: a.name, set: a.functions, remove: [], actor: principal.actor)
                if let newKey { drafts.append(newKey) }
                if let administrator = a.administrator {
                    drafts.append(Grant.draft(Grant.Request(grantee: administrator, scope: .participant(a.participant), rights: [.manage],
                                                            reason: "administrator of \(a.participant) (kvitto participant add)"), actor: principal.actor))
                }
                let events = try await commit(config, previous: before, drafts: drafts, members: members, written: &written)
                return Outcome(record: record, events: events, notes: notes)
            } catch {
                written.undo()
                throw error
            }
        }
    }

    // MARK: update

    package func update(_ u: Update, by principal: Principal) async throws(NodeError) -> Outcome {
        try AddressDirectory.check(participant: u.participant)
        if let name = u.name { try AddressDirectory.check(name: name) }
        for f in u.setFunctions {
            try AddressDirectory.check(function: f.function)
            try AddressDirectory.check(name: f.name)
        }
        for f in u.removeFunctions { try AddressDirectory.check(function: f) }
        if u.clearCatchAll && u.catchAllFunction != nil {
            throw NodeError(.invalidRequest, "a new catch-all function and clearing it contradict each other; give one")
        }
        let named = u.setFunctions.map(\.function)
        if Set(named).count != named.count { throw NodeError(.invalidRequest, "a function is listed twice") }
        if let both = named.first(where: u.removeFunctions.contains) {
            throw NodeError(.invalidRequest, "\(both) is both set and removed; give one")
        }
        if u.identity != nil || u.endOverlap {
            try await authorize(.node, u.participant, action: "participant_update", principal,
                                "replacing a participant's O2O identity or ending its overlap needs the manage right on the node")
        } else {
            try await authorize(.participant(u.participant), u.participant, action: "participant_update", principal,
                                "changing a participant needs the manage right on participant:\(u.participant) or on the node")
        }
        return try await exclusively { () async throws(NodeError) in
            var config = try NodeConfig.load(directory: directory)
            let before = config
            guard let index = config.participants.firstIndex(where: { $0.id == u.participant }) else {
                throw NodeError(.notAParticipant, "this node does not serve \(u.participant); add it with `kvitto participant add`")
            }
            var p = config.participants[index]
            let old = p
            if let name = u.name { p.name = name }
            for f in u.setFunctions {
                if let i = p.functions.firstIndex(where: { $0.function == f.function }) { p.functions[i].name = f.name } else { p.functions.append(f) }
            }
            for f in u.removeFunctions {
                guard p.functions.contains(where: { $0.function == f }) else {
                    throw NodeError(.notFound, "\(u.participant) has no function \(f)")
                }
                p.functions.removeAll { $0.function == f }
            }
            guard !p.functions.isEmpty else { throw NodeError(.invalidRequest, "a participant keeps at least one function; retire it instead") }
            if u.clearCatchAll { p.catchAllFunction = nil }
            if let c = u.catchAllFunction { p.catchAllFunction = c }
            if let c = p.catchAllFunction, !p.functions.contains(where: { $0.function == c }) {
                throw NodeError(.invalidRequest, "the catch-all function \(c) is not one of \(u.participant)'s functions")
            }
            if u.endOverlap { p.o2oPrevious = nil }
            var written = Written()
            var notes: [String] = []
            do throws(NodeError) {
                var identity: SigningIdentity?
                let given = try u.identity.map { text throws(NodeError) in try text.identity() }
                if let given, CertificateFile.der(given.certificate) == CertificateFile.der(try currentCertificate(old)) {
                    notes.append("the O2O identity given is the one in use; it was left as it is")
                } else if let replacement = given {
                    identity = replacement
                    let (key, certificate) = try written.identity(replacement, base: "pki/o2o-" + NodeSetup.slugify(u.participant), in: directory)
                    if !u.endOverlap {
                        p.o2oPrevious = (p.o2oPrevious ?? []) + [NodeConfig.Identity(key: p.o2oKey, certificate: p.o2oCertificate)]
                        notes.append("the earlier O2O identity (\(p.o2oKey)) still decrypts what senders encrypted to it; end the overlap with `kvitto participant update --end-overlap`")
                    }
                    p.o2oKey = key
                    p.o2oCertificate = certificate
                }
                if p.o2oPrevious?.isEmpty == true { p.o2oPrevious = nil }
                guard p != old else {
                    let current = try ParticipantRoster.load(config, directory: directory)
                    return Outcome(record: current.o2o[p.id].map { ParticipantRecord(p, o2o: $0.certificate) }, events: [], notes: notes + ["nothing changed"])
                }
                config.participants[index] = p
                let members = try await check(config, participant: p, member: "participants[\(index)]", identityChanged: identity != nil)
                guard let certificate = identity?.certificate ?? members.o2o[p.id]?.certificate else {
                    throw NodeError(.keyUnusable, "the O2O identity of \(p.id) could not be loaded")
                }
                let record = ParticipantRecord(p, o2o: certificate)
                var drafts = try await recordDrafts(p, id: p.id, certificate: certificate, config: config, members: members, reason: u.reason,
                                                    principal: principal)
                if old.o2oPrevious != p.o2oPrevious, !drafts.contains(where: { $0.subject == ParticipantRecord.subject(p.id) && $0.actor == principal.actor }) {
                    // Only the earlier identities changed (the overlap ended): on record too.
                    drafts.insert(record.draft(previous: record, reason: u.reason, source: .command, actor: principal.actor, also: ["o2o_previous"]), at: 0)
                }
                drafts += try addressBookDrafts(p.id, name: p.name, set: p.functions, remove: u.removeFunctions, actor: principal.actor)
                let events = try await commit(config, previous: before, drafts: drafts, members: members, written: &written)
                return Outcome(record: record, events: events, notes: notes)
            } catch {
                written.undo()
                throw error
            }
        }
    }

    // MARK: retire

    package func retire(_ participant: String, reason: String, by principal: Principal, now: Date = Date()) async throws(NodeError) -> Outcome {
        try AddressDirectory.check(participant: participant)
        try await authorize(.node, participant, action: "participant_retire", principal,
                            "retiring a participant needs the manage right on the node")
        return try await exclusively { () async throws(NodeError) in
            let config = try NodeConfig.load(directory: directory)
            let before = config
            guard let index = config.participants.firstIndex(where: { $0.id == participant }) else {
                throw NodeError(.notAParticipant, "this node does not serve \(participant)")
            }
            guard config.participants.count > 1 else {
                throw NodeError(.conflict, "\(participant) is the node's only participant; a node serves at least one")
            }
            // A running node takes no new message from or for it first, and lets what is being
            // stored finish; then nothing may be in flight.
            if let roster {
                guard await roster.suspend(participant) else {
                    roster.resume(participant)
                    throw NodeError(.conflict, "messages of \(participant) are still being stored after 30 s; ask again")
                }
            }
            do throws(NodeError) {
                let inFlight = try self.inFlight(participant)
                if inFlight.total > 0 {
                    throw NodeError(.conflict, "\(participant) has \(inFlight.description); retire it once they are done (`kvitto mailbox`, `kvitto trace`)")
                }
                return try await retire(participant, index: index, config: config, before: before, reason: reason, by: principal, now: now)
            } catch {
                roster?.resume(participant)
                throw error
            }
        }
    }

    private func retire(_ participant: String, index: Int, config: NodeConfig, before: NodeConfig, reason: String, by principal: Principal,
                        now: Date) async throws(NodeError) -> Outcome {
        var config = config
        let p = config.participants.remove(at: index)
        config.retiredParticipants = (config.retiredParticipants ?? []) + [
            .init(id: p.id, name: p.name, o2oKey: p.o2oKey, o2oCertificate: p.o2oCertificate,
                  retiredAt: Timestamp(nanoseconds: Int64(now.timeIntervalSince1970.rounded(.down)) * 1_000_000_000).rfc3339),
        ]
        let notes = ["its key files (\(p.o2oKey)) and key-encryption key stay on the node: its history remains readable to those granted it",
                     "grants on participant:\(participant) and its mailboxes stay in force for reading that history (and again if it is added back); revoke those no longer needed with `kvitto revoke`"]
        try config.validate(path: directory + "/" + NodeConfig.fileName)
        let members = try ParticipantRoster.load(config, directory: directory)
        var drafts = [ParticipantRecord.retiredDraft(participant, name: p.name, reason: reason, source: .command, actor: principal.actor)]
        drafts += try await recordDrafts(nil, id: participant, certificate: nil, config: config, members: members, reason: reason, principal: principal)
        if try book(participant).organization(participant) != nil {
            drafts.append(AddressBook.draft(NodeEventType.organizationRemoved, participant: participant, actor: principal.actor))
        }
        var nothingWritten = Written()
        let events = try await commit(config, previous: before, drafts: drafts, members: members, written: &nothingWritten)
        roster?.resume(participant)
        return Outcome(record: nil, events: events, notes: notes)
    }

    // MARK: steps

    /// Saves `config`, appends `drafts` and puts `members` in force; when the append fails the
    /// configuration is put back.
    private func commit(_ config: NodeConfig, previous: NodeConfig, drafts: [EventDraft], members: ParticipantRoster.Members,
                        written: inout Written) async throws(NodeError) -> [Event]
    {
        let undo = written
        written.keep()
        let events = try await ConfigurationChange.commit(config, previous: previous, directory: directory, drafts: drafts, to: access.ledger) {
            undo.undo()
        }
        roster?.replace(with: members)
        return events
    }

    /// Refuses `config` unless it is valid and `participant`'s identity passes every check of
    /// `kvitto check`; returns the participants with their identities loaded.
    private func check(_ config: NodeConfig, participant: NodeConfig.Participant, member: String, identityChanged: Bool) async throws(NodeError)
        -> ParticipantRoster.Members
    {
        try config.validate(path: directory + "/" + NodeConfig.fileName)
        // A rename leaves the identity as it was checked when it came (an expiring one must not
        // stop its administrator from renaming it); a new identity is checked, not the earlier
        // ones kept for the overlap (checked when they were current).
        guard identityChanged else { return try ParticipantRoster.load(config, directory: directory) }
        var current = participant
        current.o2oPrevious = nil
        let findings = await IdentityChecks.participant(CheckContext(directory: directory, config: config, now: Date()), current, member: member)
        let errors = findings.filter { $0.severity == .error }
        if let first = errors.first {
            let code: NodeError.Code = first.code == .keyUnusable ? .keyUnusable : .invalidRequest
            throw NodeError(code, errors.map { "\($0.member): \($0.message) (\($0.code.rawValue))" }.joined(separator: "; "))
        }
        return try ParticipantRoster.load(config, directory: directory)
    }

    /// The O2O certificate `p` is configured with now.
    private func currentCertificate(_ p: NodeConfig.Participant) throws(NodeError) -> Certificate {
        do {
            guard let c = try CertificateFile.read(path: NodeConfig.resolve(p.o2oCertificate, in: directory)).first else {
                throw NodeError(.keyUnusable, "\(p.o2oCertificate) holds no certificate")
            }
            return c
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.keyUnusable, "the O2O certificate of \(p.id) (\(p.o2oCertificate)) cannot be read: \(error)")
        }
    }

    /// An O2O identity from the node's throwaway CA, or the refusal that names what to give instead.
    private func issueThrowaway(_ a: Addition, config: NodeConfig) throws(NodeError) -> SigningIdentity {
        guard config.throwawayPki == true, FileManager.default.fileExists(atPath: directory + "/pki/ca.key") else {
            throw NodeError(.invalidRequest, "\(a.participant) needs its O2O identity from the federation's CA: give --o2o-p12 FILE (PKCS#12 or a PEM bundle with the key)")
        }
        do { return try NodeSetup.loadCA(directory).issue(commonName: a.participant, organization: a.name) } catch {
            throw NodeError(.keyUnusable, "issuing an O2O certificate from the throwaway CA: \(error)")
        }
    }

    /// The address-book events that make `participant`'s entry show `name` and `set`, without `remove`.
    private func addressBookDrafts(_ participant: String, name: String, set: [NodeConfig.Function], remove: [String], actor: String)
        throws(NodeError) -> [EventDraft]
    {
        ParticipantRecord.bookDrafts(participant, name: name, functions: set, remove: remove, book: try book(participant), actor: actor)
    }

    /// The events of a change of participant `p` (configured with the O2O certificate `certificate`
    /// in `config`, whose participants with their identities are `members`): its
    /// `participant.added|updated` against what the ledger records (none when that is the same),
    /// the record of its O2O certificate — and every other difference between `config` and the
    /// ledger (an edit of `kvitto.json` by hand since the node last recorded it), recorded with
    /// source `configuration` by `node` after the same identity checks, so that nothing the
    /// command puts in force is unchecked or unrecorded.
    private func recordDrafts(_ p: NodeConfig.Participant?, id: String, certificate: Certificate?, config: NodeConfig,
                              members: ParticipantRoster.Members, reason: String, principal: Principal) async throws(NodeError) -> [EventDraft]
    {
        let recorded = try ParticipantRecord.recorded(ledger: access.ledger, projections: access.projections)
        let certificates = try CertificateRecord.recorded(ledger: access.ledger, projections: access.projections)
        var drafts: [EventDraft] = []
        if let p, let certificate {
            let record = ParticipantRecord(p, o2o: certificate)
            if recorded[id] != record { drafts.append(record.draft(previous: recorded[id], reason: reason, source: .command, actor: principal.actor)) }
            drafts += CertificateRecord.drafts(configured: [.init(name: "o2o:" + id, participant: id, certificate: certificate)],
                                               recorded: certificates, only: ["o2o:" + id], actor: principal.actor)
        } else {
            drafts += CertificateRecord.drafts(configured: [], recorded: certificates, only: ["o2o:" + id], actor: principal.actor)
        }
        // Everything else the saved configuration puts in force.
        var others = members
        others.participants.removeAll { $0.id == id }
        others.o2o[id] = nil
        var recordedOthers = recorded
        recordedOthers[id] = nil
        let caughtUp = ParticipantRecord.drafts(configured: others, recorded: recordedOthers,
                                                reason: "found in \(NodeConfig.fileName) (changed by hand) when \(id) was changed",
                                                source: .configuration, actor: "node")
        let context = CheckContext(directory: directory, config: config, now: Date())
        for draft in caughtUp where draft.type != NodeEventType.participantRetired {
            guard let other = others.participants.first(where: { $0.id == draft.payload["participant"]?.stringValue }),
                  let index = config.participants.firstIndex(where: { $0.id == other.id }) else { continue }
            let errors = await IdentityChecks.participant(context, other, member: "participants[\(index)]").filter { $0.severity == .error }
            if !errors.isEmpty {
                throw NodeError(.configInvalid, "\(other.id) was changed in \(NodeConfig.fileName) by hand and does not pass its checks, so no participant change is made until that is fixed: "
                                    + errors.map { "\($0.member): \($0.message) (\($0.code.rawValue))" }.joined(separator: "; "))
            }
            drafts += ParticipantRecord.bookDrafts(other.id, name: other.name, functions: other.functions, book: try book(other.id), actor: "node")
        }
        drafts += caughtUp
        let names = Set(others.participants.map { "o2o:" + $0.id } + certificates.keys.filter { $0.hasPrefix("o2o:") && $0 != "o2o:" + id })
        drafts += CertificateRecord.drafts(configured: others.participants.compactMap { q in
            others.o2o[q.id].map { ConfiguredCertificate(name: "o2o:" + q.id, participant: q.id, certificate: $0.certificate) }
        }, recorded: certificates, only: names, actor: "node")
        return drafts
    }

    /// The key-encryption key ids `participant`'s stored content is sealed under.
    private func sealedUnder(_ participant: String) throws(NodeError) -> Set<String> {
        do {
            _ = try access.projections.catchUp()
            return Set(try NodeStateProjection.messages(in: access.projections.storage) { $0.participant == participant && $0.contentKey != nil }
                .compactMap { $0.contentKey?.kek })
        } catch {
            throw NodeError(.storage, "reading the content of \(participant): \(error)")
        }
    }

    private func book(_ participant: String) throws(NodeError) -> AddressBook {
        try ParticipantRecord.currentBook(participant, projections: access.projections)
    }

    /// What of `participant` is not finished: outbound messages not yet answered with a
    /// Meddelandekvittens (or failed), received messages not yet answered, receipts still being sent.
    struct InFlight {
        var outbound = 0, unanswered = 0, receipts = 0
        var total: Int { outbound + unanswered + receipts }
        var description: String {
            "\(outbound) sent message(s) not yet answered with a Meddelandekvittens or failed, \(unanswered) received message(s) not yet answered, and \(receipts) Meddelandekvittens still being sent"
        }
    }

    private func inFlight(_ participant: String) throws(NodeError) -> InFlight {
        do {
            var out = InFlight()
            for r in try ParticipantView(projections: access.projections, participant: participant).messages() {
                switch (r.direction, r.status) {
                case (.outbound, .submitted), (.outbound, .dispatched), (.outbound, .delivered): out.outbound += 1
                case (.inbound, .received): out.unanswered += 1
                default: break
                }
            }
            out.receipts = try access.projections.currentNodeState { reader in
                try reader.pendingDispatches().filter { $0.participant == participant && $0.kind == .receipt }.count
            }
            return out
        } catch {
            throw NodeError(.storage, "reading the messages in flight: \(error)")
        }
    }

    /// Refuses (and records the refusal) unless the principal manages `scope`.
    private func authorize(_ scope: AccessScope, _ participant: String, action: String, _ principal: Principal, _ need: String)
        async throws(NodeError)
    {
        let policy = try access.policy(for: principal)
        guard policy.mayManage(scope) else {
            await access.refuse(AccessDenial(reason: .noManageGrant, resource: "participant:" + participant, action: action), principal)
            throw NodeError(.forbidden, "\(need); the refusal was recorded")
        }
    }

    private func exclusively<T>(_ change: () async throws(NodeError) -> T) async throws(NodeError) -> T {
        try await ConfigurationChange.exclusively(directory, checkOwner: roster == nil, change)
    }

    /// Files written by a change, removed again unless it is kept.
    private struct Written {
        var paths: [String] = []

        /// Writes `identity` as `<base>.key` and `<base>.crt` (with its chain) — or, where a file
        /// of that name exists already (an earlier identity), under a name with the certificate's
        /// fingerprint — never over an existing file; returns the paths relative to the node.
        mutating func identity(_ identity: SigningIdentity, base: String, in directory: String) throws(NodeError) -> (key: String, certificate: String) {
            let fingerprint = Hex.encode(SHA256.hash(data: CertificateFile.der(identity.certificate))).prefix(12)
            let fm = FileManager.default
            var chosen = base
            if fm.fileExists(atPath: directory + "/" + base + ".key") || fm.fileExists(atPath: directory + "/" + base + ".crt") {
                chosen = base + "-" + fingerprint
            }
            let key = chosen + ".key", certificate = chosen + ".crt"
            for f in [key, certificate] where fm.fileExists(atPath: directory + "/" + f) {
                throw NodeError(.exists, "\(directory)/\(f) exists already (this identity was written before?); it is never overwritten")
            }
            do {
                try NodeSetup.write(identity.privateKey.pemRepresentation, directory + "/" + key, secret: true, replacing: false)
                paths.append(directory + "/" + key)
                let pem = ([identity.certificate] + identity.chain).map(CertificateFile.pem).joined(separator: "\n")
                try NodeSetup.write(pem, directory + "/" + certificate, secret: false, replacing: false)
                paths.append(directory + "/" + certificate)
            } catch let e as NodeError {
                throw e
            } catch {
                throw NodeError(.storage, "writing the O2O identity: \(error)")
            }
            return (key, certificate)
        }

        mutating func keyEncryptionKey(_ participant: String, in folder: String) throws(NodeError) {
            do { try NodeSetup.writeKeyEncryptionKeys([participant], in: folder) } catch let e as NodeError {
                throw e
            } catch {
                throw NodeError(.storage, "writing the key-encryption key of \(participant): \(error)")
            }
            paths.append(ContentVault.keyFile(participant: participant, in: folder))
        }

        mutating func keep() { paths = [] }

        func undo() {
            for p in paths.reversed() { try? FileManager.default.removeItem(atPath: p) }
        }
    }
}
