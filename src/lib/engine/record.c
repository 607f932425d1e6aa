/* Container records: <root>/containers/<id>/config.json, changed under the
 * container's lock and written atomically; names as symlinks in
 * <root>/containers/.names, which makes "name in use" a single symlink()
 * that fails with EEXIST. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine-internal.h"
#include "events.h"
#include "health.h"
#include "json.h"
#include "log.h"
#include "runtime/runtime.h"
#include "runtime/state.h"
#include "util.h"

bool cell_engine_systemd_cgroup;

int cell_engine_open(const char *root, const char *runroot, struct cell_engine **ret, cell_error **err)
{
	struct cell_engine *e = xcalloc(1, sizeof(*e));
	e->root = xstrdup(root);
	e->ctr_root = xasprintf("%s/containers", root);
	e->rt_root = xasprintf("%s/runtime", runroot);
	_cleanup_free_ char *names = xasprintf("%s/.names", e->ctr_root);
	if (mkdir_p(names, 0700, err) < 0 || mkdir_p(e->rt_root, 0700, err) < 0) {
		cell_engine_free(e);
		return cell_error_wrap(err, "open the engine state under `%s`", root);
	}
	*ret = e;
	return 0;
}

void cell_engine_free(struct cell_engine *e)
{
	if (!e)
		return;
	free(e->root);
	free(e->ctr_root);
	free(e->rt_root);
	free(e);
}

char *cell_ctr_dir(struct cell_engine *e, const char *id)
{
	return xasprintf("%s/%s", e->ctr_root, id);
}

char *engine_now(void)
{
	char buf[64];
	rfc3339_now(buf, sizeof(buf));
	return xstrdup(buf);
}

int engine_lock(struct cell_engine *e, const char *id, cell_error **err)
{
	/* the container's directory itself: no lock file to create */
	_cleanup_free_ char *p = xasprintf("%s/%s", e->ctr_root, id);
	int fd = lock_dir(p, true, err);
	if (fd < 0 && err && cell_error_code(*err) == ENOENT) {
		/* removed since it was looked up (an rm -f that won a race) */
		cell_error_free(err);
		return cell_error_set(err, "no such container: `%s`", id);
	}
	return fd;
}

int engine_record_read(struct cell_engine *e, const char *id, json_object **ret, cell_error **err)
{
	_cleanup_free_ char *p = xasprintf("%s/%s/config.json", e->ctr_root, id);
	if (access(p, F_OK) < 0)
		return cell_error_set(err, "no such container: `%s`", id);
	return cj_parse_file(p, ret, err);
}

/* A full disk must not stop `cell stop`, `rm -f` or the monitor's record of
 * an exit: each container keeps two spare files of SPARE_SIZE bytes, made
 * while there is room. When the atomic write finds no space, the record is
 * written into a spare that is large enough (padded with spaces, which JSON
 * allows, so its blocks stay allocated) and swapped with the record in one
 * renameat2(RENAME_EXCHANGE): readers see the old or the new record, never
 * a torn one, and no block is allocated. The swap keeps the files' sizes,
 * so one spare of SPARE_SIZE is always left for the next write. */
#define SPARE_SIZE (64 * 1024)

static void spares_ensure(const char *rec_path)
{
	for (int i = 0; i < 2; i++) {
		_cleanup_free_ char *sp = xasprintf("%s.spare%d", rec_path, i);
		if (access(sp, F_OK) == 0)
			continue;
		_cleanup_free_ char *tmp = xasprintf("%s.tmp", sp);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return;
		char pad[4096];
		memset(pad, ' ', sizeof(pad));
		bool ok = true;
		for (size_t off = 0; ok && off < SPARE_SIZE; off += sizeof(pad))
			ok = write(fd, pad, sizeof(pad)) == (ssize_t)sizeof(pad);
		close(fd);
		if (!ok || rename(tmp, sp) < 0) {
			unlink(tmp);
			return;	/* no room now: tried again at the next write */
		}
	}
}

