/* The systemd cgroup driver's pure parts: cgroupsPath "slice:prefix:name",
 * slice nesting, unit properties from linux.resources (runc's formulas),
 * AllowedCPUs bit masks, org.systemd.property.* annotations; and, on a host
 * without systemd, the one-line refusal. The D-Bus side runs in
 * tests/vm/systemd.sh. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup-internal.h"
#include "cgroup/cgroup.h"
#include "json.h"
#include "util.h"
#include "tap.h"

static json_object *J(const char *text)
{
	cell_error *err = NULL;
	json_object *o = NULL;
	if (cj_parse_string("test", text, &o, &err) < 0) {
		printf("# bad test JSON: %s\n", err->msg);
		abort();
	}
	return o;
}

static void path_ok(const char *in, const char *unit, const char *slice, const char *dir)
{
	struct cg_sd_path p = { 0 };
	cell_error *err = NULL;
	int r = cg_sd_parse_path("ID", in, &p, &err);
	OK(r == 0, "cgroupsPath `%s` parses%s%s", in ? in : "(none)", err ? ": " : "", err ? err->msg : "");
	IS_STR(p.unit, unit, "  unit");
	IS_STR(p.slice, slice, "  slice");
	IS_STR(p.dir, dir, "  cgroup");
	cg_sd_path_clear(&p);
	cell_error_free(&err);
}

static void path_bad(const char *in, const char *needle)
{
	struct cg_sd_path p = { 0 };
	cell_error *err = NULL;
	int r = cg_sd_parse_path("ID", in, &p, &err);
	OK(r < 0 && err && strstr(err->msg, needle), "cgroupsPath `%s` refused naming \"%s\"", in, needle);
	if (err)
		printf("#   %s\n", err->msg);
	cg_sd_path_clear(&p);
	cell_error_free(&err);
}

static void test_paths(void)
{
	path_ok(NULL, "cell-ID.scope", "system.slice", "/system.slice/cell-ID.scope");
	path_ok("system.slice:docker:abc", "docker-abc.scope", "system.slice", "/system.slice/docker-abc.scope");
	path_ok("kubepods-besteffort-pod12.slice:cri-containerd:c1", "cri-containerd-c1.scope",
		"kubepods-besteffort-pod12.slice",
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-c1.scope");
	path_ok(":cell:x", "cell-x.scope", "system.slice", "/system.slice/cell-x.scope");
	path_ok("-.slice:p:n", "p-n.scope", "-.slice", "/p-n.scope");
	path_ok("machine.slice::n", "n.scope", "machine.slice", "/machine.slice/n.scope");
	path_bad("/cell/x", "slice:prefix:name");
	path_bad("a.slice:b", "slice:prefix:name");
	path_bad("a.slice:b:c:d", "slice:prefix:name");
	path_bad("a/b.slice:p:n", "no `/`");
	path_bad("a--b.slice:p:n", "cannot");
	path_bad("-a.slice:p:n", "cannot");
	path_bad("a-.slice:p:n", "cannot");
	path_bad("system:p:n", "ends in .slice");
	path_bad("system.slice:p:", "name part is empty");
	path_bad("system.slice:p:x/y", "`/`");
	path_bad("system.slice:p:own.slice", "not supported");
}

static struct cg_sd_props props_of(const char *res)
{
	struct cg_resources r;
	struct cg_sd_props p = { 0 };
	cell_error *err = NULL;
	json_object *o = J(res);
	if (cg_resources_parse(o, &r, &err) < 0 || cg_sd_resource_props(&r, &p, &err) < 0) {
		printf("# %s: %s\n", res, err->msg);
		cell_error_free(&err);
	} else {
		cg_resources_clear(&r);
	}
	json_object_put(o);
	return p;
}

static void u64_is(const struct cg_sd_props *p, const char *name, uint64_t want)
{
	const struct cg_sd_prop *x = cg_sd_props_find(p, name);
	OK(x && x->type == 't' && x->u == want, "%s = %llu (t)", name, (unsigned long long)want);
	if (x && (x->type != 't' || x->u != want))
		printf("#   got %c %llu\n", x->type, (unsigned long long)x->u);
}

static void test_props(void)
{
	struct cg_sd_props p = props_of("{\"memory\":{\"limit\":67108864,\"reservation\":33554432,"
					"\"swap\":134217728},\"cpu\":{\"quota\":50000,\"period\":100000,"
					"\"shares\":1024,\"cpus\":\"0-1,3\",\"mems\":\"0\"},\"pids\":{\"limit\":42},"
					"\"blockIO\":{\"weight\":500}}");
	u64_is(&p, "MemoryMax", 67108864);
	u64_is(&p, "MemoryLow", 33554432);
	u64_is(&p, "MemorySwapMax", 134217728 - 67108864);
	u64_is(&p, "CPUQuotaPerSecUSec", 500000);
	u64_is(&p, "CPUQuotaPeriodUSec", 100000);
	u64_is(&p, "CPUWeight", cg_shares_to_weight(1024));
	u64_is(&p, "TasksMax", 42);
	u64_is(&p, "IOWeight", cg_blkio_to_io_weight(500));
	const struct cg_sd_prop *c = cg_sd_props_find(&p, "AllowedCPUs");
	OK(c && c->type == 'B' && c->n_bytes == 1 && c->bytes[0] == 0x0b, "AllowedCPUs 0-1,3 = {0x0b}");
	c = cg_sd_props_find(&p, "AllowedMemoryNodes");
	OK(c && c->type == 'B' && c->n_bytes == 1 && c->bytes[0] == 0x01, "AllowedMemoryNodes 0 = {0x01}");
	cg_sd_props_clear(&p);

	/* runc: rounded up to the next 10 ms so cpu.max is at least the asked */
	p = props_of("{\"cpu\":{\"quota\":12345,\"period\":100000}}");
	u64_is(&p, "CPUQuotaPerSecUSec", 130000);
	cg_sd_props_clear(&p);
	p = props_of("{\"cpu\":{\"quota\":20000}}");
	u64_is(&p, "CPUQuotaPerSecUSec", 200000);
	OK(!cg_sd_props_find(&p, "CPUQuotaPeriodUSec"), "no period given: no CPUQuotaPeriodUSec");
	cg_sd_props_clear(&p);
	p = props_of("{\"cpu\":{\"quota\":-1,\"period\":50000}}");
	u64_is(&p, "CPUQuotaPerSecUSec", UINT64_MAX);
	cg_sd_props_clear(&p);
	p = props_of("{\"memory\":{\"limit\":-1,\"swap\":-1},\"pids\":{\"limit\":-1}}");
	u64_is(&p, "MemoryMax", UINT64_MAX);
	u64_is(&p, "MemorySwapMax", UINT64_MAX);
	u64_is(&p, "TasksMax", UINT64_MAX);
	cg_sd_props_clear(&p);
	p = props_of("{}");
	IS_INT(p.n, 0, "no resources: no properties");
	cg_sd_props_clear(&p);
}

