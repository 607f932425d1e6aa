/* `cell unshare`: util-linux unshare(1), done with unshare(2) and fork(2),
 * and a one-line warning wherever the seeds found a trap:
 *
 *  - --pid without --fork: unshare(CLONE_NEWPID) moves only the caller's
 *    future children. The command stays outside; its first child becomes
 *    pid 1 of the new namespace, and when that child exits the namespace is
 *    dead: every later fork fails with ENOMEM ("Cannot allocate memory",
 *    a shell says "Cannot fork").
 *  - --pid without --mount-proc: /proc is still the host's proc mount, so
 *    ps and top show the host's processes with the host's pids.
 *  - --mount-proc without --mount: remounting /proc in the host's mount
 *    namespace would replace the host's /proc, so it implies --mount, as
 *    util-linux does.
 *  (--time needs no such warning: execve() moves the caller into its
 *  time_for_children namespace, unlike pid namespaces.)
 *
 *   caller ── unshare(flags) ── [-r: setgroups deny, uid_map, gid_map]
 *     │
 *     ├─ --fork: parent waits, exits with the child's status
 *     │   └─ child (pid 1 with --pid)
 *     └─ propagation on / ── chroot --root ── chdir --wd ── mount proc ── exec CMD
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "linux/nsinfo.h"
#include "log.h"
#include "util.h"

static const char unshare_usage[] =
	"Usage: cell unshare [OPTIONS] [CMD [ARG...]]\n\n"
	"Run CMD (default $SHELL, or /bin/sh) in new namespaces, as util-linux unshare.\n\n"
	"Options:\n"
	"  -U, --user[=FILE]      new user namespace; with FILE, bind-mount it there so that it\n"
	"                         outlives every process (as `ip netns add` does in /run/netns)\n"
	"  -u, --uts[=FILE]       new UTS namespace (hostname, domain name)\n"
	"  -n, --net[=FILE]       new network namespace\n"
	"  -i, --ipc[=FILE]       new IPC namespace\n"
	"  -p, --pid[=FILE]       new pid namespace (needs --fork to be useful)\n"
	"  -C, --cgroup[=FILE]    new cgroup namespace\n"
	"  -m, --mount[=FILE]     new mount namespace\n"
	"  -T, --time[=FILE]      new time namespace (entered at exec, or by the --fork child)\n"
	"  -f, --fork             fork CMD as a child: with --pid it becomes pid 1\n"
	"      --mount-proc[=DIR] mount a fresh proc on DIR (default /proc); implies --mount\n"
	"  -r, --map-root-user    map our uid and gid to 0 in a new user namespace (implies --user)\n"
	"  -c, --map-current-user map our uid and gid to themselves (implies --user)\n"
	"      --map-user ID      map our uid to ID (number or name) inside (implies --user)\n"
	"      --map-group ID     map our gid to ID (number or name) inside (implies --user)\n"
	"      --setgroups MODE   allow or deny setgroups(2) in the new user namespace\n"
	"      --monotonic SECS   offset of CLOCK_MONOTONIC in a new time namespace (implies --time)\n"
	"      --boottime SECS    offset of CLOCK_BOOTTIME (uptime) in a new time namespace (implies --time)\n"
	"  -R, --root DIR         chroot to DIR\n"
	"  -w, --wd DIR           working directory DIR\n"
	"      --propagation MODE private (default), shared, slave or unchanged, applied\n"
	"                         recursively on / of the new mount namespace\n"
	"      --kill-child[=SIG] with --fork (implied), SIG (default KILL) to CMD when cell dies\n"
	"  -q, --quiet            no warnings about the traps of a combination\n";

struct unshare_opts {
	int flags;
	bool fork;
	const char *procmnt;
	long long map_uid, map_gid;	/* id inside mapped to ours, -1 = no map */
	const char *setgroups;		/* --setgroups allow|deny, NULL = as the maps need */
	const char *monotonic, *boottime;	/* time namespace clock offsets in seconds */
	const char *root, *wd;
	unsigned long propagation;	/* 0 = unchanged */
	bool quiet;
	int kill_child;		/* signal sent to the child when cell dies, 0 = none */
	const char *persist[CELL_NS_NTYPES];	/* --net=FILE: bind-mount the new namespace there */
	bool any_persist;
};

static void ns_opt(struct unshare_opts *o, int type, const char *file)
{
	o->flags |= cell_ns_type_flag(type);
	if (file) {
		o->persist[type] = file;
		o->any_persist = true;
	}
}

