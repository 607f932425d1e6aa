/* Minimal TAP for unit tests: every assertion prints what it checked. */
#ifndef CELL_TAP_H
#define CELL_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define OK(cond, ...) do {                                                     \
		int _ok = !!(cond);                                            \
		tap_n++;                                                       \
		if (_ok) {                                                    \
			printf("ok %d - ", tap_n);                             \
		} else {                                                       \
			tap_failed++;                                          \
			printf("not ok %d - ", tap_n);                         \
		}                                                              \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
		if (!_ok)                                                      \
			printf("#   failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
	} while (0)

#define IS_INT(got, want, what) do {                                           \
		long long _g = (long long)(got), _w = (long long)(want);       \
		OK(_g == _w, "%s: %lld", what, _w);                            \
		if (_g != _w)                                                  \
			printf("#   got %lld\n", _g);                              \
	} while (0)

#define IS_STR(got, want, what) do {                                           \
		const char *_g = (got), *_w = (want);                          \
		int _eq = (_g && _w) ? strcmp(_g, _w) == 0 : _g == _w;         \
		OK(_eq, "%s: \"%s\"", what, _w ? _w : "(null)");               \
		if (!_eq)                                                      \
			printf("#   got \"%s\"\n", _g ? _g : "(null)");        \
	} while (0)

#define TAP_DONE() (printf("1..%d\n", tap_n), tap_failed ? 1 : 0)

#endif