static int write_in_spare(const char *rec_path, const char *text, size_t len)
{
	char pad[4096];
	memset(pad, ' ', sizeof(pad));
	for (int i = 0; i < 2; i++) {
		_cleanup_free_ char *sp = xasprintf("%s.spare%d", rec_path, i);
		_cleanup_close_ int fd = open(sp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size < len)
			continue;
		bool ok = pwrite(fd, text, len, 0) == (ssize_t)len;
		for (off_t off = (off_t)len; ok && off < st.st_size;) {
			size_t n = (size_t)(st.st_size - off) < sizeof(pad) ? (size_t)(st.st_size - off) : sizeof(pad);
			ok = pwrite(fd, pad, n, off) == (ssize_t)n;
			off += (off_t)n;
		}
		if (ok && renameat2(AT_FDCWD, sp, AT_FDCWD, rec_path, RENAME_EXCHANGE) == 0)
			return 0;
	}
	return -1;
}

int engine_record_write(struct cell_engine *e, const char *id, json_object *rec, cell_error **err)
{
	_cleanup_free_ char *p = xasprintf("%s/%s/config.json", e->ctr_root, id);
	const char *text = cj_to_string(rec, false);
	size_t len = strlen(text);
	cell_error *x = NULL;
	if (write_file_atomic(p, text, len, 0600, &x) == 0) {
		spares_ensure(p);
		return 0;
	}
	int no_room = cell_error_code(x) == ENOSPC || cell_error_code(x) == EDQUOT;
	if (no_room && write_in_spare(p, text, len) == 0) {
		cell_error_free(&x);
		return 0;
	}
	if (err)
		*err = x;
	else
		cell_error_free(&x);
	return -1;
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

int cell_ctr_lookup(struct cell_engine *e, const char *ref, char **ret_id, cell_error **err)
{
	if (!ref || !*ref)
		return cell_error_set(err, "no container given");
	if (is_hex64(ref)) {
		_cleanup_free_ char *d = cell_ctr_dir(e, ref);
		if (access(d, F_OK) == 0) {
			*ret_id = xstrdup(ref);
			return 0;
		}
	}
	if (cell_name_valid(ref) && !strchr(ref, '/')) {
		char target[128];
		_cleanup_free_ char *l = xasprintf("%s/.names/%s", e->ctr_root, ref);
		ssize_t n = readlink(l, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			_cleanup_free_ char *d = cell_ctr_dir(e, target);
			if (access(d, F_OK) == 0) {
				*ret_id = xstrdup(target);
				return 0;
			}
		}
	}
	/* a unique id prefix */
	size_t len = strlen(ref);
	bool hex = true;
	for (const char *p = ref; *p; p++)
		if (!isxdigit((unsigned char)*p))
			hex = false;
	if (hex && len >= 1) {
		DIR *d = opendir(e->ctr_root);
		char *found = NULL;
		bool ambiguous = false;
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!is_hex64(de->d_name) || strncmp(de->d_name, ref, len) != 0)
				continue;
			if (found)
				ambiguous = true;
			else
				found = xstrdup(de->d_name);
		}
		if (d)
			closedir(d);
		if (ambiguous) {
			free(found);
			return cell_error_set(err, "container id prefix `%s` is ambiguous: give more digits", ref);
		}
		if (found) {
			*ret_id = found;
			return 0;
		}
	}
	return cell_error_set(err, "no such container: `%s`", ref);
}

static json_object *dead_record(struct cell_engine *e, const char *id);

struct entry {
	char *id;
	char *created;
};

static int by_created_desc(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(y->created, x->created);
	return c ? c : strcmp(x->id, y->id);
}

