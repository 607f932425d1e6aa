/* The public cgroup API (cgroup.h): one container cgroup spread over every
 * hierarchy of the host.
 *
 * On legacy v1 the container gets a directory in each mounted hierarchy (the
 * controllers and name=systemd, as runc joins them all). On hybrid it gets
 * those and one in the cgroup2 mount too, so that "0::" in /proc/PID/cgroup
 * names the container, cgroup.kill works, and controllers that live only on
 * cgroup2 (hugetlb on the development machines) can be used. On unified it
 * gets the one cgroup2 directory.
 *
 * Each directory records how many trailing path components this container
 * created ("/cell/ID" made from scratch: 2), so destroy removes exactly
 * those and no others: a shared parent such as /cell goes when it is empty
 * and stays while other containers use it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "json.h"
#include "util.h"

#define CTX "linux.resources"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct cg_dir *v2_dir(const struct cell_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->d[i].v2)
			return &cg->d[i];
	return NULL;
}

static struct cg_dir *v1_dir(const struct cell_cgroup *cg, const char *ctrl)
{
	for (size_t i = 0; i < cg->n; i++)
		if (!cg->d[i].v2 && cg_list_has(cg->d[i].name, ctrl))
			return &cg->d[i];
	return NULL;
}

/* Enable ctrl in cgroup.subtree_control of every ancestor of the v2 leaf
 * that does not have it yet (cgroup2 needs it from the root down). */
static int v2_enable(const struct cell_cgroup *cg, const char *ctrl, cell_error **err)
{
	struct cg_dir *d = v2_dir(cg);
	_cleanup_free_ char *cur = xstrdup(d->mount);
	const char *rel = d->dir + strlen(d->mount);
	_cleanup_free_ char *plus = xasprintf("+%s", ctrl);

	for (;;) {
		_cleanup_free_ char *sc = NULL;
		cell_error *e = NULL;
		if (cg_read(cur, "cgroup.subtree_control", &sc, &e) < 0) {
			cell_error_free(&e);
			sc = xstrdup("");
		}
		bool on = false;
		_cleanup_free_ char *words = xasprintf(" %s ", sc);
		for (char *p = words; *p; p++)
			if (*p == '\n')
				*p = ' ';
		_cleanup_free_ char *needle = xasprintf(" %s ", ctrl);
		on = strstr(words, needle) != NULL;
		if (!on) {
			struct cg_writer w = { .dir = cur };
			char what[64];
			snprintf(what, sizeof(what), "enable the %s controller", ctrl);
			if (cg_write(&w, what, "cgroup.subtree_control", plus, err) < 0)
				return cell_error_wrap(err, "`%s`", cur);
		}
		/* next component */
		while (*rel == '/')
			rel++;
		const char *e2 = strchrnul(rel, '/');
		if (!*e2)
			break;	/* rel is the leaf itself: done */
		char *nx = xasprintf("%s/%.*s", cur, (int)(e2 - rel), rel);
		free(cur);
		cur = nx;
		rel = e2;
	}
	return 0;
}

static bool v2_available(const char *ctrl)
{
	const struct cg_layout *l;
	cell_error *e = NULL;
	if (cg_layout_get(&l, &e) < 0) {
		cell_error_free(&e);
		return false;
	}
	for (char **c = l->v2_controllers; c && *c; c++)
		if (streq(*c, ctrl))
			return true;
	return false;
}

struct lookup_ctx {
	struct cell_cgroup *cg;
	cell_error **err;
};

static int lookup(void *vctx, const char *ctrl, struct cg_target *ret)
{
	struct lookup_ctx *ctx = vctx;
	struct cell_cgroup *cg = ctx->cg;
	struct cg_dir *d = v1_dir(cg, ctrl);
	if (d) {
		*ret = (struct cg_target){ d->dir, false };
		return 1;
	}
	d = v2_dir(cg);
	if (!d)
		return 0;
	const char *v2name = streq(ctrl, "blkio") ? "io" : ctrl;
	if ((streq(ctrl, "net_cls") || streq(ctrl, "net_prio")) && cg->mode != CELL_CGROUP_UNIFIED)
		return 0;	/* v1 host without it mounted: "not available" */
	if (streq(ctrl, "devices") || streq(ctrl, "net_cls") || streq(ctrl, "net_prio") ||
	    streq(ctrl, "cgroup")) {
		/* no controller to enable: the device filter is eBPF; net_*
		 * do not exist on v2 and the v2 applier says so */
		*ret = (struct cg_target){ d->dir, true };
		return 1;
	}
	if (!v2_available(v2name))
		return 0;
	if (v2_enable(cg, v2name, ctx->err) < 0)
		return -1;
	*ret = (struct cg_target){ d->dir, true };
	return 1;
}

static bool needs(const struct cg_resources *r, const char *ctrl)
{
	if (streq(ctrl, "memory"))
		return r->mem.has_limit || r->mem.has_reservation || r->mem.has_swap ||
		       r->mem.has_swappiness || (r->mem.has_disable_oom && r->mem.disable_oom);
	if (streq(ctrl, "cpu"))
		return r->cpu.has_shares || r->cpu.has_quota || r->cpu.has_period || r->cpu.has_burst ||
		       r->cpu.has_rt_runtime || r->cpu.has_rt_period || r->cpu.has_idle;
	if (streq(ctrl, "cpuset"))
		return r->cpu.cpus || r->cpu.mems;
	if (streq(ctrl, "pids"))
		return r->has_pids;
	if (streq(ctrl, "hugetlb"))
		return r->n_huge > 0;
	if (streq(ctrl, "blkio")) {
		size_t n = r->blkio.n_wdev;
		for (int t = 0; t < CG_THR_N; t++)
			n += r->blkio.n_thr[t];
		return r->blkio.has_weight || r->blkio.has_leaf || n > 0;
	}
	if (streq(ctrl, "net_cls"))
		return r->net.has_classid;
	if (streq(ctrl, "net_prio"))
		return r->net.n_prios > 0;
	if (streq(ctrl, "devices"))
		return r->has_devices;
	if (streq(ctrl, "rdma"))
		return r->n_rdma > 0;
	return false;
}

