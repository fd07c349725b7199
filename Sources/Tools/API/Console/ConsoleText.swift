/// The console's interface language: Swedish by default, English with `?lang=en` (kept in the
/// `kvitto-lang` cookie). Every string the console shows is in ``ConsoleText/table``.
enum ConsoleLanguage: String, Sendable, CaseIterable {
    case sv, en
}

/// Every fixed string of the console, one table per language (a test checks that both are whole).
enum ConsoleText: String, Sendable, CaseIterable {
    case product, skip, signIn, signOut, signInIntro, signInFailed, signedInAs, signedOut, providerSignOut, from, to, reference, purposeRequired, navMailboxes, navAudit, navReports,
         navDeliveries, navAddressBook, language
    case mailboxes, mailbox, rights, noMailboxes, participant, address, name
    case search, searchLabel, messages, noMessages, next, status, direction, counterpart, subject, created, inbound, outbound,
         confidential, hidden, unread, transport, insideNode
    case message, metadata, timeline, time, type, actor, summary, seq, evidence, evidenceHelp, downloadEvidence,
         readContent, purpose, purposeHelp, attachments, notFound, notFoundText, failure, redacted
    case audit, auditIntro, auditActor, auditMailbox, auditType, since, until, show, noEvents, auditNeedsQuery, asOf
    case reports, reportsIntro, format, makeReport
    case deliveries, deliveriesIntro, retryHelp, deliveriesWaiting, deliveriesFailed, noDeliveries, noFailures, attempt, lastError, nextAttempt, retryNow, reason, retryRequested, needsOperate
    case addressBook, noOrganizations, functions
    case refused, refusedText, badInput, unavailable, unavailableText

    func text(_ language: ConsoleLanguage) -> String {
        (language == .sv ? Self.sv : Self.en)[self] ?? rawValue
    }

    static let sv: [ConsoleText: String] = [
        .product: "Kvitto", .skip: "Hoppa till innehållet", .signIn: "Logga in", .signOut: "Logga ut",
        .signInIntro: "Logga in med din organisations inloggning för att se brevlådor, meddelanden och spårbarhet.",
        .signInFailed: "Inloggningen blev inte klar. Försök igen.", .signedInAs: "Inloggad som",
        .signedOut: "Du är utloggad från Kvitto.", .providerSignOut: "Logga ut även hos identitetsleverantören",
        .from: "Från", .to: "Till", .reference: "Referens", .purposeRequired: "Ange ett syfte; det registreras med läsningen.",
        .navMailboxes: "Brevlådor", .navAudit: "Åtkomstlogg", .navReports: "Rapporter", .navDeliveries: "Leveranser",
        .navAddressBook: "Adressbok", .language: "In English",
        .mailboxes: "Brevlådor", .mailbox: "Brevlåda", .rights: "Rättigheter", .noMailboxes: "Du har inga brevlådor här.",
        .participant: "Organisation", .address: "Funktionsadress", .name: "Namn",
        .search: "Sök", .searchLabel: "Sök i ämne, motpart eller referens", .messages: "Meddelanden",
        .noMessages: "Inga meddelanden.", .next: "Nästa sida", .status: "Status", .direction: "Riktning",
        .counterpart: "Motpart", .subject: "Ämne", .created: "Skapat", .inbound: "Inkommande", .outbound: "Utgående",
        .confidential: "Konfidentiellt", .hidden: "(dolt)", .unread: "oläst", .transport: "Överföring",
        .insideNode: "Inom noden (ingen AS4-överföring)",
        .message: "Meddelande", .metadata: "Uppgifter", .timeline: "Tidslinje", .time: "Tid", .type: "Händelse",
        .actor: "Aktör", .summary: "Sammanfattning", .seq: "Position", .evidence: "Bevis",
        .evidenceHelp: "Bevispaketet innehåller meddelandets alla händelser med signaturer och bevis mot en signerad kontrollpunkt. Det kan kontrolleras utan noden med kvitto audit verify.",
        .downloadEvidence: "Ladda ned bevispaket", .readContent: "Läs innehållet",
        .purpose: "Syfte", .purposeHelp: "Läsningen registreras i loggen med ditt namn och syftet.",
        .attachments: "Bilagor", .notFound: "Hittades inte", .notFoundText: "Det finns inget här som du får se.",
        .failure: "Fel", .redacted: "dolda fält",
        .audit: "Åtkomstlogg", .auditIntro: "Händelser i det du granskar (rättigheten audit). Utan sökfält visas dina egna händelser.",
        .auditActor: "Aktör (t.ex. pnr:197001011234)", .auditMailbox: "Funktionsadress", .auditType: "Händelsetyp",
        .since: "Från (RFC 3339)", .until: "Till (RFC 3339)", .show: "Visa", .noEvents: "Inga händelser.",
        .auditNeedsQuery: "Ange en aktör, en brevlåda eller en händelsetyp.", .asOf: "Per position",
        .reports: "Rapporter", .reportsIntro: "En granskningsrapport beräknas vid en signerad kontrollpunkt och kan räknas om och jämföras senare.",
        .format: "Format", .makeReport: "Skapa rapport",
        .deliveries: "Leveranser", .deliveriesIntro: "Utgående leveranser som väntar på nytt försök eller har misslyckats.",
        .retryHelp: "”Försök nu” tidigarelägger nästa försök; det räknas som ett av leveransens försök och registreras med din anledning.",
        .deliveriesWaiting: "Väntar på nästa försök", .deliveriesFailed: "Misslyckade de senaste 30 dagarna",
        .noDeliveries: "Inga leveranser väntar.", .noFailures: "Inga leveranser har misslyckats de senaste 30 dagarna.", .attempt: "Försök", .lastError: "Senaste fel",
        .nextAttempt: "Nästa försök", .retryNow: "Försök nu", .reason: "Anledning",
        .retryRequested: "Ett nytt försök är begärt och registrerat.", .needsOperate: "Du behöver rättigheten operate för att se leveranser.",
        .addressBook: "Adressbok", .noOrganizations: "Inga organisationer.", .functions: "Funktionsadresser",
        .refused: "Nekad", .refusedText: "Begäran nekades. Den saknade formulärets säkerhetsvärde eller kom från en annan webbplats.",
        .badInput: "Ogiltig uppgift", .unavailable: "Inte tillgänglig", .unavailableText: "Noden kunde inte svara. Försök igen senare.",
    ]

