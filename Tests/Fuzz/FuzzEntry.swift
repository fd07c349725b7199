import Foundation

/// The target a fuzzing process runs, named by the environment variable `KVITTO_FUZZ_TARGET`
/// (`mime`, `soap`, `xhe`, `signal`); read once, on the first input.
enum FuzzSelection {
    static let variable = "KVITTO_FUZZ_TARGET"

    static let target: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment[variable] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("set \(variable) to one of: \(names)\n".utf8))
            exit(2)
        }
        return target
    }()
}

/// libFuzzer's per-input callback: runs one input through the selected target. Always returns 0
/// (the input may be added to the corpus); a finding is a crash, never a return value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    FuzzSelection.target.run(input)
    return 0
}