static const char *const controllers[] = { "cpuset", "cpu", "memory", "pids", "hugetlb", "blkio",
	"net_cls", "net_prio", "rdma", "devices" };

static const char *field_of(const char *ctrl)
{
	if (streq(ctrl, "cpuset"))
		return "cpu.cpus/mems";
	if (streq(ctrl, "hugetlb"))
		return "hugepageLimits";
	if (streq(ctrl, "blkio"))
		return "blockIO";
	if (streq(ctrl, "net_cls") || streq(ctrl, "net_prio"))
		return "network";
	return ctrl;
}

static int apply_unified(const struct cg_resources *r, struct cell_cgroup *cg, struct cg_writer *w,
			 cell_error **err)
{
	if (r->n_unified == 0)
		return 0;
	if (!v2_dir(cg))
		return cell_error_set(err, CTX ".unified: needs cgroup v2, and this host has cgroup v1 only "
				      "(%s layout); use the v1 fields of linux.resources",
				      cell_cgroup_mode_name(cg->mode));
	for (size_t i = 0; i < r->n_unified; i++) {
		const char *key = r->unified[i].key;
		_cleanup_free_ char *ctrl = strndup(key, (size_t)(strchr(key, '.') - key));
		char what[300];
		snprintf(what, sizeof(what), CTX ".unified.%s", key);
		if (v1_dir(cg, ctrl) || (streq(ctrl, "io") && v1_dir(cg, "blkio")))
			return cell_error_set(err, "%s: the %s controller is on cgroup v1 on this %s host, "
					      "and `unified` sets only cgroup v2 files", what, ctrl,
					      cell_cgroup_mode_name(cg->mode));
		if (!streq(ctrl, "cgroup")) {
			if (!v2_available(ctrl))
				return cell_error_set(err, "%s: no %s controller in cgroup v2 here "
						      "(see cgroup.controllers at the cgroup2 root)", what, ctrl);
			if (v2_enable(cg, ctrl, err) < 0)
				return cell_error_wrap(err, "%s", what);
		}
		w->dir = v2_dir(cg)->dir;
		if (cg_write(w, what, key, r->unified[i].value, err) < 0)
			return -1;
	}
	return 0;
}

int cg_apply_all(struct cell_cgroup *cg, const struct cg_resources *r, bool record, cell_error **err)
{
	struct cg_writer w = { .record = record };
	struct lookup_ctx ctx = { cg, err };

	if (r->mem.has_kernel)
		cg_note(&cg->notes, CTX ".memory.kernel is ignored: Linux removed kernel memory limits "
			"(kernel memory is charged to memory.limit)");
	if (r->mem.has_kernel_tcp)
		cg_note(&cg->notes, CTX ".memory.kernelTCP is ignored: kernel TCP memory is charged to "
			"the memory limit");
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
		const char *c = controllers[i];
		struct cg_target t;
		if (!needs(r, c))
			continue;
		int k = lookup(&ctx, c, &t);
		if (k < 0)
			goto fail;
		if (k == 0) {
			cell_error_set(err, CTX ".%s: the %s controller is not available on this host "
				       "(not mounted on cgroup v1, not in cgroup2's cgroup.controllers)",
				       field_of(c), c);
			goto fail;
		}
		if ((t.v2 ? cg_apply_v2(c, t.dir, r, &w, &cg->notes, err)
			  : cg_apply_v1(c, t.dir, r, &w, &cg->notes, err)) < 0)
			goto fail;
	}
	if (apply_unified(r, cg, &w, err) < 0)
		goto fail;
	cg_writer_clear(&w);
	return 0;
fail:
	if (record)
		cg_writer_rollback(&w);
	cg_writer_clear(&w);
	return -1;
}

/* mkdir every missing component of dir below mount; *created = how many
 * trailing components we made. */
static int make_dir(const char *mount, const char *dir, int *created, cell_error **err)
{
	for (int attempt = 0;; attempt++) {
		_cleanup_free_ char *p = xstrdup(dir);
		size_t ml = strlen(mount);
		int total = 0, first_new = -1, idx = 0;
		for (const char *s = dir + ml; *s; s++)
			if (*s == '/')
				total++;
		bool retry = false;
		for (char *s = p + ml + 1;; s++) {
			if (*s != '/' && *s != '\0')
				continue;
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) == 0) {
				if (first_new < 0)
					first_new = idx;
			} else if (errno == ENOENT && attempt < 5) {
				/* a parent just removed by another container's
				 * destroy: walk again */
				retry = true;
				break;
			} else if (errno != EEXIST) {
				return cell_error_errno(err, errno, "create cgroup `%s`", p);
			}
			idx++;
			*s = c;
			if (!c)
				break;
		}
		if (retry)
			continue;
		*created = first_new < 0 ? 0 : total - first_new;
		return 0;
	}
}

/* v1 cpuset: a new cgroup starts with empty cpus/mems and refuses tasks
 * until they are set: copy them down from the parent, from the mount down
 * (an empty one left by someone else is as unusable as a new one). */
