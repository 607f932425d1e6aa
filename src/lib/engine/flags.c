/* Docker's run flags that only change config.json: see flags.h. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine-internal.h"
#include "flags.h"
#include "json.h"
#include "util.h"

static json_object *obj(json_object *o, const char *key)
{
	json_object *s = json_object_object_get(o, key);
	if (!json_object_is_type(s, json_type_object)) {
		s = json_object_new_object();
		json_object_object_add(o, key, s);
	}
	return s;
}

static json_object *arr(json_object *o, const char *key)
{
	json_object *s = json_object_object_get(o, key);
	if (!json_object_is_type(s, json_type_array)) {
		s = json_object_new_array();
		json_object_object_add(o, key, s);
	}
	return s;
}

static int num(const char *flag, const char *val, int64_t *ret, cell_error **err)
{
	if (parse_int64(val, ret) < 0)
		return cell_error_set(err, "invalid argument \"%s\" for \"%s\" flag: expected an integer", val, flag);
	return 0;
}

/* Docker's namespaced sysctls (opts.ValidateSysctl). */
static int sysctl_flag(json_object *lx, const char *s, bool host_net, cell_error **err)
{
	static const char *const prefixes[] = { "kernel.shm", "kernel.msg", "fs.mqueue.", "net." };
	static const char *const exact[] = { "kernel.sem", "kernel.shmmax", "kernel.shmall", "kernel.shmmni",
					     "kernel.shm_rmid_forced" };
	const char *eq = strchr(s, '=');
	if (!eq || eq == s)
		return cell_error_set(err, "invalid argument \"%s\" for \"--sysctl\" flag: expected KEY=VALUE", s);
	_cleanup_free_ char *key = strndup(s, (size_t)(eq - s));
	bool ok = false;
	for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
		ok |= streq(key, exact[i]);
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		ok |= strncmp(key, prefixes[i], strlen(prefixes[i])) == 0;
	if (!ok)
		return cell_error_set(err, "invalid argument \"%s\" for \"--sysctl\" flag: sysctl '%s' is not allowed "
					   "(only the namespaced ones: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, "
					   "net.*)", s, key);
	if (host_net && strncmp(key, "net.", 4) == 0)
		return cell_error_set(err, "sysctl \"%s\" not allowed in host network namespace", key);
	json_object_object_add(obj(lx, "sysctl"), key, json_object_new_string(eq + 1));
	return 0;
}

/* PATH:RATE of --device-read-bps and friends. */
static int throttle_flag(json_object *bio, const char *flag, const char *key, const char *s, bool iops,
			 cell_error **err)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s)
		return cell_error_set(err, "invalid argument \"%s\" for \"%s\" flag: expected PATH:RATE, e.g. "
					   "/dev/sda:%s", s, flag, iops ? "1000" : "1mb");
	_cleanup_free_ char *path = strndup(s, (size_t)(colon - s));
	int64_t rate;
	if ((iops ? parse_int64(colon + 1, &rate) : parse_size(colon + 1, &rate)) < 0 || rate < 0)
		return cell_error_set(err, "invalid argument \"%s\" for \"%s\" flag: invalid rate `%s`", s, flag,
				      colon + 1);
	struct stat st;
	if (stat(path, &st) < 0)
		return cell_error_errno(err, errno, "%s: `%s`", flag, path);
	if (!S_ISBLK(st.st_mode))
		return cell_error_set(err, "%s: `%s` is not a block device", flag, path);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "major", json_object_new_int64(major(st.st_rdev)));
	json_object_object_add(o, "minor", json_object_new_int64(minor(st.st_rdev)));
	json_object_object_add(o, "rate", json_object_new_int64(rate));
	json_object_array_add(arr(bio, key), o);
	return 0;
}

