/* Replays fuzz inputs through LLVMFuzzerTestOneInput, one TAP line each, so
 * that a corpus doubles as a regression test (run it under ASan/UBSan to
 * catch what a crash alone would not show).
 *
 *   fuzz-<target> FILE|DIR...   replay these files (directories: every file)
 *   fuzz-<target>               replay tests/fuzz/corpus/<FUZZ_CORPUS>/, found
 *                               through $CELL_TOP, the binary's location
 *                               (build/tests/<dir>/) or the current directory
 *
 * A file that crashes the target ends the program with that signal, which the
 * test runner reports as a failure. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n_tests, n_failed;

static void replay_file(const char *path)
{
	cell_error *err = NULL;
	char *data = NULL;
	size_t len = 0;

	n_tests++;
	if (read_file(path, &data, &len, &err) < 0) {
		n_failed++;
		printf("not ok %d - read %s: %s\n", n_tests, path, err->msg);
		cell_error_free(&err);
		return;
	}
	fflush(stdout);
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	printf("ok %d - %s\n", n_tests, path);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void replay(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		n_tests++;
		n_failed++;
		printf("not ok %d - %s: %s\n", n_tests, path, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	struct dirent **ents = NULL;
	int n = scandir(path, &ents, NULL, by_name);
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			char *p = xasprintf("%s/%s", path, ents[i]->d_name);
			replay(p);
			free(p);
		}
		free(ents[i]);
	}
	free(ents);
}

#ifdef FUZZ_CORPUS
static char *find_corpus(void)
{
	const char *top = getenv("CELL_TOP");
	char exe[PATH_MAX];
	ssize_t n;
	char *p;
	struct stat st;

	if (top && *top) {
		p = xasprintf("%s/tests/fuzz/corpus/%s", top, FUZZ_CORPUS);
		if (stat(p, &st) == 0)
			return p;
		free(p);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		/* <top>/<build>/tests/<dir>/<binary> */
		p = xasprintf("%s/../../../tests/fuzz/corpus/%s", dirname(exe), FUZZ_CORPUS);
		char *real = realpath(p, NULL);
		free(p);
		if (real)
			return real;
	}
	return xasprintf("tests/fuzz/corpus/%s", FUZZ_CORPUS);
}
#endif

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			replay(argv[i]);
	} else {
#ifdef FUZZ_CORPUS
		char *dir = find_corpus();
		replay(dir);
		free(dir);
#else
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
#endif
	}
	if (n_tests == 0) {
		printf("not ok 1 - no inputs found\n");
		n_tests = n_failed = 1;
	}
	printf("1..%d\n", n_tests);
	return n_failed ? 1 : 0;
}
