#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "error.h"
#include "json.h"
#include "util.h"
#include "tap.h"

static void test_errors(void)
{
	cell_error *err = NULL;
	int r = cell_error_errno(&err, ENOENT, "open `%s`", "/x");
	IS_INT(r, -ENOENT, "cell_error_errno returns -errno");
	IS_STR(err->msg, "open `/x`: No such file or directory", "message names the file and errno");
	cell_error_wrap(&err, "bundle `%s`", "/b");
	IS_STR(err->msg, "bundle `/b`: open `/x`: No such file or directory", "wrap prefixes context");
	IS_INT(cell_error_code(err), ENOENT, "errno kept across wrap");
	cell_error_free(&err);
	OK(err == NULL, "free resets the pointer");
	cell_error_errno(&err, EPERM, "mount");
	OK(strstr(err->msg, "not root") != NULL, "EPERM carries a hint: %s", err->msg);
	cell_error_free(&err);
}

static void test_parse(void)
{
	int64_t v;
	uint64_t u;
	IS_INT(parse_int64("42", &v), 0, "parse_int64 42");
	IS_INT(v, 42, "value 42");
	OK(parse_int64("42x", &v) < 0, "parse_int64 rejects trailing garbage");
	OK(parse_int64("99999999999999999999", &v) < 0, "parse_int64 rejects overflow");
	OK(parse_uint64("-1", &u) < 0, "parse_uint64 rejects negatives");
	IS_INT(parse_size("64m", &v), 0, "parse_size 64m");
	IS_INT(v, 64 << 20, "64m is 64 MiB");
	parse_size("1.5g", &v);
	IS_INT(v, 3LL << 29, "1.5g");
	OK(parse_size("12q", &v) < 0, "parse_size rejects 12q");
	OK(parse_size("-1", &v) < 0, "parse_size rejects -1");
	IS_INT(signal_parse("KILL"), SIGKILL, "signal KILL");
	IS_INT(signal_parse("SIGTERM"), SIGTERM, "signal SIGTERM");
	IS_INT(signal_parse("9"), 9, "signal 9");
	IS_INT(signal_parse("sigusr1"), SIGUSR1, "signal sigusr1");
	OK(signal_parse("NOPE") < 0, "unknown signal rejected");
	OK(signal_parse("0") < 0, "signal 0 rejected");
	IS_INT(signal_parse("RTMIN+2"), SIGRTMIN + 2, "RTMIN+2");
}

static void test_json(void)
{
	cell_error *err = NULL;
	json_object *o = NULL;
	const char *s = NULL;
	int64_t i = 0;

	OK(cj_parse_string("t", "{\"a\": \"x\", \"n\": 3, \"v\": [\"p\", 1]}", &o, &err) == 0, "parse object");
	IS_INT(cj_string(o, "a", "root", &s, &err), 1, "string present");
	IS_STR(s, "x", "string value");
	IS_INT(cj_string(o, "missing", "root", &s, &err), 0, "absent key is 0");
	OK(cj_string(o, "n", "root", &s, &err) < 0, "wrong type is an error");
	IS_STR(err ? err->msg : NULL, "`root.n`: expected string, got int", "type error names the field");
	cell_error_free(&err);
	IS_INT(cj_int64(o, "n", "root", &i, &err), 1, "int present");
	char **v = NULL;
	OK(cj_strv(o, "v", "root", &v, &err) < 0, "array with a non-string fails");
	IS_STR(err ? err->msg : NULL, "`root.v[1]`: expected string, got int", "element named");
	cell_error_free(&err);
	json_object_put(o);

	OK(cj_parse_string("c.json", "{\n\"a\": \n}", &o, &err) < 0, "syntax error");
	OK(err && strstr(err->msg, "c.json`: line 3") != NULL, "syntax error names the file and line: %s",
	   err ? err->msg : "");
	cell_error_free(&err);
	OK(cj_parse_string("c.json", "{} x", &o, &err) < 0, "trailing garbage refused");
	cell_error_free(&err);
}

static void test_files(void)
{
	cell_error *err = NULL;
	char dir[] = "/tmp/cell-unit-XXXXXX";
	OK(mkdtemp(dir) != NULL, "mkdtemp");
	char *p = xasprintf("%s/a/b/c", dir);
	IS_INT(mkdir_p(p, 0755, &err), 0, "mkdir_p nested");
	char *f = xasprintf("%s/file", p);
	IS_INT(write_file_atomic(f, "hello", 5, 0644, &err), 0, "atomic write");
	char *data = NULL;
	IS_INT(read_file(f, &data, NULL, &err), 0, "read back");
	IS_STR(data, "hello", "content");
	free(data);
	OK(proc_start_time(getpid()) > 0, "own start time readable");
	IS_INT(rm_rf(dir, &err), 0, "rm_rf");
	OK(access(dir, F_OK) < 0, "tree gone");
	free(p);
	free(f);
}

int main(void)
{
	test_errors();
	test_parse();
	test_json();
	test_files();
	return TAP_DONE();
}