static int cpuset_init(const struct cg_dir *d, cell_error **err)
{
	_cleanup_free_ char *cur = xstrdup(d->mount);
	const char *rel = d->dir + strlen(d->mount);
	for (;;) {
		while (*rel == '/')
			rel++;
		if (!*rel)
			return 0;
		const char *e = strchrnul(rel, '/');
		char *next = xasprintf("%s/%.*s", cur, (int)(e - rel), rel);
		for (int k = 0; k < 2; k++) {
			const char *f = k ? "cpuset.mems" : "cpuset.cpus";
			_cleanup_free_ char *mine = NULL, *theirs = NULL;
			if (cg_read(next, f, &mine, err) < 0 || cg_read(cur, f, &theirs, err) < 0) {
				free(next);
				return -1;
			}
			if (*mine)
				continue;
			struct cg_writer w = { .dir = next };
			if (cg_write(&w, "copy the parent's cpuset", f, theirs, err) < 0) {
				free(next);
				return -1;
			}
		}
		free(cur);
		cur = next;
		rel = e;
	}
}

static void cg_free_dirs(struct cell_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->d[i].name);
		free(cg->d[i].mount);
		free(cg->d[i].dir);
	}
	free(cg->d);
	cg->d = NULL;
	cg->n = 0;
}

void cell_cgroup_free(struct cell_cgroup *cg)
{
	if (!cg)
		return;
	safe_close(cg->clone_fd);
	cg_free_dirs(cg);
	free(cg->id);
	free(cg->path);
	strv_free(cg->notes);
	cg_systemd_free(cg->sd);
	free(cg);
}

void cg_add_dir(struct cell_cgroup *cg, const char *name, const char *mount, char *dir,
		    int created, bool v2)
{
	cg->d = realloc(cg->d, (cg->n + 1) * sizeof(*cg->d));
	if (!cg->d)
		abort();
	cg->d[cg->n++] = (struct cg_dir){ xstrdup(name), xstrdup(mount), dir, created, v2 };
}

static bool dir_has_procs(const char *dir)
{
	_cleanup_free_ char *s = NULL;
	cell_error *e = NULL;
	if (cg_read(dir, "cgroup.procs", &s, &e) < 0) {
		cell_error_free(&e);
		return false;
	}
	return *s != '\0';
}

static int make_all(struct cell_cgroup *cg, const struct cg_layout *l, const char *id,
		    const char *cgroups_path, cell_error **err)
{
	_cleanup_free_ char *self = NULL;
	if (read_file("/proc/self/cgroup", &self, NULL, err) < 0)
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		const struct cg_hier *h = &l->h[i];
		if (h->v2 && cg->mode == CELL_CGROUP_LEGACY)
			continue;
		_cleanup_free_ char *own = cg_proc_path(self, h->name);
		_cleanup_free_ char *path = NULL;
		if (cg_resolve_path(id, cgroups_path, own, &path, err) < 0)
			return -1;
		char *dir = cg_hier_dir(h, path);
		bool existed = access(dir, F_OK) == 0;
		int created = 0;
		if (make_dir(h->mount, dir, &created, err) < 0) {
			int e = cell_error_code(*err);
			free(dir);
			/* on hybrid the cgroup2 dir is a bonus (consistent 0::,
			 * cgroup.kill, v2-only controllers): a read-only or
			 * foreign cgroup2 mount does not stop the container */
			/* rootless, as runc: a hierarchy the user may not write
			 * is skipped; limits asked for it are refused by the
			 * caller (cg->skipped) */
			if (geteuid() != 0 && (e == EACCES || e == EPERM || e == EROFS)) {
				cell_error_free(err);
				cg->skipped++;
				continue;
			}
			if (h->v2 && cg->mode == CELL_CGROUP_HYBRID &&
			    (e == EACCES || e == EPERM || e == EROFS)) {
				cg_note(&cg->notes, "cgroup2 at %s not used: %s", h->mount, (*err)->msg);
				cell_error_free(err);
				continue;
			}
			return -1;
		}
		/* an empty leftover (a runtime killed -9 mid-create) is ours to
		 * remove; one with processes belongs to someone else */
		if (existed && !dir_has_procs(dir))
			created = 1;
		cg_add_dir(cg, h->name, h->mount, dir, created, h->v2);
		if (!cg->path || h->v2)
			free(cg->path), cg->path = xstrdup(path);
		if (!h->v2 && cg_list_has(h->name, "cpuset") && cpuset_init(&cg->d[cg->n - 1], err) < 0)
			return -1;
	}
	if (cg->n == 0 && !cg->skipped)
		return cell_error_set(err, "no cgroup hierarchy to place the container in");
	return 0;
}

/* Does linux.resources ask for anything but the device rules (which a
 * rootless container cannot use anyway: its device nodes are binds)? */
static bool asks_limits(json_object *resources)
{
	if (!resources || !json_object_is_type(resources, json_type_object))
		return false;
	json_object_object_foreach(resources, k, v) {
		if (streq(k, "devices") || !v)
			continue;
		if (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 0)
			continue;
		return true;
	}
	return false;
}

static int remove_dirs(struct cell_cgroup *cg, cell_error **err);

/* A cgroup that is frozen (itself, or by a frozen ancestor, as a
 * cgroupsPath inside a paused pod is) would freeze the init before it
 * reports back, and create would wait forever (runc 1.1 refuses too). */
