import ArgumentParser
import Crypto
import Foundation
import Ledger
import Transport

/// `kvitto bench as4`: two MSHs in one process over HTTPS with mutual TLS on 127.0.0.1 — compress,
/// sign, encrypt, send, verify, decrypt, decompress, signed receipt — for 1 KB, 1 MB and 100 MB
/// payloads, against the byte-bound limit measured in the same run (gzip + SHA-256 + AES-GCM of
/// the payload on both sides, one thread) and with the peak resident memory of the 100 MB case.
struct AS4Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "as4",
        abstract: "AS4 round trips over HTTPS (mutual TLS) for 1 KB, 1 MB and 100 MB payloads."
    )

    @Flag(help: "Print JSON lines.")
    var json = false

    @Option(help: "Seconds per measured case (the 100 MB case runs at least once).")
    var seconds: Double = 2

    @Option(help: "Largest payload in MiB.")
    var largeMiB: Int = 100

    @Option(help: "Exchanges kept in flight in the concurrent 10 KB case.")
    var window = 32

    @Option(help: "The Python of the PyPI `as4` peer (Tests/bootstrap.sh makes it).")
    var peerPython = ".venv/bin/python"

    @Option(help: "The PyPI `as4` peer's script.")
    var peerScript = "Tests/interop/as4peer/peer.py"

    @Option(help: "Sender threads of the PyPI `as4` peer.")
    var peerThreads = 4

    /// Counts what arrives without keeping it.
    actor Sink: AS4Delivery {
        var bytes = 0
        func deliver(_ inbound: AS4Opener.Inbound, receipt: [UInt8]) async throws {
            bytes += inbound.payloads.values.reduce(0) { $0 + $1.count }
        }
    }

    func run() async throws {
        var printer = BenchPrinter(json: json)
        let pki = try ThrowawayPKI(commonName: "Bench AS4 CA")
        let sender = try pki.issue(commonName: "AP-SENDER")
        let receiver = try pki.issue(commonName: "AP-RECEIVER")
        let senderTLS = try pki.issue(commonName: "sender.bench")
        let receiverTLS = try pki.issue(commonName: "receiver.bench", dnsNames: ["localhost"], ipAddresses: [[127, 0, 0, 1]])
        let sink = Sink()
        let endpoint = AS4Endpoint(opener: AS4Opener(identity: receiver, trust: pki.trust(.as4), pmode: .sdk()),
                                   sealer: AS4Sealer(pmode: .sdk(), signer: receiver), delivery: sink, duplicates: nil,
                                   maxMessageBytes: (largeMiB + 16) << 20)
        let server = AS4Server(tls: AS4TLS(identity: receiverTLS, trustAnchors: [pki.root]), endpoint: endpoint)
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let serverTask = Task { try await server.run { continuation.yield($0) } }
        defer { serverTask.cancel() }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CLI.fail("bench: the AS4 server did not start") }
        let client = try AS4HTTPClient(tls: AS4TLS(identity: senderTLS, trustAnchors: [pki.root]))
        let url = "https://127.0.0.1:\(port)/as4"
        let sealer = AS4Sealer(pmode: .sdk(), signer: sender)
        // Three RSA-2048 private-key operations per round trip: the sender's signature, the
        // receiver's key unwrap and the receipt's signature; one at a time, on one thread.
        let rsaLimit = try await RSALimit.measure(processes: 1, seconds: min(seconds, 1))
        let rsaPerSecond = rsaLimit.perSecond
        let verifier = AS4ResponseVerifier(expectedSigner: receiver.certificate, trust: nil)

        for (label, size) in [("1KB", 1 << 10), ("1MB", 1 << 20), ("\(largeMiB)MB", largeMiB << 20)] {
            let payload = try Self.randomSpool(size)
            let bytesPerSecondLimit = try Self.byteLimit(sample: min(size, 16 << 20))
            if size >= 64 << 20 { XMLBench.resetPeak() }
            let before = XMLBench.residentBytes(field: "VmRSS:")
            var sent = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var elapsed = 0.0
            repeat {
                let wire = try sealer.seal(Self.message(), payloads: [AS4Payload(contentID: "message", mimeType: "application/octet-stream",
                                                                          content: payload)],
                                           recipient: receiver.certificate)
                let response = try await client.post(wire, to: url)
                guard case .receipt = try await verifier.verify(response.body, sent: wire) else { throw CLI.fail("bench: no receipt") }
                sent += 1
                elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            } while elapsed < seconds
            let rate = Double(sent) / elapsed
            var extra: [String: JSONValue] = ["payload_bytes": .int(Int64(size)), "messages": .int(Int64(sent)),
                                              "mb_per_s": .string(format(Double(size) * rate / 1e6, digits: 1))]
            if size >= 64 << 20 {
                let peak = XMLBench.residentBytes(field: "VmHWM:")
                extra["peak_rss_bytes"] = .int(Int64(peak))
                extra["peak_rss_growth_bytes"] = .int(Int64(max(0, peak - before)))
                extra["peak_rss_limit_bytes"] = .int(300 << 20)
            }
            let limit = 1 / (3 / rsaPerSecond + Double(size) / bytesPerSecondLimit)
            extra.merge(rsaLimit.extra) { $1 }
            printer.emit(BenchResult(name: "as4 round trip \(label) (https, mTLS, sign+gzip+encrypt, receipt)", value: rate,
                                     unit: "messages/s", limit: limit,
                                     limitWhat: "3 RSA-2048 private ops (fastest library here) + gzip/SHA-256/AES-128-GCM of the payload on both sides, 1 thread",
                                     extra: extra))
        }

        // 10 KB on all cores: `window` exchanges in flight, against the machine's RSA-bound limit,
        // then the PyPI `as4` package doing the same exchanges between its own two ends.
        let tenKB = try Self.randomSpool(10 << 10)
        let allCores = try await RSALimit.measure(seconds: min(seconds, 2))
        let concurrent = try await Self.concurrent(window: window, seconds: seconds, payload: tenKB, sealer: sealer, client: client,
                                                   url: url, receiver: receiver, verifier: verifier)
        try await client.shutdown()
        let peer = try await Self.peer(python: peerPython, script: peerScript, threads: peerThreads, seconds: seconds,
                                       sender: sender, receiver: receiver)
        var extra = allCores.extra
        extra["window"] = .int(Int64(window))
        extra["payload_bytes"] = .int(10 << 10)
        extra["peer_exchanges_per_s"] = .string(format(peer.rate, digits: 1))
        extra["x_peer"] = .string(format(peer.rate > 0 ? concurrent / peer.rate : 0, digits: 2))
        extra["x_peer_goal"] = .int(10)
        printer.emit(BenchResult(name: "as4 round trip 10KB, window \(window) (https, mTLS, sign+gzip+encrypt, receipt)", value: concurrent,
                                 unit: "messages/s", limit: allCores.perSecond / 3,
                                 limitWhat: "RSA-2048 private ops/s on all cores (fastest library here) ÷ 3 per exchange",
                                 extra: extra))
        printer.emit(BenchResult(name: "PyPI as4 peer round trip 10KB, \(Parallel.cores) processes × \(peerThreads) threads (http, sign+gzip+encrypt, receipt)",
                                 value: peer.rate, unit: "messages/s", limit: peer.rsa / 3,
                                 limitWhat: "its `cryptography` RSA-2048 private ops/s, one thread per process, summed ÷ 3 per exchange",
                                 extra: ["processes": .int(Int64(Parallel.cores)), "threads": .int(Int64(peerThreads)), "exchanges": .int(Int64(peer.exchanges)),
                                         "rsa2048_private_ops_per_s": .int(Int64(peer.rsa)), "payload_bytes": .int(10 << 10)]))
    }

    /// `window` exchanges of `payload` in flight for `seconds`; exchanges per second.
    static func concurrent(window: Int, seconds: Double, payload: Spool, mimeType: String = "application/octet-stream",
                           sealer: AS4Sealer, client: AS4HTTPClient, url: String,
                           receiver: SigningIdentity, verifier: AS4ResponseVerifier) async throws -> Double {
        let start = Date()
        let count = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<window {
                group.addTask {
                    var n = 0
                    while Date().timeIntervalSince(start) < seconds {
                        let wire = try sealer.seal(message(), payloads: [AS4Payload(contentID: "message", mimeType: mimeType,
                                                                                    content: payload)],
                                                   recipient: receiver.certificate)
                        let response = try await client.post(wire, to: url)
                        guard case .receipt = try await verifier.verify(response.body, sent: wire) else { throw CLI.fail("bench: no receipt") }
                        n += 1
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(count) / Date().timeIntervalSince(start)
    }

    /// A user message of the benchmark (SDK values).
    static func message() -> UserMessage {
        UserMessage(
            messageId: AS4Endpoint.newMessageID(), timestamp: AS4Time.string(Date()),
            from: .init(id: "AP-SENDER", type: SDKAS4.partyType, role: SDKAS4.initiatorRole),
            to: .init(id: "AP-RECEIVER", type: SDKAS4.partyType, role: SDKAS4.responderRole),
            service: SDKAS4.service, serviceType: SDKAS4.serviceType, action: SDKAS4.messageAction, conversationId: "bench",
            properties: [.init(name: "originalSender", type: SDKAS4.participantScheme, value: "0203:a.se"),
                         .init(name: "finalRecipient", type: SDKAS4.participantScheme, value: "0203:b.se")],
            parts: [])
    }

    /// Runs `peer.py bench` with this run's keys; its exchanges/s and its RSA rate.
    static func peer(python: String, script: String, threads: Int, seconds: Double, sender: SigningIdentity,
                     receiver: SigningIdentity) async throws -> (rate: Double, exchanges: Int, rsa: Double) {
        guard FileManager.default.isExecutableFile(atPath: python), FileManager.default.fileExists(atPath: script) else {
            throw CLI.fail("bench: the PyPI as4 peer needs \(python) and \(script): run this from the source tree after `bash Tests/bootstrap.sh`")
        }
        let keys = NSTemporaryDirectory() + "kvitto-bench-peer-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: keys) }
        func write(_ name: String, _ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: keys + "/" + name)) }
        try write("sender_cert.pem", CertificateFile.pem(sender.certificate))
        try write("receiver_cert.pem", CertificateFile.pem(receiver.certificate))
        try write("sender_key.pem", sender.privateKey.pemRepresentation)
        try write("receiver_key.pem", receiver.privateKey.pemRepresentation)
        // One process per core at once (the GIL keeps one process on one core): the package's best
        // on this machine, as the limit of Kvitto's side is taken on all cores.
        var running: [(Process, Pipe)] = []
        for _ in 0..<Parallel.cores {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [script, "bench", "--keys", keys, "--payload-bytes", String(10 << 10), "--threads", String(threads),
                                 "--seconds", String(seconds)]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            running.append((process, out))
        }
        var total = (rate: 0.0, exchanges: 0, rsa: 0.0)
        for (process, out) in running {
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0, let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                  let rate = (o["exchanges_per_s"] as? NSNumber)?.doubleValue, let rsa = (o["rsa2048_private_ops_per_s"] as? NSNumber)?.doubleValue
            else {
                throw CLI.fail("bench: the PyPI as4 peer failed: \(String(decoding: data, as: UTF8.self))")
            }
            total.rate += rate
            total.exchanges += (o["exchanges"] as? NSNumber)?.intValue ?? 0
            total.rsa += rsa
        }
        return total
    }

    static func randomSpool(_ size: Int) throws -> Spool {
        let spool = Spool()
        var rng = SystemRandomNumberGenerator()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var left = size
        while left > 0 {
            let n = min(left, chunk.count)
            for i in 0..<n { chunk[i] = UInt8.random(in: 0...255, using: &rng) }
            try chunk.withUnsafeBytes { try spool.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            left -= n
        }
        spool.finish()
        return spool
    }

    /// Bytes per second the unavoidable byte work allows: gzip + inflate + SHA-256 twice + AES-GCM
    /// twice over the payload, measured on `sample` random bytes.
    static func byteLimit(sample: Int) throws -> Double {
        let data = try randomSpool(max(sample, 1 << 16))
        let input = try data.bytes()
        func time(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        var compressed: [UInt8] = []
        let z = try Gzip(.compress)
        let tz = try time {
            try input.withUnsafeBytes { try z.update($0) { compressed.append(contentsOf: $0) } }
            try z.finish { compressed.append(contentsOf: $0) }
        }
        let u = try Gzip(.decompress)
        let tu = try time { try compressed.withUnsafeBytes { try u.update($0) { _ in } }; try u.finish { _ in } }
        // SHA-256 and AES-GCM with the faster of BoringSSL and OpenSSL.
        let ts = min(time { _ = SHA256.hash(data: input) }, time { _ = Digest32.sha256(input) })
        let key = [UInt8](repeating: 3, count: 16)
        let e = try AESGCMStream(.encrypt, key: key, iv: [UInt8](repeating: 1, count: 12))
        let streamed = try time { try input.withUnsafeBytes { try e.update($0) { _ in } }; try e.finish { _ in } }
        let gcmKey = SymmetricKey(data: key)
        let oneShot = try time { _ = try AES.GCM.seal(input, using: gcmKey, nonce: AES.GCM.Nonce(data: [UInt8](repeating: 1, count: 12))) }
        let ta = min(streamed, oneShot)
        let perByte = (tz + tu + 2 * ts + 2 * ta) / Double(input.count)
        return 1 / perByte
    }
}
