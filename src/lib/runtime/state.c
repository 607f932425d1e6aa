#define _GNU_SOURCE
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "json.h"
#include "spec/spec.h"
#include "util.h"

int cell_state_check_id(const char *id, cell_error **err)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0)
		return cell_error_set(err, "container id is empty");
	if (n > CELL_ID_MAX)
		return cell_error_set(err, "container id `%.32s...` is longer than %d bytes", id, CELL_ID_MAX);
	if (streq(id, ".") || streq(id, ".."))
		return cell_error_set(err, "invalid container id `%s`", id);
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == '+'))
			return cell_error_set(err, "invalid container id `%s`: only letters, digits and `_ - . +` are allowed", id);
	}
	return 0;
}

int cell_state_new(const char *root, const char *id, struct cell_state **ret, cell_error **err)
{
	struct cell_state *st;
	char ts[48];

	if (cell_state_check_id(id, err) < 0)
		return -1;
	if (mkdir_p(root, 0700, err) < 0)
		return cell_error_wrap(err, "runtime root");
	st = xcalloc(1, sizeof(*st));
	st->root = xstrdup(root);
	st->id = xstrdup(id);
	st->dir = xasprintf("%s/%s", root, id);
	st->lock_fd = -1;
	if (mkdir(st->dir, 0700) < 0) {
		int e = errno;
		cell_state_free(st);
		if (e == EEXIST)
			return cell_error_set(err, "container `%s` already exists (in %s)", id, root);
		return cell_error_errno(err, e, "create state directory `%s/%s`", root, id);
	}
	st->lock_fd = lock_dir(st->dir, true, err);
	if (st->lock_fd < 0) {
		rmdir(st->dir);
		cell_state_free(st);
		return -1;
	}
	rfc3339_now(ts, sizeof(ts));
	st->created = xstrdup(ts);
	struct passwd *pw = getpwuid(geteuid());
	st->owner = xstrdup(pw ? pw->pw_name : "");
	st->creator = getpid();
	*ret = st;
	return 0;
}

static int from_json(struct cell_state *st, json_object *o, cell_error **err)
{
	const char *s = NULL;
	int64_t v = 0;
	json_object *x = NULL;
	if (cj_string(o, "bundle", "state", &s, err) > 0)
		st->bundle = xstrdup(s);
	if (cj_string(o, "rootfs", "state", &s, err) > 0)
		st->rootfs = xstrdup(s);
	if (cj_string(o, "created", "state", &s, err) > 0)
		st->created = xstrdup(s);
	if (cj_string(o, "owner", "state", &s, err) > 0)
		st->owner = xstrdup(s);
	if (cj_int64(o, "pid", "state", &v, err) > 0)
		st->pid = (pid_t)v;
	if (cj_object(o, "annotations", "state", &x, err) > 0)
		st->annotations = json_object_get(x);
	if (cj_object(o, "x-cell", "state", &x, err) > 0) {
		json_object *cg;
		bool b = false;
		if (cj_int64(x, "startTime", "state.x-cell", &v, err) > 0)
			st->start_time = (uint64_t)v;
		if (cj_int64(x, "creator", "state.x-cell", &v, err) > 0)
			st->creator = (pid_t)v;
		if (cj_object(x, "cgroup", "state.x-cell", &cg, err) > 0)
			st->cgroup = json_object_get(cg);
		if (cj_bool(x, "systemdCgroup", "state.x-cell", &b, err) > 0)
			st->systemd_cgroup = b;
	}
	return *err ? -1 : 0;
}

int cell_state_load(const char *root, const char *id, bool lock, struct cell_state **ret, cell_error **err)
{
	struct cell_state *st;
	_cleanup_free_ char *path = NULL;
	json_object *o = NULL;

	if (cell_state_check_id(id, err) < 0)
		return -1;
	st = xcalloc(1, sizeof(*st));
	st->root = xstrdup(root);
	st->id = xstrdup(id);
	st->dir = xasprintf("%s/%s", root, id);
	st->lock_fd = -1;
	if (access(st->dir, F_OK) < 0) {
		cell_state_free(st);
		return cell_error_errno(err, ENOENT, "container `%s` does not exist (in %s)", id, root);
	}
	if (lock) {
		st->lock_fd = lock_dir(st->dir, true, err);
		if (st->lock_fd < 0) {
			cell_state_free(st);
			return -1;
		}
		/* removed while we waited for the lock */
		if (access(st->dir, F_OK) < 0) {
			cell_state_free(st);
			return cell_error_errno(err, ENOENT, "container `%s` does not exist (in %s)", id, root);
		}
	}
	path = xasprintf("%s/state.json", st->dir);
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		/* a create that was killed before its first save: nothing to
		 * read, but delete --force can still remove the directory */
		*ret = st;
		return 0;
	}
	if (cj_parse_file(path, &o, err) < 0 || from_json(st, o, err) < 0) {
		json_object_put(o);
		cell_state_free(st);
		return -1;
	}
	json_object_put(o);
	*ret = st;
	return 0;
}

static json_object *str_or_empty(const char *s)
{
	return json_object_new_string(s ? s : "");
}