static int refuse_frozen(struct cell_cgroup *cg, cell_error **err)
{
	for (size_t i = 0; i < cg->n; i++) {
		struct cg_dir *d = &cg->d[i];
		_cleanup_free_ char *v = NULL;
		uint64_t f = 0;
		cell_error *e = NULL;
		if (!d->v2 && cg_list_has(d->name, "freezer") && cg_read(d->dir, "freezer.state", &v, &e) == 0 &&
		    !streq(v, "THAWED"))
			return cell_error_set(err, "cgroup `%s` is %s (freezer.state): the container could not run; "
					      "thaw it (or its parent) first", d->dir, v);
		if (d->v2 && cg_read_keyed(d->dir, "cgroup.events", "frozen", &f) == 0 && f == 1)
			return cell_error_set(err, "cgroup `%s` is frozen (cgroup.events): the container could not "
					      "run; thaw it (or its parent: cgroup.freeze = 0) first", d->dir);
		cell_error_free(&e);
	}
	return 0;
}

int cell_cgroup_create(const char *id, const char *cgroups_path, json_object *resources,
		       bool systemd, struct cell_cgroup **ret, cell_error **err)
{
	const struct cg_layout *l;
	struct cg_resources r;

	if (systemd)
		return cg_systemd_create(id, cgroups_path, resources, ret, err);
	if (cg_layout_get(&l, err) < 0)
		return -1;
	if (cg_resources_parse(resources, &r, err) < 0)
		return -1;
	cg_resources_add_default_devices(&r);
	if (r.n_unified && l->mode == CELL_CGROUP_LEGACY) {
		cg_resources_clear(&r);
		return cell_error_set(err, CTX ".unified: needs cgroup v2, and this host has cgroup v1 "
				      "only; use the v1 fields of linux.resources");
	}

	struct cell_cgroup *cg = xcalloc(1, sizeof(*cg));
	cg->mode = l->mode;
	cg->clone_fd = -1;
	cg->id = xstrdup(id ? id : "");
	cg->default_path = !cgroups_path || !*cgroups_path;
	if (make_all(cg, l, id, cgroups_path, err) < 0)
		goto fail;
	if (cg->skipped && asks_limits(resources)) {
		cell_error_set(err, "linux.resources: running as uid %u, %zu cgroup hierarch%s could not be "
			       "written (permission denied): limits need a cgroup delegated to this user (cgroup v2 "
			       "with a subtree it owns, as systemd's Delegate=yes makes); drop the limits to run "
			       "without a cgroup", (unsigned)geteuid(), cg->skipped, cg->skipped == 1 ? "y" : "ies");
		goto fail;
	}

	if (refuse_frozen(cg, err) < 0) {
		/* a frozen cgroup given by path may hold others' processes:
		 * remove only what we made, kill nothing */
		cell_error *e = NULL;
		if (remove_dirs(cg, &e) < 0)
			cell_error_free(&e);
		cg_resources_clear(&r);
		cell_cgroup_free(cg);
		return -1;
	}
	if (cg->mode == CELL_CGROUP_UNIFIED) {
		/* as runc: every available controller, so that stats and a
		 * later update find them; individual failures surface when a
		 * resource needs that controller */
		for (char **c = l->v2_controllers; c && *c; c++) {
			cell_error *e = NULL;
			if (v2_enable(cg, *c, &e) < 0)
				cell_error_free(&e);
		}
	}
	if (cg_apply_all(cg, &r, false, err) < 0)
		goto fail;
	cg_resources_clear(&r);
	*ret = cg;
	return 0;
fail:
	cg_resources_clear(&r);
	{
		cell_error *e = NULL;
		if (cell_cgroup_destroy(cg, &e) < 0)
			cell_error_wrap(err, "(and cleaning up failed: %s)", e->msg);
		cell_error_free(&e);
	}
	cell_cgroup_free(cg);
	return -1;
}

int cell_cgroup_set_annotations(struct cell_cgroup *cg, json_object *annotations, cell_error **err)
{
	return cg->sd ? cg_systemd_set_annotations(cg, annotations, err) : 0;
}

bool cell_cgroup_is_none(const struct cell_cgroup *cg)
{
	return cg->n == 0 && !cg->sd;
}

const char *cell_cgroup_driver(const struct cell_cgroup *cg)
{
	return cg->sd ? "systemd" : "cgroupfs";
}

json_object *cell_cgroup_to_json(const struct cell_cgroup *cg)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	json_object_object_add(o, "mode", json_object_new_string(cell_cgroup_mode_name(cg->mode)));
	json_object_object_add(o, "path", json_object_new_string(cg->path ? cg->path : ""));
	json_object_object_add(o, "defaultPath", json_object_new_boolean(cg->default_path));
	for (size_t i = 0; i < cg->n; i++) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "hierarchy", json_object_new_string(cg->d[i].name));
		json_object_object_add(d, "mount", json_object_new_string(cg->d[i].mount));
		json_object_object_add(d, "dir", json_object_new_string(cg->d[i].dir));
		json_object_object_add(d, "created", json_object_new_int(cg->d[i].created));
		json_object_object_add(d, "v2", json_object_new_boolean(cg->d[i].v2));
		json_object_array_add(a, d);
	}
	json_object_object_add(o, "dirs", a);
	if (cg->sd)
		json_object_object_add(o, "systemd", cg_systemd_to_json(cg));
	return o;
}

