import Crypto
import _CryptoExtras
package import Foundation
package import Ledger
package import Projections
package import Transport
import Synchronization
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
                    if !FileManager.default.fileExists(atPath: kek) {
                        try written.keyEncryptionKey(a.participant, in: folder)
                        notes.append("its key-encryption key is \(kek) (back it up: content sealed under it is lost with it)")
                    } else {
                        notes.append("its existing key-encryption key \(kek) is used again")
                    }
                }
                let members = try await check(config, participant: participant, member: "participants[\(config.participants.count - 1)]")
                let recorded = try CertificateRecord.recorded(ledger: access.ledger, projections: access.projections)
                let record = ParticipantRecord(participant, o2o: identity.certificate)
                var drafts = [record.draft(previous: nil, reason: a.reason, source: .command, actor: principal.actor)]
                drafts += CertificateRecord.drafts(configured: [.init(name: "o2o:" + a.participant, participant: a.participant, certificate: identity.certificate)],
                                                   recorded: recorded, only: ["o2o:" + a.participant], actor: principal.actor)
                drafts += try addressBookDrafts(a.participant, name: a.name, set: a.functions, remove: [], actor: principal.actor)
                if let administrator = a.administrator {
                    drafts.append(Grant.draft(Grant.Request(grantee: administrator, scope: .participant(a.participant), rights: [.manage],
                                                            reason: "administrator of \(a.participant) (kvitto participant add)"), actor: principal.actor))
                }
                let events = try await commit(config, previous: before, drafts: drafts, members: members)
                written.keep()
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
                if let text = u.identity {
                    let replacement = try text.identity()
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
                    return Outcome(record: current.o2o[p.id].map { ParticipantRecord(p, o2o: $0.certificate) }, events: [], notes: ["nothing changed"])
                }
                config.participants[index] = p
                let members = try await check(config, participant: p, member: "participants[\(index)]")
                guard let certificate = identity?.certificate ?? members.o2o[p.id]?.certificate else {
                    throw NodeError(.keyUnusable, "the O2O identity of \(p.id) could not be loaded")
                }
                let record = ParticipantRecord(p, o2o: certificate)
                let previousRecord = ParticipantRecord(old, o2o: try currentCertificate(old))
                var drafts: [EventDraft] = []
                if record != previousRecord || u.endOverlap {
                    drafts.append(record.draft(previous: previousRecord, reason: u.reason, source: .command, actor: principal.actor))
                }
                if identity != nil {
                    let recorded = try CertificateRecord.recorded(ledger: access.ledger, projections: access.projections)
                    drafts += CertificateRecord.drafts(configured: [.init(name: "o2o:" + p.id, participant: p.id, certificate: certificate)],
                                                       recorded: recorded, only: ["o2o:" + p.id], actor: principal.actor)
                }
                drafts += try addressBookDrafts(p.id, name: p.name, set: p.functions, remove: u.removeFunctions, actor: principal.actor)
                let events = try await commit(config, previous: before, drafts: drafts, members: members)
                written.keep()
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
            var config = try NodeConfig.load(directory: directory)
            let before = config
            guard let index = config.participants.firstIndex(where: { $0.id == participant }) else {
                throw NodeError(.notAParticipant, "this node does not serve \(participant)")
            }
            guard config.participants.count > 1 else {
                throw NodeError(.conflict, "\(participant) is the node's only participant; a node serves at least one")
            }
            let inFlight = try self.inFlight(participant)
            if inFlight.outbound + inFlight.unanswered > 0 {
                throw NodeError(.conflict, "\(participant) has \(inFlight.outbound) outbound message(s) or receipt(s) still being delivered and \(inFlight.unanswered) received message(s) not yet answered; retire it once they are done (`kvitto trace`, the API's mailboxes)")
            }
            let p = config.participants.remove(at: index)
            config.retiredParticipants = (config.retiredParticipants ?? []) + [
                .init(id: p.id, name: p.name, o2oKey: p.o2oKey, o2oCertificate: p.o2oCertificate, retiredAt: Timestamp(nanoseconds: Int64(now.timeIntervalSince1970 * 1e9)).rfc3339),
            ]
            var notes = ["its key files (\(p.o2oKey)) and key-encryption key stay on the node: its history remains readable to those granted it"]
            if var identity = config.identity, let rules = identity.participantStrongAuthentication, rules.contains(where: { $0.participant == participant }) {
                identity.participantStrongAuthentication = rules.filter { $0.participant != participant }
                if identity.participantStrongAuthentication?.isEmpty == true { identity.participantStrongAuthentication = nil }
                config.identity = identity
                notes.append("its rule in identity.participant_strong_authentication was removed")
            }
            try config.validate(path: directory + "/" + NodeConfig.fileName)
            let members = try ParticipantRoster.load(config, directory: directory)
            let recorded = try CertificateRecord.recorded(ledger: access.ledger, projections: access.projections)
            var drafts = [ParticipantRecord.retiredDraft(participant, name: p.name, reason: reason, source: .command, actor: principal.actor)]
            drafts += CertificateRecord.drafts(configured: [], recorded: recorded, only: ["o2o:" + participant], actor: principal.actor)
            if try book(participant).organization(participant) != nil {
                drafts.append(AddressBook.draft(NodeEventType.organizationRemoved, participant: participant, actor: principal.actor))
            }
            let events = try await commit(config, previous: before, drafts: drafts, members: members)
            return Outcome(record: nil, events: events, notes: notes)
        }
    }

    // MARK: steps

    /// Saves `config`, appends `drafts` and puts `members` in force; when the append fails the
    /// configuration is put back.
    private func commit(_ config: NodeConfig, previous: NodeConfig, drafts: [EventDraft], members: ParticipantRoster.Members)
        async throws(NodeError) -> [Event]
    {
        try config.save(directory: directory)
        let events: [Event]
        do { events = try await access.ledger.append(drafts) } catch {
            do { try previous.save(directory: directory) } catch {
                throw NodeError(.storage, "recording the participant change failed and \(NodeConfig.fileName) could not be put back (\(error)); the node records the difference at its next start")
            }
            throw NodeError(.storage, "recording the participant change: \(error); nothing was changed")
        }
        roster?.replace(with: members)
        return events
    }

    /// Refuses `config` unless it is valid and `participant`'s identity passes every check of
    /// `kvitto check`; returns the participants with their identities loaded.
    private func check(_ config: NodeConfig, participant: NodeConfig.Participant, member: String) async throws(NodeError) -> ParticipantRoster.Members {
        try config.validate(path: directory + "/" + NodeConfig.fileName)
        let findings = await IdentityChecks.participant(CheckContext(directory: directory, config: config, now: Date()), participant, member: member)
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
        let current = try book(participant).organization(participant)
        var drafts: [EventDraft] = []
        if current == nil {
            drafts.append(AddressBook.draft(NodeEventType.organizationAdded, participant: participant, name: name, actor: actor))
        } else if current?.name != name {
            drafts.append(AddressBook.draft(NodeEventType.organizationUpdated, participant: participant, name: name, actor: actor))
        }
        for f in set {
            let existing = current?.functions[f.function]
            if existing == f.name { continue }
            drafts.append(AddressBook.draft(existing == nil ? NodeEventType.functionAdded : NodeEventType.functionUpdated,
                                            participant: participant, function: f.function, name: f.name, actor: actor))
        }
        for f in remove where current?.functions[f] != nil {
            drafts.append(AddressBook.draft(NodeEventType.functionRemoved, participant: participant, function: f, actor: actor))
        }
        return drafts
    }

    private func book(_ participant: String) throws(NodeError) -> AddressBook {
        do { return try access.projections.currentNodeState { try $0.addressBook(participants: [participant]) } } catch {
            throw NodeError(.storage, "reading the address book: \(error)")
        }
    }

    /// Outbound messages and receipts of `participant` still being delivered, and its received
    /// messages not yet answered.
    private func inFlight(_ participant: String) throws(NodeError) -> (outbound: Int, unanswered: Int) {
        do {
            return try access.projections.currentNodeState { reader in
                (try reader.pendingDispatches().filter { $0.participant == participant }.count,
                 try reader.unanswered().filter { $0.participant == participant }.count)
            }
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

    /// Participant changes in progress, by node directory: one at a time (each reads, checks and
    /// writes the whole configuration); a concurrent one is refused (`node.conflict`: ask again).
    private static let changing = Mutex<Set<String>>([])

    private func exclusively<T>(_ change: () async throws(NodeError) -> T) async throws(NodeError) -> T {
        let key = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard Self.changing.withLock({ $0.insert(key).inserted }) else {
            throw NodeError(.conflict, "another participant change of this node is in progress; ask again")
        }
        defer { _ = Self.changing.withLock { $0.remove(key) } }
        return try await change()
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