/* --device HOST[:CONTAINER[:PERMISSIONS]] */
static int device_flag(json_object *lx, const char *s, cell_error **err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *host = copy, *ctr = NULL, *perms = "rwm";
	char *c1 = strchr(copy, ':');
	if (c1) {
		*c1 = 0;
		ctr = c1 + 1;
		char *c2 = strchr(ctr, ':');
		if (c2) {
			*c2 = 0;
			perms = c2 + 1;
		} else if (strspn(ctr, "rwm") == strlen(ctr) && *ctr != '/') {
			perms = ctr;	/* HOST:PERMS */
			ctr = NULL;
		}
	}
	if (!*perms || strspn(perms, "rwm") != strlen(perms))
		return cell_error_set(err, "invalid device mode: %s (r, w and m combined)", perms);
	if (ctr && *ctr != '/')
		return cell_error_set(err, "invalid argument \"%s\" for \"--device\" flag: %s is not an absolute path",
				      s, ctr);
	if (!ctr || !*ctr)
		ctr = host;
	struct stat st;
	if (stat(host, &st) < 0)
		return cell_error_errno(err, errno, "error gathering device information while adding custom device \"%s\"",
					host);
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
		return cell_error_set(err, "error gathering device information while adding custom device \"%s\": not "
					   "a device node", host);
	const char *type = S_ISCHR(st.st_mode) ? "c" : "b";
	json_object *d = json_object_new_object();
	json_object_object_add(d, "path", json_object_new_string(ctr));
	json_object_object_add(d, "type", json_object_new_string(type));
	json_object_object_add(d, "major", json_object_new_int64(major(st.st_rdev)));
	json_object_object_add(d, "minor", json_object_new_int64(minor(st.st_rdev)));
	json_object_object_add(d, "fileMode", json_object_new_int(st.st_mode & 07777));
	json_object_object_add(d, "uid", json_object_new_int(0));
	json_object_object_add(d, "gid", json_object_new_int(0));
	json_object_array_add(arr(lx, "devices"), d);
	json_object *rule = json_object_new_object();
	json_object_object_add(rule, "allow", json_object_new_boolean(true));
	json_object_object_add(rule, "type", json_object_new_string(type));
	json_object_object_add(rule, "major", json_object_new_int64(major(st.st_rdev)));
	json_object_object_add(rule, "minor", json_object_new_int64(minor(st.st_rdev)));
	json_object_object_add(rule, "access", json_object_new_string(perms));
	json_object_array_add(arr(obj(lx, "resources"), "devices"), rule);
	return 0;
}

/* Drop namespace `type` (a host mode) from linux.namespaces, or add it. */
static void ns_set(json_object *lx, const char *type, bool want)
{
	json_object *ns = arr(lx, "namespaces");
	json_object *keep = json_object_new_array();
	bool have = false;
	for (size_t i = 0; i < json_object_array_length(ns); i++) {
		json_object *o = json_object_array_get_idx(ns, i);
		bool is = streq(json_object_get_string(json_object_object_get(o, "type")) ?: "", type);
		have |= is;
		if (!is || want)
			json_object_array_add(keep, json_object_get(o));
	}
	if (want && !have) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string(type));
		json_object_array_add(keep, o);
	}
	json_object_object_add(lx, "namespaces", keep);
}

/* The options of the /dev/shm mount: size=, or the mount removed (ipc none). */
static void shm_mount(json_object *doc, int64_t size, bool remove)
{
	json_object *mounts = json_object_object_get(doc, "mounts");
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		if (!streq(json_object_get_string(json_object_object_get(m, "destination")) ?: "", "/dev/shm"))
			continue;
		if (remove) {
			json_object_array_del_idx(mounts, i, 1);
			return;
		}
		json_object *opts = json_object_object_get(m, "options");
		json_object *n = json_object_new_array();
		for (size_t k = 0; k < json_object_array_length(opts); k++) {
			const char *o = json_object_get_string(json_object_array_get_idx(opts, k));
			if (strncmp(o, "size=", 5) != 0)
				json_object_array_add(n, json_object_new_string(o));
		}
		_cleanup_free_ char *sz = xasprintf("size=%" PRId64 "k", (size + 1023) / 1024);
		json_object_array_add(n, json_object_new_string(sz));
		json_object_object_add(m, "options", n);
		return;
	}
}