int cell_cgroup_from_json(json_object *o, struct cell_cgroup **ret, cell_error **err)
{
	const char *mode = NULL, *path = NULL;
	json_object *a;
	if (cj_expect_object(o, "cgroup", err) < 0 || cj_string(o, "mode", "cgroup", &mode, err) < 0 ||
	    cj_string(o, "path", "cgroup", &path, err) < 0 || cj_array(o, "dirs", "cgroup", &a, err) < 0)
		return -1;
	if (!mode || !path || !a)
		return cell_error_set(err, "`cgroup`: mode, path and dirs are required");
	struct cell_cgroup *cg = xcalloc(1, sizeof(*cg));
	cg->clone_fd = -1;
	cg->id = xstrdup("");
	cg->path = xstrdup(path);
	(void)cj_bool(o, "defaultPath", "cgroup", &cg->default_path, err);
	cell_error_free(err);
	cg->mode = streq(mode, "legacy") ? CELL_CGROUP_LEGACY
		   : streq(mode, "hybrid") ? CELL_CGROUP_HYBRID : CELL_CGROUP_UNIFIED;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *d = json_object_array_get_idx(a, i);
		const char *name = NULL, *dir = NULL, *mount = NULL;
		int64_t created = 0;
		bool v2 = false;
		if (cj_expect_object(d, "cgroup.dirs[]", err) < 0 ||
		    cj_string(d, "hierarchy", "cgroup.dirs[]", &name, err) < 0 ||
		    cj_string(d, "dir", "cgroup.dirs[]", &dir, err) < 0 ||
		    cj_string(d, "mount", "cgroup.dirs[]", &mount, err) < 0 ||
		    cj_int64(d, "created", "cgroup.dirs[]", &created, err) < 0 ||
		    cj_bool(d, "v2", "cgroup.dirs[]", &v2, err) < 0 || !name || !dir || !mount ||
		    strncmp(dir, mount, strlen(mount)) != 0) {
			if (!*err)
				cell_error_set(err, "`cgroup.dirs[%zu]`: hierarchy, mount and a dir below it are required", i);
			cell_cgroup_free(cg);
			return -1;
		}
		cg_add_dir(cg, name, mount, xstrdup(dir), (int)created, v2);
	}
	json_object *sd;
	if (json_object_object_get_ex(o, "systemd", &sd) && cg_systemd_from_json(cg, sd, err) < 0) {
		cell_cgroup_free(cg);
		return -1;
	}
	*ret = cg;
	return 0;
}

/* runc's `exec --cgroup [CTRL[,CTRL]:]PATH`: PATH below the container's
 * cgroup, in the hierarchies holding CTRL (v1) or in all of them. */
static int descend_one(struct cell_cgroup *cg, const char *arg, cell_error **err)
{
	_cleanup_free_ char *ctrls = NULL;
	const char *colon = strchr(arg, ':'), *sub = colon ? colon + 1 : arg;
	if (colon)
		ctrls = xasprintf("%.*s", (int)(colon - arg), arg);
	if (!*sub || sub[0] == '/' || streq(sub, "..") || strncmp(sub, "../", 3) == 0 || strstr(sub, "/../") ||
	    (strlen(sub) >= 3 && streq(sub + strlen(sub) - 3, "/..")))
		return cell_error_set(err, "--cgroup `%s`: expected [controller:]path, path relative to the container's "
				      "cgroup and without `..`", arg);
	if (ctrls && cg->mode == CELL_CGROUP_UNIFIED)
		return cell_error_set(err, "--cgroup `%s`: a controller name is for cgroup v1; on cgroup v2 give "
				      "the path alone", arg);
	bool matched = false;
	for (size_t i = 0; i < cg->n; i++) {
		struct cg_dir *d = &cg->d[i];
		bool hit = !ctrls;
		char *save = NULL;
		_cleanup_free_ char *copy = ctrls ? xstrdup(ctrls) : NULL;
		for (char *c = copy ? strtok_r(copy, ",", &save) : NULL; c; c = strtok_r(NULL, ",", &save))
			if (!d->v2 && cg_list_has(d->name, c))
				hit = true;
		if (!hit)
			continue;
		_cleanup_free_ char *dir = xasprintf("%s/%s", d->dir, sub);
		struct stat stb;
		if (stat(dir, &stb) < 0 || !S_ISDIR(stb.st_mode))
			return cell_error_errno(err, errno ? errno : ENOTDIR, "--cgroup `%s`: `%s` (the sub-cgroup "
						"must exist)", arg, dir);
		free(d->dir);
		d->dir = TAKE_PTR(dir);
		matched = true;
	}
	if (!matched)
		return cell_error_set(err, "--cgroup `%s`: no hierarchy of the container holds controller `%s`", arg,
				      ctrls ? ctrls : "");
	return 0;
}

int cell_cgroup_descend(struct cell_cgroup *cg, char **subs, cell_error **err)
{
	for (size_t i = 0; subs && subs[i]; i++)
		if (descend_one(cg, subs[i], err) < 0)
			return -1;
	cg->clone_fd = safe_close(cg->clone_fd);
	return 0;
}

int cell_cgroup_clone_fd(struct cell_cgroup *cg)
{
	/* hybrid too: the cgroup2 part is joined at clone time, the v1
	 * hierarchies by cell_cgroup_enter_cloned() */
	struct cg_dir *d = v2_dir(cg);
	if (!d)
		return -1;
	if (cg->clone_fd < 0)
		cg->clone_fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return cg->clone_fd;
}

/* A migration written by another process takes cgroup_threadgroup_rwsem for
 * writing, which waits for an RCU grace period: 5-20 ms per hierarchy here,
 * through `tasks` as through cgroup.procs. Only a thread moving itself
 * (writing "0" to `tasks`) skips it (kernel/cgroup: threadgroup_locked =
 * pid || threadgroup). So the runtime opens the v1 `tasks` files (the
 * permission check is the opener's) and the single-threaded init writes
 * "0" to them itself: cell_cgroup_self_fds() + cell_cgroup_join_self().
 * The cgroup2 dir is joined with CLONE_INTO_CGROUP when it can be. */
static int enter(struct cell_cgroup *cg, pid_t pid, bool skip_v2, bool skip_v1, cell_error **err);

