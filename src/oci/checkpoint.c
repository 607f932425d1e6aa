/* `checkpoint` and `restore` through CRIU, with runc's flags.
 *
 * Both run Debian's `criu` binary (or --criu PATH). checkpoint dumps the
 * init's process tree with the container's bind mounts declared external
 * (their sources are the host's, not the image's), then deletes the
 * container as runc does unless --leave-running. restore runs `criu restore
 * --restore-detached` in the bundle's rootfs with the same externals and
 * records the restored init as a running container in the runtime's state.
 * CRIU must pass `criu check` on the host: Debian 12's CRIU 3.17 fails it on
 * newer kernels (vdso), and then both commands say so rather than run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci.h"
#include "runtime/runtime.h"
#include "runtime/state.h"
#include "spec/spec.h"
#include "util.h"

struct criu_opts {
	const char *image, *work, *parent, *bundle, *pid_file, *cgroups_mode;
	bool leave_running, tcp, ext_unix, shell_job, file_locks, detach, pre_dump, empty_ns_net;
};

static void push(char ***v, const char *s)
{
	size_t n = strv_len(*v);
	*v = realloc(*v, (n + 2) * sizeof(char *));
	if (!*v)
		abort();
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

/* The criu binary: --criu, else `criu` in $PATH. */
static int find_criu(char **ret, cell_error **err)
{
	const char *name = oci.criu && *oci.criu ? oci.criu : "criu";
	if (strchr(name, '/')) {
		if (access(name, X_OK) < 0)
			return cell_error_errno(err, errno, "criu `%s` is not executable (install Debian's criu package, "
						"or pass --criu PATH)", name);
		*ret = xstrdup(name);
		return 0;
	}
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = xstrdup(path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	char *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *c = xasprintf("%s/%s", d, name);
		if (access(c, X_OK) == 0) {
			*ret = TAKE_PTR(c);
			return 0;
		}
	}
	return cell_error_set(err, "`criu` not found in $PATH: checkpoint and restore need CRIU (apt-get install criu, "
			      "or pass --criu PATH)");
}

/* Run criu with argv; its output goes to our stderr (and its log file). */
static int run_criu(char **argv, const char *what, const char *log, cell_error **err)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return cell_error_errno(err, errno, "fork criu");
	if (pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "cell-runtime: exec `%s`: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	return cell_error_set(err, "%s: `%s` failed (status %d)%s%s", what, argv[0],
			      WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), log ? "; see " : "", log ? log : "");
}

/* `criu check`: CRIU refuses to work at all on some kernels; say so plainly. */
static int criu_check(const char *criu, cell_error **err)
{
	char *argv[] = { (char *)criu, "check", NULL };
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return cell_error_errno(err, errno, "fork criu");
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execv(criu, argv);
		_exit(127);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	return cell_error_set(err, "`%s check` fails on this host: CRIU cannot checkpoint or restore here (Debian 12's "
			      "CRIU 3.17 does not know the vdso of newer kernels; run `criu check` for details)", criu);
}

static void common_args(char ***a, const struct criu_opts *o, const struct cell_spec *s)
{
	push(a, "--images-dir");
	push(a, o->image);
	if (o->work) {
		push(a, "--work-dir");
		push(a, o->work);
	}
	if (o->tcp)
		push(a, "--tcp-established");
	if (o->ext_unix)
		push(a, "--ext-unix-sk");
	if (o->shell_job)
		push(a, "--shell-job");
	if (o->file_locks)
		push(a, "--file-locks");
	push(a, "--manage-cgroups");
	if (o->cgroups_mode)
		push(a, o->cgroups_mode);
	else
		push(a, "soft");
	/* bind mounts come from the host: CRIU must not try to dump them */
	for (size_t i = 0; s && i < s->n_mounts; i++) {
		if (!s->mounts[i].bind)
			continue;
		_cleanup_free_ char *ext = xasprintf("mnt[%s]:%s", s->mounts[i].destination, s->mounts[i].destination);
		push(a, "--external");
		push(a, ext);
	}
}

