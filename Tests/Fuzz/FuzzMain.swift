#if KVITTO_FUZZ
import CLibFuzzer

/// The executable's entry point in the fuzzing build: hands the command line to libFuzzer's
/// driver with ``fuzzTestOneInput(_:_:)`` as the callback.
///
/// SwiftPM links every executable with `--defsym main=KvittoFuzz_main` (executables are compiled
/// with that entry-point name so that tests can link them), so the symbol must exist even though
/// the harness is built without `@main`. Whichever `main` the linker keeps — this one or
/// libFuzzer's own, which calls `LLVMFuzzerTestOneInput` — runs the same driver.
@_cdecl("KvittoFuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    // What lives for the whole process (a target's certificate, caches filled by the first input)
    // is made before fuzzing starts and kept out of the leak checks: LeakSanitizer does not see
    // pointers Swift stores with spare bits set, so it would report such objects as leaked.
    __lsan_disable()
    FuzzSelection.target.prepare()
    __lsan_enable()
    // A closure, not the function itself: naming the @_cdecl function here would emit a second
    // definition of its C symbol in this file.
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzTestOneInput(data, size) }
}
#endif
