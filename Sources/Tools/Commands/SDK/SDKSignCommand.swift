import ArgumentParser
import Transport

/// `kvitto sdk sign`: enveloped XML-DSig as the SDK envelope profile requires.
struct SDKSignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a document (normally an XHE) with an enveloped RSA-SHA256 XML signature.",
        discussion: "The signature references the whole document (URI=\"\"), carries the certificate in KeyInfo and is appended to the document element."
    )

    @Argument(help: "The document to sign (`-` for standard input).")
    var file: String

    @OptionGroup var keys: SDKKeyOptions

    @Flag(help: "Use exclusive instead of inclusive canonicalization.")
    var exclusive = false

    @Option(name: .shortAndLong, help: "Write here instead of standard output.")
    var output: String?

    func run() async throws {
        let identity = try keys.identity()
        let bytes = try SDKFiles.read(file)
        do {
            let signed = try XMLSigner.signEnveloped(bytes, identity: identity, canonicalization: exclusive ? .exclusive : .inclusive)
            try SDKFiles.write(signed, to: output)
        } catch let e as XMLSecurityError { throw CLI.fail(e.description) }
    }
}