    static let en: [ConsoleText: String] = [
        .product: "Kvitto", .skip: "Skip to content", .signIn: "Sign in", .signOut: "Sign out",
        .signInIntro: "Sign in with your organisation's identity provider to see mailboxes, messages and traceability.",
        .signInFailed: "Signing in did not complete. Try again.", .signedInAs: "Signed in as",
        .signedOut: "You are signed out of Kvitto.", .providerSignOut: "Sign out at the identity provider too",
        .from: "From", .to: "To", .reference: "Reference", .purposeRequired: "Give a purpose; it is recorded with the read.",
        .navMailboxes: "Mailboxes", .navAudit: "Access log", .navReports: "Reports", .navDeliveries: "Deliveries",
        .navAddressBook: "Address book", .language: "På svenska",
        .mailboxes: "Mailboxes", .mailbox: "Mailbox", .rights: "Rights", .noMailboxes: "You have no mailboxes here.",
        .participant: "Organisation", .address: "Functional address", .name: "Name",
        .search: "Search", .searchLabel: "Search subject, counterpart or reference", .messages: "Messages",
        .noMessages: "No messages.", .next: "Next page", .status: "Status", .direction: "Direction",
        .counterpart: "Counterpart", .subject: "Subject", .created: "Created", .inbound: "Inbound", .outbound: "Outbound",
        .confidential: "Confidential", .hidden: "(hidden)", .unread: "unread", .transport: "Transport",
        .insideNode: "Inside this node (no AS4 hop)",
        .message: "Message", .metadata: "Details", .timeline: "Timeline", .time: "Time", .type: "Event",
        .actor: "Actor", .summary: "Summary", .seq: "Position", .evidence: "Evidence",
        .evidenceHelp: "The evidence bundle holds every event of the message with its signatures and proofs to a signed checkpoint. It can be checked without the node with kvitto audit verify.",
        .downloadEvidence: "Download evidence bundle", .readContent: "Read the content",
        .purpose: "Purpose", .purposeHelp: "The read is recorded in the log with your name and the purpose.",
        .attachments: "Attachments", .notFound: "Not found", .notFoundText: "There is nothing here you may see.",
        .failure: "Failure", .redacted: "hidden members",
        .audit: "Access log", .auditIntro: "Events in what you audit (the audit right). Without a field, your own events.",
        .auditActor: "Actor (e.g. pnr:197001011234)", .auditMailbox: "Functional address", .auditType: "Event type",
        .since: "From (RFC 3339)", .until: "Until (RFC 3339)", .show: "Show", .noEvents: "No events.",
        .auditNeedsQuery: "Give an actor, a mailbox or an event type.", .asOf: "As of position",
        .reports: "Reports", .reportsIntro: "An audit report is computed at a signed checkpoint and can be recomputed and compared later.",
        .format: "Format", .makeReport: "Make report",
        .deliveries: "Deliveries", .deliveriesIntro: "Outbound deliveries waiting for another attempt or failed.",
        .retryHelp: "“Retry now” brings the next attempt forward; it counts as one of the delivery's attempts and is recorded with your reason.",
        .deliveriesWaiting: "Waiting for the next attempt", .deliveriesFailed: "Failed in the last 30 days",
        .noDeliveries: "No delivery is waiting.", .noFailures: "No delivery failed in the last 30 days.", .attempt: "Attempt", .lastError: "Last error",
        .nextAttempt: "Next attempt", .retryNow: "Retry now", .reason: "Reason",
        .retryRequested: "A new attempt is requested and recorded.", .needsOperate: "You need the operate right to see deliveries.",
        .addressBook: "Address book", .noOrganizations: "No organisations.", .functions: "Functional addresses",
        .refused: "Refused", .refusedText: "The request was refused. It lacked the form's security value or came from another site.",
        .badInput: "Invalid input", .unavailable: "Unavailable", .unavailableText: "The node could not answer. Try again later.",
    ]
}