bool cell_state_init_alive(const struct cell_state *st)
{
	char path[64], buf[512];
	if (st->pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)st->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return false;
	if (p[2] == 'Z' || p[2] == 'X')
		return false;
	return proc_start_time(st->pid) == st->start_time;
}

char *cell_state_path(const struct cell_state *st, const char *name)
{
	return xasprintf("%s/%s", st->dir, name);
}

enum cell_status cell_state_status(struct cell_state *st)
{
	if (st->pid <= 0) {
		/* still being created, unless its creator is gone */
		if (st->creator > 0 && kill(st->creator, 0) == 0)
			return CELL_STATUS_CREATING;
		return CELL_STATUS_STOPPED;
	}
	if (!cell_state_init_alive(st))
		return CELL_STATUS_STOPPED;
	_cleanup_free_ char *sock = cell_state_path(st, "exec.sock");
	if (access(sock, F_OK) == 0)
		return CELL_STATUS_CREATED;
	if (st->cgroup) {
		struct cell_cgroup *cg = NULL;
		cell_error *e = NULL;
		bool frozen = false;
		if (cell_cgroup_from_json(st->cgroup, &cg, &e) == 0 &&
		    cell_cgroup_is_frozen(cg, &frozen, &e) == 0 && frozen) {
			cell_cgroup_free(cg);
			return CELL_STATUS_PAUSED;
		}
		cell_cgroup_free(cg);
		cell_error_free(&e);
	}
	return CELL_STATUS_RUNNING;
}

const char *cell_status_name(enum cell_status s)
{
	static const char *names[] = { "creating", "created", "running", "paused", "stopped" };
	return names[s];
}

json_object *cell_state_to_oci(struct cell_state *st)
{
	json_object *o = json_object_new_object();
	enum cell_status s = cell_state_status(st);
	json_object_object_add(o, "ociVersion", json_object_new_string("1.2.0"));
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid", json_object_new_int(s == CELL_STATUS_STOPPED ? 0 : st->pid));
	json_object_object_add(o, "status", json_object_new_string(cell_status_name(s)));
	json_object_object_add(o, "bundle", str_or_empty(st->bundle));
	json_object_object_add(o, "rootfs", str_or_empty(st->rootfs));
	json_object_object_add(o, "created", str_or_empty(st->created));
	json_object_object_add(o, "owner", str_or_empty(st->owner));
	if (st->annotations)
		json_object_object_add(o, "annotations", json_object_get(st->annotations));
	return o;
}

int cell_state_save(struct cell_state *st, cell_error **err)
{
	json_object *o = json_object_new_object();
	json_object *x = json_object_new_object();
	_cleanup_free_ char *path = cell_state_path(st, "state.json");
	int r;

	json_object_object_add(o, "ociVersion", json_object_new_string("1.2.0"));
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "bundle", str_or_empty(st->bundle));
	json_object_object_add(o, "rootfs", str_or_empty(st->rootfs));
	json_object_object_add(o, "created", str_or_empty(st->created));
	json_object_object_add(o, "owner", str_or_empty(st->owner));
	if (st->annotations)
		json_object_object_add(o, "annotations", json_object_get(st->annotations));
	json_object_object_add(x, "startTime", json_object_new_int64((int64_t)st->start_time));
	json_object_object_add(x, "creator", json_object_new_int(st->creator));
	json_object_object_add(x, "systemdCgroup", json_object_new_boolean(st->systemd_cgroup));
	if (st->cgroup)
		json_object_object_add(x, "cgroup", json_object_get(st->cgroup));
	json_object_object_add(o, "x-cell", x);
	const char *text = cj_to_string(o, false);
	r = write_file_atomic(path, text, strlen(text), 0600, err);
	json_object_put(o);
	return r;
}

int cell_state_remove(struct cell_state *st, cell_error **err)
{
	return rm_rf(st->dir, err);
}

void cell_state_free(struct cell_state *st)
{
	if (!st)
		return;
	safe_close(st->lock_fd);
	free(st->root);
	free(st->id);
	free(st->dir);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->owner);
	json_object_put(st->annotations);
	json_object_put(st->cgroup);
	free(st);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cell_state_list(const char *root, char ***ret, cell_error **err)
{
	DIR *d = opendir(root);
	struct dirent *de;
	size_t n = 0, cap = 16;
	char **v;

	if (!d) {
		if (errno == ENOENT) {
			*ret = xcalloc(1, sizeof(char *));
			return 0;
		}
		return cell_error_errno(err, errno, "list `%s`", root);
	}
	v = xcalloc(cap, sizeof(char *));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		if (n + 1 >= cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(char *));
			if (!v)
				abort();
		}
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	v[n] = NULL;
	qsort(v, n, sizeof(char *), cmp_str);
	*ret = v;
	return 0;
}

int cell_state_load_spec(const struct cell_state *st, struct cell_spec **ret, cell_error **err)
{
	_cleanup_free_ char *path = cell_state_path(st, "config.json");
	json_object *doc = NULL;
	if (cj_parse_file(path, &doc, err) < 0)
		return -1;
	int r = cell_spec_parse(doc, st->bundle ? st->bundle : "/", ret, err);
	json_object_put(doc);
	return r;
}
