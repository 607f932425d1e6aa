/* One RUN step in a container, and the builder's own mounts of a stage root. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build-internal.h"
#include "engine/engine.h"
#include "image/image.h"
#include "json.h"
#include "util.h"

/* Whether dir holds anything. */
static int dir_empty(const char *dir, cell_error **err)
{
	DIR *d = opendir(dir);
	if (!d)
		return cell_error_errno(err, errno, "open `%s`", dir);
	struct dirent *de;
	int empty = 1;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

int bstep_commit_dir(struct cell_store *s, const char *image, const char *dir, const char *created_by,
		     char **ret_id, cell_error **err)
{
	int empty = dir_empty(dir, err);
	if (empty < 0)
		return -1;
	if (empty)
		return bimg_meta(s, image, NULL, NULL, created_by, true, ret_id, err);
	struct cell_commit_opts co = { .created_by = created_by };
	return cell_image_commit(s, image, dir, &co, ret_id, err);
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
	interrupted = sig;
}

/* Run the created container attached, in a child: Ctrl-C reaches the child
 * (which passes it on, and a shell as pid 1 may ignore it) and us, and we
 * kill the container so that the step ends at once, as docker build does.
 * *ret_status: the process's exit status; -1 with err when it did not run. */
static int run_child(struct cell_engine *e, const char *id, int *ret_status, int *ret_sig, cell_error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return cell_error_errno(err, errno, "pipe");
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return cell_error_errno(err, errno, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		cell_error *ce = NULL;
		int status = 0;
		char buf[4096];
		int n;
		if (cell_ctr_run_attached(e, id, &status, &ce) < 0)
			n = snprintf(buf, sizeof(buf), "E%d %d %s", cell_ctr_exit_code(ce), ce->errnum, ce->msg);
		else
			n = snprintf(buf, sizeof(buf), "S%d", status);
		if (write(p[1], buf, (size_t)(n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1)) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_hup;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	bool killed = false;
	int wst;
	while (waitpid(pid, &wst, 0) < 0) {
		if (errno != EINTR)
			break;
		if (interrupted && !killed) {
			_cleanup_error_ cell_error *ke = NULL;
			cell_ctr_kill(e, id, SIGKILL, &ke);
			killed = true;
		}
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	char buf[4096];
	ssize_t k = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	*ret_sig = interrupted;
	if (interrupted)
		return cell_error_set(err, "interrupted by signal %d", interrupted);
	if (k <= 0)
		return cell_error_set(err, "the step's runner ended without a word");
	buf[k] = 0;
	if (buf[0] == 'S') {
		*ret_status = atoi(buf + 1);
		return 0;
	}
	int code = 125, errnum = 0, off = 0;
	sscanf(buf + 1, "%d %d %n", &code, &errnum, &off);
	*ret_status = code;
	return cell_error_from_text(err, errnum, buf + 1 + off);
}

int bstep_run(struct cell_engine *e, struct cell_store *s, const struct bstep_run *r, int *ret_status,
	      char **ret_id, cell_error **err)
{
	uint64_t st = proc_start_time(getpid());
	_cleanup_free_ char *label = xasprintf("cell.build.pid=%d:%llu", (int)getpid(), (unsigned long long)st);
	char *labels[] = { label, NULL };
	struct cell_run_request req = {
		.image = r->image,
		.cmd = r->argv,
		.entrypoint = "",
		.entrypoint_set = true,
		.env = r->env,
		.network = r->network,
		.mounts = r->mounts,
		.labels = labels,
		.no_healthcheck = true,
	};
	_cleanup_free_ char *id = NULL, *dir = NULL, *upper = NULL;
	_cleanup_error_ cell_error *e2 = NULL;
	int status = -1, sig = 0, ret = -1;

	*ret_status = 0;
	if (cell_ctr_create(e, &req, &id, err) < 0)
		return cell_error_wrap(err, "create the container of the step");
	dir = cell_ctr_dir(e, id);
	if (run_child(e, id, &status, &sig, err) < 0) {
		*ret_status = sig ? 128 + sig : status;
		if (!sig)
			cell_error_wrap(err, "run the step");
		goto out;
	}
	if (status != 0) {
		*ret_status = status;
		cell_error_set(err, "process \"%s\" did not complete successfully: exit code: %d",
			       r->command ? r->command : r->created_by, status);
		goto out;
	}
	if (cell_image_unmount_rootfs(dir, false, err) < 0)
		goto out;
	upper = xasprintf("%s/upper", dir);
	if (r->before_commit)
		r->before_commit(upper, r->mounts);
	ret = bstep_commit_dir(s, r->image, upper, r->created_by, ret_id, err);
out:
	if (cell_ctr_remove(e, id, true, &e2) < 0 && ret == 0) {
		*err = TAKE_PTR(e2);
		free(*ret_id);
		*ret_id = NULL;
		ret = cell_error_wrap(err, "remove the container of the step");
	}
	return ret;
}

/* Containers of steps whose build is gone (killed -9): removed by prune. */
int bstep_remove_orphans(struct cell_engine *e, size_t *ret_n, cell_error **err)
{
	_cleanup_strv_ char **ids = NULL;
	size_t n = 0;
	if (cell_ctr_list(e, &ids, err) < 0)
		return -1;
	for (size_t i = 0; ids[i]; i++) {
		json_object *rec = NULL;
		_cleanup_error_ cell_error *le = NULL;
		if (cell_ctr_load(e, ids[i], &rec, &le) < 0)
			continue;
		json_object *labels = json_object_object_get(json_object_object_get(rec, "Config"), "Labels");
		json_object *v = labels ? json_object_object_get(labels, "cell.build.pid") : NULL;
		int pid = 0;
		unsigned long long st = 0;
		bool orphan = v && sscanf(json_object_get_string(v), "%d:%llu", &pid, &st) == 2 &&
			      (pid <= 0 || proc_start_time(pid) != st);
		json_object_put(rec);
		if (orphan && cell_ctr_remove(e, ids[i], true, &le) == 0)
			n++;
	}
	if (ret_n)
		*ret_n = n;
	return 0;
}

/* ---- the builder's own mounts ---- */

int bmount_open(struct cell_store *s, const char *image, struct bmount *m, cell_error **err)
{
	struct cell_image *img = NULL;
	_cleanup_free_ char *base = xasprintf("%s/build-tmp", cell_store_root(s));
	int r = -1;

	*m = (struct bmount){ .root_fd = -1, .lock_fd = -1 };
	if (mkdir_p(base, 0700, err) < 0)
		return -1;
	m->dir = xasprintf("%s/XXXXXX", base);
	if (!mkdtemp(m->dir)) {
		cell_error_errno(err, errno, "make a temp dir in `%s`", base);
		free(m->dir);
		m->dir = NULL;
		return -1;
	}
	m->lock_fd = lock_dir(m->dir, true, err);
	if (m->lock_fd < 0 || cell_image_resolve(s, image, &img, err) < 0)
		goto out;
	if (cell_image_mount_rootfs_volatile(s, img, m->dir, &m->rootfs, err) < 0)
		goto out;
	m->upper = xasprintf("%s/upper", m->dir);
	m->root_fd = open(m->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (m->root_fd < 0) {
		cell_error_errno(err, errno, "open `%s`", m->rootfs);
		goto out;
	}
	r = 0;
out:
	cell_image_free(img);
	if (r < 0)
		bmount_clear(m);
	return r;
}

int bmount_unmount(struct bmount *m, cell_error **err)
{
	m->root_fd = safe_close(m->root_fd);
	if (!m->dir)
		return 0;
	return cell_image_unmount_rootfs(m->dir, false, err);
}

void bmount_clear(struct bmount *m)
{
	_cleanup_error_ cell_error *e = NULL, *e2 = NULL;
	m->root_fd = safe_close(m->root_fd);
	if (m->dir) {
		cell_image_unmount_rootfs(m->dir, true, &e);
		rm_rf(m->dir, &e2);
	}
	safe_close(m->lock_fd);
	free(m->dir);
	free(m->rootfs);
	free(m->upper);
	*m = (struct bmount){ .root_fd = -1, .lock_fd = -1 };
}
