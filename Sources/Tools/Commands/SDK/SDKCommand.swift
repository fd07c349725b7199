import ArgumentParser
import Foundation
import Transport

/// `kvitto sdk …`: tools for operators debugging SDK interop (validate, sign, verify, encrypt,
/// decrypt XHE envelopes, SDK messages and Meddelandekvittenser).
struct SDKCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sdk",
        abstract: "Validate, sign, verify, encrypt and decrypt SDK documents (XHE, SDK message v3, Meddelandekvittens).",
        subcommands: [SDKValidateCommand.self, SDKSignCommand.self, SDKVerifyCommand.self, SDKEncryptCommand.self,
                      SDKDecryptCommand.self]
    )
}

/// `--key` and `--cert`: our RSA key and its certificate.
struct SDKKeyOptions: ParsableArguments {
    @Option(help: "PEM RSA private key (the organisation's O2O key).")
    var key: String

    @Option(help: "PEM or DER certificate of that key (leaf first; further certificates are sent as the chain).")
    var cert: String

    func identity() throws -> SigningIdentity { try SDKFiles.identity(key: key, certificate: cert) }
}

/// Reading inputs and writing outputs for the `sdk` subcommands.
enum SDKFiles {
    /// The bytes of `path` (`-` = standard input).
    static func read(_ path: String) throws -> [UInt8] {
        if path == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLI.fail("cannot read \(path): no such file or not readable")
        }
        return Array(data)
    }

    /// Writes to `path`, or standard output when nil.
    static func write(_ bytes: [UInt8], to path: String?) throws {
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw CLI.fail("cannot write \(path)") }
        } else {
            FileHandleOutput.stdout(String(decoding: bytes, as: UTF8.self))
        }
    }

    static func schemas(_ directory: String?) throws -> SDKSchemas {
        do { return try SDKSchemas(directory: directory) } catch { throw CLI.fail(error.description) }
    }

    static func identity(key: String, certificate: String) throws -> SigningIdentity {
        do { return try SigningIdentity(keyPath: key, certificatePath: certificate) } catch { throw CLI.fail(error.description) }
    }

    /// Trust anchors from a certificate file or a folder of certificates.
    static func trust(_ path: String, role: CertificateTrust.Role) throws -> CertificateTrust {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CLI.fail("\(path) does not exist") }
        do {
            if isDirectory.boolValue { return try CertificateTrust.load(role: role, directory: path) }
            let certs = try CertificateFile.read(path: path)
            return CertificateTrust(role: role, anchors: certs.filter { $0.subject == $0.issuer },
                                    intermediates: certs.filter { $0.subject != $0.issuer })
        } catch {
            throw CLI.fail("cannot read trust anchors from \(path): \(error)")
        }
    }
}