int cell_ctr_list(struct cell_engine *e, char ***ret, cell_error **err)
{
	DIR *d = opendir(e->ctr_root);
	if (!d)
		return cell_error_errno(err, errno, "list containers in `%s`", e->ctr_root);
	struct entry *v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_hex64(de->d_name))
			continue;
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (engine_record_read(e, de->d_name, &rec, &x) < 0) {
			/* being created or removed right now, or left by a killed one */
			cell_error_free(&x);
			if (!(rec = dead_record(e, de->d_name)))
				continue;
		}
		const char *created = "";
		cj_string(rec, "Created", "record", &created, &x);
		cell_error_free(&x);
		v = realloc(v, (n + 1) * sizeof(*v));
		v[n].id = xstrdup(de->d_name);
		v[n].created = xstrdup(created);
		n++;
		json_object_put(rec);
	}
	closedir(d);
	if (n)	/* v is NULL without containers */
		qsort(v, n, sizeof(*v), by_created_desc);
	char **ids = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		ids[i] = v[i].id;
		free(v[i].created);
	}
	free(v);
	*ret = ids;
	return 0;
}

int engine_rt_status(struct cell_engine *e, const char *id, char *ret_status, size_t len, int *ret_pid)
{
	struct cell_state *st = NULL;
	cell_error *x = NULL;
	*ret_status = 0;
	if (ret_pid)
		*ret_pid = 0;
	if (cell_state_load(e->rt_root, id, false, &st, &x) < 0) {
		cell_error_free(&x);
		return 0;
	}
	enum cell_status s = cell_state_status(st);
	snprintf(ret_status, len, "%s", cell_status_name(s));
	if (ret_pid && s != CELL_STATUS_STOPPED)
		*ret_pid = st->pid;
	cell_state_free(st);
	return s != CELL_STATUS_STOPPED;
}

static json_object *state_of(json_object *rec)
{
	json_object *st = json_object_object_get(rec, "State");
	if (!st) {
		st = json_object_new_object();
		json_object_object_add(rec, "State", st);
	}
	return st;
}

const char *cell_ctr_status(json_object *rec)
{
	json_object *s = json_object_object_get(json_object_object_get(rec, "State"), "Status");
	return s ? json_object_get_string(s) : "unknown";
}

int cell_ctr_pid(json_object *rec)
{
	return json_object_get_int(json_object_object_get(json_object_object_get(rec, "State"), "Pid"));
}

/* Is the process that watches the container (a monitor, or a foreground
 * `cell run`) still there? */
static bool monitor_alive(json_object *st)
{
	pid_t pid = json_object_get_int(json_object_object_get(st, "MonitorPid"));
	uint64_t start = (uint64_t)json_object_get_int64(json_object_object_get(st, "MonitorStart"));
	return proc_alive(pid, start);	/* a zombie no one reaped yet watches nothing */
}

/* A directory without a record: a create or rm killed half-way (its lock
 * is free), or a create still running (its lock is held). */
static json_object *dead_record(struct cell_engine *e, const char *id)
{
	_cleanup_free_ char *dir = cell_ctr_dir(e, id);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
		return NULL;	/* being created right now */
	json_object *rec = json_object_new_object();
	json_object_object_add(rec, "Id", json_object_new_string(id));
	json_object_object_add(rec, "Name", json_object_new_string(""));
	json_object_object_add(rec, "Created", json_object_new_string(""));
	json_object_object_add(rec, "Path", json_object_new_string(""));
	json_object_object_add(rec, "Args", json_object_new_array());
	json_object *st = json_object_new_object();
	json_object_object_add(st, "Status", json_object_new_string("dead"));
	json_object_object_add(st, "Dead", json_object_new_boolean(true));
	json_object_object_add(st, "Error", json_object_new_string("left half-made by a killed create or rm"));
	json_object_object_add(rec, "State", st);
	json_object_object_add(rec, "HostConfig", json_object_new_object());
	json_object *cfg = json_object_new_object();
	json_object_object_add(cfg, "Image", json_object_new_string(""));
	json_object_object_add(rec, "Config", cfg);
	return rec;
}

