/* `spec` and `features`: the default config.json (plain and rootless) has
 * runc's keys and passes our own parser; the features document is truthful
 * about mount options, capabilities and seccomp. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "linux/caps.h"
#include "linux/seccomp.h"
#include "spec/default.h"
#include "spec/features.h"
#include "spec/spec.h"
#include "util.h"
#include "tap.h"

/* Follow a dotted path ("process.capabilities.bounding"). */
static json_object *at(json_object *o, const char *path)
{
	char *p = xstrdup(path), *save = NULL;
	for (char *k = strtok_r(p, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, k, &o))
			o = NULL;
	free(p);
	return o;
}

static const char *str_at(json_object *o, const char *path)
{
	json_object *v = at(o, path);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool has_string(json_object *a, const char *s)
{
	for (size_t i = 0; a && i < json_object_array_length(a); i++)
		if (streq(json_object_get_string(json_object_array_get_idx(a, i)), s))
			return true;
	return false;
}

static bool has_ns(json_object *spec, const char *type)
{
	json_object *a = at(spec, "linux.namespaces");
	for (size_t i = 0; a && i < json_object_array_length(a); i++)
		if (streq(str_at(json_object_array_get_idx(a, i), "type"), type))
			return true;
	return false;
}

static json_object *mount_at(json_object *spec, const char *dst)
{
	json_object *a = at(spec, "mounts");
	for (size_t i = 0; a && i < json_object_array_length(a); i++)
		if (streq(str_at(json_object_array_get_idx(a, i), "destination"), dst))
			return json_object_array_get_idx(a, i);
	return NULL;
}

/* The document must pass cell_spec_parse with a bundle that has a rootfs. */
static void parses(json_object *spec, const char *what)
{
	char dir[] = "/tmp/cell-test-specdefault-XXXXXX";
	cell_error *err = NULL;
	struct cell_spec *s = NULL;
	if (!mkdtemp(dir)) {
		OK(0, "mkdtemp");
		return;
	}
	char *rootfs = xasprintf("%s/rootfs", dir);
	mkdir(rootfs, 0755);
	json_object *copy = NULL;
	json_object_deep_copy(spec, &copy, NULL);
	int r = cell_spec_parse(copy, dir, &s, &err);
	OK(r == 0, "%s passes cell_spec_parse%s%s", what, err ? ": " : "", err ? err->msg : "");
	if (r == 0) {
		OK(s->process.no_new_privileges && s->root_readonly && s->ns[CELL_NS_PID].enabled,
		   "%s: parsed noNewPrivileges, root.readonly, pid namespace", what);
		cell_spec_free(s);
	}
	json_object_put(copy);	/* the spec holds its own reference */
	cell_error_free(&err);
	rmdir(rootfs);
	rmdir(dir);
	free(rootfs);
}

static void test_default(void)
{
	json_object *s = cell_spec_default(false);
	IS_STR(str_at(s, "ociVersion"), "1.2.0", "ociVersion");
	OK(json_object_get_boolean(at(s, "process.terminal")), "process.terminal is true");
	IS_STR(json_object_get_string(json_object_array_get_idx(at(s, "process.args"), 0)), "sh", "args [\"sh\"]");
	OK(json_object_array_length(at(s, "process.env")) == 2 &&
	   strncmp(json_object_get_string(json_object_array_get_idx(at(s, "process.env"), 0)), "PATH=", 5) == 0 &&
	   has_string(at(s, "process.env"), "TERM=xterm"), "env has PATH and TERM");
	IS_STR(str_at(s, "process.cwd"), "/", "cwd /");
	static const char *const sets[] = { "bounding", "effective", "permitted" };
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		char *p = xasprintf("process.capabilities.%s", sets[i]);
		json_object *a = at(s, p);
		OK(json_object_array_length(a) == 3 && has_string(a, "CAP_AUDIT_WRITE") && has_string(a, "CAP_KILL") &&
		   has_string(a, "CAP_NET_BIND_SERVICE"), "%s: AUDIT_WRITE, KILL, NET_BIND_SERVICE", p);
		free(p);
	}
	OK(!at(s, "process.capabilities.ambient") && !at(s, "process.capabilities.inheritable"),
	   "no ambient or inheritable set, as runc");
	json_object *rl = json_object_array_get_idx(at(s, "process.rlimits"), 0);
	OK(rl && streq(str_at(rl, "type"), "RLIMIT_NOFILE") && json_object_get_int(at(rl, "soft")) == 1024 &&
	   json_object_get_int(at(rl, "hard")) == 1024, "rlimits NOFILE 1024/1024");
	OK(json_object_get_boolean(at(s, "process.noNewPrivileges")), "noNewPrivileges");
	IS_STR(str_at(s, "root.path"), "rootfs", "root.path");
	OK(json_object_get_boolean(at(s, "root.readonly")), "root.readonly");
	IS_STR(str_at(s, "hostname"), "cell", "hostname");
	static const char *const dsts[] = { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
					    "/sys/fs/cgroup" };
	for (size_t i = 0; i < ARRAY_SIZE(dsts); i++)
		OK(mount_at(s, dsts[i]) != NULL, "mount %s", dsts[i]);
	IS_INT(json_object_array_length(at(s, "mounts")), 7, "seven mounts");
	IS_STR(str_at(mount_at(s, "/sys"), "type"), "sysfs", "/sys is sysfs");
	OK(has_string(at(mount_at(s, "/dev/pts"), "options"), "gid=5"), "devpts has gid=5");
	json_object *dev = json_object_array_get_idx(at(s, "linux.resources.devices"), 0);
	OK(dev && !json_object_get_boolean(at(dev, "allow")) && streq(str_at(dev, "access"), "rwm"),
	   "devices: deny all rwm");
	static const char *const nss[] = { "pid", "network", "ipc", "uts", "mount" };
	for (size_t i = 0; i < ARRAY_SIZE(nss); i++)
		OK(has_ns(s, nss[i]), "namespace %s", nss[i]);
	OK(!has_ns(s, "user"), "no user namespace");
	OK(has_string(at(s, "linux.maskedPaths"), "/proc/kcore") && has_string(at(s, "linux.maskedPaths"), "/sys/firmware") &&
	   json_object_array_length(at(s, "linux.maskedPaths")) == 11, "maskedPaths as runc (11, kcore, firmware)");
	OK(has_string(at(s, "linux.readonlyPaths"), "/proc/sys") &&
	   json_object_array_length(at(s, "linux.readonlyPaths")) == 5, "readonlyPaths as runc (5, /proc/sys)");
	OK(!at(s, "linux.uidMappings"), "no uid mappings");
	parses(s, "default spec");
	json_object_put(s);
}

