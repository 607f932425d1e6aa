/* Which hierarchy holds which controller, and where a cgroup path lives.
 *
 * The mode comes from statfs(): cgroup2 at /sys/fs/cgroup is unified; a tmpfs
 * there with a cgroup2 at /sys/fs/cgroup/unified is hybrid; otherwise legacy.
 * The controllers of each v1 hierarchy and the mount points come from
 * /proc/self/mountinfo, since controllers may be co-mounted ("cpu,cpuacct")
 * and mounted anywhere; the per-controller question "v1 or v2?" is answered
 * by whether a v1 hierarchy carries it. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>

#include "cgroup-internal.h"
#include "util.h"

bool cg_list_has(const char *list, const char *ctrl)
{
	size_t n = strlen(ctrl);
	const char *p = list;
	while (p && *p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncmp(p, ctrl, n) == 0)
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

static char **split_words(const char *s)
{
	size_t n = 0, cap = 8;
	char **v = xcalloc(cap + 1, sizeof(char *));
	_cleanup_free_ char *copy = xstrdup(s);
	char *save = NULL;
	for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
		if (n == cap) {
			cap *= 2;
			v = realloc(v, (cap + 1) * sizeof(char *));
			if (!v)
				abort();
		}
		v[n++] = xstrdup(t);
		v[n] = NULL;
	}
	return v;
}

/* mountinfo: "36 25 0:31 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu" */
static int parse_line(char *line, struct cg_hier *ret)
{
	char *f[16] = { 0 };
	size_t n = 0, sep = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " ", &save); t && n < ARRAY_SIZE(f); t = strtok_r(NULL, " ", &save)) {
		if (!sep && streq(t, "-"))
			sep = n;
		f[n++] = t;
	}
	if (!sep || sep + 3 >= n + 1 || !f[sep + 1] || !f[sep + 3])
		return 0;
	const char *fstype = f[sep + 1], *opts = f[sep + 3];
	bool v2 = streq(fstype, "cgroup2");
	if (!v2 && !streq(fstype, "cgroup"))
		return 0;
	_cleanup_free_ char *names = xstrdup("");
	if (!v2) {
		_cleanup_free_ char *o = xstrdup(opts);
		char *s2 = NULL;
		for (char *t = strtok_r(o, ",", &s2); t; t = strtok_r(NULL, ",", &s2)) {
			static const char *const skip[] = { "rw", "ro", "relatime", "noatime", "nosuid",
				"nodev", "noexec", "clone_children", "noprefix", "xattr", "cpuset_v2_mode",
				"favordynmods", "nsdelegate", "memory_recursiveprot" };
			bool ignored = false;
			for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
				if (streq(t, skip[i]))
					ignored = true;
			if (ignored || strncmp(t, "release_agent=", 14) == 0)
				continue;
			char *nn = xasprintf("%s%s%s", names, *names ? "," : "", t);
			free(names);
			names = nn;
		}
		if (!*names)
			return 0;
	}
	/* mountinfo escapes spaces as \040; cgroup mount points have none */
	ret->name = TAKE_PTR(names);
	ret->root = xstrdup(f[3]);
	ret->mount = xstrdup(f[4]);
	ret->v2 = v2;
	return 1;
}

int cg_layout_parse(const char *mountinfo, struct cg_layout *ret, cell_error **err)
{
	struct cg_layout l = { .v2 = -1 };
	_cleanup_free_ char *text = xstrdup(mountinfo);
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct cg_hier h = { 0 };
		if (parse_line(line, &h) <= 0)
			continue;
		/* the same hierarchy may be mounted twice (bind mounts); keep the first */
		bool dup = false;
		for (size_t i = 0; i < l.n; i++)
			if (streq(l.h[i].name, h.name) && l.h[i].v2 == h.v2)
				dup = true;
		if (dup) {
			free(h.name);
			free(h.root);
			free(h.mount);
			continue;
		}
		l.h = realloc(l.h, (l.n + 1) * sizeof(*l.h));
		if (!l.h)
			abort();
		if (h.v2)
			l.v2 = (int)l.n;
		l.h[l.n++] = h;
	}
	if (l.n == 0)
		return cell_error_set(err, "no cgroup file system is mounted (see /proc/self/mountinfo)");
	bool any_v1 = false;
	for (size_t i = 0; i < l.n; i++)
		if (!l.h[i].v2 && strncmp(l.h[i].name, "name=", 5) != 0)
			any_v1 = true;
	if (!any_v1 && l.v2 >= 0)
		l.mode = CELL_CGROUP_UNIFIED;
	else if (l.v2 >= 0)
		l.mode = CELL_CGROUP_HYBRID;
	else
		l.mode = CELL_CGROUP_LEGACY;
	l.v2_controllers = xcalloc(1, sizeof(char *));
	*ret = l;
	return 0;
}

void cg_layout_free(struct cg_layout *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->h[i].name);
		free(l->h[i].mount);
		free(l->h[i].root);
	}
	free(l->h);
	strv_free(l->v2_controllers);
	*l = (struct cg_layout){ .v2 = -1 };
}

static struct cg_layout layout;
static bool layout_done;
static pthread_mutex_t layout_lock = PTHREAD_MUTEX_INITIALIZER;

