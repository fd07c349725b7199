import Foundation

/// The compiled XSDs of the SDK profile, loaded once from Kvitto's `Schemas/sdk` folder.
package final class SDKSchemas: Sendable {
    package let sdkMessage: XMLSchema
    package let xhe: XMLSchema
    package let applicationResponse: XMLSchema
    /// The `Schemas` folder they came from.
    package let directory: String

    /// Loads the schemas from `directory` (the `Schemas` folder), or from ``defaultDirectory()``.
    package init(directory: String? = nil) throws(XMLError) {
        let dir = directory ?? Self.defaultDirectory()
        self.directory = dir
        sdkMessage = try XMLSchema(path: dir + "/sdk/message-v3/infrastructure_messaging_MessageWithAttachments_3.0.xsd")
        xhe = try XMLSchema(path: dir + "/sdk/xhe/XHE-1.0.xsd")
        applicationResponse = try XMLSchema(path: dir + "/sdk/receipt/Response-2.1.xsd")
    }

    /// `KVITTO_SCHEMAS` if set, else the `Schemas` folder of the source tree this binary was built
    /// from.
    package static func defaultDirectory() -> String {
        if let env = ProcessInfo.processInfo.environment["KVITTO_SCHEMAS"], !env.isEmpty { return env }
        // …/Sources/Transport/Validation/SDKSchemas.swift → …/Schemas
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Schemas").path
    }
}

extension SDKSchemas {
    /// The combined SOAP 1.2 + ebMS 3.0 header + ebBP signals schema (`Schemas/as4/as4-message.xsd`).
    package static func as4Message(directory: String? = nil) throws(XMLError) -> XMLSchema {
        try XMLSchema(path: (directory ?? defaultDirectory()) + "/as4/as4-message.xsd")
    }
}