static void test_rootless(void)
{
	json_object *s = cell_spec_default(true);
	OK(has_ns(s, "user"), "rootless: user namespace");
	OK(!has_ns(s, "network"), "rootless: no network namespace");
	OK(has_ns(s, "pid") && has_ns(s, "mount"), "rootless: pid and mount namespaces kept");
	json_object *m = json_object_array_get_idx(at(s, "linux.uidMappings"), 0);
	OK(m && json_object_get_int(at(m, "containerID")) == 0 && json_object_get_int64(at(m, "hostID")) == geteuid() &&
	   json_object_get_int(at(m, "size")) == 1, "uidMappings: 0 → euid, size 1");
	m = json_object_array_get_idx(at(s, "linux.gidMappings"), 0);
	OK(m && json_object_get_int64(at(m, "hostID")) == getegid(), "gidMappings: 0 → egid");
	json_object *sys = mount_at(s, "/sys");
	OK(sys && has_string(at(sys, "options"), "rbind") && has_string(at(sys, "options"), "ro") &&
	   streq(str_at(sys, "source"), "/sys"), "rootless: /sys is a read-only rbind of the host's");
	OK(!mount_at(s, "/sys/fs/cgroup"), "rootless: no cgroup mount");
	OK(!has_string(at(mount_at(s, "/dev/pts"), "options"), "gid=5"), "rootless: no gid= option");
	OK(!at(s, "linux.resources"), "rootless: no linux.resources");
	parses(s, "rootless spec");
	json_object_put(s);
}