static int detect(cell_error **err)
{
	_cleanup_free_ char *mi = NULL;
	struct statfs sf;

	if (statfs(CG_ROOT, &sf) < 0)
		return cell_error_errno(err, errno, "statfs `%s`", CG_ROOT);
	if (read_file("/proc/self/mountinfo", &mi, NULL, err) < 0)
		return -1;
	if (cg_layout_parse(mi, &layout, err) < 0)
		return -1;
	/* statfs decides the mode as the issue asks; mountinfo gave the map */
	if ((unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC) {
		layout.mode = CELL_CGROUP_UNIFIED;
	} else {
		struct statfs u;
		bool unified = statfs(CG_ROOT "/unified", &u) == 0 &&
			       (unsigned long)u.f_type == CGROUP2_SUPER_MAGIC;
		layout.mode = unified || layout.v2 >= 0 ? CELL_CGROUP_HYBRID : CELL_CGROUP_LEGACY;
		if (layout.mode == CELL_CGROUP_HYBRID) {
			bool v1 = false;
			for (size_t i = 0; i < layout.n; i++)
				if (!layout.h[i].v2)
					v1 = true;
			if (!v1)
				layout.mode = CELL_CGROUP_UNIFIED;
		}
	}
	if (layout.v2 >= 0) {
		_cleanup_free_ char *ctl = NULL;
		cell_error *e = NULL;
		if (cg_read(layout.h[layout.v2].mount, "cgroup.controllers", &ctl, &e) == 0) {
			strv_free(layout.v2_controllers);
			layout.v2_controllers = split_words(ctl);
		}
		cell_error_free(&e);
	}
	return 0;
}

int cg_layout_get(const struct cg_layout **ret, cell_error **err)
{
	int r = 0;
	pthread_mutex_lock(&layout_lock);
	if (!layout_done) {
		r = detect(err);
		if (r == 0)
			layout_done = true;
		else
			cg_layout_free(&layout);
	}
	pthread_mutex_unlock(&layout_lock);
	if (r < 0)
		return cell_error_wrap(err, "detect the cgroup layout");
	*ret = &layout;
	return 0;
}

int cell_cgroup_mode(enum cell_cgroup_mode *ret, cell_error **err)
{
	const struct cg_layout *l;
	if (cg_layout_get(&l, err) < 0)
		return -1;
	*ret = l->mode;
	return 0;
}

const char *cell_cgroup_mode_name(enum cell_cgroup_mode mode)
{
	switch (mode) {
	case CELL_CGROUP_LEGACY: return "legacy";
	case CELL_CGROUP_HYBRID: return "hybrid";
	case CELL_CGROUP_UNIFIED: return "unified";
	}
	return "unknown";
}

/* "4:memory:/a/b" lines; name "" matches the "0::/x" cgroup2 line. */
char *cg_proc_path(const char *proc_cgroup, const char *name)
{
	_cleanup_free_ char *text = xstrdup(proc_cgroup);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1;
		bool match;
		if (!*name)
			match = !*ctrls;
		else
			match = streq(ctrls, name);
		if (match)
			return xstrdup(c2 + 1);
	}
	return NULL;
}

/* Join and normalize: collapse "//" and "/./", reject "..". */
static int normalize(const char *in, char **ret, cell_error **err, const char *orig)
{
	size_t len = strlen(in);
	char *out = xmalloc(len + 2);
	size_t o = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 1 && p[0] == '.') {
			p = e;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			free(out);
			return cell_error_set(err, "linux.cgroupsPath `%s`: `..` is not allowed", orig);
		}
		out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	*ret = out;
	return 0;
}

int cg_resolve_path(const char *id, const char *cgroups_path, const char *own, char **ret,
		    cell_error **err)
{
	_cleanup_free_ char *joined = NULL;
	if (!cgroups_path || !*cgroups_path) {
		if (!id || !*id || strchr(id, '/') || streq(id, ".") || streq(id, ".."))
			return cell_error_set(err, "container id `%s` cannot name a cgroup", id ? id : "");
		joined = xasprintf("/cell/%s", id);
	} else if (cgroups_path[0] == '/') {
		joined = xstrdup(cgroups_path);
	} else {
		joined = xasprintf("%s/%s", own && *own ? own : "/", cgroups_path);
	}
	char *out = NULL;
	if (normalize(joined, &out, err, cgroups_path ? cgroups_path : joined) < 0)
		return -1;
	if (streq(out, "/")) {
		free(out);
		return cell_error_set(err, "linux.cgroupsPath `%s`: the root cgroup cannot hold a container",
				      cgroups_path ? cgroups_path : "");
	}
	*ret = out;
	return 0;
}

char *cg_hier_dir(const struct cg_hier *h, const char *path)
{
	const char *rel = path;
	size_t rl = strlen(h->root);
	/* the hierarchy is mounted at a sub-cgroup (cgroup namespace or bind
	 * mount): paths from /proc/self/cgroup are below that root */
	if (rl > 1 && strncmp(path, h->root, rl) == 0 && (path[rl] == '/' || !path[rl]))
		rel = path + rl;
	if (streq(rel, "/") || !*rel)
		return xstrdup(h->mount);
	return xasprintf("%s%s", h->mount, rel);
}
