/* `cell enter`: nsenter that can name a container.
 *
 *   cell enter web                      # all of web's namespaces that differ from ours, $SHELL
 *   cell enter -t 4242 -n ip addr       # only the network namespace of pid 4242
 *
 * Order matters, and the kernel does it right when asked for all at once:
 * setns(pidfd, CLONE_NEW...) (Linux >= 5.8) joins every namespace
 * atomically, user namespace first, so a deprivileged container's other
 * namespaces are entered with the capabilities its user namespace gives.
 * On older kernels each /proc/PID/ns/TYPE is opened first (before joining
 * the mount namespace changes what /proc shows) and joined in two passes, as
 * nsenter does: everything but the user namespace first (that works when we
 * are more privileged than the target), then the user namespace, then what
 * failed with EPERM in the first pass.
 *
 * A pid namespace applies to children only (pid_for_children), so the
 * command runs in a forked child and cell waits for it and exits with its
 * status. --root and --wd are opened before any setns, in the caller's
 * mount namespace, as nsenter does (`nsenter --root=c1` is the seeds' way
 * into a container that chroot()ed rather than pivot_root()ed). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "linux/nsinfo.h"
#include "log.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static const char enter_usage[] =
	"Usage: cell enter [OPTIONS] [CONTAINER | -t PID] [OPTIONS] [CMD [ARG...]]\n\n"
	"Run CMD (default $SHELL, or /bin/sh) in the namespaces of a container or process.\n"
	"With no namespace option, every namespace of the target that differs from ours.\n\n"
	"Options:\n"
	"  -t, --target PID       the process whose namespaces to enter\n"
	"  -a, --all              all namespaces (those identical to ours are skipped)\n"
	"  -m, --mount[=FILE]     mount namespace\n"
	"  -u, --uts[=FILE]       UTS namespace (hostname)\n"
	"  -i, --ipc[=FILE]       IPC namespace\n"
	"  -n, --net[=FILE]       network namespace (--net=/run/netns/NAME: as ip netns exec)\n"
	"  -p, --pid[=FILE]       pid namespace (CMD runs in a forked child)\n"
	"  -U, --user[=FILE]      user namespace (then uid and gid 0 in it)\n"
	"  -C, --cgroup[=FILE]    cgroup namespace\n"
	"  -T, --time[=FILE]      time namespace\n"
	"  With FILE, the namespace bound there (ip netns, unshare --TYPE=FILE) instead of the target's.\n"
	"  -r, --root[=DIR]       chroot to DIR, default the target's root\n"
	"  -w, --wd[=DIR]         working directory DIR, default the target's\n"
	"  -F, --no-fork          do not fork before running CMD\n"
	"      --preserve-credentials  keep our uid/gid after entering a user namespace\n\n"
	"CONTAINER is a container id (or unique prefix) of cell, runc, containerd or crun;\n"
	"see `cell ns ls` for the CONTAINER column.\n";

struct enter_opts {
	pid_t pid;
	unsigned types;		/* 1 << CELL_NS_* */
	bool all;
	bool root_set, wd_set;
	const char *root, *wd;
	bool no_fork;
	bool keep_creds;
	const char *container;
	const char *files[CELL_NS_NTYPES];	/* --net=FILE: a /run/netns file, a /proc/PID/ns/net... */
	bool any_file;
};

static void ns_opt(struct enter_opts *o, int type, const char *file)
{
	o->types |= 1u << type;
	if (file) {
		o->files[type] = file;
		o->any_file = true;
	}
}

/* "the net namespace of pid 42" or "the net namespace in `/run/netns/x`" */
static const char *ns_what(const struct enter_opts *o, int t, char *buf, size_t len)
{
	if (o->files[t])
		snprintf(buf, len, "the %s namespace in `%s`", cell_ns_type_name(t), o->files[t]);
	else
		snprintf(buf, len, "the %s namespace of pid %d", cell_ns_type_name(t), (int)o->pid);
	return buf;
}