int cell_ctr_load(struct cell_engine *e, const char *id, json_object **ret, cell_error **err)
{
	json_object *rec = NULL;
	if (engine_record_read(e, id, &rec, err) < 0) {
		json_object *dead = cell_error_code(*err) == 0 ? dead_record(e, id) : NULL;
		if (!dead)
			return -1;
		cell_error_free(err);
		*ret = dead;
		return 0;
	}
	json_object *st = state_of(rec);
	const char *status = cell_ctr_status(rec);
	bool live = streq(status, "running") || streq(status, "paused");
	if ((live && !monitor_alive(st) && engine_rt_status(e, id, (char[32]){ 0 }, 32, NULL) <= 0) ||
	    (streq(status, "restarting") && !monitor_alive(st))) {
		/* its watcher died: record the exit now (engine_orphan_settle) */
		if (engine_orphan_settle(e, id, -1) > 0) {
			json_object *again = NULL;
			cell_error *x = NULL;
			if (engine_record_read(e, id, &again, &x) == 0) {
				json_object_put(rec);
				rec = again;
				st = state_of(rec);
				status = cell_ctr_status(rec);
			}
			cell_error_free(&x);
		}
	}
	if (streq(status, "running") || streq(status, "paused")) {
		char rs[32];
		int pid = 0;
		bool alive = engine_rt_status(e, id, rs, sizeof(rs), &pid) > 0;
		if (alive) {
			json_object_object_add(st, "Status", json_object_new_string(streq(rs, "paused") ? "paused" : "running"));
			json_object_object_add(st, "Pid", json_object_new_int(pid));
		} else {
			/* the init is gone; its watcher records the exit soon, or is gone too */
			json_object_object_add(st, "Status", json_object_new_string("exited"));
			json_object_object_add(st, "Pid", json_object_new_int(0));
			if (!monitor_alive(st))
				json_object_object_add(st, "Error", json_object_new_string(
					"the container's monitor died: exit code unknown"));
		}
		json_object_object_add(st, "Running", json_object_new_boolean(alive));
		json_object_object_add(st, "Paused", json_object_new_boolean(alive && streq(rs, "paused")));
	}
	engine_health_merge(e, id, rec);
	*ret = rec;
	return 0;
}

int cell_ctr_update(struct cell_engine *e, const char *id,
		    int (*fn)(json_object *rec, void *data, cell_error **err), void *data, cell_error **err)
{
	_cleanup_close_ int lock = engine_lock(e, id, err);
	if (lock < 0)
		return -1;
	json_object *rec = NULL;
	if (engine_record_read(e, id, &rec, err) < 0)
		return -1;
	int r = fn(rec, data, err);
	if (r >= 0)
		r = engine_record_write(e, id, rec, err);
	json_object_put(rec);
	return r < 0 ? -1 : 0;
}

int engine_name_reserve(struct cell_engine *e, const char *name, const char *id, cell_error **err)
{
	if (!cell_name_valid(name))
		return cell_error_set(err, "invalid container name `%s`: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
				      name);
	_cleanup_free_ char *l = xasprintf("%s/.names/%s", e->ctr_root, name);
	if (symlink(id, l) == 0)
		return 0;
	if (errno != EEXIST)
		return cell_error_errno(err, errno, "reserve the name `%s`", name);
	/* a name left by a container that is gone (crash while removing) is free */
	char target[128];
	ssize_t n = readlink(l, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = 0;
		_cleanup_free_ char *d = cell_ctr_dir(e, target);
		if (access(d, F_OK) < 0 && errno == ENOENT && unlink(l) == 0 && symlink(id, l) == 0)
			return 0;
		return cell_error_set(err, "the container name `%s` is already in use by container `%.12s`: "
					"remove or rename that container, or choose another name", name, target);
	}
	return cell_error_set(err, "the container name `%s` is already in use", name);
}

void engine_name_release(struct cell_engine *e, const char *name, const char *id)
{
	if (!name)
		return;
	_cleanup_free_ char *l = xasprintf("%s/.names/%s", e->ctr_root, name);
	char target[128];
	ssize_t n = readlink(l, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = 0;
		if (streq(target, id))
			unlink(l);
	}
}

struct rename_data {
	const char *name;
	char *old;
};

static int set_name(json_object *rec, void *data, cell_error **err)
{
	struct rename_data *d = data;
	const char *old = json_object_get_string(json_object_object_get(rec, "Name"));
	d->old = xstrdup(old && *old == '/' ? old + 1 : (old ? old : ""));
	_cleanup_free_ char *n = xasprintf("/%s", d->name);
	json_object_object_add(rec, "Name", json_object_new_string(n));
	return 0;
}