static const char *unshare_hint(int errnum, int flags)
{
	switch (errnum) {
	case EPERM:
		if (flags & CLONE_NEWUSER)
			return " (user namespaces may be disabled: see sysctl kernel.unprivileged_userns_clone or user.max_user_namespaces)";
		return " (creating namespaces needs CAP_SYS_ADMIN: run as root, or add -r to create a user namespace first)";
	case ENOSPC:
		return " (a namespace limit was reached: see /proc/sys/user/max_*_namespaces)";
	case EUSERS:
		return " (user namespaces nest 32 deep at most)";
	case EINVAL:
		return " (this kernel lacks one of the namespace types asked for, or the caller is multithreaded)";
	default:
		return "";
	}
}

static int write_proc_self(const char *file, const char *data, bool enoent_ok, cell_error **err)
{
	_cleanup_free_ char *path = xasprintf("/proc/self/%s", file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		if (enoent_ok && errno == ENOENT)
			return 0;
		return cell_error_errno(err, errno, "open `%s`", path);
	}
	if (write(fd, data, strlen(data)) < 0)
		return cell_error_errno(err, errno, "write `%s` to `%s`", data, path);
	return 0;
}

/* -r, -c, --map-user/--map-group: one id inside is our effective id
 * outside ("0 1000 1" for -r run by uid 1000). setgroups must be denied
 * before gid_map is written by an unprivileged writer (CVE-2014-8989: with
 * setgroups allowed, a user could drop supplementary groups that deny it
 * access); the file is missing before Linux 3.19. */
static int write_maps(const struct unshare_opts *o, uid_t uid, gid_t gid, cell_error **err)
{
	char buf[64];
	const char *sg = o->setgroups ? o->setgroups : o->map_gid >= 0 ? "deny" : NULL;
	if (sg && write_proc_self("setgroups", sg, true, err) < 0)
		return -1;
	if (o->map_uid >= 0) {
		snprintf(buf, sizeof(buf), "%lld %u 1", o->map_uid, (unsigned)uid);
		if (write_proc_self("uid_map", buf, false, err) < 0)
			return -1;
	}
	if (o->map_gid >= 0) {
		snprintf(buf, sizeof(buf), "%lld %u 1", o->map_gid, (unsigned)gid);
		if (write_proc_self("gid_map", buf, false, err) < 0)
			return cell_error_wrap(err, "%s", streq(sg ? sg : "", "allow")
					       ? "gid_map (--setgroups allow forbids an unprivileged gid_map)" : "gid_map");
	}
	return 0;
}

/* --monotonic/--boottime: the clocks of the new time namespace start that
 * many seconds off ours (time_namespaces(7)). */
static int time_offsets(const struct unshare_opts *o, cell_error **err)
{
	_cleanup_free_ char *txt = xasprintf("%s%s%s%s%s", o->monotonic ? "monotonic " : "",
					     o->monotonic ? o->monotonic : "", o->monotonic ? " 0\n" : "",
					     o->boottime ? "boottime " : "", o->boottime ? o->boottime : "");
	if (o->boottime) {
		char *t = xasprintf("%s 0\n", txt);
		free(txt);
		txt = t;
	}
	return write_proc_self("timens_offsets", txt, false, err);
}

/* An id as a number or a user/group name. */
static long long parse_id(const char *s, bool group)
{
	int64_t v;
	if (parse_int64(s, &v) == 0 && v >= 0 && v < 4294967295LL)
		return v;
	if (group) {
		struct group *g = getgrnam(s);
		return g ? (long long)g->gr_gid : -1;
	}
	struct passwd *p = getpwnam(s);
	return p ? (long long)p->pw_uid : -1;
}

static void warn_traps(struct unshare_opts *o)
{
	if (o->procmnt && !(o->flags & CLONE_NEWNS)) {
		o->flags |= CLONE_NEWNS;
		/* util-linux implies it silently; say it once, without alarm:
		 * `--fork --pid --mount-proc` is the right command line */
		if (!o->quiet)
			cell_log(CELL_LOG_INFO, "--mount-proc implies --mount: a fresh /proc mounted in the host's mount namespace would hide the host's own /proc");
	}
	if (o->quiet)
		return;
	if ((o->flags & CLONE_NEWPID) && !o->fork)
		cell_warn("--pid without --fork: the command itself stays outside the new pid namespace; its first child becomes pid 1, and once that child exits every fork fails with 'Cannot allocate memory' ('Cannot fork' in a shell); add --fork");
	if ((o->flags & CLONE_NEWPID) && !o->procmnt)
		cell_warn("--pid without --mount-proc: /proc is still the host's, so ps and top show the host's processes and pids; add --mount-proc");
}