/* read_file() for files that may vanish under us (a process exits): no
 * error object, just failure. */
static int read_file_quiet(const char *path, char **ret, size_t *ret_len)
{
	cell_error *e = NULL;
	int r = read_file(path, ret, ret_len, &e);
	cell_error_free(&e);
	return r;
}

static const char *setns_hint(int errnum)
{
	switch (errnum) {
	case EPERM: return " (entering needs CAP_SYS_ADMIN over the target's namespaces: run as root, or enter its user namespace too with -U)";
	case EINVAL: return " (the kernel refused this combination: a user namespace identical to ours, or a multithreaded caller)";
	default: return "";
	}
}

static int open_fds(const struct enter_opts *o, int nsfd[CELL_NS_NTYPES], int *root_fd, int *wd_fd,
		    cell_error **err)
{
	char path[64];
	for (int t = 0; t < CELL_NS_NTYPES; t++) {
		if (!(o->types & (1u << t)))
			continue;
		if (!o->files[t] && !o->pid)
			return cell_error_set(err, "--%s names no file and no target: give --%s=FILE, -t PID or a container",
					      cell_ns_type_name(t), cell_ns_type_name(t));
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)o->pid, cell_ns_type_name(t));
		const char *p = o->files[t] ? o->files[t] : path;
		nsfd[t] = open(p, O_RDONLY | O_CLOEXEC);
		if (nsfd[t] < 0)
			return cell_error_errno(err, errno, "open `%s`", p);
	}
	if ((o->root_set && !o->root) || (o->wd_set && !o->wd)) {
		if (!o->pid)
			return cell_error_set(err, "--root and --wd without DIR take the target's: give -t PID, a container, or DIR");
	}
	if (o->root_set) {
		snprintf(path, sizeof(path), "/proc/%d/root", (int)o->pid);
		const char *p = o->root ? o->root : path;
		*root_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*root_fd < 0)
			return cell_error_errno(err, errno, "open root directory `%s`", p);
	}
	if (o->wd_set) {
		snprintf(path, sizeof(path), "/proc/%d/cwd", (int)o->pid);
		const char *p = o->wd ? o->wd : path;
		*wd_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*wd_fd < 0)
			return cell_error_errno(err, errno, "open working directory `%s`", p);
	}
	return 0;
}

static int setns_files(const struct enter_opts *o, int nsfd[CELL_NS_NTYPES], cell_error **err)
{
	bool done[CELL_NS_NTYPES] = { false };
	for (int pass = 0; pass < 2; pass++) {
		for (int t = 0; t < CELL_NS_NTYPES; t++) {
			if (nsfd[t] < 0 || done[t] || (pass == 0 && t == CELL_NS_USER))
				continue;
			if (setns(nsfd[t], cell_ns_type_flag(t)) == 0) {
				done[t] = true;
				continue;
			}
			if (pass == 1 || errno != EPERM) {
				int e = errno;
				char what[PATH_MAX + 64];
				return cell_error_errno(err, e, "setns into %s%s", ns_what(o, t, what, sizeof(what)),
							setns_hint(e));
			}
		}
		/* the user namespace goes between the passes */
		if (pass == 0 && nsfd[CELL_NS_USER] >= 0) {
			if (setns(nsfd[CELL_NS_USER], CLONE_NEWUSER) < 0) {
				int e = errno;
				char what[PATH_MAX + 64];
				return cell_error_errno(err, e, "setns into %s%s",
							ns_what(o, CELL_NS_USER, what, sizeof(what)), setns_hint(e));
			}
			done[CELL_NS_USER] = true;
		}
	}
	return 0;
}

