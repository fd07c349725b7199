import Foundation
package import Ledger

/// The renderings of an ``AuditReport``: canonical JSON, CSV (RFC 4180) and a printable HTML
/// page (for PDF, print it: `kvitto audit report --format pdf` drives headless Chromium). Each is a
/// function of the report alone, so equal reports render to equal bytes.
package enum AuditReportFormat: String, Sendable, CaseIterable {
    case json, csv, html

    /// The interface language of the HTML page.
    package enum Language: String, Sendable, CaseIterable {
        case sv, en
    }

    package var mediaType: String {
        switch self {
        case .json: "application/json"
        case .csv: "text/csv; charset=utf-8"
        case .html: "text/html; charset=utf-8"
        }
    }

    package func render(_ report: AuditReport, language: Language = .sv) -> [UInt8] {
        switch self {
        case .json: CanonicalJSON.encode(Self.json(report)) + [0x0A]
        case .csv: Array(Self.csv(report).utf8)
        case .html: Array(Self.html(report, language).utf8)
        }
    }

    // MARK: JSON

    static func queryJSON(_ q: AuditLog.Query) -> JSONValue {
        var o: [String: JSONValue] = [:]
        if let p = q.participant { o["participant"] = .string(p) }
        if let m = q.mailbox { o["mailbox"] = .string(m.description) }
        if let a = q.actor { o["actor"] = .string(a) }
        if let t = q.type { o["type"] = .string(t) }
        if let s = q.since { o["since"] = .string(s.rfc3339) }
        if let u = q.until { o["until"] = .string(u.rfc3339) }
        return .object(o)
    }

    static func json(_ r: AuditReport) -> JSONValue {
        [
            "format": .string(AuditReport.format), "node": .string(r.node), "requester": .string(r.requester),
            "query": queryJSON(r.query), "position": .int(Int64(r.position)),
            "checkpoint": ["seq": .int(Int64(r.checkpoint.event.seq)), "root": .string(r.checkpoint.root.hex),
                           "hash": .string(r.checkpoint.event.hash.hex)],
            "counts": .object(r.counts.mapValues { .int(Int64($0)) }),
            "events": .array(r.rows.map { row in
                var o: [String: JSONValue] = [
                    "seq": .int(Int64(row.event.event.seq)), "time": .string(row.event.event.time.rfc3339), "type": .string(row.event.event.type),
                    "subject": .string(row.event.event.subject), "actor": .string(row.event.event.actor), "payload": row.event.payload,
                    "summary": .string(row.summary),
                ]
                if let h = row.hash { o["hash"] = .string(h.hex) }
                if !row.event.redacted.isEmpty { o["redacted"] = .array(row.event.redacted.map { .string($0) }) }
                return .object(o)
            }),
        ]
    }

    // MARK: CSV

    /// A first line naming the report (format, node, requester, query, position, checkpoint),
    /// then a header and one line per event; CRLF line ends (RFC 4180).
    static func csv(_ r: AuditReport) -> String {
        func field(_ s: String) -> String {
            // A leading =, +, - or @ would be a formula in a spreadsheet: quote and prefix it.
            let safe = s.first.map { "=+-@".contains($0) } == true ? "'" + s : s
            return safe.contains(where: { ",\"\r\n".contains($0) }) || safe != s ? "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : safe
        }
        let query = String(decoding: CanonicalJSON.encode(queryJSON(r.query)), as: UTF8.self)
        var lines = [["# " + AuditReport.format, "node=" + r.node, "requester=" + r.requester, "query=" + query,
                      "position=\(r.position)", "checkpoint=\(r.checkpoint.event.seq):\(r.checkpoint.root.hex)"].map(field).joined(separator: ",")]
        lines.append("seq,time,type,actor,subject,hash,summary")
        for row in r.rows {
            let e = row.event.event
            lines.append(["\(e.seq)", e.time.rfc3339, e.type, e.actor, e.subject, row.hash?.hex ?? "", row.summary].map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    // MARK: HTML

    private static func labels(_ l: Language) -> [String: String] {
        switch l {
        case .sv: ["title": "Granskningsrapport", "node": "Nod", "requester": "Beställd av", "query": "Urval", "position": "Liggarens position",
                   "checkpoint": "Kontrollpunkt", "counts": "Händelser per typ", "events": "Händelser", "seq": "Nr", "time": "Tid (UTC)",
                   "type": "Typ", "actor": "Aktör", "subject": "Gäller", "summary": "Beskrivning", "hash": "Hash", "none": "Inga händelser.",
                   "recompute": "Rapporten kan räknas om vid samma kontrollpunkt och jämföras byte för byte."]
        case .en: ["title": "Audit report", "node": "Node", "requester": "Requested by", "query": "Query", "position": "Ledger position",
                   "checkpoint": "Checkpoint", "counts": "Events by type", "events": "Events", "seq": "Seq", "time": "Time (UTC)",
                   "type": "Type", "actor": "Actor", "subject": "Subject", "summary": "Summary", "hash": "Hash", "none": "No events.",
                   "recompute": "The report can be recomputed at the same checkpoint and compared byte for byte."]
        }
    }

    static func escape(_ s: String) -> String { HTMLText.escape(s) }

    static func html(_ r: AuditReport, _ language: Language) -> String {
        let t = labels(language)
        let query = String(decoding: CanonicalJSON.encode(queryJSON(r.query)), as: UTF8.self)
        var h = """
            <!DOCTYPE html>
            <html lang="\(language.rawValue)">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(t["title"]!) — \(escape(r.node)) — \(r.position)</title>
            <style>
            body { font: 11pt/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
            h1 { font-size: 1.5em; margin: 0 0 .5em; }
            dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
            dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
            table { border-collapse: collapse; width: 100%; font-size: 9pt; }
            th, td { border: 1px solid #999; padding: .25em .4em; text-align: left; vertical-align: top; }
            th { background: #eee; }
            td.hash, dd.hash { font-family: monospace; overflow-wrap: anywhere; }
            td.id { font-family: monospace; white-space: nowrap; }
            thead { display: table-header-group; }
            tr { page-break-inside: avoid; }
            @page { size: A4 landscape; margin: 1.5cm; }
            </style>
            </head>
            <body>
            <main>
            <h1>\(t["title"]!)</h1>
            <dl>
            <dt>\(t["node"]!)</dt><dd>\(escape(r.node))</dd>
            <dt>\(t["requester"]!)</dt><dd>\(escape(r.requester))</dd>
            <dt>\(t["query"]!)</dt><dd>\(escape(query))</dd>
            <dt>\(t["position"]!)</dt><dd id="position">\(r.position)</dd>
            <dt>\(t["checkpoint"]!)</dt><dd class="hash">\(r.checkpoint.event.seq) · root \(r.checkpoint.root.hex) · hash \(r.checkpoint.event.hash.hex)</dd>
            </dl>
            <p>\(t["recompute"]!) (<code>\(AuditReport.format)</code>)</p>
            <h2>\(t["counts"]!)</h2>
            <table>
            <thead><tr><th scope="col">\(t["type"]!)</th><th scope="col">#</th></tr></thead>
            <tbody>

            """
        for (type, n) in r.counts.sorted(by: { $0.key < $1.key }) { h += "<tr><td>\(escape(type))</td><td>\(n)</td></tr>\n" }
        h += """
            </tbody>
            </table>
            <h2>\(t["events"]!)</h2>

            """
        if r.rows.isEmpty {
            h += "<p>\(t["none"]!)</p>\n"
        } else {
            h += "<table>\n<thead><tr>" + ["seq", "time", "type", "actor", "subject", "summary", "hash"].map { "<th scope=\"col\">\(t[$0]!)</th>" }.joined()
                + "</tr></thead>\n<tbody>\n"
            for row in r.rows {
                let e = row.event.event
                h += "<tr><td>\(e.seq)</td><td>\(e.time.rfc3339)</td><td>\(escape(e.type))</td><td>\(escape(e.actor))</td><td class=\"id\">\(escape(e.subject))</td>"
                    + "<td>\(escape(row.summary))</td><td class=\"hash\">\(row.hash?.hex ?? "")</td></tr>\n"
            }
            h += "</tbody>\n</table>\n"
        }
        h += "</main>\n</body>\n</html>\n"
        return h
    }
}
