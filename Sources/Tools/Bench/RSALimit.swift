import ArgumentParser
import Crypto
import Foundation
import Ledger
import Transport
import _CryptoExtras

/// The machine's RSA-2048 private-key rate, measured with every implementation this process has
/// (BoringSSL through swift-crypto, OpenSSL's libcrypto through EVP) one after the other in the same
/// run, each in one worker process per core at once (as `openssl speed -multi` does: nothing of the
/// benchmark's own process competes with them); the faster library is the limit, and both figures
/// are reported so that a reader sees which.
struct RSALimit {
    /// RSASSA-PKCS1-v1_5 SHA-256 signatures per second with the faster library.
    var perSecond: Double
    /// Which library that was.
    var library: String
    var boringSSL: Double
    var openSSL: Double

    enum Library: String, ExpressibleByArgument, CaseIterable {
        case openssl, boringssl
    }

    /// Measures both libraries for `seconds` each in `processes` worker processes (signing 32-byte
    /// digests with one RSA-2048 key: the private-key operation of signing and of OAEP unwrapping
    /// costs the same, one CRT exponentiation).
    static func measure(processes: Int = Parallel.cores, seconds: Double) async throws -> RSALimit {
        var rates: [Library: Double] = [:]
        for library in Library.allCases {
            rates[library] = try await workers(library, processes: processes, seconds: seconds)
        }
        let openssl = rates[.openssl] ?? 0, boring = rates[.boringssl] ?? 0
        return RSALimit(perSecond: max(boring, openssl), library: openssl >= boring ? "OpenSSL libcrypto EVP" : "BoringSSL (swift-crypto)",
                        boringSSL: boring, openSSL: openssl)
    }

    /// `processes` × `kvitto bench rsa-worker`, started together; the sum of their rates.
    static func workers(_ library: Library, processes: Int, seconds: Double) async throws -> Double {
        // Every worker makes its key first and starts signing at the same moment.
        let start = Date().timeIntervalSince1970 + 1.0
        var running: [(Process, Pipe)] = []
        for _ in 0..<processes {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            process.arguments = ["bench", "rsa-worker", "--library", library.rawValue, "--seconds", String(seconds),
                                 "--start", String(start)]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            running.append((process, out))
        }
        var total = 0.0
        for (process, out) in running {
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let fields = text.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            guard process.terminationStatus == 0, fields.count == 2 else {
                throw CLI.fail("bench: the RSA worker (\(library.rawValue)) failed: \(text)")
            }
            // A worker that started late (its key took longer than the head start) ran partly
            // alone, which would overstate the sum.
            guard fields[1] - start < 0.25 else {
                throw CLI.fail("bench: an RSA worker started \(format(fields[1] - start, digits: 2)) s late; run again on a quieter machine")
            }
            total += fields[0]
        }
        return total
    }

    /// The figures as benchmark extras.
    var extra: [String: JSONValue] {
        ["rsa2048_private_ops_per_s": .int(Int64(perSecond)), "rsa2048_library": .string(library),
         "rsa2048_boringssl_per_s": .int(Int64(boringSSL)), "rsa2048_openssl_per_s": .int(Int64(openSSL))]
    }
}

/// `kvitto bench rsa-worker`: one process's RSA-2048 signing rate with one library, for ``RSALimit``.
struct RSAWorker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rsa-worker", abstract: "RSA-2048 signatures/s on one thread (a worker of the RSA limit).", shouldDisplay: false)

    @Option var library: RSALimit.Library
    @Option var seconds: Double
    @Option(help: "Start signing at this time (seconds since 1970).") var start: Double

    func run() throws {
        let identity = try ThrowawayPKI(commonName: "Bench RSA").issue(commonName: "bench-rsa")
        let digest = SHA256.hash(data: [UInt8](repeating: 9, count: 32))
        let key = identity.privateKey
        let sign: () throws -> [UInt8] = library == .openssl
            ? { try identity.sign(sha256: digest) }
            : { Array(try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation) }
        // A signature that does not verify would make the rate meaningless.
        guard key.publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: try sign()), for: digest,
                                             padding: .insecurePKCS1v1_5) else {
            throw CLI.fail("bench: \(library.rawValue) produced an RSA signature that does not verify")
        }
        let wait = start - Date().timeIntervalSince1970
        if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        let began = Date().timeIntervalSince1970
        let rate = try XMLBench.rate(seconds: seconds) { _ = try sign() }
        print(rate, began)
    }
}