/* Join every namespace in o->types; the pidfd form is atomic. */
static int join(const struct enter_opts *o, int nsfd[CELL_NS_NTYPES], cell_error **err)
{
	int flags = 0;
	for (int t = 0; t < CELL_NS_NTYPES; t++)
		if (o->types & (1u << t))
			flags |= cell_ns_type_flag(t);
	/* namespace files given: the pidfd form cannot mix them in */
	if (o->any_file || !o->pid)
		return setns_files(o, nsfd, err);
	/* CELL_ENTER_NO_PIDFD=1 takes the older kernels' path (tests use it) */
	const char *nopidfd = getenv("CELL_ENTER_NO_PIDFD");
	int pidfd = nopidfd && streq(nopidfd, "1") ? -1 : (int)syscall(SYS_pidfd_open, o->pid, 0);
	if (pidfd >= 0) {
		int r = setns(pidfd, flags);
		int e = errno;
		close(pidfd);
		if (r == 0)
			return 0;
		/* EINVAL: a kernel older than 5.8 takes only nsfs fds */
		if (e != EINVAL)
			return cell_error_errno(err, e, "setns into the namespaces of pid %d%s", (int)o->pid,
						setns_hint(e));
	} else if (!nopidfd && errno == ESRCH) {
		return cell_error_errno(err, ESRCH, "pid %d (did the container stop?)", (int)o->pid);
	}
	return setns_files(o, nsfd, err);
}

static int become_root_in_userns(cell_error **err)
{
	/* setgroups is refused (EPERM) once a map writer denied it: nsenter
	 * ignores that, and so do we */
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		return cell_error_errno(err, errno, "setgroups in the entered user namespace");
	if (setgid(0) < 0)
		return cell_error_errno(err, errno, "setgid 0 in the entered user namespace (is gid 0 mapped?)");
	if (setuid(0) < 0)
		return cell_error_errno(err, errno, "setuid 0 in the entered user namespace (is uid 0 mapped?)");
	return 0;
}

static void exec_cmd(char **cmd)
{
	char *shell_argv[] = { NULL, NULL };
	if (!cmd || !cmd[0]) {
		const char *sh = getenv("SHELL");
		/* our $SHELL may not exist in the container's root */
		if (!sh || !*sh || access(sh, X_OK) < 0)
			sh = "/bin/sh";
		shell_argv[0] = (char *)sh;
		cmd = shell_argv;
	}
	execvp(cmd[0], cmd);
	int e = errno;
	cell_log(CELL_LOG_ERROR, "exec `%s`: %s%s", cmd[0], strerror(e),
		 e == ENOENT ? " (paths are looked up in the entered mount namespace and root)" : "");
	_exit(e == ENOENT ? 127 : 126);
}

/* Wait for the child and take its status as ours, signals included; the
 * two signals are ignored meanwhile (nsenter and unshare ignore different
 * ones: the terminal's ^C reaches the child too, let it decide). */
int cli_wait_child(pid_t child, int ignore1, int ignore2)
{
	int st;
	signal(ignore1, SIG_IGN);
	signal(ignore2, SIG_IGN);
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			return EXIT_CELL;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) {
		int sig = WTERMSIG(st);
		signal(sig, SIG_DFL);
		sigset_t m;
		sigemptyset(&m);
		sigaddset(&m, sig);
		sigprocmask(SIG_UNBLOCK, &m, NULL);
		kill(getpid(), sig);
		return 128 + sig;
	}
	return EXIT_CELL;
}

/* The seeds' "nsenter -t needs the right PID": `unshare --fork --pid`
 * itself stays in the old pid namespace (only pid_for_children is new), so
 * -t <unshare's pid> enters everything but the pid namespace the user
 * wanted. Its child is the one to name. */
