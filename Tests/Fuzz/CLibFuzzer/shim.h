// libFuzzer's driver entry point (compiler-rt, FuzzerInterface.h). The fuzzing build links it
// through -sanitize=fuzzer; the normal build declares it but never calls it.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
