#define _GNU_SOURCE
#include "default.h"

#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "util.h"

static json_object *strv_json(const char *const *v)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static void add_str(json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val));
}

static json_object *process(void)
{
	static const char *const args[] = { "sh", NULL };
	static const char *const env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL,
	};
	static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
	json_object *p = json_object_new_object();

	json_object_object_add(p, "terminal", json_object_new_boolean(1));
	json_object *user = json_object_new_object();
	json_object_object_add(user, "uid", json_object_new_int(0));
	json_object_object_add(user, "gid", json_object_new_int(0));
	json_object_object_add(p, "user", user);
	json_object_object_add(p, "args", strv_json(args));
	json_object_object_add(p, "env", strv_json(env));
	add_str(p, "cwd", "/");
	json_object *c = json_object_new_object();
	json_object_object_add(c, "bounding", strv_json(caps));
	json_object_object_add(c, "effective", strv_json(caps));
	json_object_object_add(c, "permitted", strv_json(caps));
	json_object_object_add(p, "capabilities", c);
	json_object *rl = json_object_new_object();
	add_str(rl, "type", "RLIMIT_NOFILE");
	json_object_object_add(rl, "hard", json_object_new_int(1024));
	json_object_object_add(rl, "soft", json_object_new_int(1024));
	json_object *rls = json_object_new_array();
	json_object_array_add(rls, rl);
	json_object_object_add(p, "rlimits", rls);
	json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(1));
	return p;
}

static void add_mount(json_object *mounts, const char *dst, const char *type, const char *src,
		      const char *const *opts, bool rootless)
{
	json_object *m = json_object_new_object();
	add_str(m, "destination", dst);
	add_str(m, "type", type);
	add_str(m, "source", src);
	if (opts) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; opts[i]; i++) {
			/* no uid=/gid= in a user namespace that maps one id */
			if (rootless && (strncmp(opts[i], "uid=", 4) == 0 || strncmp(opts[i], "gid=", 4) == 0))
				continue;
			json_object_array_add(a, json_object_new_string(opts[i]));
		}
		json_object_object_add(m, "options", a);
	}
	json_object_array_add(mounts, m);
}

static json_object *mounts(bool rootless)
{
	static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
	static const char *const pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
					   "gid=5", NULL };
	static const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
	static const char *const mq[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const sys_rbind[] = { "rbind", "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const cg[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };
	json_object *a = json_object_new_array();

	add_mount(a, "/proc", "proc", "proc", NULL, rootless);
	add_mount(a, "/dev", "tmpfs", "tmpfs", dev, rootless);
	add_mount(a, "/dev/pts", "devpts", "devpts", pts, rootless);
	add_mount(a, "/dev/shm", "tmpfs", "shm", shm, rootless);
	add_mount(a, "/dev/mqueue", "mqueue", "mqueue", mq, rootless);
	if (rootless) {
		/* sysfs cannot be mounted without a network namespace of our
		 * own; the rbind also brings the host's /sys/fs/cgroup */
		add_mount(a, "/sys", "none", "/sys", sys_rbind, rootless);
	} else {
		add_mount(a, "/sys", "sysfs", "sysfs", sys, rootless);
		add_mount(a, "/sys/fs/cgroup", "cgroup", "cgroup", cg, rootless);
	}
	return a;
}

static json_object *idmap(unsigned int host)
{
	json_object *a = json_object_new_array();
	json_object *m = json_object_new_object();
	json_object_object_add(m, "containerID", json_object_new_int(0));
	json_object_object_add(m, "hostID", json_object_new_int64(host));
	json_object_object_add(m, "size", json_object_new_int(1));
	json_object_array_add(a, m);
	return a;
}

static bool cgroup_unified(void)
{
	enum cell_cgroup_mode mode;
	cell_error *err = NULL;
	int r = cell_cgroup_mode(&mode, &err);
	cell_error_free(&err);
	return r >= 0 && mode == CELL_CGROUP_UNIFIED;
}

static json_object *linux_section(bool rootless)
{
	static const char *const masked[] = {
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
		"/sys/devices/virtual/tpm", NULL,
	};
	static const char *const readonly[] = {
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
	};
	json_object *l = json_object_new_object();

	if (rootless) {
		json_object_object_add(l, "uidMappings", idmap(geteuid()));
		json_object_object_add(l, "gidMappings", idmap(getegid()));
	}
	json_object_object_add(l, "maskedPaths", strv_json(masked));
	json_object_object_add(l, "readonlyPaths", strv_json(readonly));
	if (!rootless) {
		json_object *dev = json_object_new_object();
		json_object_object_add(dev, "allow", json_object_new_boolean(0));
		add_str(dev, "access", "rwm");
		json_object *devs = json_object_new_array();
		json_object_array_add(devs, dev);
		json_object *res = json_object_new_object();
		json_object_object_add(res, "devices", devs);
		json_object_object_add(l, "resources", res);
	}
	json_object *ns = json_object_new_array();
	const char *types[8];
	size_t n = 0;
	types[n++] = "pid";
	if (!rootless)
		types[n++] = "network";
	types[n++] = "ipc";
	types[n++] = "uts";
	types[n++] = "mount";
	if (cgroup_unified())
		types[n++] = "cgroup";
	if (rootless)
		types[n++] = "user";
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		add_str(o, "type", types[i]);
		json_object_array_add(ns, o);
	}
	json_object_object_add(l, "namespaces", ns);
	return l;
}

json_object *cell_spec_default(bool rootless)
{
	json_object *s = json_object_new_object();
	add_str(s, "ociVersion", "1.2.0");
	json_object_object_add(s, "process", process());
	json_object *root = json_object_new_object();
	add_str(root, "path", "rootfs");
	json_object_object_add(root, "readonly", json_object_new_boolean(1));
	json_object_object_add(s, "root", root);
	add_str(s, "hostname", "cell");
	json_object_object_add(s, "mounts", mounts(rootless));
	json_object_object_add(s, "linux", linux_section(rootless));
	return s;
}
