/* The config.json fuzz target replayed over its corpus
 * (tests/fuzz/corpus/spec/) as a unit test, plain and sanitized. */
#define FUZZ_CORPUS "spec"
#include "../fuzz/fuzz_spec.c"
#include "../fuzz/replay.c"
