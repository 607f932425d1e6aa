/* process.capabilities: names, parsing into masks, and applying the sets in
 * forked children (root, and root → uid 65534 with keepcaps). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "linux/caps.h"
#include "util.h"
#include "tap.h"

#define B(c) CELL_CAP_BIT(c)

static void test_names(void)
{
	IS_INT(cell_cap_from_name("CAP_SYS_ADMIN"), 21, "CAP_SYS_ADMIN is 21");
	IS_INT(cell_cap_from_name("cap_chown"), 0, "names are case-insensitive");
	IS_INT(cell_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40, "CAP_CHECKPOINT_RESTORE is 40");
	IS_INT(cell_cap_from_name("CAP_NOPE"), -1, "unknown name");
	IS_INT(cell_cap_from_name("SYS_ADMIN"), -1, "the prefix is required in config.json");
	IS_STR(cell_cap_name(13), "CAP_NET_RAW", "13 is CAP_NET_RAW");
	IS_STR(cell_cap_name(cell_cap_last_known() + 1), NULL, "beyond the table");
	for (int c = 0; c <= cell_cap_last_known(); c++)
		if (cell_cap_from_name(cell_cap_name(c)) != c) {
			OK(0, "name of %d round-trips", c);
			return;
		}
	OK(1, "every name round-trips");

	cell_error *err = NULL;
	char *text = NULL;
	if (read_file("/proc/sys/kernel/cap_last_cap", &text, NULL, &err) == 0)
		IS_INT(cell_cap_last_cap(), atoi(text), "cap_last_cap as the kernel says");
	else
		OK(0, "read cap_last_cap: %s", err->msg);
	free(text);
	cell_error_free(&err);
}

static int parse(const char *json, struct cell_caps *c, cell_error **err)
{
	json_object *o = NULL;
	if (cj_parse_string("caps", json, &o, err) < 0)
		return -1;
	int r = cell_caps_parse(o, c, err);
	json_object_put(o);
	return r;
}

static void bad(const char *json, const char *want, const char *what)
{
	cell_error *err = NULL;
	struct cell_caps c;
	int r = parse(json, &c, &err);
	OK(r < 0 && err && strstr(err->msg, want), "%s is refused: %s", what, err ? err->msg : "(accepted)");
	if (err && !strstr(err->msg, want))
		printf("#   wanted \"%s\"\n", want);
	cell_error_free(&err);
}

static void test_parse(void)
{
	cell_error *err = NULL;
	struct cell_caps c;
	int r = parse("{\"bounding\": [\"CAP_KILL\", \"CAP_NET_BIND_SERVICE\", \"CAP_AUDIT_WRITE\"],"
		      " \"effective\": [\"CAP_KILL\"], \"permitted\": [\"CAP_KILL\", \"CAP_CHOWN\"],"
		      " \"inheritable\": [], \"ambient\": [\"CAP_CHOWN\"]}", &c, &err);
	OK(r == 0, "parse the five sets%s%s", err ? ": " : "", err ? err->msg : "");
	IS_INT(c.bounding, B(5) | B(10) | B(29), "bounding mask");
	IS_INT(c.effective, B(5), "effective mask");
	IS_INT(c.permitted, B(5) | B(0), "permitted mask");
	IS_INT(c.inheritable, 0, "inheritable mask (empty)");
	IS_INT(c.ambient, B(0), "ambient mask");
	IS_INT(c.ignored, 0, "nothing ignored");
	r = parse("{\"effective\": [\"CAP_SYS_ADMIN\"]}", &c, &err);
	OK(r == 0 && c.effective == B(21) && c.bounding == 0, "missing sets are empty");
	cell_error_free(&err);

	bad("[]", "`process.capabilities`: expected object, got array", "a non-object");
	bad("{\"bounding\": \"CAP_KILL\"}", "`process.capabilities.bounding`: expected array, got string", "a string set");
	bad("{\"permitted\": [\"CAP_KILL\", 5]}", "`process.capabilities.permitted[1]`: expected string, got int",
	    "a number in a set");
	bad("{\"ambient\": [\"CAP_SYS_ADMN\"]}", "`process.capabilities.ambient[0]`: unknown capability `CAP_SYS_ADMN`",
	    "a misspelt name");
}

static void test_parse_list(void)
{
	cell_error *err = NULL;
	uint64_t m = 0;
	char *names[] = { "CAP_KILL", "net_raw", "Sys_Admin", NULL };
	OK(cell_caps_parse_list(names, &m, &err) == 0, "parse --cap list");
	IS_INT(m, B(5) | B(13) | B(21), "--cap mask");
	char *badl[] = { "CAP_KILL", "CAP_FLY", NULL };
	OK(cell_caps_parse_list(badl, &m, &err) < 0 && err && strstr(err->msg, "unknown capability `CAP_FLY`"),
	   "unknown --cap: %s", err ? err->msg : "(accepted)");
	cell_error_free(&err);
	char *none[] = { NULL };
	OK(cell_caps_parse_list(none, &m, &err) == 0 && m == 0, "empty list");
}

/* Apply in a child and send back the resulting sets through a pipe. */
static int apply_in_child(const char *json, uid_t uid, bool drop_all, struct cell_caps *got, char *msg, size_t msglen)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		cell_error *err = NULL;
		struct cell_caps c = { 0 }, now = { 0 };
		char out[sizeof(now) + 256] = { 0 };
		close(p[0]);
		if (json && parse(json, &c, &err) < 0)
			goto fail;
		if (cell_caps_keep(true, &err) < 0)
			goto fail;
		if (uid && (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)) {
			cell_error_errno(&err, errno, "setresuid");
			goto fail;
		}
		if ((drop_all ? cell_caps_drop_all(&err) : cell_caps_apply(&c, &err)) < 0)
			goto fail;
		cell_caps_keep(false, NULL);
		if (cell_caps_get(&now, &err) < 0)
			goto fail;
		memcpy(out, &now, sizeof(now));
		(void)!write(p[1], out, sizeof(out));
		_exit(0);
	fail:
		snprintf(out + sizeof(now), 256, "%s", err ? err->msg : "?");
		(void)!write(p[1], out, sizeof(out));
		_exit(1);
	}
	close(p[1]);
	char in[sizeof(*got) + 256] = { 0 };
	ssize_t n = read(p[0], in, sizeof(in));
	close(p[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	memcpy(got, in, sizeof(*got));
	snprintf(msg, msglen, "%s", in + sizeof(*got));
	return n == (ssize_t)sizeof(in) && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_apply(void)
{
	struct cell_caps got;
	char msg[256];
	if (geteuid() != 0) {
		printf("ok %d - # SKIP applying capabilities needs root\n", ++tap_n);
		return;
	}
	const char *spec = "{\"bounding\": [\"CAP_KILL\", \"CAP_NET_BIND_SERVICE\", \"CAP_AUDIT_WRITE\", \"CAP_CHOWN\"],"
			   " \"effective\": [\"CAP_KILL\", \"CAP_CHOWN\"], \"permitted\": [\"CAP_KILL\", \"CAP_CHOWN\","
			   " \"CAP_NET_BIND_SERVICE\"], \"inheritable\": [\"CAP_CHOWN\"], \"ambient\": [\"CAP_CHOWN\"]}";
	int r = apply_in_child(spec, 0, false, &got, msg, sizeof(msg));
	IS_INT(r, 0, "apply as root");
	if (r)
		printf("#   %s\n", msg);
	IS_INT(got.bounding, B(5) | B(10) | B(29) | B(0), "root: bounding set is exactly the spec's");
	IS_INT(got.effective, B(5) | B(0), "root: effective");
	IS_INT(got.permitted, B(5) | B(0) | B(10), "root: permitted");
	IS_INT(got.inheritable, B(0), "root: inheritable");
	IS_INT(got.ambient, B(0), "root: ambient raised");

	r = apply_in_child(spec, 65534, false, &got, msg, sizeof(msg));
	IS_INT(r, 0, "apply after setresuid(65534) with keepcaps");
	if (r)
		printf("#   %s\n", msg);
	IS_INT(got.bounding, B(5) | B(10) | B(29) | B(0), "uid 65534: bounding");
	IS_INT(got.effective, B(5) | B(0), "uid 65534: effective kept across setuid");
	IS_INT(got.permitted, B(5) | B(0) | B(10), "uid 65534: permitted");
	IS_INT(got.ambient, B(0), "uid 65534: ambient");

	r = apply_in_child(NULL, 65534, true, &got, msg, sizeof(msg));
	IS_INT(r, 0, "drop_all");
	OK(got.bounding == 0 && got.effective == 0 && got.permitted == 0 && got.inheritable == 0 && got.ambient == 0,
	   "drop_all leaves no capability in any set");

	r = apply_in_child("{\"effective\": [\"CAP_KILL\"], \"permitted\": [\"CAP_CHOWN\"]}", 0, false, &got, msg, sizeof(msg));
	OK(r == 1 && strstr(msg, "`process.capabilities.effective`: CAP_KILL not in `process.capabilities.permitted`"),
	   "effective outside permitted is an error: %s", msg);

	r = apply_in_child("{\"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"], \"permitted\": [\"CAP_KILL\"],"
			   " \"inheritable\": [\"CAP_KILL\", \"CAP_CHOWN\"]}", 0, false, &got, msg, sizeof(msg));
	OK(r == 0 && got.inheritable == B(5) && got.bounding == B(5),
	   "an inheritable capability outside the bounding set is left out, not fatal (%s)", msg);

	/* a capability the runtime itself lacks is left out, not fatal */
	struct cell_caps self;
	cell_error *err = NULL;
	cell_caps_get(&self, &err);
	int lacking = -1;
	for (int c = 0; c <= cell_cap_last_cap(); c++)
		if (!(self.permitted & B(c))) {
			lacking = c;
			break;
		}
	if (lacking < 0) {
		printf("ok %d - # SKIP this process holds every capability\n", ++tap_n);
		return;
	}
	char *j = xasprintf("{\"bounding\": [\"CAP_KILL\", \"%s\"], \"effective\": [\"CAP_KILL\", \"%s\"],"
			    " \"permitted\": [\"CAP_KILL\", \"%s\"]}", cell_cap_name(lacking), cell_cap_name(lacking),
			    cell_cap_name(lacking));
	r = apply_in_child(j, 0, false, &got, msg, sizeof(msg));
	free(j);
	OK(r == 0 && got.effective == B(5) && got.permitted == B(5),
	   "%s (not held by this process) is skipped, the rest applied (%s)", cell_cap_name(lacking), msg);
}

int main(void)
{
	test_names();
	test_parse();
	test_parse_list();
	test_apply();
	return TAP_DONE();
}
