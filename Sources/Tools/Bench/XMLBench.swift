import ArgumentParser
import Crypto
import Foundation
import Ledger
import Transport
import _CryptoExtras

#if canImport(Glibc)
import Glibc
#endif

/// `kvitto bench xml`: the SDK content layer's cost per message, against the cryptography it
/// cannot avoid, measured in the same run on one thread.
///
/// Sealing a message = build the SDK message and the XHE, encrypt the payload (AES-256-CBC,
/// rsa-oaep-mgf1p), sign the envelope (RSA-SHA256). Opening = parse, verify the signature and the
/// signer's chain, validate the XHE (XSD + rules), decrypt, validate the SDK message. Each needs
/// one RSA-2048 private-key operation, a SHA-256 over the envelope and an AES pass over the
/// payload; the limit is what those alone would allow.
struct XMLBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xml",
        abstract: "Seal (build+encrypt+sign) and open (verify+decrypt+validate) SDK messages of 10 KB and 5 MB."
    )

    @Flag(help: "Print JSON lines.")
    var json = false

    @Option(help: "Seconds per measured case.")
    var seconds: Double = 2

    @Option(help: "The Schemas folder (default: KVITTO_SCHEMAS or the one of the source tree).")
    var schemas: String?

    func run() async throws {
        var printer = BenchPrinter(json: json)
        let pki = try ThrowawayPKI(commonName: "Bench CA")
        let sender = try pki.issue(commonName: "Bench Sender")
        let receiver = try pki.issue(commonName: "Bench Receiver")
        let verifier = XMLSignatureVerifier(trust: pki.trust(.o2o))
        let validator = SDKValidator(schemas: try SDKFiles.schemas(schemas))

        let limits = try await Self.measureLimits(seconds: min(seconds, 1))
        // Memory first, while the process is small: peak RSS growth of one seal + open of 5 MB.
        let memory = try await Self.peakGrowth(size: 5 << 20, sender: sender, receiver: receiver, verifier: verifier, validator: validator)

        for (label, size) in [("10KB", 10 << 10), ("5MB", 5 << 20)] {
            let message = Self.message(approximateBytes: size)
            let messageBytes = message.xml().count
            var sealed: [UInt8] = []
            let sealRate = try Self.rate(seconds: seconds) {
                sealed = try Self.seal(message, sender: sender, receiver: receiver)
            }
            let envelopeBytes = Double(sealed.count)
            let cryptoLimit = 1 / (1 / limits.rsaPrivate + envelopeBytes / limits.sha256 + Double(messageBytes) / limits.aes)
            var extra: [String: JSONValue] = [
                "message_bytes": .int(Int64(messageBytes)), "envelope_bytes": .int(Int64(sealed.count)),
                "rsa2048_private_ops_per_s": .int(Int64(limits.rsaPrivate)), "rsa2048_library": .string(limits.rsa.library),
                "rsa2048_boringssl_per_s": .int(Int64(limits.rsa.boringSSL)), "rsa2048_openssl_per_s": .int(Int64(limits.rsa.openSSL)),
                "ratio_to_rsa_limit": .string(format(sealRate / limits.rsaPrivate, digits: 3)),
                "sha256_mb_per_s": .int(Int64(limits.sha256 / 1e6)), "aes256cbc_mb_per_s": .int(Int64(limits.aes / 1e6)),
            ]
            printer.emit(BenchResult(name: "seal \(label) (build+encrypt+sign)", value: sealRate, unit: "messages/s",
                                     limit: cryptoLimit, limitWhat: "RSA-2048 sign + SHA-256 + AES-256 of the bytes, 1 thread",
                                     extra: extra))
            var opened = 0
            let openRate = try await Self.asyncRate(seconds: seconds) {
                opened += try await Self.open(sealed, receiver: receiver, verifier: verifier, validator: validator)
            }
            guard opened > 0 else { throw CLI.fail("bench: nothing was opened") }
            extra["ratio_to_rsa_limit"] = .string(format(openRate / limits.rsaPrivate, digits: 3))
            if label == "5MB" {
                extra["peak_rss_growth_bytes"] = .int(Int64(memory))
                extra["peak_rss_growth_x_message"] = .string(format(Double(memory) / Double(messageBytes), digits: 2))
                extra["peak_rss_limit_x_message"] = .int(8)
            }
            printer.emit(BenchResult(name: "open \(label) (verify+decrypt+validate)", value: openRate, unit: "messages/s",
                                     limit: cryptoLimit, limitWhat: "RSA-2048 private op + SHA-256 + AES-256 of the bytes, 1 thread",
                                     extra: extra))
        }
    }

    struct Limits {
        var rsa: RSALimit
        var rsaPrivate: Double { rsa.perSecond }
        /// Bytes per second.
        var sha256: Double
        var aes: Double
    }

    static func measureLimits(seconds: Double) async throws -> Limits {
        let rsa = try await RSALimit.measure(processes: 1, seconds: seconds)
        // SHA-256 and AES-256-CBC: the faster of BoringSSL and OpenSSL, each over 4 MB blocks.
        let block = [UInt8](repeating: 0x5A, count: 4 << 20)
        let sha = max(try rate(seconds: seconds) { _ = SHA256.hash(data: block) },
                      try rate(seconds: seconds) { _ = Digest32.sha256(block) }) * Double(block.count)
        let keyBytes = [UInt8](repeating: 3, count: 32), ivBytes = [UInt8](repeating: 1, count: 16)
        let aesKey = SymmetricKey(data: keyBytes)
        let iv = try AES._CBC.IV(ivBytes: ivBytes)
        var out = [UInt8](repeating: 0, count: block.count + 16)
        guard OpenSSLReference.aes256CBC(block, key: keyBytes, iv: ivBytes, into: &out),
              Array(out.prefix(block.count)) == Array(try AES._CBC.encrypt(block, using: aesKey, iv: iv, noPadding: true)) else {
            throw CLI.fail("bench: OpenSSL and BoringSSL disagree on AES-256-CBC")
        }
        let aes = max(try rate(seconds: seconds) { _ = try AES._CBC.encrypt(block, using: aesKey, iv: iv) },
                      try rate(seconds: seconds) { _ = OpenSSLReference.aes256CBC(block, key: keyBytes, iv: ivBytes, into: &out) }) * Double(block.count)
        return Limits(rsa: rsa, sha256: sha, aes: aes)
    }

    /// A message with one text part and an attachment sized so that its XML is about `approximateBytes`.
    static func message(approximateBytes: Int) -> SDKMessage {
        var rng = SystemRandomNumberGenerator()
        let attachment = (0..<max(0, (approximateBytes - 2_000) * 3 / 4)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let id = UUID().uuidString.lowercased()
        return SDKMessage(
            header: .init(creationDateTime: SDKMessage.timestamp(Date()), messageId: id, conversationId: id, label: "Benchmark",
                          confidentiality: false,
                          recipient: .init(id: .participant("0203:b.example.se"), attention: .init(subOrganization: .init(id: .functionalAddress("registrator")))),
                          sender: .init(id: .participant("0203:a.example.se"), attention: .init(subOrganization: .init(id: .functionalAddress("kansli"))))),
            documents: [.init(documentID: "bench", documentName: "Benchmark", files: [.init(fileName: "bilaga.bin",
                                                                                              contentType: "application/octet-stream",
                                                                                              content: attachment)],
                              texts: ["Hej!"])])
    }

    static func seal(_ message: SDKMessage, sender: SigningIdentity, receiver: SigningIdentity) throws -> [UInt8] {
        let envelope = XHEEnvelope(
            id: message.header.messageId, creationDateTime: message.header.creationDateTime,
            businessScope: XHEEnvelope.businessScope(for: .sdkMessage, model: .signedAndEncrypted),
            fromParty: "0203:a.example.se", toParty: "0203:b.example.se",
            payload: .init(documentTypeCode: "Q{urn:riv:infrastructure:messaging:MessageWithAttachments:3}messagePayload",
                           handlingServiceID: "registrator", content: .xml(message.xml(declaration: false))))
        return try XHESecurity.seal(envelope, model: .signedAndEncrypted, signer: sender, recipient: receiver.certificate)
    }

    /// Opens and validates; returns 1 when everything was valid.
    static func open(_ bytes: [UInt8], receiver: SigningIdentity, verifier: XMLSignatureVerifier, validator: SDKValidator) async throws -> Int {
        let document = try XMLDocument(bytes: bytes)
        _ = try await verifier.verify(document, at: Date())
        let report = validator.validate(document, kind: .xhe, byteCount: bytes.count)
        let envelope = try XHEEnvelope(document: document)
        guard case .encrypted(let data) = envelope.payload.content else { throw CLI.fail("bench: payload not encrypted") }
        let payload = try XMLEncryption.decrypt(data, with: receiver)
        let inner = try validator.validate(payload)
        guard report.isValid, inner.isValid else { throw CLI.fail("bench: invalid \(report.violations + inner.violations)") }
        return 1
    }

    static func rate(seconds: Double, _ body: () throws -> Void) throws -> Double {
        try body()  // warm up
        let start = DispatchTime.now().uptimeNanoseconds
        var n = 0
        var elapsed = 0.0
        repeat {
            try body()
            n += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } while elapsed < seconds
        return Double(n) / elapsed
    }

    static func asyncRate(seconds: Double, _ body: () async throws -> Void) async throws -> Double {
        try await body()
        let start = DispatchTime.now().uptimeNanoseconds
        var n = 0
        var elapsed = 0.0
        repeat {
            try await body()
            n += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } while elapsed < seconds
        return Double(n) / elapsed
    }

    /// Peak resident memory growth (bytes) over one seal + open of a message of `size`: the kernel's
    /// high-water mark is reset first (`/proc/self/clear_refs`), then read from `/proc/self/status`.
    static func peakGrowth(size: Int, sender: SigningIdentity, receiver: SigningIdentity, verifier: XMLSignatureVerifier,
                           validator: SDKValidator) async throws -> Int {
        let message = message(approximateBytes: size)
        let before = residentBytes(field: "VmRSS:")
        resetPeak()
        let sealed = try seal(message, sender: sender, receiver: receiver)
        let sealPeak = residentBytes(field: "VmHWM:")
        let beforeOpen = residentBytes(field: "VmRSS:")
        resetPeak()
        _ = try await open(sealed, receiver: receiver, verifier: verifier, validator: validator)
        let openPeak = residentBytes(field: "VmHWM:")
        if ProcessInfo.processInfo.environment["KVITTO_BENCH_DEBUG"] != nil {
            FileHandleOutput.stderr("seal peak growth \(sealPeak - before), open peak growth \(openPeak - beforeOpen) (sealed \(sealed.count))\n")
        }
        return max(0, max(sealPeak - before, openPeak - before))
    }

    static func resetPeak() {
        let fd = Glibc.open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return }
        _ = "5".withCString { Glibc.write(fd, $0, 1) }
        close(fd)
    }

    static func residentBytes(field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(field) {
            let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) } ?? 0
            return kb * 1024
        }
        return 0
    }
}
