package import Logging

/// A log handler that escapes every message and metadata value (``LogText/escape(_:)``) before
/// handing it to the wrapped handler, so no value — whoever supplied it — can break a log line
/// or forge another. `kvitto serve` and the other node commands log through it.
package struct EscapingLogHandler<Inner: LogHandler>: LogHandler {
    package var inner: Inner
    /// The metadata set on this handler, as set: it is escaped with the event's own when a line is
    /// written, not when it is set (a server sets a request id on every request and logs few).
    private var own: Logger.Metadata = [:]

    package init(_ inner: Inner) { self.inner = inner }

    package var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    package var metadata: Logger.Metadata {
        get { own }
        set { own = newValue }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { own[key] }
        set { own[key] = newValue }
    }

    package func log(event: LogEvent) {
        var e = event
        e.message = Logger.Message(stringLiteral: LogText.escape(event.message.description))
        var metadata = own
        if let m = event.metadata { metadata.merge(m) { _, event in event } }
        e.metadata = metadata.isEmpty ? nil : metadata.mapValues(Self.escape)
        inner.log(event: e)
    }

    static func escape(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let s): .string(LogText.escape(s))
        case .stringConvertible(let c): .string(LogText.escape(c.description))
        case .array(let a): .array(a.map(escape))
        case .dictionary(let d): .dictionary(d.mapValues(escape))
        }
    }
}