int cg_enter_dirs(struct cell_cgroup *cg, pid_t pid, cell_error **err)
{
	return enter(cg, pid, false, false, err);
}

static int enter(struct cell_cgroup *cg, pid_t pid, bool skip_v2, bool skip_v1, cell_error **err)
{
	char v[24];
	snprintf(v, sizeof(v), "%d", (int)pid);
	for (size_t i = 0; i < cg->n; i++) {
		struct cg_writer w = { .dir = cg->d[i].dir };
		bool v2 = &cg->d[i] == v2_dir(cg);
		char what[64];
		if ((v2 && skip_v2) || (!v2 && skip_v1))
			continue;
		snprintf(what, sizeof(what), "move pid %d into cgroup", (int)pid);
		if (cg_write(&w, what, v2 ? "cgroup.procs" : "tasks", v, err) < 0)
			return cell_error_wrap(err, "`%s`", cg->d[i].dir);
	}
	return 0;
}

int cell_cgroup_enter(struct cell_cgroup *cg, pid_t pid, cell_error **err)
{
	const struct cg_backend_ops *ops = cg_backend_of(cg);
	if (ops->enter)
		return ops->enter(cg, pid, err);
	return enter(cg, pid, false, false, err);
}

int cell_cgroup_enter_cloned(struct cell_cgroup *cg, pid_t pid, cell_error **err)
{
	return enter(cg, pid, true, false, err);
}

int cell_cgroup_enter_v2(struct cell_cgroup *cg, pid_t pid, cell_error **err)
{
	return enter(cg, pid, false, true, err);
}

int cell_cgroup_self_fds(struct cell_cgroup *cg, struct cell_cgroup_self *ret, cell_error **err)
{
	*ret = (struct cell_cgroup_self){ 0 };
	for (size_t i = 0; i < cg->n; i++) {
		if (cg->d[i].v2)
			continue;
		if (ret->n == ARRAY_SIZE(ret->fds)) {
			cell_cgroup_self_close(ret);
			return cell_error_set(err, "more than %zu cgroup v1 hierarchies", ARRAY_SIZE(ret->fds));
		}
		_cleanup_free_ char *p = xasprintf("%s/tasks", cg->d[i].dir);
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			cell_cgroup_self_close(ret);
			return cell_error_errno(err, e, "open `%s` for the init to join its cgroup", p);
		}
		ret->dirs[ret->n] = cg->d[i].dir;
		ret->fds[ret->n++] = fd;
	}
	return 0;
}

int cell_cgroup_join_self(struct cell_cgroup_self *s, cell_error **err)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->fds[i] < 0)
			continue;
		ssize_t n;
		do
			n = write(s->fds[i], "0", 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			return cell_error_errno(err, n < 0 ? errno : EIO, "join cgroup `%s` (write 0 to its tasks)",
						s->dirs[i]);
		s->fds[i] = safe_close(s->fds[i]);
	}
	s->n = 0;
	return 0;
}

void cell_cgroup_self_close(struct cell_cgroup_self *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->fds[i] = safe_close(s->fds[i]);
	s->n = 0;
}

const char *cell_cgroup_path(const struct cell_cgroup *cg)
{
	return cg->path;
}

char *cell_cgroup_dir(const struct cell_cgroup *cg, const char *controller)
{
	struct cg_dir *d;
	if (!controller || !*controller) {
		d = v2_dir(cg);
		return d ? xstrdup(d->dir) : NULL;
	}
	d = v1_dir(cg, controller);
	if (d)
		return xstrdup(d->dir);
	d = v2_dir(cg);
	if (d && (cg->mode == CELL_CGROUP_UNIFIED || v2_available(controller)))
		return xstrdup(d->dir);
	return NULL;
}

char **cell_cgroup_notes(const struct cell_cgroup *cg)
{
	return cg->notes;
}

int cell_cgroup_update(struct cell_cgroup *cg, json_object *resources, cell_error **err)
{
	struct cg_resources r;
	if (cg_resources_parse(resources, &r, err) < 0)
		return -1;
	cg_resources_add_default_devices(&r);
	const struct cg_backend_ops *ops = cg_backend_of(cg);
	int k = ops->update ? ops->update(cg, &r, err) : cg_apply_all(cg, &r, true, err);
	cg_resources_clear(&r);
	return k;
}

/* ---- freezing ---- */

static int v1_freeze(const char *dir, bool frozen, cell_error **err)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	struct cg_writer w = { .dir = dir };
	for (int i = 0; i < 1000; i++) {
		/* a freeze can get stuck in FREEZING behind a task in an
		 * uninterruptible sleep: write again, as runc does */
		if (i % 50 == 0 && cg_write(&w, frozen ? "freeze" : "thaw", "freezer.state", want, err) < 0)
			return -1;
		_cleanup_free_ char *s = NULL;
		if (cg_read(dir, "freezer.state", &s, err) < 0)
			return -1;
		if (streq(s, want))
			return 0;
		sleep_ms(i < 10 ? 1 : 10);
	}
	if (frozen) {
		cell_error *e = NULL;
		if (cg_write(&w, "thaw", "freezer.state", "THAWED", &e) < 0)
			cell_error_free(&e);
	}
	return cell_error_set(err, "%s `%s`: freezer.state did not become %s within 10s (a process in "
			      "uninterruptible sleep?)", frozen ? "freeze" : "thaw", dir, want);
}