static void test_features(void)
{
	json_object *f = cell_features();
	cell_error *err = NULL;
	IS_STR(str_at(f, "ociVersionMin"), "1.0.0", "ociVersionMin");
	IS_STR(str_at(f, "ociVersionMax"), "1.2.0", "ociVersionMax");
	OK(json_object_array_length(at(f, "hooks")) == 6 && has_string(at(f, "hooks"), "createRuntime"), "six hooks");
	OK(json_object_array_length(at(f, "linux.namespaces")) == 8 && has_string(at(f, "linux.namespaces"), "time"),
	   "eight namespaces incl. time");

	/* every claimed mount option is accepted by the parser */
	json_object *opts = at(f, "mountOptions");
	bool all = opts && json_object_array_length(opts) > 20;
	for (size_t i = 0; opts && i < json_object_array_length(opts); i++) {
		struct cell_mount m;
		memset(&m, 0, sizeof(m));
		char *one[] = { (char *)json_object_get_string(json_object_array_get_idx(opts, i)), NULL };
		if (cell_mount_parse_options(&m, one, "mounts[0]", &err) < 0) {
			printf("# mount option `%s` refused: %s\n", one[0], err->msg);
			cell_error_free(&err);
			all = false;
		}
		free(m.data);
		if (m.data)
			printf("# mount option `%s` went to data (file-system specific)\n", one[0]);
		all = all && !m.data;
	}
	OK(all, "every mountOption (%zu) is one the parser knows", opts ? json_object_array_length(opts) : 0);

	/* every claimed namespace and hook kind is accepted by the parser */
	json_object *nss = at(f, "linux.namespaces"), *hks = at(f, "hooks");
	bool ns_ok = true, hooks_ok = true;
	for (size_t i = 0; nss && i < json_object_array_length(nss); i++) {
		const char *ns = json_object_get_string(json_object_array_get_idx(nss, i));
		/* a new user namespace needs its mappings */
		const char *maps = streq(ns, "user") ? ", \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, "
			"\"size\": 1}], \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]" : "";
		char *t = xasprintf("{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"/\"}, \"linux\": {\"namespaces\": "
				    "[{\"type\": \"%s\"}]%s}}", ns, maps);
		json_object *o = NULL;
		struct cell_spec *sp = NULL;
		if (cj_parse_string("t", t, &o, &err) < 0 || cell_spec_parse(o, "/", &sp, &err) < 0) {
			printf("# %s: %s\n", t, err ? err->msg : "?");
			cell_error_free(&err);
			ns_ok = false;
		}
		cell_spec_free(sp);
		json_object_put(o);
		free(t);
	}
	OK(ns_ok, "every claimed namespace parses");
	for (size_t i = 0; hks && i < json_object_array_length(hks); i++) {
		char *t = xasprintf("{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"/\"}, \"hooks\": {\"%s\": "
				    "[{\"path\": \"/bin/true\"}]}}", json_object_get_string(json_object_array_get_idx(hks, i)));
		json_object *o = NULL;
		struct cell_spec *sp = NULL;
		int found = 0;
		if (cj_parse_string("t", t, &o, &err) < 0 || cell_spec_parse(o, "/", &sp, &err) < 0) {
			printf("# %s: %s\n", t, err ? err->msg : "?");
			cell_error_free(&err);
		} else {
			for (int k = 0; k < CELL_HOOK_COUNT; k++)
				found += (int)sp->n_hooks[k];
		}
		hooks_ok = hooks_ok && found == 1;
		cell_spec_free(sp);
		json_object_put(o);
		free(t);
	}
	OK(hooks_ok, "every claimed hook kind parses into a hook");

	json_object *caps = at(f, "linux.capabilities");
	IS_INT(json_object_array_length(caps), cell_cap_last_cap() + 1, "capabilities: as many as the kernel has");
	OK(has_string(caps, "CAP_SYS_ADMIN") && has_string(caps, "CAP_CHOWN"), "capabilities include SYS_ADMIN");
	OK(json_object_get_boolean(at(f, "linux.cgroup.v1")) && json_object_get_boolean(at(f, "linux.cgroup.v2")) &&
	   !json_object_get_boolean(at(f, "linux.cgroup.systemd")) &&
	   at(f, "linux.cgroup.systemdUser") && !json_object_get_boolean(at(f, "linux.cgroup.systemdUser")),
	   "cgroup v1 and v2, no systemd");
	OK(json_object_get_boolean(at(f, "linux.seccomp.enabled")), "seccomp enabled");
	OK(json_object_array_length(at(f, "linux.seccomp.actions")) == 9 &&
	   has_string(at(f, "linux.seccomp.actions"), "SCMP_ACT_NOTIFY"), "nine seccomp actions");
	OK(json_object_array_length(at(f, "linux.seccomp.operators")) == 7, "seven operators");
	OK(has_string(at(f, "linux.seccomp.archs"), "SCMP_ARCH_X86_64"), "archs include x86_64");
	OK(json_object_array_length(at(f, "linux.seccomp.knownFlags")) == 4, "four known flags");
	json_object *sup = at(f, "linux.seccomp.supportedFlags");
	OK(has_string(sup, "SECCOMP_FILTER_FLAG_TSYNC") && has_string(sup, "SECCOMP_FILTER_FLAG_LOG"),
	   "TSYNC and LOG supported here");
	/* every supported flag really compiles */
	bool flags_ok = true;
	for (size_t i = 0; sup && i < json_object_array_length(sup); i++) {
		char *t = xasprintf("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"%s\"]}",
				    json_object_get_string(json_object_array_get_idx(sup, i)));
		json_object *o = NULL;
		struct cell_seccomp *sc = NULL;
		if (cj_parse_string("t", t, &o, &err) < 0 || cell_seccomp_compile(o, &sc, &err) < 0) {
			printf("# %s: %s\n", t, err ? err->msg : "?");
			cell_error_free(&err);
			flags_ok = false;
		}
		cell_seccomp_free(sc);
		json_object_put(o);
		free(t);
	}
	OK(flags_ok, "every supportedFlag compiles");
	/* and every arch */
	json_object *archs = at(f, "linux.seccomp.archs");
	bool archs_ok = true;
	for (size_t i = 0; archs && i < json_object_array_length(archs); i++) {
		char *t = xasprintf("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"%s\"]}",
				    json_object_get_string(json_object_array_get_idx(archs, i)));
		json_object *o = NULL;
		struct cell_seccomp *sc = NULL;
		if (cj_parse_string("t", t, &o, &err) < 0 || cell_seccomp_compile(o, &sc, &err) < 0) {
			printf("# %s: %s\n", t, err ? err->msg : "?");
			cell_error_free(&err);
			archs_ok = false;
		}
		cell_seccomp_free(sc);
		json_object_put(o);
		free(t);
	}
	OK(archs_ok, "every claimed arch compiles");
	OK(at(f, "linux.apparmor.enabled") && at(f, "linux.selinux.enabled"), "apparmor and selinux present");
	OK(!json_object_get_boolean(at(f, "linux.intelRdt.enabled")), "intelRdt disabled");
	OK(json_object_get_boolean(at(f, "linux.mountExtensions.idmap.enabled")), "idmap mounts enabled");
	OK(json_object_get_boolean(at(f, "linux.netDevices.enabled")), "netDevices enabled");
	OK(str_at(f, "annotations") == NULL && at(f, "annotations") &&
	   json_object_object_get_ex(at(f, "annotations"), "io.github.seccomp.libseccomp.version", NULL),
	   "annotations carry the libseccomp version");
	json_object_put(f);
}

int main(void)
{
	test_default();
	test_rootless();
	test_features();
	return TAP_DONE();
}
