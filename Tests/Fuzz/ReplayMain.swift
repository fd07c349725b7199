#if !KVITTO_FUZZ
import Foundation

/// The harness outside a fuzzing build (`swift build` builds it like every target): replays
/// inputs through a target without sanitizers — a finding, or a whole corpus as a smoke test —
/// and writes the seed corpora.
///
///     KvittoFuzz <mime|soap|xhe|signal> <file or folder>...
///     KvittoFuzz seeds <output folder> [<SDK reference folder>]
///
/// In the fuzzing build (`-DKVITTO_FUZZ`) this type is left out and libFuzzer's `main` drives
/// ``fuzzTestOneInput(_:_:)``.
@main
struct ReplayMain {
    static func main() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let command = arguments.first else { usage() }
        if command == "seeds" {
            guard arguments.count >= 2 else { usage() }
            let reference = arguments.count >= 3 ? arguments[2] : "../shared/reference/sdk"
            try SeedWriter.write(to: URL(fileURLWithPath: arguments[1]), reference: URL(fileURLWithPath: reference))
            return
        }
        guard let target = FuzzTarget(rawValue: command) else { usage() }
        var count = 0, accepted = 0
        for path in arguments.dropFirst() {
            for file in files(at: path) {
                if target.run(try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))) { accepted += 1 }
                count += 1
            }
        }
        print("\(target.rawValue): \(count) inputs replayed (\(accepted) accepted as a whole), no crash")
    }

    /// The file itself, or the regular files directly inside a folder, sorted.
    private static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { path + "/" + $0 }.filter {
            var d: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && !d.boolValue
        }
    }

    private static func usage() -> Never {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
        FileHandle.standardError.write(Data("""
            usage: KvittoFuzz <\(names)> <file or folder>...
                   KvittoFuzz seeds <output folder> [<SDK reference folder>]

            """.utf8))
        exit(2)
    }
}
#endif