static void test_bits(void)
{
	uint8_t *b = NULL;
	size_t n = 0;
	cell_error *err = NULL;
	OK(cg_sd_cpuset_bits("8-9,15", &b, &n, &err) == 0 && n == 2 && b[0] == 0 && b[1] == 0x83,
	   "cpus 8-9,15 = {0x00, 0x83}");
	free(b);
	b = NULL;
	OK(cg_sd_cpuset_bits("3-1", &b, &n, &err) < 0 && err, "cpus 3-1 refused");
	cell_error_free(&err);
	OK(cg_sd_cpuset_bits("a", &b, &n, &err) < 0 && err, "cpus `a` refused");
	cell_error_free(&err);
}

static void test_annotations(void)
{
	struct cg_sd_props p = { 0 };
	cell_error *err = NULL;
	json_object *a = J("{\"org.systemd.property.CollectMode\":\"'inactive-or-failed'\","
			   "\"org.systemd.property.TimeoutStopSec\":\"15\","
			   "\"org.systemd.property.MemoryHigh\":\"uint64 1000000\","
			   "\"org.systemd.property.CPUWeight\":\"@t 77\","
			   "\"org.systemd.property.IgnoreOnIsolate\":\"true\","
			   "\"org.systemd.property.Nice\":\"-5\","
			   "\"other\":\"x\"}");
	OK(cg_sd_annotation_props(a, &p, &err) == 0, "annotations parse%s%s", err ? ": " : "", err ? err->msg : "");
	IS_INT(p.n, 6, "six properties (others ignored)");
	const struct cg_sd_prop *x = cg_sd_props_find(&p, "CollectMode");
	OK(x && x->type == 's' && streq(x->s, "inactive-or-failed"), "CollectMode is a string");
	u64_is(&p, "TimeoutStopUSec", 15000000);
	OK(!cg_sd_props_find(&p, "TimeoutStopSec"), "TimeoutStopSec became TimeoutStopUSec (runc)");
	u64_is(&p, "MemoryHigh", 1000000);
	u64_is(&p, "CPUWeight", 77);
	x = cg_sd_props_find(&p, "IgnoreOnIsolate");
	OK(x && x->type == 'b' && x->b, "IgnoreOnIsolate is boolean true");
	x = cg_sd_props_find(&p, "Nice");
	OK(x && x->type == 'i' && x->x == -5, "a bare number is int32");
	cg_sd_props_clear(&p);
	json_object_put(a);

	static const char *const bad[] = {
		"{\"org.systemd.property.x\":\"1\"}",
		"{\"org.systemd.property.Foo1\":\"1\"}",
		"{\"org.systemd.property.Foo\":\"uint32 -1\"}",
		"{\"org.systemd.property.Foo\":\"[1, 2]\"}",
		"{\"org.systemd.property.TimeoutStopSec\":\"'x'\"}",
		"{\"org.systemd.property.Foo\":\"uint8 300\"}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		a = J(bad[i]);
		OK(cg_sd_annotation_props(a, &p, &err) < 0 && err && strstr(err->msg, "org.systemd.property."),
		   "refused, naming the annotation: %s", bad[i]);
		if (err)
			printf("#   %s\n", err->msg);
		cell_error_free(&err);
		cg_sd_props_clear(&p);
		json_object_put(a);
	}
}

static void test_no_systemd(void)
{
	if (access("/run/systemd/system", F_OK) == 0) {
		printf("ok %d - # SKIP systemd runs here: the refusal is for hosts without it\n", ++tap_n);
		return;
	}
	struct cell_cgroup *cg = NULL;
	cell_error *err = NULL;
	int r = cell_cgroup_create("x", "system.slice:cell:x", NULL, true, &cg, &err);
	OK(r < 0 && err && strstr(err->msg, "systemd is not running") && !strchr(err->msg, '\n'),
	   "no systemd: one line naming it");
	if (err)
		printf("#   %s\n", err->msg);
	cell_error_free(&err);
}

int main(void)
{
	test_paths();
	test_props();
	test_bits();
	test_annotations();
	test_no_systemd();
	return TAP_DONE();
}
