/// One part of a multipart/related message: its headers and its content.
package struct MIMEPart: Sendable {
    /// Header names lower-cased, values as sent.
    package var headers: [(name: String, value: String)]
    package var body: Spool

    package init(headers: [(name: String, value: String)], body: Spool) {
        self.headers = headers
        self.body = body
    }

    package func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    /// The Content-ID without angle brackets.
    package var contentID: String? {
        guard var v = header("content-id")?.trimmingCharacters(in: " \t") else { return nil }
        if v.hasPrefix("<"), v.hasSuffix(">") { v = String(v.dropFirst().dropLast()) }
        return v
    }

    package var contentType: String? { header("content-type") }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// Parameters of a `Content-Type` header (`multipart/related; boundary="…"; type=…; start=…`).
package struct ContentType: Sendable, Equatable {
    package var mediaType: String
    package var parameters: [String: String]

    package init(mediaType: String, parameters: [String: String] = [:]) {
        self.mediaType = mediaType
        self.parameters = parameters
    }

    /// Parses a header value; parameter names are lower-cased, quotes removed.
    package init?(_ header: String) {
        var items: [String] = []
        var current = ""
        var quoted = false
        for c in header {
            if c == "\"" { quoted.toggle(); current.append(c) } else if c == ";" && !quoted { items.append(current); current = "" } else {
                current.append(c)
            }
        }
        items.append(current)
        let media = items[0].trimmingCharacters(in: " \t").lowercased()
        guard media.contains("/") else { return nil }
        var params: [String: String] = [:]
        for item in items.dropFirst() {
            guard let eq = item.firstIndex(of: "=") else { continue }
            let name = String(item[..<eq]).trimmingCharacters(in: " \t").lowercased()
            var value = String(item[item.index(after: eq)...]).trimmingCharacters(in: " \t")
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            params[name] = value
        }
        self.init(mediaType: media, parameters: params)
    }

    package var headerValue: String {
        ([mediaType] + parameters.keys.sorted().map { "\($0)=\"\(parameters[$0]!)\"" }).joined(separator: "; ")
    }
}