int cell_ctr_rename(struct cell_engine *e, const char *id, const char *name, cell_error **err)
{
	if (engine_name_reserve(e, name, id, err) < 0)
		return -1;
	struct rename_data d = { .name = name };
	if (cell_ctr_update(e, id, set_name, &d, err) < 0) {
		engine_name_release(e, name, id);
		return -1;
	}
	if (d.old && !streq(d.old, name))
		engine_name_release(e, d.old, id);
	json_object *attrs = json_object_new_object();
	_cleanup_free_ char *old = xasprintf("/%s", d.old ? d.old : "");
	json_object_object_add(attrs, "oldName", json_object_new_string(old));
	cell_event_ctr_id(e, "rename", id, attrs);
	free(d.old);
	return 0;
}

/* ---- operations: one command takes the container from start to end ----
 *
 * The record's State.Status stays what the container is (created, running,
 * paused, exited, ...: the monitor steps keep writing it while a command
 * waits on them); the command that works on the container writes
 * State.Operation = {"Name": "starting", "Pid": P, "PidStart": T} next to
 * it, a compare-and-set under the container's lock: free, or held by a
 * process that is gone (a killed `cell`: its operation is void, and the
 * Status it left is recovered by cell_ctr_load from the runtime state and
 * the monitor), else another command has it. The lock itself is held only
 * for the set and for each record update, so the monitor's steps (launch,
 * exited) update the record while `cell start` waits on them; a step that
 * needs the container itself (--rm's removal after a failed launch) acts as
 * the delegate of the command that started its monitor (CELL_OP_OWNER in
 * its environment, "PID:START"). */

#define OP_WAIT_MS 30000	/* at most, for another command's operation to end */
#define OP_ENV "CELL_OP_OWNER"

static uint64_t self_start(void)
{
	static uint64_t start;
	if (!start)
		start = proc_start_time(getpid());
	return start;
}

/* Called before the fork: the owner is the command, not the child that
 * will exec the monitor (its pid would match nothing). */
void engine_op_owner_env(char *buf, size_t size)
{
	snprintf(buf, size, "%s=%d:%llu", OP_ENV, (int)getpid(), (unsigned long long)self_start());
}

static bool is_delegator(pid_t pid, uint64_t start)
{
	const char *v = getenv(OP_ENV);
	char want[64];
	snprintf(want, sizeof(want), "%d:%llu", (int)pid, (unsigned long long)start);
	return v && streq(v, want);
}

