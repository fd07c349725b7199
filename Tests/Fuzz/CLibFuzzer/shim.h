// libFuzzer's driver entry point (compiler-rt, FuzzerInterface.h) and LeakSanitizer's switches. The
// fuzzing build links them through -sanitize=fuzzer,address; the normal build declares them but
// never calls them.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

// LeakSanitizer (part of AddressSanitizer, sanitizer/lsan_interface.h): allocations made between
// disable and enable are never reported as leaks.
void __lsan_disable(void);
void __lsan_enable(void);