static int v2_freeze(const char *dir, bool frozen, cell_error **err)
{
	struct cg_writer w = { .dir = dir };
	if (cg_write(&w, frozen ? "freeze" : "thaw", "cgroup.freeze", frozen ? "1" : "0", err) < 0)
		return cell_error_wrap(err, "`%s`", dir);
	for (int i = 0; i < 1000; i++) {
		uint64_t f;
		if (cg_read_keyed(dir, "cgroup.events", "frozen", &f) == 0 && f == (frozen ? 1u : 0u))
			return 0;
		sleep_ms(i < 10 ? 1 : 10);
	}
	if (frozen) {
		cell_error *e = NULL;
		if (cg_write(&w, "thaw", "cgroup.freeze", "0", &e) < 0)
			cell_error_free(&e);
	}
	return cell_error_set(err, "%s `%s`: cgroup.events did not say frozen %d within 10s",
			      frozen ? "freeze" : "thaw", dir, frozen);
}

/* ---- the backends (cgroup-internal.h: struct cg_backend_ops) ---- */

static int no_freezer(bool frozen, cell_error **err)
{
	return cell_error_set(err, "%s: no freezer: neither a v1 freezer hierarchy nor cgroup.freeze "
			      "(Linux 5.2+) is available", frozen ? "pause" : "resume");
}

static bool v2_can_freeze(const struct cell_cgroup *cg)
{
	struct cg_dir *d = v2_dir(cg);
	return d && cg_file_exists(d->dir, "cgroup.freeze");
}

static int v2_backend_freeze(struct cell_cgroup *cg, bool frozen, cell_error **err)
{
	if (!v2_can_freeze(cg))
		return no_freezer(frozen, err);
	return v2_freeze(v2_dir(cg)->dir, frozen, err);
}

static int v2_is_frozen(struct cell_cgroup *cg, bool *ret, cell_error **err)
{
	struct cg_dir *d = v2_dir(cg);
	/* cgroup.freeze is what was asked; cgroup.events' "frozen" drops to
	 * 0 for a moment whenever a frozen task takes a signal */
	uint64_t f = 0;
	cell_error *e = NULL;
	if (d && cg_read_u64(d->dir, "cgroup.freeze", &f, &e) == 0) {
		*ret = f == 1;
		return 0;
	}
	cell_error_free(&e);
	*ret = false;
	return 0;
}

/* v1 (legacy, and the v1 part of hybrid): the freezer hierarchy, or the
 * cgroup2 dir's cgroup.freeze on a hybrid host without one */
static bool v1_can_freeze(const struct cell_cgroup *cg)
{
	return v1_dir(cg, "freezer") || v2_can_freeze(cg);
}

static int v1_backend_freeze(struct cell_cgroup *cg, bool frozen, cell_error **err)
{
	struct cg_dir *d = v1_dir(cg, "freezer");
	return d ? v1_freeze(d->dir, frozen, err) : v2_backend_freeze(cg, frozen, err);
}

static int v1_is_frozen(struct cell_cgroup *cg, bool *ret, cell_error **err)
{
	struct cg_dir *d = v1_dir(cg, "freezer");
	if (!d)
		return v2_is_frozen(cg, ret, err);
	_cleanup_free_ char *s = NULL;
	if (cg_read(d->dir, "freezer.state", &s, err) < 0)
		return -1;
	*ret = streq(s, "FROZEN");
	return 0;
}

static const char *v2_procs_dir(const struct cell_cgroup *cg)
{
	struct cg_dir *d = v2_dir(cg);
	return d ? d->dir : cg->n ? cg->d[0].dir : NULL;
}

static const char *v1_procs_dir(const struct cell_cgroup *cg)
{
	static const char *const pref[] = { "freezer", "pids", "memory", "cpu", "devices" };
	for (size_t i = 0; i < ARRAY_SIZE(pref); i++) {
		struct cg_dir *v = v1_dir(cg, pref[i]);
		if (v)
			return v->dir;
	}
	return cg->n ? cg->d[0].dir : NULL;
}

/* cgroup.kill (Linux 5.14) kills every process, forks included, in one
 * step; on hybrid the container's cgroup2 dir has it too. 1: done; 0: the
 * caller freezes, lists and kills. */
static int cgroupfs_kill_all(struct cell_cgroup *cg, int sig, cell_error **err)
{
	struct cg_dir *d = v2_dir(cg);
	if (sig != SIGKILL || !d || !cg_file_exists(d->dir, "cgroup.kill"))
		return 0;
	struct cg_writer w = { .dir = d->dir };
	int k = cg_write(&w, "kill every process", "cgroup.kill", "1", err);
	if (k == -ENOENT) {
		cell_error_free(err);
		return 1;
	}
	return k < 0 ? cell_error_wrap(err, "`%s`", d->dir) : 1;
}

const struct cg_backend_ops cg_backend_cgroupfs_v1 = {
	.name = "cgroupfs-v1",
	.freeze = v1_backend_freeze,
	.is_frozen = v1_is_frozen,
	.can_freeze = v1_can_freeze,
	.kill_all = cgroupfs_kill_all,
	.procs_dir = v1_procs_dir,
};

const struct cg_backend_ops cg_backend_cgroupfs_v2 = {
	.name = "cgroupfs-v2",
	.freeze = v2_backend_freeze,
	.is_frozen = v2_is_frozen,
	.can_freeze = v2_can_freeze,
	.kill_all = cgroupfs_kill_all,
	.procs_dir = v2_procs_dir,
};

const struct cg_backend_ops *cg_backend(enum cell_cgroup_mode mode)
{
	return mode == CELL_CGROUP_UNIFIED ? &cg_backend_cgroupfs_v2 : &cg_backend_cgroupfs_v1;
}

const struct cg_backend_ops *cg_backend_of(const struct cell_cgroup *cg)
{
	return cg->sd ? &cg_backend_systemd : cg_backend(cg->mode);
}