static const char *op_participle(const char *op)
{
	static const struct { const char *op, *word; } t[] = {
		{ "starting", "started" }, { "stopping", "stopped" }, { "restarting", "restarted" },
		{ "removing", "removed" }, { "pausing", "paused" }, { "unpausing", "unpaused" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (streq(op, t[i].op))
			return t[i].word;
	return "changed";
}

struct op_holder {
	char name[32];
	pid_t pid;
	uint64_t start;
};

/* The live holder of rec's operation, false when there is none. */
static bool op_held(json_object *rec, struct op_holder *h)
{
	json_object *op = json_object_object_get(json_object_object_get(rec, "State"), "Operation");
	if (!op || !json_object_is_type(op, json_type_object))
		return false;
	const char *n = json_object_get_string(json_object_object_get(op, "Name"));
	snprintf(h->name, sizeof(h->name), "%s", n ? n : "");
	h->pid = json_object_get_int(json_object_object_get(op, "Pid"));
	h->start = (uint64_t)json_object_get_int64(json_object_object_get(op, "PidStart"));
	return proc_alive(h->pid, h->start);
}

static int op_conflict(const char *id, const struct op_holder *h, cell_error **err)
{
	return cell_error_set(err, "container `%.12s` is being %s by another command (pid %d): try again when it "
				   "is done", id, op_participle(h->name), (int)h->pid);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int engine_op_take(struct cell_engine *e, const char *id, const char *op, cell_error **err)
{
	int64_t deadline = mono_ms() + OP_WAIT_MS;
	bool nudged = false;
	for (;;) {
		_cleanup_close_ int lock = engine_lock(e, id, err);
		if (lock < 0)
			return -1;
		json_object *rec = NULL;
		if (engine_record_read(e, id, &rec, err) < 0) {
			/* a directory left without a record (dead_record): the lock is all there is */
			_cleanup_free_ char *dir = cell_ctr_dir(e, id);
			if (access(dir, F_OK) == 0 && streq(op, "removing")) {
				cell_error_free(err);
				return 1;
			}
			return -1;
		}
		struct op_holder h;
		if (op_held(rec, &h) && !(h.pid == getpid() && h.start == self_start())) {
			json_object_put(rec);
			if (is_delegator(h.pid, h.start))
				return 1;	/* a monitor step of the command that holds it */
			/* a removal does not wait; nothing waits for ever */
			if (streq(h.name, "removing") || mono_ms() >= deadline)
				return op_conflict(id, &h, err);
			if (streq(op, "removing") && !nudged &&
			    (streq(h.name, "stopping") || streq(h.name, "restarting"))) {
				/* rm -f does not wait out a stop's timeout */
				cell_error *x = NULL;
				if (cell_rt_kill(e->rt_root, id, SIGKILL, true, &x) < 0)
					cell_error_free(&x);
				nudged = true;
			}
			lock = safe_close(lock);
			sleep_ms(5);
			continue;
		}
		if (op_held(rec, &h)) {
			json_object_put(rec);
			return 1;	/* ours already: restart's stop and start */
		}
		json_object *o = json_object_new_object();
		json_object_object_add(o, "Name", json_object_new_string(op));
		json_object_object_add(o, "Pid", json_object_new_int(getpid()));
		json_object_object_add(o, "PidStart", json_object_new_int64((int64_t)self_start()));
		json_object_object_add(state_of(rec), "Operation", o);
		int r = engine_record_write(e, id, rec, err);
		json_object_put(rec);
		return r < 0 ? -1 : 0;
	}
}

bool engine_op_busy(json_object *rec)
{
	struct op_holder h;
	return op_held(rec, &h) && !(h.pid == getpid() && h.start == self_start()) && !is_delegator(h.pid, h.start);
}

/* Drop our operation from rec; true when there was one. */
bool engine_op_clear(json_object *rec)
{
	json_object *st = json_object_object_get(rec, "State");
	struct op_holder h;
	if (!op_held(rec, &h) || h.pid != getpid() || h.start != self_start())
		return false;
	json_object_object_del(st, "Operation");
	return true;
}

void engine_op_release(struct cell_engine *e, const char *id, int taken)
{
	if (taken != 0)
		return;	/* not ours to release (nested, delegated, or not taken) */
	cell_error *x = NULL;
	_cleanup_close_ int lock = engine_lock(e, id, &x);
	json_object *rec = NULL;
	if (lock >= 0 && engine_record_read(e, id, &rec, &x) == 0 && engine_op_clear(rec) &&
	    engine_record_write(e, id, rec, &x) < 0)
		cell_log(CELL_LOG_WARN, "%s", x->msg);
	cell_error_free(&x);
	json_object_put(rec);
}

int engine_op_observe(struct cell_engine *e, const char *id, cell_error **err)
{
	int64_t deadline = mono_ms() + OP_WAIT_MS;
	for (;;) {
		json_object *rec = NULL;
		if (engine_record_read(e, id, &rec, err) < 0)
			return -1;
		struct op_holder h;
		bool held = op_held(rec, &h) && !(h.pid == getpid() && h.start == self_start()) &&
			    !is_delegator(h.pid, h.start);
		json_object_put(rec);
		if (!held || (!streq(h.name, "starting") && !streq(h.name, "removing")))
			return 0;
		if (streq(h.name, "removing") || mono_ms() >= deadline)
			return op_conflict(id, &h, err);
		sleep_ms(5);
	}
}
