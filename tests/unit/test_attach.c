/* --detach-keys: Docker's syntax to the bytes the attach client watches for. */
#include "engine/engine.h"
#include "tap.h"

static void keys(const char *s, const char *want, size_t want_n)
{
	unsigned char k[CELL_DETACH_KEYS_MAX];
	size_t n = 0;
	cell_error *err = NULL;
	int r = cell_detach_keys_parse(s, k, &n, &err);
	OK(r == 0 && n == want_n && memcmp(k, want, n) == 0, "detach keys `%s`: %zu bytes", s, want_n);
	if (err)
		printf("#   error: %s\n", err->msg);
	cell_error_free(&err);
}

static void bad(const char *s, const char *says)
{
	unsigned char k[CELL_DETACH_KEYS_MAX];
	size_t n = 0;
	cell_error *err = NULL;
	int r = cell_detach_keys_parse(s, k, &n, &err);
	OK(r < 0 && err && strstr(err->msg, says), "detach keys `%s` refused, naming `%s`", s, says);
	if (err)
		printf("#   %s\n", err->msg);
	cell_error_free(&err);
}

int main(void)
{
	keys(CELL_DETACH_KEYS_DEFAULT, "\x10\x11", 2);
	keys("ctrl-P,ctrl-Q", "\x10\x11", 2);
	keys("ctrl-a", "\x01", 1);
	keys("ctrl-x,d", "\x18" "d", 2);
	keys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", "\0\x1b\x1c\x1d\x1e\x1f", 6);
	keys("a,b,c", "abc", 3);
	bad("ctrl-1", "ctrl-1");
	bad("ctrl-", "ctrl-");
	bad("ctrl-pq", "ctrl-pq");
	bad("ab", "ab");
	bad("", "no key");
	bad(",", "no key");
	bad("a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a", "at most");
	return TAP_DONE();
}