static int parse_propagation(const char *s, unsigned long *ret)
{
	if (streq(s, "private"))
		*ret = MS_REC | MS_PRIVATE;
	else if (streq(s, "shared"))
		*ret = MS_REC | MS_SHARED;
	else if (streq(s, "slave"))
		*ret = MS_REC | MS_SLAVE;
	else if (streq(s, "unchanged"))
		*ret = 0;
	else
		return -EINVAL;
	return 0;
}

static int parse_unshare(int argc, char **argv, struct unshare_opts *o, int *ret_optind,
			 cell_error **err)
{
	enum { OPT_MOUNTPROC = 256, OPT_PROPAGATION, OPT_KILLCHILD, OPT_MAPUSER, OPT_MAPGROUP, OPT_SETGROUPS,
	       OPT_MONOTONIC, OPT_BOOTTIME };
	static const struct option opts[] = {
		{ "user", optional_argument, NULL, 'U' },
		{ "uts", optional_argument, NULL, 'u' },
		{ "net", optional_argument, NULL, 'n' },
		{ "ipc", optional_argument, NULL, 'i' },
		{ "pid", optional_argument, NULL, 'p' },
		{ "cgroup", optional_argument, NULL, 'C' },
		{ "mount", optional_argument, NULL, 'm' },
		{ "time", optional_argument, NULL, 'T' },
		{ "fork", no_argument, NULL, 'f' },
		{ "mount-proc", optional_argument, NULL, OPT_MOUNTPROC },
		{ "map-root-user", no_argument, NULL, 'r' },
		{ "map-current-user", no_argument, NULL, 'c' },
		{ "map-user", required_argument, NULL, OPT_MAPUSER },
		{ "map-group", required_argument, NULL, OPT_MAPGROUP },
		{ "setgroups", required_argument, NULL, OPT_SETGROUPS },
		{ "monotonic", required_argument, NULL, OPT_MONOTONIC },
		{ "boottime", required_argument, NULL, OPT_BOOTTIME },
		{ "root", required_argument, NULL, 'R' },
		{ "wd", required_argument, NULL, 'w' },
		{ "propagation", required_argument, NULL, OPT_PROPAGATION },
		{ "quiet", no_argument, NULL, 'q' },
		{ "kill-child", optional_argument, NULL, OPT_KILLCHILD },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	o->propagation = MS_REC | MS_PRIVATE;
	o->map_uid = o->map_gid = -1;
	while ((c = getopt_long(argc, argv, "+UunipCmTfrcR:w:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'U': ns_opt(o, CELL_NS_USER, optarg); break;
		case 'u': ns_opt(o, CELL_NS_UTS, optarg); break;
		case 'n': ns_opt(o, CELL_NS_NET, optarg); break;
		case 'i': ns_opt(o, CELL_NS_IPC, optarg); break;
		case 'p': ns_opt(o, CELL_NS_PID, optarg); break;
		case 'C': ns_opt(o, CELL_NS_CGROUP, optarg); break;
		case 'm': ns_opt(o, CELL_NS_MNT, optarg); break;
		case 'T': ns_opt(o, CELL_NS_TIME, optarg); break;
		case 'f': o->fork = true; break;
		case OPT_MOUNTPROC: o->procmnt = optarg ? optarg : "/proc"; break;
		case 'r':
			o->map_uid = o->map_gid = 0;
			o->flags |= CLONE_NEWUSER;
			break;
		case 'c':
			o->map_uid = geteuid();
			o->map_gid = getegid();
			o->flags |= CLONE_NEWUSER;
			break;
		case OPT_MAPUSER:
		case OPT_MAPGROUP: {
			bool grp = c == OPT_MAPGROUP;
			long long id = parse_id(optarg, grp);
			if (id < 0)
				return cell_error_set(err, "unshare: --map-%s `%s`: no such %s", grp ? "group" : "user",
						      optarg, grp ? "group" : "user");
			*(grp ? &o->map_gid : &o->map_uid) = id;
			o->flags |= CLONE_NEWUSER;
			break;
		}
		case OPT_MONOTONIC:
		case OPT_BOOTTIME: {
			int64_t v;
			if (parse_int64(optarg, &v) < 0)
				return cell_error_set(err, "unshare: --%s `%s`: expected seconds",
						      c == OPT_MONOTONIC ? "monotonic" : "boottime", optarg);
			*(c == OPT_MONOTONIC ? &o->monotonic : &o->boottime) = optarg;
			o->flags |= cell_ns_type_flag(CELL_NS_TIME);
			break;
		}
		case OPT_SETGROUPS:
			if (!streq(optarg, "allow") && !streq(optarg, "deny"))
				return cell_error_set(err, "unshare: --setgroups `%s`: expected allow or deny", optarg);
			o->setgroups = optarg;
			break;
		case 'R': o->root = optarg; break;
		case 'w': o->wd = optarg; break;
		case OPT_PROPAGATION:
			if (parse_propagation(optarg, &o->propagation) < 0)
				return cell_error_set(err, "unshare: --propagation `%s`: expected private, shared, slave or unchanged", optarg);
			break;
		case 'q': o->quiet = true; break;
		case OPT_KILLCHILD:
			o->kill_child = optarg ? signal_parse(optarg) : SIGKILL;
			if (o->kill_child <= 0)
				return cell_error_set(err, "unshare: --kill-child=`%s`: unknown signal", optarg);
			o->fork = true;
			break;
		case 'h': printf("%s", unshare_usage); return 1;
		default: return cell_error_set(err, "unshare: bad usage (see `cell unshare --help`)");
		}
	}
	*ret_optind = optind;
	return 0;
}

/* --TYPE=FILE. The bind mount must be made in the mount namespace we
 * started in, so by a helper forked before unshare(2): it waits for the
 * word on a pipe, then binds /proc/<us>/ns/TYPE (pid_for_children and
 * time_for_children for the types that apply to children) on each FILE.
 * EOF on the pipe means unshare failed: it binds nothing. */
struct persister {
	pid_t pid;
	int fd;		/* write end */
};

static const char *persist_ns_file(int type)
{
	if (type == CELL_NS_PID)
		return "pid_for_children";
	if (type == CELL_NS_TIME)
		return "time_for_children";
	return cell_ns_type_name(type);
}

static int persister_start(const struct unshare_opts *o, struct persister *p, cell_error **err)
{
	/* the target must exist to be mounted on: create FILE as ip netns does */
	for (int t = 0; t < CELL_NS_NTYPES; t++) {
		if (!o->persist[t])
			continue;
		int fd = open(o->persist[t], O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
		if (fd < 0)
			return cell_error_errno(err, errno, "unshare: create `%s` to bind the new %s namespace on",
						o->persist[t], cell_ns_type_name(t));
		close(fd);
	}
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return cell_error_errno(err, errno, "unshare: pipe");
	pid_t parent = getpid();
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return cell_error_errno(err, errno, "unshare: fork the namespace binder");
	}
	if (p->pid == 0) {
		char c;
		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			_exit(0);
		int rc = 0;
		for (int t = 0; t < CELL_NS_NTYPES; t++) {
			if (!o->persist[t])
				continue;
			char src[64];
			snprintf(src, sizeof(src), "/proc/%d/ns/%s", (int)parent, persist_ns_file(t));
			if (mount(src, o->persist[t], NULL, MS_BIND, NULL) < 0) {
				int e = errno;
				cell_log(CELL_LOG_ERROR, "unshare: bind-mount `%s` on `%s`: %s%s", src, o->persist[t],
					 strerror(e), e == EINVAL && t == CELL_NS_MNT
					 ? " (a mount namespace can only be bound on a file in a private mount: mount --bind DIR DIR; mount --make-private DIR)" : "");
				rc = 1;
			}
		}
		_exit(rc);
	}
	close(pfd[0]);
	p->fd = pfd[1];
	return 0;
}

static void persister_abort(struct persister *p)
{
	if (p->pid <= 0)
		return;
	p->fd = safe_close(p->fd);	/* EOF: bind nothing */
	waitpid(p->pid, NULL, 0);
	p->pid = -1;
}

static int persister_finish(struct persister *p, cell_error **err)
{
	int st = 0;
	ssize_t n = write(p->fd, "1", 1);
	p->fd = safe_close(p->fd);
	while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
		;
	p->pid = -1;
	if (n != 1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return cell_error_set(err, "unshare: could not bind the new namespaces on their files (see above)");
	return 0;
}


/* Everything after the fork, in the process that will exec CMD. */
static int setup_and_exec(const struct unshare_opts *o, char **cmd, cell_error **err)
{
	if ((o->flags & CLONE_NEWNS) && o->propagation &&
	    mount("none", "/", NULL, o->propagation, NULL) < 0)
		return cell_error_errno(err, errno, "unshare: make `/` %s in the new mount namespace",
					(o->propagation & MS_SHARED) ? "shared" :
					(o->propagation & MS_SLAVE) ? "slave" : "private");
	const char *wd = o->wd;
	if (o->root) {
		if (chroot(o->root) < 0)
			return cell_error_errno(err, errno, "unshare: chroot to `%s`", o->root);
		if (!wd)
			wd = "/";
	}
	if (wd && chdir(wd) < 0)
		return cell_error_errno(err, errno, "unshare: chdir to `%s`", wd);
	if (o->procmnt) {
		/* with --propagation shared or unchanged, a proc mounted on a
		 * shared /proc would propagate back to the host's: make it
		 * private first (EINVAL: DIR is not a mount point, nothing to do) */
		if (!o->root && o->propagation != (MS_REC | MS_PRIVATE) &&
		    mount("none", o->procmnt, NULL, MS_REC | MS_PRIVATE, NULL) < 0 && errno != EINVAL)
			return cell_error_errno(err, errno, "unshare: make `%s` private", o->procmnt);
		if (mount("proc", o->procmnt, "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0)
			return cell_error_errno(err, errno, "unshare: mount proc on `%s`%s", o->procmnt,
						errno == ENOENT ? " (missing directory in the new root?)" : "");
	}

	char *shell_argv[] = { NULL, NULL };
	if (!cmd || !cmd[0]) {
		const char *sh = getenv("SHELL");
		shell_argv[0] = (char *)(sh && *sh && access(sh, X_OK) == 0 ? sh : "/bin/sh");
		cmd = shell_argv;
	}
	execvp(cmd[0], cmd);
	int e = errno;
	cell_error_errno(err, e, "unshare: exec `%s`%s", cmd[0],
			 e == ENOENT && o->root ? " (looked up inside --root)" : "");
	return e == ENOENT ? 127 : 126;
}

static int do_unshare(int argc, char **argv, cell_error **err)
{
	struct unshare_opts o = { 0 };
	int first = 0;
	int r = parse_unshare(argc, argv, &o, &first, err);
	if (r != 0)
		return r < 0 ? EXIT_CELL : 0;
	char **cmd = first < argc ? argv + first : NULL;

	warn_traps(&o);
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct persister pers = { .pid = -1, .fd = -1 };
	if (o.any_persist && persister_start(&o, &pers, err) < 0)
		return -1;
	if (o.flags && unshare(o.flags) < 0) {
		int e = errno;
		persister_abort(&pers);
		return cell_error_errno(err, e, "unshare: unshare(2)%s", unshare_hint(e, o.flags));
	}
	if ((o.map_uid >= 0 || o.map_gid >= 0 || o.setgroups) && write_maps(&o, uid, gid, err) < 0) {
		persister_abort(&pers);
		return cell_error_wrap(err, "unshare: id maps of the new user namespace");
	}
	/* offsets can be set only before any process enters the namespace */
	if ((o.monotonic || o.boottime) && time_offsets(&o, err) < 0) {
		persister_abort(&pers);
		return -1;
	}
	if (o.any_persist && persister_finish(&pers, err) < 0)
		return -1;

	if (o.fork) {
		fflush(NULL);
		pid_t child = fork();
		if (child < 0)
			return cell_error_errno(err, errno, "unshare: fork%s",
						errno == ENOMEM ? " (the pid namespace has no init left)" : "");
		if (child > 0)
			return cli_wait_child(child, SIGINT, SIGTERM);
		if (o.kill_child && prctl(PR_SET_PDEATHSIG, o.kill_child) < 0)
			return cell_error_errno(err, errno, "unshare: --kill-child");
	}
	r = setup_and_exec(&o, cmd, err);
	if (o.fork) {
		/* in the child: print here, main would return into our parent's flow */
		cell_log_error(err);
		_exit(r > 0 ? r : EXIT_CELL);
	}
	return r ? r : EXIT_CELL;
}

int cmd_unshare(int argc, char **argv, cell_error **err)
{
	/* errors come back negative; the exit status is then cell's own */
	int r = do_unshare(argc, argv, err);
	return r < 0 ? EXIT_CELL : r;
}
