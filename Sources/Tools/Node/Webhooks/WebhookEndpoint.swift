import Foundation

/// A webhook URL the node will post to: absolute, `https:` (or `http:` where the settings allow
/// it), with a host the settings allow, no user information and no fragment, at most 2,000
/// characters. Redirects are never followed, so the URL checked is the one posted to.
package struct WebhookEndpoint: Sendable, Equatable {
    package let url: String
    package let host: String

    /// Checks `text` against `settings`; the error says what to change.
    package init(_ text: String, settings: NodeConfig.Webhooks) throws(NodeError) {
        guard !text.isEmpty, text.utf8.count <= 2000, text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }),
              let c = URLComponents(string: text), let scheme = c.scheme?.lowercased(), let host = c.host?.lowercased(), !host.isEmpty else {
            throw NodeError(.unprocessable, "url must be an absolute https URL with a host, of at most 2000 characters (no spaces)")
        }
        guard scheme == "https" || (scheme == "http" && settings.allowPlainHttp == true) else {
            throw NodeError(.unprocessable, settings.allowPlainHttp == true ? "url must be https or http" : "url must be https (this node does not post to plain http)")
        }
        guard c.user == nil, c.password == nil, c.fragment == nil else {
            throw NodeError(.unprocessable, "url may carry no user information and no fragment")
        }
        if let allowed = settings.allowedHosts {
            let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
            let ok = allowed.contains { a in
                let a = a.lowercased()
                return a.hasPrefix("*.") ? bare.hasSuffix(String(a.dropFirst())) : bare == a
            }
            guard ok else { throw NodeError(.unprocessable, "this node does not post webhooks to \(host); its operator lists the hosts it may (api.webhooks.allowed_hosts)") }
        }
        self.url = text
        self.host = host
    }
}