static int parse(int argc, char **argv, const char *cmd, struct criu_opts *o, bool *ret_help, cell_error **err)
{
	static const struct option opts[] = {
		{ "image-path", required_argument, NULL, 'i' },
		{ "work-path", required_argument, NULL, 'w' },
		{ "parent-path", required_argument, NULL, 'P' },
		{ "leave-running", no_argument, NULL, 'l' },
		{ "tcp-established", no_argument, NULL, 't' },
		{ "ext-unix-sk", no_argument, NULL, 'x' },
		{ "shell-job", no_argument, NULL, 's' },
		{ "file-locks", no_argument, NULL, 'f' },
		{ "pre-dump", no_argument, NULL, 'p' },
		{ "manage-cgroups-mode", required_argument, NULL, 'm' },
		{ "bundle", required_argument, NULL, 'b' },
		{ "detach", no_argument, NULL, 'd' },
		{ "pid-file", required_argument, NULL, 'F' },
		{ "no-subreaper", no_argument, NULL, 'n' },
		{ "no-pivot", no_argument, NULL, 'N' },
		{ "auto-dedup", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const help[] = {
		"directory of the CRIU image (default ./checkpoint)", "directory for CRIU's logs and work files",
		"a previous (pre-)dump to diff against (checkpoint)", "leave the container running (checkpoint)",
		"allow open TCP connections", "allow external unix sockets", "allow a shell job (a terminal)",
		"handle file locks", "dump memory only, leave the container running (checkpoint)",
		"cgroups mode: soft, full, strict or ignore", "bundle of the restored container (restore, default .)",
		"do not wait for the restored container (restore)", "write the restored init's pid here (restore)",
		"(accepted for runc compatibility)", "(accepted for runc compatibility)",
		"(accepted for runc compatibility)", NULL,
	};
	int c;
	*ret_help = false;
	o->image = "checkpoint";
	o->bundle = ".";
	while ((c = getopt_long_only(argc, argv, "b:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'i': o->image = optarg; break;
		case 'w': o->work = optarg; break;
		case 'P': o->parent = optarg; break;
		case 'l': o->leave_running = true; break;
		case 't': o->tcp = true; break;
		case 'x': o->ext_unix = true; break;
		case 's': o->shell_job = true; break;
		case 'f': o->file_locks = true; break;
		case 'p': o->pre_dump = true; break;
		case 'm':
			if (!streq(optarg, "soft") && !streq(optarg, "full") && !streq(optarg, "strict") &&
			    !streq(optarg, "ignore"))
				return cell_error_set(err, "%s: --manage-cgroups-mode `%s`: soft, full, strict or ignore",
						      cmd, optarg);
			o->cgroups_mode = optarg;
			break;
		case 'b': o->bundle = optarg; break;
		case 'd': o->detach = true; break;
		case 'F': o->pid_file = optarg; break;
		case 'n': case 'N': case 'a': break;
		case 'h': oci_usage(cmd, opts, help); *ret_help = true; return 0;
		default: return cell_error_set(err, "%s: unknown option (see `cell-runtime %s --help`)", cmd, cmd);
		}
	}
	return oci_need_args(argc, argv, 1, "a container id", err);
}

int oci_checkpoint(int argc, char **argv, cell_error **err)
{
	struct criu_opts o = { 0 };
	bool help;
	struct cell_state *st = NULL;
	struct cell_spec *s = NULL;
	_cleanup_free_ char *criu = NULL, *pid = NULL, *log = NULL;
	_cleanup_strv_ char **a = NULL;
	int r = -1;

	if (parse(argc, argv, "checkpoint", &o, &help, err) < 0)
		return -1;
	if (help)
		return 0;
	const char *id = argv[optind];
	if (find_criu(&criu, err) < 0 || criu_check(criu, err) < 0)
		return -1;
	if (cell_state_load(oci.root, id, true, &st, err) < 0)
		return -1;
	enum cell_status status = cell_state_status(st);
	if (status != CELL_STATUS_RUNNING && status != CELL_STATUS_PAUSED) {
		cell_error_set(err, "container `%s` is %s: checkpoint needs a running container", id, cell_status_name(status));
		goto out;
	}
	if (cell_state_load_spec(st, &s, err) < 0)
		goto out;
	if (mkdir(o.image, 0700) < 0 && errno != EEXIST) {
		cell_error_errno(err, errno, "checkpoint: create the image dir `%s`", o.image);
		goto out;
	}
	push(&a, criu);
	push(&a, o.pre_dump ? "pre-dump" : "dump");
	pid = xasprintf("%d", (int)st->pid);
	push(&a, "--tree");
	push(&a, pid);
	push(&a, "--root");
	push(&a, st->rootfs);
	common_args(&a, &o, s);
	if (o.parent) {
		push(&a, "--prev-images-dir");
		push(&a, o.parent);
	}
	if (o.leave_running || o.pre_dump)
		push(&a, "--leave-running");
	push(&a, "--log-file");
	push(&a, "dump.log");
	log = xasprintf("%s/dump.log", o.work ? o.work : o.image);
	if (run_criu(a, "checkpoint", log, err) < 0)
		goto out;
	r = 0;
	/* runc deletes a container it checkpointed without --leave-running */
	if (!o.leave_running && !o.pre_dump) {
		cell_state_free(st);
		st = NULL;
		r = cell_rt_delete(oci.root, id, true, err) < 0 ? -1 : 0;
	}
out:
	cell_spec_free(s);
	cell_state_free(st);
	return r;
}

int oci_restore(int argc, char **argv, cell_error **err)
{
	struct criu_opts o = { 0 };
	bool help;
	struct cell_spec *s = NULL;
	struct cell_state *st = NULL;
	_cleanup_free_ char *criu = NULL, *pidfile = NULL, *pidtext = NULL, *bundle = NULL;
	_cleanup_strv_ char **a = NULL;
	int r = -1;

	if (parse(argc, argv, "restore", &o, &help, err) < 0)
		return -1;
	if (help)
		return 0;
	const char *id = argv[optind];
	if (find_criu(&criu, err) < 0 || criu_check(criu, err) < 0)
		return -1;
	bundle = realpath(o.bundle, NULL);
	if (!bundle)
		return cell_error_errno(err, errno, "restore: bundle `%s`", o.bundle);
	if (cell_spec_load(bundle, &s, err) < 0)
		return -1;
	if (cell_state_new(oci.root, id, &st, err) < 0)
		goto out;
	st->bundle = xstrdup(bundle);
	st->rootfs = xstrdup(s->root_path);
	pidfile = cell_state_path(st, "restore.pid");
	push(&a, criu);
	push(&a, "restore");
	push(&a, "--root");
	push(&a, s->root_path);
	common_args(&a, &o, s);
	push(&a, "--restore-detached");
	push(&a, "--pidfile");
	push(&a, pidfile);
	push(&a, "--log-file");
	push(&a, "restore.log");
	if (run_criu(a, "restore", o.work ? o.work : o.image, err) < 0)
		goto fail;
	int64_t pid;
	if (read_file(pidfile, &pidtext, NULL, err) == 0)
		pidtext[strcspn(pidtext, "\n")] = '\0';
	if (*err || parse_int64(pidtext, &pid) < 0 || pid <= 0) {
		if (!*err)
			cell_error_set(err, "restore: criu wrote no pid to `%s`", pidfile);
		goto fail;
	}
	st->pid = (pid_t)pid;
	st->start_time = proc_start_time(st->pid);
	if (cell_state_save(st, err) < 0)
		goto fail;
	if (o.pid_file) {
		char v[24];
		snprintf(v, sizeof(v), "%d", (int)st->pid);
		if (write_file_atomic(o.pid_file, v, strlen(v), 0644, err) < 0)
			goto out;
	}
	r = 0;
	goto out;
fail:
	{
		cell_error *e = NULL;
		if (cell_state_remove(st, &e) < 0)
			cell_error_free(&e);
	}
out:
	cell_state_free(st);
	cell_spec_free(s);
	return r;
}
