/* The WWW-Authenticate and token parsers' fuzz target replayed over its corpus
 * (tests/fuzz/corpus/registry_auth/) as a unit test. */
#define FUZZ_CORPUS "registry_auth"
#include "../fuzz/fuzz_registry_auth.c"
#include "../fuzz/replay.c"
