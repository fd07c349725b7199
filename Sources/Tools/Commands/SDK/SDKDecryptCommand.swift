import ArgumentParser
import Transport

/// `kvitto sdk decrypt`: decrypts the payload of an XHE with our key.
struct SDKDecryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decrypt",
        abstract: "Decrypt the payload of an XHE with the organisation's O2O key.",
        discussion: "Prints the XHE with the decrypted payload (unsigned: the original signature covered the encrypted form), or with --payload-only the payload alone. Verify the signature first (kvitto sdk verify)."
    )

    @Argument(help: "The XHE (`-` for standard input).")
    var file: String

    @OptionGroup var keys: SDKKeyOptions

    @Flag(help: "Print only the decrypted payload element.")
    var payloadOnly = false

    @Option(name: .shortAndLong, help: "Write here instead of standard output.")
    var output: String?

    func run() async throws {
        let identity = try keys.identity()
        let bytes = try SDKFiles.read(file)
        do {
            var envelope = try XHEEnvelope(document: try XMLDocument(bytes: bytes))
            guard case .encrypted(let encrypted) = envelope.payload.content else { throw CLI.fail("the payload is not encrypted") }
            let plain = try XMLEncryption.decrypt(encrypted, with: identity)
            if payloadOnly {
                try SDKFiles.write(plain, to: output)
            } else {
                envelope.payload.content = .xml(plain)
                try SDKFiles.write(envelope.xml(), to: output)
            }
        } catch let e as XMLError { throw CLI.fail(e.description) } catch let e as SDKModelError { throw CLI.fail(e.description) } catch let e as XMLSecurityError {
            throw CLI.fail(e.description)
        }
    }
}
