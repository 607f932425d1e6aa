/* The seccomp/capabilities fuzz target replayed over its corpus
 * (tests/fuzz/corpus/seccomp/) as a unit test, plain and sanitized. */
#define FUZZ_CORPUS "seccomp"
#include "../fuzz/fuzz_seccomp.c"
#include "../fuzz/replay.c"
