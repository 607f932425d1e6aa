/* Unit tests of health.c's pure parts (Go durations, Config.Healthcheck from
 * flags over the image's HEALTHCHECK, the monitor's timing) and of image/
 * auth.c's credentials file (keys, save, lookup, remove). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/health.h"
#include "image/auth.h"
#include "json.h"
#include "tap.h"
#include "util.h"

static void test_durations(void)
{
	static const struct { const char *s; int64_t ns; } good[] = {
		{ "0", 0 }, { "30s", 30000000000LL }, { "1m30s", 90000000000LL }, { "500ms", 500000000 },
		{ "1.5s", 1500000000 }, { "1h", 3600000000000LL }, { "10us", 10000 }, { "2ns", 2 }, { "-1s", -1000000000 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		int64_t v = -42;
		int r = cell_duration_parse(good[i].s, &v);
		OK(r == 0 && v == good[i].ns, "duration `%s` = %lld ns", good[i].s, (long long)good[i].ns);
	}
	static const char *const bad[] = { "", "5", "5x", "s", "1m3", "--1s", "1.2.3s" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t v;
		OK(cell_duration_parse(bad[i], &v) < 0, "duration `%s` refused", bad[i]);
	}
}

static json_object *parse(const char *text)
{
	json_object *o = NULL;
	cell_error *err = NULL;
	cj_parse_string("test", text, &o, &err);
	cell_error_free(&err);
	return o;
}

static void test_config(void)
{
	cell_error *err = NULL;
	json_object *hc = NULL;
	const char *act = NULL;
	struct cell_run_request req = { 0 };
	OK(engine_health_config(&req, NULL, &hc, &act, &err) == 0 && !hc, "no flags, no HEALTHCHECK: none");
	json_object *img = parse("{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":2000000000,\"Retries\":5}}");
	req.health_interval = "1s";
	OK(engine_health_config(&req, img, &hc, &act, &err) == 0 && hc, "the image's HEALTHCHECK with --health-interval");
	IS_STR(json_object_get_string(json_object_array_get_idx(json_object_object_get(hc, "Test"), 1)), "true",
	       "the image's Test kept");
	IS_INT(json_object_get_int64(json_object_object_get(hc, "Interval")), 1000000000, "--health-interval overrides");
	IS_INT(json_object_get_int64(json_object_object_get(hc, "Retries")), 5, "the image's Retries kept");
	IS_STR(act, "none", "on-failure default none");
	json_object *rec = json_object_new_object();
	json_object *cfg = json_object_new_object();
	json_object_object_add(cfg, "Healthcheck", hc);
	json_object_object_add(rec, "Config", cfg);
	int64_t iv, sp, si;
	engine_health_timing(rec, &iv, &sp, &si);
	OK(iv == 1000 && sp == 0 && si == 5000, "timing in ms: interval 1000, start period 0, start interval 5000");
	json_object_put(rec);
	req = (struct cell_run_request){ .no_healthcheck = true };
	OK(engine_health_config(&req, img, &hc, &act, &err) == 0 && hc, "--no-healthcheck: Test NONE");
	json_object *t = json_object_object_get(hc, "Test");
	IS_STR(json_object_get_string(json_object_array_get_idx(t, 0)), "NONE", "Test [\"NONE\"]");
	json_object *rec2 = json_object_new_object(), *cfg2 = json_object_new_object();
	json_object_object_add(cfg2, "Healthcheck", hc);
	json_object_object_add(rec2, "Config", cfg2);
	engine_health_timing(rec2, &iv, &sp, &si);
	IS_INT(iv, 0, "Test NONE: no timer");
	json_object_put(rec2);
	req = (struct cell_run_request){ .health_interval = "10s" };
	OK(engine_health_config(&req, NULL, &hc, &act, &err) < 0, "--health-interval without a check is refused");
	cell_error_free(&err);
	req = (struct cell_run_request){ .health_cmd = "true", .health_on_failure = "explode" };
	OK(engine_health_config(&req, NULL, &hc, &act, &err) < 0, "--health-on-failure explode refused");
	cell_error_free(&err);
	json_object_put(img);
}

static void test_auth(void)
{
	char path[] = "/tmp/cell-unit-auth.XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	cell_error *err = NULL;
	_cleanup_free_ char *k1 = cell_auth_key("docker.io");
	_cleanup_free_ char *k2 = cell_auth_key("https://localhost:5000/v2/");
	IS_STR(k1, "https://index.docker.io/v1/", "docker.io's key is Docker's");
	IS_STR(k2, "localhost:5000", "a scheme and path are dropped");
	OK(cell_auth_save(path, "localhost:5000", "u", "p:w=", &err) == 0, "save");
	char *u = NULL, *p = NULL;
	OK(cell_auth_lookup(path, "localhost:5000", &u, &p, &err) == 0 && u && p, "lookup");
	IS_STR(u, "u", "user back");
	IS_STR(p, "p:w=", "password back (with : and =)");
	free(u);
	free(p);
	OK(cell_auth_lookup(path, "other", &u, &p, &err) == 0 && !u && !p, "another registry: none");
	bool found = false;
	OK(cell_auth_remove(path, "localhost:5000", &found, &err) == 0 && found, "remove");
	OK(cell_auth_lookup(path, "localhost:5000", &u, &p, &err) == 0 && !u, "gone after remove");
	unlink(path);
	cell_error_free(&err);
}

int main(void)
{
	test_durations();
	test_config();
	test_auth();
	return TAP_DONE();
}
