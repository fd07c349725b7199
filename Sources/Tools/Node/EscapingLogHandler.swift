package import Logging

/// A log handler that escapes every message and metadata value (``LogText/escape(_:)``) before
/// handing it to the wrapped handler, so no value — whoever supplied it — can break a log line
/// or forge another. `kvitto serve` and the other node commands log through it.
package struct EscapingLogHandler<Inner: LogHandler>: LogHandler {
    package var inner: Inner

    package init(_ inner: Inner) { self.inner = inner }

    package var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    package var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue.mapValues(Self.escape) }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue.map(Self.escape) }
    }

    package func log(event: LogEvent) {
        var e = event
        e.message = Logger.Message(stringLiteral: LogText.escape(event.message.description))
        e.metadata = event.metadata?.mapValues(Self.escape)
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
