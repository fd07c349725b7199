import ArgumentParser
import Transport
import X509

/// `kvitto sdk encrypt`: encrypts the payload of an unsigned XHE to a recipient certificate.
struct SDKEncryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encrypt",
        abstract: "Encrypt the payload of an XHE (XML-Enc, Type Element) to the recipient's O2O certificate.",
        discussion: "Sets InstanceEncryptionIndicator to true. Encrypt before signing: the signature must cover the encrypted payload."
    )

    enum Data: String, ExpressibleByArgument, CaseIterable {
        case aes256CBC = "aes256-cbc", aes128GCM = "aes128-gcm", aes256GCM = "aes256-gcm"
    }

    enum Transport: String, ExpressibleByArgument, CaseIterable {
        case mgf1p = "rsa-oaep-mgf1p", oaep = "rsa-oaep"
    }

    @Argument(help: "The XHE (`-` for standard input).")
    var file: String

    @Option(help: "The recipient's certificate (PEM or DER).")
    var to: String

    @Option(help: "Data encryption: \(Data.allCases.map(\.rawValue).joined(separator: ", ")) (the SDK profile: aes256-cbc).")
    var data: Data = .aes256CBC

    @Option(help: "Key transport: rsa-oaep-mgf1p (SDK profile, SHA-1) or rsa-oaep (SHA-256, MGF1-SHA-256).")
    var keyTransport: Transport = .mgf1p

    @Option(name: .shortAndLong, help: "Write here instead of standard output.")
    var output: String?

    func run() async throws {
        let certificates: [Certificate]
        do { certificates = try CertificateFile.read(path: to) } catch { throw CLI.fail("cannot read \(to): \(error)") }
        guard let recipient = certificates.first else { throw CLI.fail("\(to) holds no certificate") }
        let bytes = try SDKFiles.read(file)
        do {
            let document = try XMLDocument(bytes: bytes)
            var signed = false
            document.root.forEachElement { e in if e.isNamed(XMLNamespaces.ds, "Signature") { signed = true } }
            if signed { throw CLI.fail("the XHE is already signed; encrypt the unsigned envelope, then sign it") }
            var envelope = try XHEEnvelope(document: document)
            guard case .xml(let plaintext) = envelope.payload.content else {
                throw CLI.fail("the payload is not an unencrypted XML element")
            }
            let algorithm: XMLEncryption.DataAlgorithm = switch data {
            case .aes256CBC: .aes256CBC
            case .aes128GCM: .aes128GCM
            case .aes256GCM: .aes256GCM
            }
            envelope.payload.content = .encrypted(try XMLEncryption.encrypt(
                plaintext, to: recipient, data: algorithm, keyTransport: keyTransport == .mgf1p ? .rsaOAEPMGF1P : .rsaOAEPSHA256))
            try SDKFiles.write(envelope.xml(), to: output)
        } catch let e as XMLError { throw CLI.fail(e.description) } catch let e as SDKModelError { throw CLI.fail(e.description) } catch let e as XMLSecurityError {
            throw CLI.fail(e.description)
        }
    }
}
