#define _GNU_SOURCE
/* config.json → struct cell_spec, every field checked for type and meaning
 * so that errors name the field ("`mounts[2].options[1]`: unknown option
 * `rbnd`") before the runtime creates anything. Unknown fields are ignored,
 * as the spec requires. */
#include "spec.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <linux/mount.h>

#include "json.h"
#include "util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	const char *spec_name, *proc_name;
	int flag;
} ns_table[CELL_NS_COUNT] = {
	[CELL_NS_PID] = { "pid", "pid", CLONE_NEWPID },
	[CELL_NS_NET] = { "network", "net", CLONE_NEWNET },
	[CELL_NS_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
	[CELL_NS_UTS] = { "uts", "uts", CLONE_NEWUTS },
	[CELL_NS_MNT] = { "mount", "mnt", CLONE_NEWNS },
	[CELL_NS_USER] = { "user", "user", CLONE_NEWUSER },
	[CELL_NS_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
	[CELL_NS_TIME] = { "time", "time", CLONE_NEWTIME },
};

const char *cell_ns_name(enum cell_ns_type t) { return ns_table[t].spec_name; }
const char *cell_ns_proc_name(enum cell_ns_type t) { return ns_table[t].proc_name; }
int cell_ns_clone_flag(enum cell_ns_type t) { return ns_table[t].flag; }

static const char *hook_names[CELL_HOOK_COUNT] = {
	"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

const char *cell_hook_kind_name(enum cell_hook_kind k) { return hook_names[k]; }

/* Options as mount(8) and runc know them. clear=true means the option
 * removes the flag (e.g. "rw" clears MS_RDONLY). */
static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_flags[] = {
	{ "defaults", false, 0 },
	{ "ro", false, MS_RDONLY }, { "rw", true, MS_RDONLY },
	{ "suid", true, MS_NOSUID }, { "nosuid", false, MS_NOSUID },
	{ "dev", true, MS_NODEV }, { "nodev", false, MS_NODEV },
	{ "exec", true, MS_NOEXEC }, { "noexec", false, MS_NOEXEC },
	{ "sync", false, MS_SYNCHRONOUS }, { "async", true, MS_SYNCHRONOUS },
	{ "dirsync", false, MS_DIRSYNC },
	{ "remount", false, MS_REMOUNT },
	{ "mand", false, MS_MANDLOCK }, { "nomand", true, MS_MANDLOCK },
	{ "atime", true, MS_NOATIME }, { "noatime", false, MS_NOATIME },
	{ "diratime", true, MS_NODIRATIME }, { "nodiratime", false, MS_NODIRATIME },
	{ "relatime", false, MS_RELATIME }, { "norelatime", true, MS_RELATIME },
	{ "strictatime", false, MS_STRICTATIME }, { "nostrictatime", true, MS_STRICTATIME },
	{ "lazytime", false, MS_LAZYTIME }, { "nolazytime", true, MS_LAZYTIME },
	{ "silent", false, MS_SILENT }, { "loud", true, MS_SILENT },
	/* the rest of runc 1.1's table */
	{ "iversion", false, MS_I_VERSION }, { "noiversion", true, MS_I_VERSION },
	{ "acl", false, MS_POSIXACL }, { "noacl", true, MS_POSIXACL },
	{ "nosymfollow", false, MS_NOSYMFOLLOW }, { "symfollow", true, MS_NOSYMFOLLOW },
};

static const struct {
	const char *name;
	unsigned long flag;
} propagation_flags[] = {
	{ "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED }, { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

/* Recursive mount attributes (mount_setattr with AT_RECURSIVE). */
static const struct {
	const char *name;
	bool clear;
	unsigned long attr;
} rec_attrs[] = {
	{ "rro", false, MOUNT_ATTR_RDONLY }, { "rrw", true, MOUNT_ATTR_RDONLY },
	{ "rnosuid", false, MOUNT_ATTR_NOSUID }, { "rsuid", true, MOUNT_ATTR_NOSUID },
	{ "rnodev", false, MOUNT_ATTR_NODEV }, { "rdev", true, MOUNT_ATTR_NODEV },
	{ "rnoexec", false, MOUNT_ATTR_NOEXEC }, { "rexec", true, MOUNT_ATTR_NOEXEC },
	{ "rnoatime", false, MOUNT_ATTR_NOATIME }, { "ratime", true, MOUNT_ATTR_NOATIME },
	{ "rnodiratime", false, MOUNT_ATTR_NODIRATIME }, { "rdiratime", true, MOUNT_ATTR_NODIRATIME },
	{ "rrelatime", false, MOUNT_ATTR_RELATIME }, { "rnorelatime", true, MOUNT_ATTR_RELATIME },
	{ "rstrictatime", false, MOUNT_ATTR_STRICTATIME }, { "rnostrictatime", true, MOUNT_ATTR_STRICTATIME },
	{ "rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW }, { "rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW },
};

static void append_data(char **data, const char *opt)
{
	if (!*data) {
		*data = xstrdup(opt);
	} else {
		char *n = xasprintf("%s,%s", *data, opt);
		free(*data);
		*data = n;
	}
}

int cell_mount_parse_options(struct cell_mount *m, char **options, const char *ctx, cell_error **err)
{
	for (size_t i = 0; options && options[i]; i++) {
		const char *o = options[i];
		bool found = false;

		if (streq(o, "bind") || streq(o, "rbind")) {
			m->bind = true;
			m->recursive = m->recursive || o[0] == 'r';
			continue;
		}
		if (streq(o, "idmap") || streq(o, "ridmap")) {
			m->idmap = true;
			m->recursive = m->recursive || o[0] == 'r';
			continue;
		}
		if (streq(o, "tmpcopyup")) {
			m->tmpcopyup = true;	/* for tmpfs only, as runc (ignored on others) */
			continue;
		}
		if (streq(o, "copy-symlink") || streq(o, "z") || streq(o, "Z"))
			continue;	/* engine-level options runc also accepts */
		for (size_t j = 0; j < ARRAY_SIZE(mount_flags) && !found; j++) {
			if (streq(o, mount_flags[j].name)) {
				found = true;
				if (mount_flags[j].clear) {
					m->flags &= ~mount_flags[j].flag;
					m->clear |= mount_flags[j].flag;
				} else {
					m->flags |= mount_flags[j].flag;
					m->clear &= ~mount_flags[j].flag;
				}
			}
		}
		for (size_t j = 0; j < ARRAY_SIZE(propagation_flags) && !found; j++) {
			if (streq(o, propagation_flags[j].name)) {
				found = true;
				m->propagation = propagation_flags[j].flag;
			}
		}
		for (size_t j = 0; j < ARRAY_SIZE(rec_attrs) && !found; j++) {
			if (streq(o, rec_attrs[j].name)) {
				found = true;
				/* the access-time mode is one field: a new one must
				 * clear the whole field, and clearing one (rnostrictatime)
				 * goes back to the default, relatime (mount_setattr(2)) */
				unsigned long a = rec_attrs[j].attr;
				bool atime = (a & MOUNT_ATTR__ATIME) == a;
				if (rec_attrs[j].clear)
					m->attr_clr |= atime ? MOUNT_ATTR__ATIME : a;
				else
					m->attr_set |= a;
				if (atime && !rec_attrs[j].clear) {
					m->attr_clr |= MOUNT_ATTR__ATIME;
					m->attr_set = (m->attr_set & ~MOUNT_ATTR__ATIME) | a;
				}
			}
		}
		if (found)
			continue;
		/* anything else is file-system data ("size=64m", "mode=755",
		 * "lowerdir=..."); an unknown key is the file system's to refuse,
		 * but a bare word that looks like a misspelt flag is caught here */
		if (!strchr(o, '=') && m->bind)
			return cell_error_set(err, "`%s.options[%zu]`: unknown option `%s` for a bind mount",
					      ctx, i, o);
		append_data(&m->data, o);
	}
	return 0;
}

static int parse_idmaps(json_object *o, const char *key, const char *ctx,
			struct cell_idmap **ret, size_t *ret_n, cell_error **err)
{
	json_object *a;
	int r = cj_array(o, key, ctx, &a, err);
	if (r <= 0)
		return r;
	size_t n = json_object_array_length(a);
	struct cell_idmap *maps = xcalloc(n, sizeof(*maps));
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		char sub[128];
		uint64_t c = 0, h = 0, s = 0;
		snprintf(sub, sizeof(sub), "%s.%s[%zu]", ctx, key, i);
		if (cj_expect_object(e, sub, err) < 0 ||
		    cj_uint64(e, "containerID", sub, &c, err) < 0 ||
		    cj_uint64(e, "hostID", sub, &h, err) < 0 ||
		    cj_uint64(e, "size", sub, &s, err) < 0) {
			free(maps);
			return -1;
		}
		if (c > UINT32_MAX || h > UINT32_MAX || s == 0 || s > UINT32_MAX) {
			free(maps);
			return cell_error_set(err, "`%s`: ids must be 32-bit and size at least 1", sub);
		}
		maps[i] = (struct cell_idmap){ (uint32_t)c, (uint32_t)h, (uint32_t)s };
	}
	*ret = maps;
	*ret_n = n;
	return 1;
}

static int parse_mounts(struct cell_spec *s, cell_error **err)
{
	json_object *a;
	int r = cj_array(s->json, "mounts", NULL, &a, err);
	if (r <= 0)
		return r;
	s->n_mounts = json_object_array_length(a);
	s->mounts = xcalloc(s->n_mounts, sizeof(*s->mounts));
	for (size_t i = 0; i < s->n_mounts; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct cell_mount *m = &s->mounts[i];
		const char *dst = NULL, *type = NULL, *src = NULL;
		_cleanup_strv_ char **opts = NULL;
		char ctx[64];

		snprintf(ctx, sizeof(ctx), "mounts[%zu]", i);
		if (cj_expect_object(e, ctx, err) < 0)
			return -1;
		if (cj_string(e, "destination", ctx, &dst, err) < 0 ||
		    cj_string(e, "type", ctx, &type, err) < 0 ||
		    cj_string(e, "source", ctx, &src, err) < 0 ||
		    cj_strv(e, "options", ctx, &opts, err) < 0)
			return -1;
		if (!dst || !*dst)
			return cell_error_set(err, "`%s.destination`: required", ctx);
		/* relative destinations are relative to "/" (runtime-spec 1.1) */
		m->destination = dst[0] == '/' ? xstrdup(dst) : xasprintf("/%s", dst);
		m->type = type && *type ? xstrdup(type) : NULL;
		m->source = src ? xstrdup(src) : NULL;
		/* known before the options so that a misspelt flag on a bind
		 * mount is caught rather than passed on as fs data */
		if (m->type && streq(m->type, "bind"))
			m->bind = true;
		if (cell_mount_parse_options(m, opts, ctx, err) < 0)
			return -1;
		if (m->bind && !m->source)
			return cell_error_set(err, "`%s.source`: required for a bind mount", ctx);
		if (m->bind && m->source[0] != '/') {
			/* relative sources are relative to the bundle */
			char *abs = xasprintf("%s/%s", s->bundle, m->source);
			free(m->source);
			m->source = abs;
		}
		if (parse_idmaps(e, "uidMappings", ctx, &m->uid_maps, &m->n_uid_maps, err) < 0 ||
		    parse_idmaps(e, "gidMappings", ctx, &m->gid_maps, &m->n_gid_maps, err) < 0)
			return -1;
		if (m->idmap && !m->bind)
			return cell_error_set(err, "`%s`: idmap is only supported on bind mounts", ctx);
		if ((m->n_uid_maps || m->n_gid_maps) && !m->idmap)
			m->idmap = true;
	}
	return 0;
}

static int parse_hooks(struct cell_spec *s, cell_error **err)
{
	json_object *hooks;
	int r = cj_object(s->json, "hooks", NULL, &hooks, err);
	if (r <= 0)
		return r;
	for (int k = 0; k < CELL_HOOK_COUNT; k++) {
		json_object *a;
		char ctx[64];
		snprintf(ctx, sizeof(ctx), "hooks");
		r = cj_array(hooks, hook_names[k], ctx, &a, err);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		size_t n = json_object_array_length(a);
		s->hooks[k] = xcalloc(n, sizeof(struct cell_hook));
		s->n_hooks[k] = n;
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(a, i);
			struct cell_hook *h = &s->hooks[k][i];
			const char *path = NULL;
			int64_t timeout = 0;
			snprintf(ctx, sizeof(ctx), "hooks.%s[%zu]", hook_names[k], i);
			if (cj_expect_object(e, ctx, err) < 0 ||
			    cj_string(e, "path", ctx, &path, err) < 0 ||
			    cj_strv(e, "args", ctx, &h->args, err) < 0 ||
			    cj_strv(e, "env", ctx, &h->env, err) < 0 ||
			    cj_int64(e, "timeout", ctx, &timeout, err) < 0)
				return -1;
			if (!path || path[0] != '/')
				return cell_error_set(err, "`%s.path`: must be an absolute path", ctx);
			if (timeout < 0 || timeout > INT_MAX)
				return cell_error_set(err, "`%s.timeout`: must be a positive number of seconds", ctx);
			if (json_object_object_get_ex(e, "timeout", NULL) && timeout == 0)
				return cell_error_set(err, "`%s.timeout`: must be greater than zero", ctx);
			h->path = xstrdup(path);
			h->timeout = (int)timeout;
		}
	}
	return 0;
}

static const struct { const char *name; int res; } rlimit_names[] = {
	{ "RLIMIT_CPU", RLIMIT_CPU }, { "RLIMIT_FSIZE", RLIMIT_FSIZE }, { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_STACK", RLIMIT_STACK }, { "RLIMIT_CORE", RLIMIT_CORE }, { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_NPROC", RLIMIT_NPROC }, { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS }, { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

static int parse_rlimits(json_object *o, const char *ctx, struct cell_process *p, cell_error **err)
{
	json_object *a;
	int r = cj_array(o, "rlimits", ctx, &a, err);
	if (r <= 0)
		return r;
	p->n_rlimits = json_object_array_length(a);
	p->rlimits = xcalloc(p->n_rlimits, sizeof(*p->rlimits));
	for (size_t i = 0; i < p->n_rlimits; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct cell_rlimit *rl = &p->rlimits[i];
		const char *type = NULL;
		char sub[64];
		snprintf(sub, sizeof(sub), "%s.rlimits[%zu]", ctx, i);
		if (cj_expect_object(e, sub, err) < 0 || cj_string(e, "type", sub, &type, err) < 0 ||
		    cj_uint64(e, "soft", sub, &rl->soft, err) < 0 || cj_uint64(e, "hard", sub, &rl->hard, err) < 0)
			return -1;
		rl->resource = -1;
		for (size_t j = 0; type && j < ARRAY_SIZE(rlimit_names); j++)
			if (streq(type, rlimit_names[j].name))
				rl->resource = rlimit_names[j].res;
		if (rl->resource < 0)
			return cell_error_set(err, "`%s.type`: unknown rlimit `%s`", sub, type ? type : "");
		if (rl->soft > rl->hard)
			return cell_error_set(err, "`%s`: soft limit %llu above hard limit %llu", sub,
					      (unsigned long long)rl->soft, (unsigned long long)rl->hard);
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[j].resource == rl->resource)
				return cell_error_set(err, "`%s.type`: `%s` set twice", sub, type);
		rl->name = xstrdup(type);
	}
	return 0;
}

int cell_spec_parse_process(json_object *o, const char *ctx, struct cell_process *p, cell_error **err)
{
	json_object *user = NULL, *cs = NULL;
	const char *cwd = NULL, *aa = NULL, *se = NULL;
	int64_t oom = 0;
	int r;

	p->umask = -1;
	if (cj_expect_object(o, ctx, err) < 0)
		return -1;
	if (cj_bool(o, "terminal", ctx, &p->terminal, err) < 0 ||
	    cj_strv(o, "args", ctx, &p->args, err) < 0 ||
	    cj_strv(o, "env", ctx, &p->env, err) < 0 ||
	    cj_string(o, "cwd", ctx, &cwd, err) < 0 ||
	    cj_object(o, "capabilities", ctx, &p->capabilities, err) < 0 ||
	    cj_bool(o, "noNewPrivileges", ctx, &p->no_new_privileges, err) < 0 ||
	    (r = cj_int64(o, "oomScoreAdj", ctx, &oom, err)) < 0 ||
	    cj_string(o, "apparmorProfile", ctx, &aa, err) < 0 ||
	    cj_string(o, "selinuxLabel", ctx, &se, err) < 0 ||
	    cj_object(o, "scheduler", ctx, &p->scheduler, err) < 0 ||
	    cj_object(o, "ioPriority", ctx, &p->io_priority, err) < 0 ||
	    cj_object(o, "consoleSize", ctx, &cs, err) < 0 ||
	    cj_object(o, "user", ctx, &user, err) < 0)
		return -1;
	if (r > 0) {
		if (oom < -1000 || oom > 1000)
			return cell_error_set(err, "`%s.oomScoreAdj`: %lld is outside -1000..1000", ctx, (long long)oom);
		p->has_oom_score_adj = true;
		p->oom_score_adj = (int)oom;
	}
	if (!p->args || !p->args[0])
		return cell_error_set(err, "`%s.args`: required, with at least the program to run", ctx);
	if (!cwd || cwd[0] != '/')
		return cell_error_set(err, "`%s.cwd`: required, and must be an absolute path", ctx);
	p->cwd = xstrdup(cwd);
	p->apparmor_profile = aa && *aa ? xstrdup(aa) : NULL;
	p->selinux_label = se && *se ? xstrdup(se) : NULL;
	if (cs) {
		uint64_t h = 0, w = 0;
		char sub[64];
		snprintf(sub, sizeof(sub), "%s.consoleSize", ctx);
		if (cj_uint64(cs, "height", sub, &h, err) < 0 || cj_uint64(cs, "width", sub, &w, err) < 0)
			return -1;
		p->console_height = (uint32_t)h;
		p->console_width = (uint32_t)w;
	}
	if (user) {
		char sub[64];
		uint64_t uid = 0, gid = 0, um = 0;
		json_object *ag;
		snprintf(sub, sizeof(sub), "%s.user", ctx);
		if (cj_uint64(user, "uid", sub, &uid, err) < 0 || cj_uint64(user, "gid", sub, &gid, err) < 0)
			return -1;
		if (uid > UINT32_MAX - 1 || gid > UINT32_MAX - 1)
			return cell_error_set(err, "`%s`: uid and gid must be 32-bit", sub);
		p->uid = (uint32_t)uid;
		p->gid = (uint32_t)gid;
		r = cj_uint64(user, "umask", sub, &um, err);
		if (r < 0)
			return -1;
		if (r > 0) {
			if (um > 0777)
				return cell_error_set(err, "`%s.umask`: %llu is not a file mode mask", sub,
						      (unsigned long long)um);
			p->umask = (int64_t)um;
		}
		r = cj_array(user, "additionalGids", sub, &ag, err);
		if (r < 0)
			return -1;
		if (r > 0) {
			p->n_additional_gids = json_object_array_length(ag);
			p->additional_gids = xcalloc(p->n_additional_gids, sizeof(gid_t));
			for (size_t i = 0; i < p->n_additional_gids; i++) {
				json_object *e = json_object_array_get_idx(ag, i);
				if (!e || json_object_get_type(e) != json_type_int || json_object_get_int64(e) < 0)
					return cell_error_set(err, "`%s.additionalGids[%zu]`: expected a gid", sub, i);
				p->additional_gids[i] = (gid_t)json_object_get_int64(e);
			}
		}
	}
	return parse_rlimits(o, ctx, p, err);
}

void cell_spec_process_clear(struct cell_process *p)
{
	strv_free(p->args);
	strv_free(p->env);
	free(p->cwd);
	free(p->additional_gids);
	for (size_t i = 0; i < p->n_rlimits; i++)
		free(p->rlimits[i].name);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	memset(p, 0, sizeof(*p));
}

static int parse_namespaces(struct cell_spec *s, json_object *linux_, cell_error **err)
{
	json_object *a;
	int r = cj_array(linux_, "namespaces", "linux", &a, err);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		const char *type = NULL, *path = NULL;
		char ctx[64];
		int t = -1;
		snprintf(ctx, sizeof(ctx), "linux.namespaces[%zu]", i);
		if (cj_expect_object(e, ctx, err) < 0 || cj_string(e, "type", ctx, &type, err) < 0 ||
		    cj_string(e, "path", ctx, &path, err) < 0)
			return -1;
		for (int j = 0; type && j < CELL_NS_COUNT; j++)
			if (streq(type, ns_table[j].spec_name))
				t = j;
		if (t < 0)
			return cell_error_set(err, "`%s.type`: unknown namespace type `%s` (known: pid, network, "
					      "mount, ipc, uts, user, cgroup, time)", ctx, type ? type : "");
		if (s->ns[t].enabled)
			return cell_error_set(err, "`%s.type`: namespace `%s` listed twice", ctx, type);
		s->ns[t].enabled = true;
		if (path && *path) {
			if (path[0] != '/')
				return cell_error_set(err, "`%s.path`: must be absolute", ctx);
			s->ns[t].path = xstrdup(path);
		}
	}
	return 0;
}

static int parse_devices(struct cell_spec *s, json_object *linux_, cell_error **err)
{
	json_object *a;
	int r = cj_array(linux_, "devices", "linux", &a, err);
	if (r <= 0)
		return r;
	s->n_devices = json_object_array_length(a);
	s->devices = xcalloc(s->n_devices, sizeof(*s->devices));
	for (size_t i = 0; i < s->n_devices; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct cell_device *d = &s->devices[i];
		const char *path = NULL, *type = NULL;
		uint64_t mode = 0, uid = 0, gid = 0;
		char ctx[64];
		snprintf(ctx, sizeof(ctx), "linux.devices[%zu]", i);
		if (cj_expect_object(e, ctx, err) < 0 || cj_string(e, "path", ctx, &path, err) < 0 ||
		    cj_string(e, "type", ctx, &type, err) < 0 ||
		    cj_int64(e, "major", ctx, &d->major, err) < 0 || cj_int64(e, "minor", ctx, &d->minor, err) < 0)
			return -1;
		if (!path || path[0] != '/')
			return cell_error_set(err, "`%s.path`: required, absolute", ctx);
		if (!type || strlen(type) != 1 || !strchr("cbup", type[0]))
			return cell_error_set(err, "`%s.type`: `%s` is not one of c, b, u, p", ctx, type ? type : "");
		if ((r = cj_uint64(e, "fileMode", ctx, &mode, err)) < 0)
			return -1;
		d->has_mode = r > 0;
		if ((r = cj_uint64(e, "uid", ctx, &uid, err)) < 0)
			return -1;
		d->has_uid = r > 0;
		if ((r = cj_uint64(e, "gid", ctx, &gid, err)) < 0)
			return -1;
		d->has_gid = r > 0;
		d->path = xstrdup(path);
		d->type = type[0];
		d->mode = (uint32_t)mode;
		d->uid = (uint32_t)uid;
		d->gid = (uint32_t)gid;
	}
	return 0;
}

static int parse_propagation(const char *v, unsigned long *ret, cell_error **err)
{
	for (size_t j = 0; j < ARRAY_SIZE(propagation_flags); j++) {
		if (streq(v, propagation_flags[j].name)) {
			*ret = propagation_flags[j].flag;
			return 0;
		}
	}
	return cell_error_set(err, "`linux.rootfsPropagation`: unknown propagation `%s`", v);
}

static int parse_linux(struct cell_spec *s, cell_error **err)
{
	json_object *l, *to;
	const char *cg = NULL, *prop = NULL, *label = NULL;
	int r = cj_object(s->json, "linux", NULL, &l, err);
	if (r <= 0)
		return r;
	if (parse_namespaces(s, l, err) < 0 ||
	    parse_idmaps(l, "uidMappings", "linux", &s->uid_maps, &s->n_uid_maps, err) < 0 ||
	    parse_idmaps(l, "gidMappings", "linux", &s->gid_maps, &s->n_gid_maps, err) < 0 ||
	    parse_devices(s, l, err) < 0 ||
	    cj_string(l, "cgroupsPath", "linux", &cg, err) < 0 ||
	    cj_object(l, "resources", "linux", &s->resources, err) < 0 ||
	    cj_string(l, "rootfsPropagation", "linux", &prop, err) < 0 ||
	    cj_strv(l, "maskedPaths", "linux", &s->masked_paths, err) < 0 ||
	    cj_strv(l, "readonlyPaths", "linux", &s->readonly_paths, err) < 0 ||
	    cj_object(l, "sysctl", "linux", &s->sysctl, err) < 0 ||
	    cj_object(l, "seccomp", "linux", &s->seccomp, err) < 0 ||
	    cj_object(l, "personality", "linux", &s->personality, err) < 0 ||
	    cj_object(l, "netDevices", "linux", &s->net_devices, err) < 0 ||
	    cj_string(l, "mountLabel", "linux", &label, err) < 0)
		return -1;
	s->cgroups_path = cg && *cg ? xstrdup(cg) : NULL;
	s->mount_label = label && *label ? xstrdup(label) : NULL;
	if (prop && *prop && parse_propagation(prop, &s->rootfs_propagation, err) < 0)
		return -1;
	if (s->net_devices) {
		json_object_object_foreach(s->net_devices, name, dev) {
			const char *nn = NULL;
			char ctx[64];
			snprintf(ctx, sizeof(ctx), "linux.netDevices.%.32s", name);
			if (strlen(name) == 0 || strlen(name) > 15 || strchr(name, '/'))
				return cell_error_set(err, "`%s`: not a valid interface name", ctx);
			if (cj_expect_object(dev, ctx, err) < 0 || cj_string(dev, "name", ctx, &nn, err) < 0)
				return -1;
			if (nn && (strlen(nn) > 15 || strchr(nn, '/')))
				return cell_error_set(err, "`%s.name`: `%s` is not a valid interface name", ctx, nn);
		}
		if (!s->ns[CELL_NS_NET].enabled || s->ns[CELL_NS_NET].path)
			return cell_error_set(err, "`linux.netDevices`: needs a new network namespace");
	}
	if (s->sysctl) {
		json_object_object_foreach(s->sysctl, k, v) {
			if (!v || json_object_get_type(v) != json_type_string)
				return cell_error_set(err, "`linux.sysctl.%s`: expected string", k);
		}
	}
	r = cj_object(l, "timeOffsets", "linux", &to, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		static const char *clocks[2] = { "monotonic", "boottime" };
		for (int c = 0; c < 2; c++) {
			json_object *co;
			char ctx[64];
			snprintf(ctx, sizeof(ctx), "linux.timeOffsets.%s", clocks[c]);
			r = cj_object(to, clocks[c], "linux.timeOffsets", &co, err);
			if (r < 0)
				return -1;
			if (r > 0 && (cj_int64(co, "secs", ctx, &s->time_offsets[c][0], err) < 0 ||
				      cj_int64(co, "nanosecs", ctx, &s->time_offsets[c][1], err) < 0))
				return -1;
		}
		s->has_time_offsets = true;
	}
	return 0;
}

static int validate(struct cell_spec *s, cell_error **err)
{
	if ((s->n_uid_maps || s->n_gid_maps) && !s->ns[CELL_NS_USER].enabled)
		return cell_error_set(err, "`linux.uidMappings`: set, but no user namespace in `linux.namespaces`");
	if (s->ns[CELL_NS_USER].enabled && !s->ns[CELL_NS_USER].path && (!s->n_uid_maps || !s->n_gid_maps))
		return cell_error_set(err, "`linux.uidMappings` and `linux.gidMappings`: required with a new user namespace");
	if (s->hostname && !s->ns[CELL_NS_UTS].enabled)
		return cell_error_set(err, "`hostname`: set, but no uts namespace in `linux.namespaces` "
				      "(it would rename the host)");
	if (s->domainname && !s->ns[CELL_NS_UTS].enabled)
		return cell_error_set(err, "`domainname`: set, but no uts namespace in `linux.namespaces`");
	if (s->has_time_offsets && !s->ns[CELL_NS_TIME].enabled)
		return cell_error_set(err, "`linux.timeOffsets`: set, but no time namespace in `linux.namespaces`");
	if (s->has_time_offsets && s->ns[CELL_NS_TIME].path)
		return cell_error_set(err, "`linux.timeOffsets`: cannot be set when joining a time namespace by path");
	/* without a mount namespace, runc mounts in the runtime's own one and
	 * chroots; masked and read-only paths it refuses, as we do */
	if (!s->ns[CELL_NS_MNT].enabled && ((s->masked_paths && s->masked_paths[0]) ||
					    (s->readonly_paths && s->readonly_paths[0])))
		return cell_error_set(err, "`linux.maskedPaths` and `linux.readonlyPaths` need a mount namespace "
				      "(add {\"type\": \"mount\"} to `linux.namespaces`, or drop them)");
	return 0;
}

int cell_spec_parse(json_object *doc, const char *bundle, struct cell_spec **ret, cell_error **err)
{
	struct cell_spec *s = xcalloc(1, sizeof(*s));
	json_object *root = NULL, *proc = NULL;
	const char *ver = NULL, *rp = NULL, *hn = NULL, *dn = NULL;

	s->json = json_object_get(doc);
	s->bundle = xstrdup(bundle);
	if (cj_expect_object(doc, "config.json", err) < 0)
		goto fail;
	if (cj_string(doc, "ociVersion", NULL, &ver, err) < 0 ||
	    cj_object(doc, "root", NULL, &root, err) < 0 ||
	    cj_string(doc, "hostname", NULL, &hn, err) < 0 ||
	    cj_string(doc, "domainname", NULL, &dn, err) < 0 ||
	    cj_object(doc, "process", NULL, &proc, err) < 0 ||
	    cj_object(doc, "annotations", NULL, &s->annotations, err) < 0)
		goto fail;
	if (!ver) {
		cell_error_set(err, "`ociVersion`: required");
		goto fail;
	}
	if (strncmp(ver, "1.", 2) != 0) {
		cell_error_set(err, "`ociVersion`: version `%s` is not supported (1.x only)", ver);
		goto fail;
	}
	s->oci_version = xstrdup(ver);
	if (!root || cj_string(root, "path", "root", &rp, err) <= 0 || !*rp) {
		if (!*err)
			cell_error_set(err, "`root.path`: required");
		goto fail;
	}
	if (cj_bool(root, "readonly", "root", &s->root_readonly, err) < 0)
		goto fail;
	s->root_path = rp[0] == '/' ? xstrdup(rp) : xasprintf("%s/%s", bundle, rp);
	s->hostname = hn && *hn ? xstrdup(hn) : NULL;
	s->domainname = dn && *dn ? xstrdup(dn) : NULL;
	if (proc) {
		if (cell_spec_parse_process(proc, "process", &s->process, err) < 0)
			goto fail;
		s->has_process = true;
	}
	if (parse_mounts(s, err) < 0 || parse_hooks(s, err) < 0 || parse_linux(s, err) < 0 ||
	    validate(s, err) < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	cell_spec_free(s);
	return -1;
}

int cell_spec_load(const char *bundle, struct cell_spec **ret, cell_error **err)
{
	char abs[PATH_MAX];
	_cleanup_free_ char *path = NULL;
	json_object *doc = NULL;
	int r;

	if (!realpath(bundle, abs))
		return cell_error_errno(err, errno, "bundle `%s`", bundle);
	path = xasprintf("%s/config.json", abs);
	if (cj_parse_file(path, &doc, err) < 0)
		return -1;
	r = cell_spec_parse(doc, abs, ret, err);
	json_object_put(doc);
	if (r < 0)
		return cell_error_wrap(err, "%s", path);
	return 0;
}

void cell_spec_free(struct cell_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_mounts; i++) {
		struct cell_mount *m = &s->mounts[i];
		free(m->destination);
		free(m->type);
		free(m->source);
		free(m->data);
		free(m->uid_maps);
		free(m->gid_maps);
	}
	free(s->mounts);
	for (int k = 0; k < CELL_HOOK_COUNT; k++) {
		for (size_t i = 0; i < s->n_hooks[k]; i++) {
			free(s->hooks[k][i].path);
			strv_free(s->hooks[k][i].args);
			strv_free(s->hooks[k][i].env);
		}
		free(s->hooks[k]);
	}
	for (int t = 0; t < CELL_NS_COUNT; t++)
		free(s->ns[t].path);
	for (size_t i = 0; i < s->n_devices; i++)
		free(s->devices[i].path);
	free(s->devices);
	free(s->uid_maps);
	free(s->gid_maps);
	cell_spec_process_clear(&s->process);
	strv_free(s->masked_paths);
	strv_free(s->readonly_paths);
	free(s->cgroups_path);
	free(s->mount_label);
	free(s->oci_version);
	free(s->root_path);
	free(s->hostname);
	free(s->domainname);
	free(s->bundle);
	json_object_put(s->json);
	free(s);
}