static void warn_wrong_pid(pid_t pid)
{
	char a[64], b[64];
	struct stat sa, sb;
	snprintf(a, sizeof(a), "/proc/%d/ns/pid", (int)pid);
	snprintf(b, sizeof(b), "/proc/%d/ns/pid_for_children", (int)pid);
	if (stat(a, &sa) < 0 || stat(b, &sb) < 0 || sa.st_ino == sb.st_ino)
		return;
	_cleanup_free_ char *kids = NULL;
	snprintf(a, sizeof(a), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	int child = 0;
	if (read_file_quiet(a, &kids, NULL) == 0)
		child = atoi(kids);
	if (child > 0)
		cell_warn("pid %d created a pid namespace it is not in itself (unshare --pid --fork?): its child %d is pid 1 there; use -t %d to enter it",
			  (int)pid, child, child);
	else
		cell_warn("pid %d created a pid namespace it is not in itself (unshare --pid --fork?): its children are in it, not it", (int)pid);
}

static int parse_enter(int argc, char **argv, struct enter_opts *o, int *ret_optind, cell_error **err)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "all", no_argument, NULL, 'a' },
		{ "mount", optional_argument, NULL, 'm' },
		{ "uts", optional_argument, NULL, 'u' },
		{ "ipc", optional_argument, NULL, 'i' },
		{ "net", optional_argument, NULL, 'n' },
		{ "pid", optional_argument, NULL, 'p' },
		{ "user", optional_argument, NULL, 'U' },
		{ "cgroup", optional_argument, NULL, 'C' },
		{ "time", optional_argument, NULL, 'T' },
		{ "root", optional_argument, NULL, 'r' },
		{ "wd", optional_argument, NULL, 'w' },
		{ "no-fork", no_argument, NULL, 'F' },
		{ "preserve-credentials", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	/* options may come before and after CONTAINER (`cell enter web -n ip a`):
	 * the first non-option is the container unless -t named a pid, the
	 * next one starts CMD */
again:
	while ((c = getopt_long(argc, argv, "+t:amuinpUCTr::w::Fh", opts, NULL)) != -1) {
		switch (c) {
		case 't': {
			int64_t v;
			if (parse_int64(optarg, &v) < 0 || v <= 0)
				return cell_error_set(err, "enter: `%s` is not a pid", optarg);
			o->pid = (pid_t)v;
			break;
		}
		case 'a': o->all = true; break;
		case 'm': ns_opt(o, CELL_NS_MNT, optarg); break;
		case 'u': ns_opt(o, CELL_NS_UTS, optarg); break;
		case 'i': ns_opt(o, CELL_NS_IPC, optarg); break;
		case 'n': ns_opt(o, CELL_NS_NET, optarg); break;
		case 'p': ns_opt(o, CELL_NS_PID, optarg); break;
		case 'U': ns_opt(o, CELL_NS_USER, optarg); break;
		case 'C': ns_opt(o, CELL_NS_CGROUP, optarg); break;
		case 'T': ns_opt(o, CELL_NS_TIME, optarg); break;
		case 'r': o->root_set = true; o->root = optarg; break;
		case 'w': o->wd_set = true; o->wd = optarg; break;
		case 'F': o->no_fork = true; break;
		case 'P': o->keep_creds = true; break;
		case 'h': printf("%s", enter_usage); return 1;
		default: return cell_error_set(err, "enter: bad usage (see `cell enter --help`)");
		}
	}
	if (!o->pid && !o->container && !o->any_file && optind < argc) {
		o->container = argv[optind++];
		goto again;
	}
	*ret_optind = optind;
	return 0;
}

