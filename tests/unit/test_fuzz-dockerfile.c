/* The Dockerfile parser's fuzz target replayed over its corpus
 * (tests/fuzz/corpus/dockerfile/) as a unit test. */
#define FUZZ_CORPUS "dockerfile"
#include "../fuzz/fuzz_dockerfile.c"
#include "../fuzz/replay.c"