static int modes(const struct cell_run_request *req, json_object *doc, json_object *lx, cell_error **err)
{
	const char *ipc = req->ipc;
	if (ipc && !streq(ipc, "host") && !streq(ipc, "private") && !streq(ipc, "shareable") && !streq(ipc, "none"))
		return cell_error_set(err, "invalid IPC mode: %s (host, private, shareable or none; container:NAME is "
					   "not supported yet)", ipc);
	if (ipc && streq(ipc, "host"))
		ns_set(lx, "ipc", false);
	if (ipc && streq(ipc, "none"))
		shm_mount(doc, 0, true);
	if (req->uts && !streq(req->uts, "host"))
		return cell_error_set(err, "invalid UTS mode: %s (host, or nothing for the container's own)", req->uts);
	if (req->uts) {
		if (req->hostname)
			return cell_error_set(err, "conflicting options: hostname and the UTS mode");
		ns_set(lx, "uts", false);
		json_object_object_del(doc, "hostname");
	}
	if (req->pid && !streq(req->pid, "host"))
		return cell_error_set(err, "invalid PID mode: %s (host; container:NAME is not supported yet)", req->pid);
	if (req->pid)
		ns_set(lx, "pid", false);
	if (req->cgroupns && !streq(req->cgroupns, "host") && !streq(req->cgroupns, "private"))
		return cell_error_set(err, "invalid cgroup namespace mode: %s (host or private)", req->cgroupns);
	if (req->cgroupns)
		ns_set(lx, "cgroup", streq(req->cgroupns, "private"));
	return 0;
}