static uint64_t file_ino(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* With no namespace named: all of the target's that differ from ours. A
 * user namespace identical to ours is never joined (setns says EINVAL). */
static int pick_types(struct enter_opts *o, cell_error **err)
{
	bool pick_differing = o->pid && (o->all || !o->types);
	for (int t = 0; t < CELL_NS_NTYPES; t++) {
		cell_error *e = NULL;
		uint64_t mine = cell_ns_ino(0, t, &e);
		uint64_t its = o->files[t] ? file_ino(o->files[t]) : o->pid ? cell_ns_ino(o->pid, t, &e) : 0;
		if (e && t != CELL_NS_TIME && t != CELL_NS_CGROUP && pick_differing) {
			int en = e->errnum;
			cell_error_free(&e);
			return cell_error_errno(err, en, "enter: namespaces of pid %d", (int)o->pid);
		}
		cell_error_free(&e);
		if (pick_differing && its && its != mine)
			o->types |= 1u << t;
		if (t == CELL_NS_USER && its == mine)
			o->types &= ~(1u << t);
	}
	if (!o->types)
		cell_warn("pid %d shares every namespace with us: running the command here", (int)o->pid);
	return 0;
}

static int do_enter(int argc, char **argv, cell_error **err)
{
	struct enter_opts o = { 0 };
	int first = 0;
	int r = parse_enter(argc, argv, &o, &first, err);
	if (r != 0)
		return r < 0 ? EXIT_CELL : 0;

	_cleanup_free_ char *name = NULL;
	if (!o.pid && !o.any_file) {
		if (!o.container)
			return cell_error_set(err, "enter: which container? name one, or give -t PID or --TYPE=FILE (see `cell enter --help`)");
		if (cell_ns_ctr_resolve(o.container, &o.pid, &name, err) < 0)
			return cell_error_wrap(err, "enter");
	}
	char **cmd = first < argc ? argv + first : NULL;
	if (o.pid && kill(o.pid, 0) < 0 && errno == ESRCH)
		return cell_error_errno(err, ESRCH, "enter: pid %d", (int)o.pid);
	if (pick_types(&o, err) < 0)
		return -1;
	if (o.pid)
		warn_wrong_pid(o.pid);

	int nsfd[CELL_NS_NTYPES];
	for (int t = 0; t < CELL_NS_NTYPES; t++)
		nsfd[t] = -1;
	_cleanup_close_ int root_fd = -1;
	_cleanup_close_ int wd_fd = -1;
	if (open_fds(&o, nsfd, &root_fd, &wd_fd, err) < 0) {
		cell_error_wrap(err, "enter");
		goto fail;
	}
	if (o.types && join(&o, nsfd, err) < 0) {
		if (name)
			cell_error_wrap(err, "enter `%s`", name);
		else
			cell_error_wrap(err, "enter");
		goto fail;
	}
	for (int t = 0; t < CELL_NS_NTYPES; t++)
		nsfd[t] = safe_close(nsfd[t]);

	if ((o.types & (1u << CELL_NS_USER)) && !o.keep_creds && become_root_in_userns(err) < 0)
		return EXIT_CELL;
	if (root_fd >= 0) {
		if (fchdir(root_fd) < 0 || chroot(".") < 0)
			return cell_error_errno(err, errno, "enter: chroot to the new root");
		if (wd_fd < 0 && chdir("/") < 0)
			return cell_error_errno(err, errno, "enter: chdir `/` in the new root");
	}
	if (wd_fd >= 0 && fchdir(wd_fd) < 0)
		return cell_error_errno(err, errno, "enter: change to the working directory");

	if ((o.types & (1u << CELL_NS_PID)) && !o.no_fork) {
		fflush(NULL);
		pid_t child = fork();
		if (child < 0)
			return cell_error_errno(err, errno, "enter: fork into the pid namespace");
		if (child == 0)
			exec_cmd(cmd);
		return cli_wait_child(child, SIGINT, SIGQUIT);
	}
	exec_cmd(cmd);
	return 127;	/* not reached */

fail:
	for (int t = 0; t < CELL_NS_NTYPES; t++)
		safe_close(nsfd[t]);
	return EXIT_CELL;
}

int cmd_enter(int argc, char **argv, cell_error **err)
{
	/* errors come back negative; the exit status is then cell's own */
	cell_ns_ctr_set_engine(cell_globals.root, cell_globals.runroot);
	int r = do_enter(argc, argv, err);
	return r < 0 ? EXIT_CELL : r;
}
