/* Unit tests of the engine's pure parts: names, ids, flag values, the
 * generated config.json, log lines. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/engine-internal.h"
#include "image/image.h"
#include "json.h"
#include "tap.h"
#include "util.h"

static void test_names(void)
{
	char *n = cell_name_random();
	OK(cell_name_valid(n) && strchr(n, '_'), "random name `%s` is valid adjective_surname", n);
	free(n);
	OK(cell_name_valid("web-1.a_b"), "name with - . _");
	OK(!cell_name_valid("-web"), "name starting with -");
	OK(!cell_name_valid("a b"), "name with a space");
	OK(!cell_name_valid("a/b"), "name with a slash");
	OK(!cell_name_valid(""), "empty name");
	char *id = cell_id_new(), *id2 = cell_id_new();
	IS_INT(strlen(id), 64, "id length");
	OK(strspn(id, "0123456789abcdef") == 64, "id is lower-case hex");
	OK(strcmp(id, id2) != 0, "two ids differ");
	free(id);
	free(id2);
}

static void test_restart(void)
{
	char *name = NULL;
	int max = -1;
	cell_error *err = NULL;
	OK(cell_restart_parse("on-failure:3", &name, &max, &err) == 0 && streq(name, "on-failure") && max == 3,
	   "on-failure:3");
	free(name);
	OK(cell_restart_parse("always", &name, &max, &err) == 0 && streq(name, "always") && max == 0, "always");
	free(name);
	OK(cell_restart_parse(NULL, &name, &max, &err) == 0 && streq(name, "no"), "default no");
	free(name);
	OK(cell_restart_parse("on-failure:x", &name, &max, &err) < 0 && strstr(err->msg, "on-failure:x"),
	   "on-failure:x refused, named");
	cell_error_free(&err);
	OK(cell_restart_parse("sometimes", &name, &max, &err) < 0, "unknown policy refused");
	cell_error_free(&err);
}

static void test_cpus(void)
{
	int64_t q = 0;
	cell_error *err = NULL;
	OK(cell_cpus_parse("1.5", &q, &err) == 0 && q == 150000, "--cpus 1.5 → 150000");
	OK(cell_cpus_parse("0.01", &q, &err) == 0 && q == 1000, "--cpus 0.01 → 1000");
	OK(cell_cpus_parse("-1", &q, &err) < 0 && strstr(err->msg, "--cpus `-1`"), "--cpus -1 refused");
	cell_error_free(&err);
	OK(cell_cpus_parse("0", &q, &err) < 0, "--cpus 0 refused");
	cell_error_free(&err);
	OK(cell_cpus_parse("2x", &q, &err) < 0, "--cpus 2x refused");
	cell_error_free(&err);
}

static void test_ulimit(void)
{
	json_object *o = NULL;
	cell_error *err = NULL;
	OK(cell_ulimit_parse("nofile=100:200", &o, &err) == 0, "nofile=100:200 parses");
	IS_STR(cj_to_string(o, false), "{\"type\":\"RLIMIT_NOFILE\",\"hard\":200,\"soft\":100}", "ulimit json");
	json_object_put(o);
	OK(cell_ulimit_parse("core=5", &o, &err) == 0 &&
	   json_object_get_int(json_object_object_get(o, "hard")) == 5, "core=5: hard = soft");
	json_object_put(o);
	OK(cell_ulimit_parse("nofile=200:100", &o, &err) < 0, "soft above hard refused");
	cell_error_free(&err);
	OK(cell_ulimit_parse("bogus=1", &o, &err) < 0 && strstr(err->msg, "bogus"), "unknown limit named");
	cell_error_free(&err);
}

static void test_volumes(void)
{
	json_object *m = NULL;
	cell_error *err = NULL;
	OK(cell_volume_parse("/tmp:/data:ro", &m, &err) == 0, "-v /tmp:/data:ro");
	IS_STR(json_object_get_string(json_object_object_get(m, "destination")), "/data", "destination");
	IS_STR(json_object_get_string(json_object_object_get(m, "source")), "/tmp", "source");
	OK(strstr(cj_to_string(m, false), "\"ro\"") != NULL, "ro option");
	json_object_put(m);
	OK(cell_volume_parse("/tmp", &m, &err) == 0, "-v /ctr: an anonymous volume");
	IS_STR(json_object_get_string(json_object_object_get(m, "type")), "volume", "-v /ctr: type volume");
	IS_STR(json_object_get_string(json_object_object_get(m, "source")), "", "-v /ctr: no name");
	json_object_put(m);
	OK(cell_volume_parse("/c:ro", &m, &err) == 0 && strstr(cj_to_string(m, false), "\"ro\""),
	   "-v /ctr:ro: an anonymous read-only volume");
	json_object_put(m);
	OK(cell_volume_parse("data:/d:ro,nocopy", &m, &err) == 0, "-v NAME:/ctr:ro,nocopy");
	IS_STR(json_object_get_string(json_object_object_get(m, "source")), "data", "-v NAME: the name is the source");
	OK(strstr(cj_to_string(m, false), "nocopy") != NULL, "-v nocopy kept for the engine");
	json_object_put(m);
	OK(cell_volume_parse("rel", &m, &err) < 0 && strstr(err->msg, "invalid -v"), "-v relative without colon");
	cell_error_free(&err);
	OK(cell_volume_parse("a/b:/x", &m, &err) < 0 && strstr(err->msg, "absolute"), "-v relative host path");
	cell_error_free(&err);
	OK(cell_volume_parse("x:/d", &m, &err) < 0 && strstr(err->msg, "volume name"), "-v one-letter volume name");
	cell_error_free(&err);
	OK(cell_mount_flag_parse("type=volume,source=v1,target=/v,readonly,volume-nocopy", &m, &err) == 0 &&
	   strstr(cj_to_string(m, false), "nocopy") && strstr(cj_to_string(m, false), "\"ro\""),
	   "--mount type=volume,readonly,volume-nocopy");
	json_object_put(m);
	OK(cell_mount_flag_parse("type=volume,source=a/b,target=/v", &m, &err) < 0 && strstr(err->msg, "volume name"),
	   "--mount type=volume with a path as source refused");
	cell_error_free(&err);
	OK(cell_volume_parse("/tmp:rel", &m, &err) < 0, "-v relative target refused");
	cell_error_free(&err);
	OK(cell_volume_parse("/tmp:/x:zz", &m, &err) < 0, "-v unknown option refused");
	cell_error_free(&err);
	OK(cell_volume_parse("/no/such/dir:/x", &m, &err) < 0, "-v missing host path refused");
	cell_error_free(&err);
	OK(cell_mount_flag_parse("type=tmpfs,target=/t,tmpfs-size=1m", &m, &err) == 0 &&
	   strstr(cj_to_string(m, false), "size=1048576"), "--mount tmpfs with size");
	json_object_put(m);
	OK(cell_mount_flag_parse("type=bind,src=/tmp,dst=/b,readonly", &m, &err) == 0 &&
	   strstr(cj_to_string(m, false), "\"ro\""), "--mount bind readonly");
	json_object_put(m);
	OK(cell_mount_flag_parse("type=tmpfs", &m, &err) < 0, "--mount without target");
	cell_error_free(&err);
	OK(cell_mount_flag_parse("type=bind,target=/x,color=red", &m, &err) < 0 && strstr(err->msg, "color"),
	   "--mount unknown field named");
	cell_error_free(&err);
}

static void test_caps(void)
{
	char *c = cell_cap_normalize("net_admin");
	IS_STR(c, "CAP_NET_ADMIN", "net_admin");
	free(c);
	c = cell_cap_normalize("CAP_SYS_ADMIN");
	IS_STR(c, "CAP_SYS_ADMIN", "CAP_SYS_ADMIN");
	free(c);
	c = cell_cap_normalize("all");
	IS_STR(c, "ALL", "all");
	free(c);
	OK(cell_cap_normalize("bogus") == NULL, "unknown capability");
	size_t n = 0;
	while (cell_default_caps[n])
		n++;
	IS_INT(n, 14, "Docker's default set has 14 capabilities");
}

static void test_log_line(void)
{
	char *l = cell_log_line("stdout", "a \"q\"\n", 6);
	OK(strncmp(l, "{\"log\":\"a \\\"q\\\"\\n\",\"stream\":\"stdout\",\"time\":\"", 45) == 0, "log line escapes");
	OK(l[strlen(l) - 1] == '\n', "log line ends with a newline");
	json_object *o = json_tokener_parse(l);
	OK(o && streq(json_object_get_string(json_object_object_get(o, "log")), "a \"q\"\n"), "log line parses back");
	json_object_put(o);
	free(l);
}

static void test_spec(void)
{
	struct cell_image img = { .id = "sha256:x" };
	char *ep[] = { "/bin/ep", NULL }, *cmd[] = { "arg", NULL }, *env[] = { "IMG=1", NULL };
	img.config.entrypoint = ep;
	img.config.cmd = cmd;
	img.config.env = env;
	img.config.working_dir = "/w";
	char *e[] = { "A=b", NULL }, *drop[] = { "chown", NULL }, *add[] = { "net_admin", NULL };
	struct cell_run_request req = {
		.image = "x", .env = e, .cap_drop = drop, .cap_add = add, .memory = "64m", .cpus = "0.5",
		.pids_limit = "10", .read_only = true, .hostname = "h",
	};
	struct engine_spec sp;
	cell_error *err = NULL;
	OK(engine_spec_build(&req, &img, "0123456789abcdef", "/c", &sp, &err) == 0, "spec builds");
	if (err)
		printf("# %s\n", err->msg);
	const char *t = cj_to_string(sp.doc, false);
	OK(strstr(t, "\"args\":[\"\\/bin\\/ep\",\"arg\"]") || strstr(t, "\"args\":[\"/bin/ep\",\"arg\"]"),
	   "args = entrypoint + cmd");
	OK(strstr(t, "\"IMG=1\"") && strstr(t, "\"A=b\"") && strstr(t, "HOSTNAME=h"), "env merged");
	OK(strstr(t, "\"cwd\":\"\\/w\"") || strstr(t, "\"cwd\":\"/w\""), "image WorkingDir");
	OK(strstr(t, "CAP_NET_ADMIN") && !strstr(t, "CAP_CHOWN"), "caps: add and drop");
	OK(strstr(t, "\"limit\":67108864"), "memory limit");
	OK(strstr(t, "\"quota\":50000"), "cpu quota");
	OK(strstr(t, "\"readonly\":true"), "read-only root");
	OK(strstr(t, "maskedPaths") && strstr(t, "readonlyPaths"), "masked and read-only paths");
	engine_spec_clear(&sp);

	struct cell_run_request bad = { .image = "x", .memory = "12q" };
	OK(engine_spec_build(&bad, &img, "0123456789abcdef", "/c", &sp, &err) < 0 && strstr(err->msg, "12q"),
	   "--memory 12q refused");
	cell_error_free(&err);
	struct cell_image empty = { .id = "sha256:y" };
	struct cell_run_request nocmd = { .image = "x" };
	OK(engine_spec_build(&nocmd, &empty, "0123456789abcdef", "/c", &sp, &err) < 0 &&
	   strstr(err->msg, "no command"), "no command refused");
	cell_error_free(&err);
}

int main(void)
{
	test_names();
	test_restart();
	test_cpus();
	test_ulimit();
	test_volumes();
	test_caps();
	test_log_line();
	test_spec();
	return TAP_DONE();
}