static int resources(const struct cell_run_request *req, json_object *lx, cell_error **err)
{
	json_object *res = obj(lx, "resources");
	int64_t v;
	if (req->memory_reservation) {
		if (parse_size(req->memory_reservation, &v) < 0 || v < 0)
			return cell_error_set(err, "invalid argument \"%s\" for \"--memory-reservation\" flag: expected a "
						   "size such as 512m", req->memory_reservation);
		int64_t limit = json_object_get_int64(json_object_object_get(obj(res, "memory"), "limit"));
		if (limit > 0 && v > limit)
			return cell_error_set(err, "Minimum memory limit can not be less than memory reservation limit, "
						   "see usage");
		json_object_object_add(obj(res, "memory"), "reservation", json_object_new_int64(v));
	}
	if (req->oom_kill_disable)
		json_object_object_add(obj(res, "memory"), "disableOOMKiller", json_object_new_boolean(true));
	if (req->cpu_period) {
		if (num("--cpu-period", req->cpu_period, &v, err) < 0)
			return -1;
		if (req->cpus)
			return cell_error_set(err, "Conflicting options: Nano CPUs and CPU Period cannot both be set");
		if (v != 0 && (v < 1000 || v > 1000000))
			return cell_error_set(err, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s "
						   "(i.e. 1000000)");
		json_object_object_add(obj(res, "cpu"), "period", json_object_new_int64(v));
	}
	if (req->cpu_quota) {
		if (num("--cpu-quota", req->cpu_quota, &v, err) < 0)
			return -1;
		if (req->cpus)
			return cell_error_set(err, "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
		if (v > 0 && v < 1000)
			return cell_error_set(err, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
		json_object_object_add(obj(res, "cpu"), "quota", json_object_new_int64(v));
	}
	if (req->cpuset_mems) {
		if (!*req->cpuset_mems || strspn(req->cpuset_mems, "0123456789,-") != strlen(req->cpuset_mems))
			return cell_error_set(err, "invalid value %s for cpuset mems (a list such as 0-1,3)", req->cpuset_mems);
		json_object_object_add(obj(res, "cpu"), "mems", json_object_new_string(req->cpuset_mems));
	}
	json_object *bio = NULL;
	if (req->blkio_weight) {
		if (num("--blkio-weight", req->blkio_weight, &v, err) < 0)
			return -1;
		if (v != 0 && (v < 10 || v > 1000))
			return cell_error_set(err, "Range of blkio weight is from 10 to 1000");
		bio = obj(res, "blockIO");
		json_object_object_add(bio, "weight", json_object_new_int64(v));
	}
	static const struct { const char *flag, *key; bool iops; size_t off; } th[] = {
		{ "--device-read-bps", "throttleReadBpsDevice", false, offsetof(struct cell_run_request, device_read_bps) },
		{ "--device-write-bps", "throttleWriteBpsDevice", false, offsetof(struct cell_run_request, device_write_bps) },
		{ "--device-read-iops", "throttleReadIOPSDevice", true, offsetof(struct cell_run_request, device_read_iops) },
		{ "--device-write-iops", "throttleWriteIOPSDevice", true, offsetof(struct cell_run_request, device_write_iops) },
	};
	for (size_t t = 0; t < ARRAY_SIZE(th); t++) {
		char **list = *(char ***)((const char *)req + th[t].off);
		for (size_t i = 0; list && list[i]; i++)
			if (throttle_flag(obj(res, "blockIO"), th[t].flag, th[t].key, list[i], th[t].iops, err) < 0)
				return -1;
	}
	return 0;
}

int engine_flags_apply(const struct cell_run_request *req, json_object *doc, const char *id, cell_error **err)
{
	json_object *lx = obj(doc, "linux");
	json_object *proc = obj(doc, "process");
	/* the host's network: no network namespace in the config */
	bool host_net = true;
	json_object *ns = json_object_object_get(lx, "namespaces");
	for (size_t i = 0; i < json_object_array_length(ns); i++)
		if (streq(json_object_get_string(json_object_object_get(json_object_array_get_idx(ns, i), "type")) ?: "",
			  "network"))
			host_net = false;
	for (size_t i = 0; req->sysctls && req->sysctls[i]; i++)
		if (sysctl_flag(lx, req->sysctls[i], host_net, err) < 0)
			return -1;
	for (size_t i = 0; req->devices && req->devices[i]; i++)
		if (device_flag(lx, req->devices[i], err) < 0)
			return -1;
	for (size_t i = 0; req->group_add && req->group_add[i]; i++)
		if (!*req->group_add[i] || strchr(req->group_add[i], ':'))
			return cell_error_set(err, "invalid argument \"%s\" for \"--group-add\" flag: a group name or gid",
					      req->group_add[i]);
	if (req->shm_size) {
		int64_t v;
		if (parse_size(req->shm_size, &v) < 0)
			return cell_error_set(err, "invalid argument \"%s\" for \"--shm-size\" flag: invalid size: '%s'",
					      req->shm_size, req->shm_size);
		if (v <= 0)
			return cell_error_set(err, "SHM size can not be less than 0");
		shm_mount(doc, v, false);
	}
	if (req->oom_score_adj) {
		int64_t v;
		if (num("--oom-score-adj", req->oom_score_adj, &v, err) < 0)
			return -1;
		if (v < -1000 || v > 1000)
			return cell_error_set(err, "Invalid value %" PRId64 ", range for oom score adj is [-1000, 1000]", v);
		json_object_object_add(proc, "oomScoreAdj", json_object_new_int64(v));
	}
	if (modes(req, doc, lx, err) < 0 || resources(req, lx, err) < 0)
		return -1;
	if (req->cgroup_parent) {
		const char *p = req->cgroup_parent;
		if (strstr(p, "..") || strchr(p, '\n'))
			return cell_error_set(err, "invalid --cgroup-parent `%s`: a cgroup path without `..`", p);
		while (*p == '/')
			p++;
		size_t pl = strlen(p);
		if (cell_engine_systemd_cgroup && (strchr(p, '/') || pl <= 6 || strcmp(p + pl - 6, ".slice") != 0))
			return cell_error_set(err, "invalid --cgroup-parent `%s`: with --cgroup-manager systemd it "
					      "is a slice (machine.slice, a-b.slice)", req->cgroup_parent);
		_cleanup_free_ char *path = cell_engine_systemd_cgroup ? xasprintf("%s:cell:%s", p, id)
					    : *p ? xasprintf("/%s/%s", p, id) : xasprintf("/%s", id);
		json_object_object_add(lx, "cgroupsPath", json_object_new_string(path));
	}
	for (size_t i = 0; req->annotations && req->annotations[i]; i++) {
		const char *a = req->annotations[i], *eq = strchr(a, '=');
		if (!eq || eq == a)
			return cell_error_set(err, "invalid argument \"%s\" for \"--annotation\" flag: expected KEY=VALUE", a);
		_cleanup_free_ char *k = strndup(a, (size_t)(eq - a));
		json_object_object_add(obj(doc, "annotations"), k, json_object_new_string(eq + 1));
	}
	return 0;
}

int engine_flags_groups(const struct cell_run_request *req, json_object *doc, const char *rootfs, cell_error **err)
{
	if (!req->group_add)
		return 0;
	json_object *user = obj(obj(doc, "process"), "user");
	json_object *gids = arr(user, "additionalGids");
	for (size_t i = 0; req->group_add[i]; i++) {
		int64_t g;
		if (parse_int64(req->group_add[i], &g) == 0) {
			if (g < 0 || g > UINT32_MAX - 1)
				return cell_error_set(err, "invalid --group-add `%s`: a gid 0 to 4294967294", req->group_add[i]);
		} else {
			/* the image's /etc/group, read inside the root by the user code */
			_cleanup_free_ char *spec = xasprintf("0:%s", req->group_add[i]);
			json_object *u = NULL;
			if (engine_user_resolve(rootfs, spec, &u, err) < 0)
				return cell_error_wrap(err, "--group-add `%s`", req->group_add[i]);
			g = json_object_get_int64(json_object_object_get(u, "gid"));
			json_object_put(u);
		}
		json_object_array_add(gids, json_object_new_int64(g));
	}
	return 0;
}

void engine_flags_record(const struct cell_run_request *req, json_object *doc, json_object *hc)
{
	json_object *res = json_object_object_get(json_object_object_get(doc, "linux"), "resources");
	json_object *mem = json_object_object_get(res, "memory"), *cpu = json_object_object_get(res, "cpu");
	json_object_object_add(hc, "MemoryReservation",
			       json_object_new_int64(json_object_get_int64(json_object_object_get(mem, "reservation"))));
	json_object_object_add(hc, "OomKillDisable", json_object_new_boolean(req->oom_kill_disable));
	json_object_object_add(hc, "CpuPeriod", json_object_new_int64(req->cpus ? 0 :
			       json_object_get_int64(json_object_object_get(cpu, "period"))));
	json_object_object_add(hc, "CpuQuota", json_object_new_int64(req->cpus ? 0 :
			       json_object_get_int64(json_object_object_get(cpu, "quota"))));
	json_object_object_add(hc, "CpusetMems", json_object_new_string(req->cpuset_mems ? req->cpuset_mems : ""));
	json_object_object_add(hc, "BlkioWeight", json_object_new_int64(json_object_get_int64(
		json_object_object_get(json_object_object_get(res, "blockIO"), "weight"))));
	int64_t oom = json_object_get_int64(json_object_object_get(json_object_object_get(doc, "process"), "oomScoreAdj"));
	json_object_object_add(hc, "OomScoreAdj", json_object_new_int64(oom));
	json_object_object_add(hc, "IpcMode", json_object_new_string(req->ipc ? req->ipc : "private"));
	json_object_object_add(hc, "UTSMode", json_object_new_string(req->uts ? req->uts : ""));
	json_object_object_add(hc, "PidMode", json_object_new_string(req->pid ? req->pid : ""));
	json_object_object_add(hc, "CgroupnsMode", json_object_new_string(req->cgroupns ? req->cgroupns :
				access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "private" : "host"));
	json_object_object_add(hc, "CgroupParent", json_object_new_string(req->cgroup_parent ? req->cgroup_parent : ""));
	json_object *sc = json_object_object_get(json_object_object_get(doc, "linux"), "sysctl");
	json_object_object_add(hc, "Sysctls", sc ? json_object_get(sc) : json_object_new_object());
	json_object *ga = json_object_new_array();
	for (size_t i = 0; req->group_add && req->group_add[i]; i++)
		json_object_array_add(ga, json_object_new_string(req->group_add[i]));
	json_object_object_add(hc, "GroupAdd", ga);
	json_object *dv = json_object_new_array();
	for (size_t i = 0; req->devices && req->devices[i]; i++)
		json_object_array_add(dv, json_object_new_string(req->devices[i]));
	json_object_object_add(hc, "Devices", dv);
	if (req->shm_size) {
		int64_t v = 0;
		parse_size(req->shm_size, &v);
		json_object_object_add(hc, "ShmSize", json_object_new_int64(v));
	} else {
		json_object_object_add(hc, "ShmSize", json_object_new_int64(64 * 1024 * 1024));
	}
	json_object *an = json_object_object_get(doc, "annotations");
	if (an)
		json_object_object_add(hc, "Annotations", json_object_get(an));
}