int cell_cgroup_freeze(struct cell_cgroup *cg, bool frozen, cell_error **err)
{
	return cg_backend_of(cg)->freeze(cg, frozen, err);
}

int cell_cgroup_is_frozen(struct cell_cgroup *cg, bool *ret, cell_error **err)
{
	return cg_backend_of(cg)->is_frozen(cg, ret, err);
}

/* ---- processes ---- */

static const char *procs_dir(const struct cell_cgroup *cg)
{
	return cg_backend_of(cg)->procs_dir(cg);
}

int cell_cgroup_pids(struct cell_cgroup *cg, pid_t **ret, size_t *ret_n, cell_error **err)
{
	const char *dir = procs_dir(cg);
	_cleanup_free_ char *s = NULL;
	size_t n = 0;
	pid_t *v;
	if (!dir)
		return cell_error_set(err, "cgroup `%s` has no directory", cg->path);
	if (cg_read(dir, "cgroup.procs", &s, err) < 0) {
		if (cell_error_code(*err) == ENOENT) {
			cell_error_free(err);
			*ret = xcalloc(1, sizeof(pid_t));
			*ret_n = 0;
			return 0;
		}
		return -1;
	}
	v = xcalloc(strlen(s) / 2 + 2, sizeof(pid_t));
	for (char *p = s, *save = NULL, *t; (t = strtok_r(p, "\n", &save)); p = NULL) {
		int64_t x;
		if (parse_int64(t, &x) == 0 && x > 0)
			v[n++] = (pid_t)x;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int kill_listed(struct cell_cgroup *cg, int sig, cell_error **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	if (cell_cgroup_pids(cg, &pids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			return cell_error_errno(err, errno, "kill pid %d with signal %d", (int)pids[i], sig);
	return 0;
}

int cell_cgroup_kill(struct cell_cgroup *cg, int sig, cell_error **err)
{
	const struct cg_backend_ops *ops = cg_backend_of(cg);
	bool was_frozen = false;
	cell_error *e = NULL;
	if (cell_cgroup_is_frozen(cg, &was_frozen, &e) < 0)
		cell_error_free(&e);
	int all = ops->kill_all(cg, sig, err);
	if (all < 0)
		return -1;
	if (all > 0) {
		/* v1-frozen tasks die only once thawed (runc thaws too) */
		if (was_frozen && cell_cgroup_freeze(cg, false, &e) < 0)
			cell_error_free(&e);
		return 0;
	}
	if (sig == 0)
		return kill_listed(cg, 0, err);	/* only asks whether they live: nothing to freeze */
	/* otherwise freeze so that nothing forks between listing and killing */
	bool frozen = false;
	if (ops->can_freeze(cg)) {
		if (!was_frozen && cell_cgroup_freeze(cg, true, err) < 0)
			return -1;
		frozen = true;
	}
	int k = kill_listed(cg, sig, err);
	/* a paused container stays paused, except that SIGKILL must be able
	 * to finish its work */
	if (frozen && (!was_frozen || sig == SIGKILL)) {
		if (cell_cgroup_freeze(cg, false, k < 0 ? &e : err) < 0 && k == 0)
			k = -1;
		cell_error_free(&e);
	}
	return k;
}

/* ---- removal ---- */

/* rmdir dir and any cgroups the container made below it, deepest first. */
static int rmdir_tree(const char *dir)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
		(void)rmdir_tree(sub);
	}
	closedir(dp);
	if (rmdir(dir) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static bool any_procs(struct cell_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->d[i].created > 0 && dir_has_procs(cg->d[i].dir))
			return true;
	return false;
}

int cell_cgroup_destroy(struct cell_cgroup *cg, cell_error **err)
{
	const struct cg_backend_ops *ops = cg_backend_of(cg);
	if (ops->destroy)
		return ops->destroy(cg, err);
	if (any_procs(cg)) {
		cell_error *e = NULL;
		/* thaw first: frozen v1 tasks do not die until thawed */
		if (cell_cgroup_freeze(cg, false, &e) < 0)
			cell_error_free(&e);
		for (int i = 0; i < 500 && any_procs(cg); i++) {
			if (i % 50 == 0 && cell_cgroup_kill(cg, SIGKILL, &e) < 0)
				cell_error_free(&e);
			sleep_ms(10);
		}
	}
	return remove_dirs(cg, err);
}

/* Remove the directories this container created (never others'). */
static int remove_dirs(struct cell_cgroup *cg, cell_error **err)
{
	int rc = 0;
	for (size_t i = 0; i < cg->n; i++) {
		struct cg_dir *d = &cg->d[i];
		if (d->created <= 0)
			continue;
		int k = 0;
		for (int t = 0; t < 100; t++) {
			k = rmdir_tree(d->dir);
			if (k != -EBUSY)
				break;
			sleep_ms(20);	/* exiting tasks still leaving */
		}
		if (k < 0) {
			if (rc == 0)
				cell_error_errno(err, -k, "remove cgroup `%s`", d->dir);
			rc = -1;
			continue;
		}
		/* the parents we made, while empty: another container may
		 * have joined them since (EBUSY/ENOTEMPTY: keep) */
		_cleanup_free_ char *p = xstrdup(d->dir);
		for (int j = 1; j < d->created; j++) {
			char *s = strrchr(p, '/');
			if (!s)
				break;
			*s = '\0';
			if (rmdir(p) < 0 && errno != ENOENT)
				break;
		}
		/* /cell is shared by every container with the default path: the
		 * last one out removes it, whoever made it */
		if (cg->default_path) {
			char *s = strrchr(p, '/');
			if (d->created == 1 && s) {
				*s = '\0';
				(void)rmdir(p);
			}
		}
		d->created = 0;
	}
	return rc;
}
