/* The lifecycle seen from the runtime: create, start, run, kill, delete.
 * The container's own side is init.c; the conversation between the two is
 * drawn in sync.h. */
#define _GNU_SOURCE
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "hooks.h"
#include "init.h"
#include "json.h"
#include "linux/idmap.h"
#include "linux/mounts.h"
#include "linux/seccomp.h"
#include "net/net.h"
#include "log.h"
#include "state.h"
#include "sync.h"
#include "tty.h"
#include "util.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const char *root_of(const char *root)
{
	return root && *root ? root : CELL_RUNTIME_ROOT;
}

/* Everything a create holds until it succeeds; undo() removes it all. */
struct creation {
	struct cell_spec *spec;
	struct cell_state *st;
	struct cell_cgroup *cg;
	struct cell_seccomp *seccomp;
	int ns_fds[CELL_NS_COUNT];
	int console;		/* connected --console-socket */
	int pty_master;		/* run -t without a console socket: relayed by us */
	int exec_sock;		/* listening exec.sock, parked on by the init until start */
	int sock;		/* our end of the sync socketpair */
	pid_t pid;
	int pidfd;
	int *idmap_trees;	/* per mount, detached id-mapped trees (idmap.h) */
	bool cloned_into_cgroup; /* clone3 put the init in the cgroup2 part already */
	struct cell_cgroup_self cg_self;	/* v1 `tasks` the init writes "0" to itself */
};

static void creation_init(struct creation *c)
{
	memset(c, 0, sizeof(*c));
	for (int t = 0; t < CELL_NS_COUNT; t++)
		c->ns_fds[t] = -1;
	c->console = c->exec_sock = c->sock = c->pidfd = c->pty_master = -1;
}

static void creation_release(struct creation *c)
{
	cell_cgroup_self_close(&c->cg_self);
	for (int t = 0; t < CELL_NS_COUNT; t++)
		c->ns_fds[t] = safe_close(c->ns_fds[t]);
	c->console = safe_close(c->console);
	c->pty_master = safe_close(c->pty_master);
	c->exec_sock = safe_close(c->exec_sock);
	c->sock = safe_close(c->sock);
	c->pidfd = safe_close(c->pidfd);
	for (size_t i = 0; c->idmap_trees && c->spec && i < c->spec->n_mounts; i++)
		safe_close(c->idmap_trees[i]);
	free(c->idmap_trees);
	c->idmap_trees = NULL;
	if (c->seccomp)
		cell_seccomp_free(c->seccomp);
	c->seccomp = NULL;
	cell_cgroup_free(c->cg);
	c->cg = NULL;
	cell_state_free(c->st);
	c->st = NULL;
	cell_spec_free(c->spec);
	c->spec = NULL;
}

/* Remove whatever the failed create made: the init, the cgroup, the state. */
static void creation_undo(struct creation *c)
{
	cell_error *e = NULL;
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
	if (c->cg && cell_cgroup_destroy(c->cg, &e) < 0)
		cell_log_error(&e);
	if (c->st && cell_state_remove(c->st, &e) < 0)
		cell_log_error(&e);
	creation_release(c);
}

static int open_namespaces(struct creation *c, cell_error **err)
{
	for (int t = 0; t < CELL_NS_COUNT; t++) {
		const char *path = c->spec->ns[t].path;
		if (!path)
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return cell_error_errno(err, errno, "`linux.namespaces`: open %s namespace `%s`",
						cell_ns_name(t), path);
		c->ns_fds[t] = fd;
		int type = ioctl(fd, NS_GET_NSTYPE);
		if (type >= 0 && type != cell_ns_clone_flag(t))
			return cell_error_set(err, "`linux.namespaces`: `%s` is not a %s namespace", path,
					      cell_ns_name(t));
		if (type < 0 && errno == ENOTTY)
			return cell_error_set(err, "`linux.namespaces`: `%s` is not a namespace file", path);
	}
	return 0;
}

static int setup_userns(struct creation *c, cell_error **err)
{
	const struct cell_spec *s = c->spec;
	if (geteuid() != 0) {
		/* an unprivileged writer must deny setgroups first (CVE-2014-8989) */
		_cleanup_free_ char *p = xasprintf("/proc/%d/setgroups", (int)c->pid);
		if (write_file(p, "deny", err) < 0)
			return -1;
	}
	if (cell_idmap_write(c->pid, "uid_map", s->uid_maps, s->n_uid_maps, err) < 0)
		return cell_error_wrap(err, "`linux.uidMappings`");
	if (cell_idmap_write(c->pid, "gid_map", s->gid_maps, s->n_gid_maps, err) < 0)
		return cell_error_wrap(err, "`linux.gidMappings`");
	return 0;
}

/* Namespaces that must be entered before the init is cloned: a pid
 * namespace joined by path, and a new time namespace (its offsets must be
 * written before any process is in it). Both affect only our children. */
static int prepare_parent_namespaces(struct creation *c, cell_error **err)
{
	const struct cell_spec *s = c->spec;
	if (c->ns_fds[CELL_NS_PID] >= 0) {
		if (setns(c->ns_fds[CELL_NS_PID], CLONE_NEWPID) < 0)
			return cell_error_errno(err, errno, "join pid namespace `%s`", s->ns[CELL_NS_PID].path);
		c->ns_fds[CELL_NS_PID] = safe_close(c->ns_fds[CELL_NS_PID]);
	}
	if (c->ns_fds[CELL_NS_TIME] >= 0) {
		if (setns(c->ns_fds[CELL_NS_TIME], CLONE_NEWTIME) < 0)
			return cell_error_errno(err, errno, "join time namespace `%s`", s->ns[CELL_NS_TIME].path);
		c->ns_fds[CELL_NS_TIME] = safe_close(c->ns_fds[CELL_NS_TIME]);
	} else if (s->ns[CELL_NS_TIME].enabled) {
		if (unshare(CLONE_NEWTIME) < 0)
			return cell_error_errno(err, errno, "create a time namespace (kernel 5.6 or later needed)");
		if (s->has_time_offsets) {
			char buf[128];
			snprintf(buf, sizeof(buf), "monotonic %lld %lld\nboottime %lld %lld\n",
				 (long long)s->time_offsets[0][0], (long long)s->time_offsets[0][1],
				 (long long)s->time_offsets[1][0], (long long)s->time_offsets[1][1]);
			if (write_file("/proc/self/timens_offsets", buf, err) < 0)
				return cell_error_wrap(err, "`linux.timeOffsets`");
		}
	}
	return 0;
}

/* linux.netDevices: host interfaces moved into the container's network
 * namespace (LXC's "phys"), renamed there when asked. */
static int move_net_devices(struct creation *c, cell_error **err)
{
	json_object *nd = c->spec->net_devices;
	struct cell_nl *nl = NULL;
	int r = 0;

	if (!nd || json_object_object_length(nd) == 0)
		return 0;
	if (cell_nl_open(-1, &nl, err) < 0)
		return cell_error_wrap(err, "`linux.netDevices`");
	json_object_object_foreach(nd, name, dev) {
		const char *newname = NULL;
		char ctx[64];
		snprintf(ctx, sizeof(ctx), "linux.netDevices.%s", name);
		if (cj_string(dev, "name", ctx, &newname, err) < 0 ||
		    cell_link_move(nl, name, -1, c->pid, newname && *newname ? newname : NULL, err) < 0) {
			r = cell_error_wrap(err, "`%s`", ctx);
			break;
		}
	}
	cell_nl_free(nl);
	return r;
}

/* Give the moved interfaces back to the host under their own names before
 * the network namespace dies (a physical one would come back under the
 * container's name, a virtual one would be destroyed). */
static void return_net_devices(struct cell_state *st, json_object *nd)
{
	cell_error *e = NULL;
	struct cell_nl *nl = NULL;
	_cleanup_free_ char *nspath = xasprintf("/proc/%d/ns/net", (int)st->pid);
	_cleanup_close_ int nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int hostfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (!nd || nsfd < 0 || hostfd < 0 || cell_nl_open(nsfd, &nl, &e) < 0) {
		cell_error_free(&e);
		return;
	}
	json_object_object_foreach(nd, name, dev) {
		const char *newname = NULL;
		cj_string(dev, "name", NULL, &newname, &e);
		if (cell_link_move(nl, newname && *newname ? newname : name, hostfd, 0, name, &e) < 0) {
			cell_log(CELL_LOG_WARN, "linux.netDevices: give `%s` back to the host: %s", name, e->msg);
			cell_error_free(&e);
		}
		cell_error_free(&e);
	}
	cell_nl_free(nl);
}

static uint64_t clone_flags(const struct cell_spec *s)
{
	uint64_t f = 0;
	/* time: entered by us before the clone; cgroup: unshared by the init
	 * once it is in its cgroup, so that the namespace is rooted there */
	for (int t = 0; t < CELL_NS_COUNT; t++)
		if (t != CELL_NS_TIME && t != CELL_NS_CGROUP && s->ns[t].enabled && !s->ns[t].path)
			f |= (uint64_t)cell_ns_clone_flag(t);
	return f;
}

/* A user namespace joined by path owns new namespaces only if they are
 * made from inside it, but joining it would cost us our capabilities on the
 * host (cgroups, netlink, state). So a short-lived child joins it and clones
 * the init with CLONE_PARENT: the init is still our child, and its new
 * namespaces are owned by the joined user namespace (runc's nsexec stages
 * do the same). The cgroup is joined afterwards: inside that user
 * namespace the child may not write to the host's cgroup.procs. */
static pid_t clone_init_in_userns(struct creation *c, cell_error **err)
{
	struct {
		pid_t pid;
		int err;
		bool joined;
	} r = { 0 };
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return cell_error_errno(err, errno, "create a pipe to clone the init in a joined user namespace");
	fflush(stdout);
	fflush(stderr);
	pid_t mid = fork();
	if (mid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return cell_error_errno(err, e, "fork to join user namespace `%s`", c->spec->ns[CELL_NS_USER].path);
	}
	if (mid == 0) {
		close(p[0]);
		if (setns(c->ns_fds[CELL_NS_USER], CLONE_NEWUSER) < 0) {
			r.err = errno;
		} else {
			r.joined = true;
			/* the init must not try to join it again */
			c->ns_fds[CELL_NS_USER] = safe_close(c->ns_fds[CELL_NS_USER]);
			struct clone_args args = { .flags = clone_flags(c->spec) | CLONE_PARENT };
			r.pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
			if (r.pid == 0) {
				close(p[1]);
				return 0;	/* the init */
			}
			if (r.pid < 0)
				r.err = errno;
		}
		ssize_t n = write(p[1], &r, sizeof(r));
		_exit(n == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	ssize_t n;
	do
		n = read(p[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r))
		return cell_error_set(err, "the child that joins user namespace `%s` died",
				      c->spec->ns[CELL_NS_USER].path);
	if (!r.joined)
		return cell_error_errno(err, r.err, "join user namespace `%s`", c->spec->ns[CELL_NS_USER].path);
	if (r.pid < 0)
		return cell_error_errno(err, r.err, "clone the container init into new namespaces inside user "
					"namespace `%s`", c->spec->ns[CELL_NS_USER].path);
	c->pidfd = (int)syscall(SYS_pidfd_open, r.pid, 0);
	c->cloned_into_cgroup = false;
	return r.pid;
}

static pid_t clone_init(struct creation *c, cell_error **err)
{
	if (c->ns_fds[CELL_NS_USER] >= 0 && clone_flags(c->spec) != 0)
		return clone_init_in_userns(c, err);
	struct clone_args args = {
		.flags = clone_flags(c->spec) | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&c->pidfd,
		.exit_signal = SIGCHLD,
	};
	int cgfd = c->cg ? cell_cgroup_clone_fd(c->cg) : -1;
	if (cgfd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgfd;
	}
	/* stdio must reach the container intact; flush ours before the copy */
	fflush(stdout);
	fflush(stderr);
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0 && errno == ENOSYS) {
		/* kernels before 5.3: plain clone, no pidfd, cgroup joined later */
		pid = (pid_t)syscall(SYS_clone, (unsigned long)(clone_flags(c->spec) | SIGCHLD), NULL, NULL, NULL, NULL);
		cgfd = -1;
	}
	if (pid < 0) {
		int e = errno;
		if (e == EPERM)
			return cell_error_errno(err, e, "clone the container init into new namespaces "
						"(user namespaces disabled by sysctl, or not root?)");
		if (e == ENOSPC || e == EUSERS)
			return cell_error_errno(err, e, "clone the container init: namespace limit reached "
						"(see /proc/sys/user/max_*_namespaces)");
		return cell_error_errno(err, e, "clone the container init");
	}
	c->cloned_into_cgroup = cgfd >= 0;
	return pid;
}

static json_object *hook_state(struct creation *c, const char *status)
{
	json_object *o = cell_state_to_oci(c->st);
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "pid", json_object_new_int(c->pid));
	return o;
}

static int converse(struct creation *c, cell_error **err)
{
	const struct cell_spec *s = c->spec;
	int fd = -1;
	_cleanup_free_ char *name = NULL;

	int r = 0;
	if (!cell_runtime_hooks_wanted(s))
		goto after_hooks;
	if (sync_expect(c->sock, SYNC_HOOKS, "namespace and mount setup", NULL, NULL, err) < 0)
		return -1;
	json_object *hs = hook_state(c, "creating");
	const char *text = cj_to_string(hs, false);
	r = cell_hooks_run(s, CELL_HOOK_PRESTART, text, err);
	if (r == 0)
		r = cell_hooks_run(s, CELL_HOOK_CREATE_RUNTIME, text, err);
	if (r == 0 && sync_send(c->sock, SYNC_HOOKS_DONE, 0, text, -1) < 0)
		r = cell_error_errno(err, errno, "resume the container init after the hooks");
	json_object_put(hs);
	if (r < 0)
		return -1;
after_hooks:
	if (s->process.terminal) {
		if (sync_expect(c->sock, SYNC_PTY, "terminal setup", &fd, &name, err) < 0)
			return -1;
		if (c->console >= 0) {
			r = cell_console_send(c->console, fd, name, err);
			safe_close(fd);
		} else {
			c->pty_master = fd;	/* foreground run: we relay it */
			r = 0;
		}
		if (r < 0 || sync_send(c->sock, SYNC_FD_DONE, 0, NULL, -1) < 0)
			return r < 0 ? r : cell_error_errno(err, errno, "resume the container init");
	}
	if (c->seccomp && cell_seccomp_needs_notify(c->seccomp)) {
		if (sync_expect(c->sock, SYNC_SECCOMP, "seccomp setup", &fd, NULL, err) < 0)
			return -1;
		json_object *st = hook_state(c, "creating");
		r = cell_seccomp_send_notify(c->seccomp, fd, cj_to_string(st, false), err);
		json_object_put(st);
		safe_close(fd);
		if (r < 0 || sync_send(c->sock, SYNC_FD_DONE, 0, NULL, -1) < 0)
			return r < 0 ? r : cell_error_errno(err, errno, "resume the container init");
	}
	return sync_expect(c->sock, SYNC_READY, "final setup", NULL, NULL, err);
}

/* The init parks in accept() on exec.sock, a socket the runtime bound and
 * listens on before the clone, so the init needs neither /proc nor any
 * right on the state directory (it may be another user by then, and is
 * non-dumpable). `start` connects; the init answers one byte and execs. */
static int exec_socket_addr(const struct cell_state *st, int dirfd, struct sockaddr_un *sa)
{
	(void)st;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* through the dir fd: ids may be too long for sun_path */
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/exec.sock", dirfd);
	return 0;
}

static int exec_socket_listen(const struct cell_state *st, cell_error **err)
{
	struct sockaddr_un sa;
	_cleanup_close_ int dfd = open(st->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (dfd < 0 || fd < 0) {
		safe_close(fd);
		return cell_error_errno(err, errno, "create the exec socket in `%s`", st->dir);
	}
	exec_socket_addr(st, dfd, &sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int e = errno;
		close(fd);
		return cell_error_errno(err, e, "listen on `%s/exec.sock`", st->dir);
	}
	return fd;
}

static int copy_config(struct creation *c, cell_error **err)
{
	const char *text = cj_to_string(c->spec->json, false);
	_cleanup_free_ char *path = cell_state_path(c->st, "config.json");
	return write_file_atomic(path, text, strlen(text), 0600, err);
}

/* The runtime's share of the setup, done while the init mounts. */
static int join_cgroup_and_devices(struct creation *c, cell_error **err)
{
	const struct cell_spec *s = c->spec;
	/* the v1 hierarchies the init joins itself (cell_cgroup_self_fds) */
	if (c->cg && c->cg_self.n > 0) {
		if (!c->cloned_into_cgroup && cell_cgroup_enter_v2(c->cg, c->pid, err) < 0)
			return -1;
	} else if (c->cg && (c->cloned_into_cgroup ? cell_cgroup_enter_cloned(c->cg, c->pid, err)
						   : cell_cgroup_enter(c->cg, c->pid, err)) < 0) {
		return -1;
	}
	if (move_net_devices(c, err) < 0)
		return -1;
	if (s->process.has_oom_score_adj) {
		_cleanup_free_ char *p = xasprintf("/proc/%d/oom_score_adj", (int)c->pid);
		char v[16];
		snprintf(v, sizeof(v), "%d", s->process.oom_score_adj);
		if (write_file(p, v, err) < 0)
			return cell_error_wrap(err, "`process.oomScoreAdj`");
	}
	return 0;
}

/* Our step failed, maybe because the init died meanwhile: its own error,
 * when it sent one, is the real cause. */
static int init_error_first(struct creation *c, cell_error **err)
{
	struct pollfd p = { .fd = c->sock, .events = POLLIN };
	cell_error *e = NULL;
	if (poll(&p, 1, 0) == 1 && sync_expect(c->sock, SYNC_READY, "setup", NULL, NULL, &e) < 0 &&
	    e && !strstr(e->msg, "exited during")) {
		cell_error_free(err);
		*err = e;
		return -1;
	}
	cell_error_free(&e);
	return -1;
}


/* With a user namespace, the init mounts as the namespace's root, which may
 * not reach a bind source the host's root can (a 0700 dir): clone each
 * source's tree here, before any switch, and let the init attach the
 * detached tree (runc opens its mount sources before joining the user
 * namespace too). */
static int clone_bind_sources(const struct cell_spec *s, int **trees, cell_error **err)
{
	/* A rootless runtime (runc's `spec --rootless` bundles run by their
	 * user) may not clone trees in the host's mount namespace, and needs
	 * not: the init, root of a namespace the same user made, reaches what
	 * that user reaches. */
	if (!s->ns[CELL_NS_USER].enabled || geteuid() != 0)
		return 0;
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct cell_mount *m = &s->mounts[i];
		if (!m->bind || m->idmap || !m->source)
			continue;
		if (!*trees) {
			*trees = xcalloc(s->n_mounts, sizeof(int));
			for (size_t j = 0; j < s->n_mounts; j++)
				(*trees)[j] = -1;
		}
		int t = (int)syscall(SYS_open_tree, AT_FDCWD, m->source,
				     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m->recursive ? AT_RECURSIVE : 0));
		if (t < 0)
			return cell_error_errno(err, errno, "`mounts[%zu]`: bind source `%s`", i, m->source);
		(*trees)[i] = t;
	}
	return 0;
}

static int do_create(const char *id, const struct cell_rt_opts *o, bool for_run, struct creation *c,
		     cell_error **err)
{
	const char *root = root_of(o->root);
	int sp[2];

	if (cell_state_check_id(id, err) < 0)
		return -1;
	if (cell_spec_load(o->bundle ? o->bundle : ".", &c->spec, err) < 0)
		return -1;
	const struct cell_spec *s = c->spec;
	if (!s->has_process)
		return cell_error_set(err, "`process`: required to create a container");
	/* Docker's and podman's profiles take libseccomp 12-17 ms to compile:
	 * the BPF is cached under the root (a dot name: not a container),
	 * keyed by the profile's hash; removing it any time is harmless */
	_cleanup_free_ char *cache = xasprintf("%s/.seccomp-cache", root);
	if (s->seccomp && cell_seccomp_compile_cached(s->seccomp, cache, &c->seccomp, err) < 0)
		return cell_error_wrap(err, "linux.seccomp");
	if (open_namespaces(c, err) < 0 || cell_idmap_prepare(s, &c->idmap_trees, err) < 0 ||
	    clone_bind_sources(s, &c->idmap_trees, err) < 0)
		return -1;
	if (s->process.terminal) {
		if (!o->console_socket && (!for_run || o->detach))
			return cell_error_set(err, "`process.terminal` is true: --console-socket is required");
		if (o->console_socket && (c->console = cell_console_connect(o->console_socket, err)) < 0)
			return -1;
	}
	if (cell_state_new(root, id, &c->st, err) < 0)
		return -1;
	c->st->bundle = xstrdup(s->bundle);
	c->st->rootfs = xstrdup(s->root_path);
	c->st->annotations = s->annotations ? json_object_get(s->annotations) : NULL;
	c->st->systemd_cgroup = o->systemd_cgroup;
	/* a node of linux.devices gets no allow rule of its own: access is
	 * what linux.resources.devices says plus the default set (runc) */
	if (cell_cgroup_create(id, s->cgroups_path, s->resources, o->systemd_cgroup, &c->cg, err) < 0)
		return -1;
	/* runc's org.systemd.property.* (--systemd-cgroup only) */
	if (cell_cgroup_set_annotations(c->cg, s->annotations, err) < 0)
		return -1;
	for (char **n = cell_cgroup_notes(c->cg); n && *n; n++)
		cell_warn("linux.resources: %s", *n);
	/* rootless without a writable hierarchy: no cgroup at all, as runc
	 * (kill --all signals the init, ps lists its pid namespace) */
	if (cell_cgroup_is_none(c->cg)) {
		cell_cgroup_free(c->cg);
		c->cg = NULL;
	} else {
		c->st->cgroup = cell_cgroup_to_json(c->cg);
	}
	if (c->cg && cell_cgroup_self_fds(c->cg, &c->cg_self, err) < 0)
		return -1;
	c->exec_sock = exec_socket_listen(c->st, err);
	if (c->exec_sock < 0)
		return -1;
	if (copy_config(c, err) < 0 || cell_state_save(c->st, err) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return cell_error_errno(err, errno, "create the sync socketpair");
	c->sock = sp[0];
	if (prepare_parent_namespaces(c, err) < 0) {
		close(sp[1]);
		return -1;
	}
	c->pid = clone_init(c, err);
	if (c->pid == 0) {
		struct cell_init_ctx ic = {
			.spec = s, .sync = sp[1], .exec_sock = c->exec_sock, .seccomp = c->seccomp,
			.new_userns = s->ns[CELL_NS_USER].enabled && !s->ns[CELL_NS_USER].path,
			.no_pivot = o->no_pivot, .no_new_keyring = o->no_new_keyring,
			.preserve_fds = o->preserve_fds, .idmap_trees = c->idmap_trees,
			.cg_self = &c->cg_self,
		};
		/* the state lock is shared with our copy of its open file: a
		 * parked init holding it would block every later command */
		close(sp[0]);
		safe_close(c->st->lock_fd);
		safe_close(c->console);
		memcpy(ic.ns_fds, c->ns_fds, sizeof(ic.ns_fds));
		cell_init_main(&ic);
	}
	close(sp[1]);
	/* the init has its copies of the `tasks` files; ours are done with */
	struct cell_cgroup_self mine = c->cg_self;
	cell_cgroup_self_close(&mine);
	for (size_t i = 0; i < c->cg_self.n; i++)
		c->cg_self.fds[i] = -1;
	if (c->pid < 0) {
		c->pid = 0;
		return -1;
	}
	c->st->pid = c->pid;
	c->st->start_time = proc_start_time(c->pid);
	if (s->ns[CELL_NS_USER].enabled && !s->ns[CELL_NS_USER].path && setup_userns(c, err) < 0)
		return -1;
	/* the state for the init's own hooks travels with GO */
	json_object *gs = hook_state(c, "creating");
	int g = sync_send(c->sock, SYNC_GO, 0, cj_to_string(gs, false), -1);
	json_object_put(gs);
	if (g < 0)
		return cell_error_errno(err, -g, "start the container init");
	/* While the init sets its mounts up, join it to its cgroup: on v1 a
	 * migration waits for an RCU grace period (~15 ms), time the init
	 * does not have to spend idle. */
	if (join_cgroup_and_devices(c, err) < 0)
		return init_error_first(c, err);
	/* if the init already failed, converse() reads why */
	sync_send(c->sock, SYNC_JOINED, 0, NULL, -1);
	if (converse(c, err) < 0) {
		/* an init that died says more through its exit status */
		int status;
		if (!*err && waitpid(c->pid, &status, WNOHANG) == c->pid)
			return cell_error_set(err, "container init died during setup (status %d)", status);
		return cell_error_wrap(err, "container `%s`", id);
	}
	c->st->creator = 0;
	if (cell_state_save(c->st, err) < 0)
		return -1;
	if (o->pid_file) {
		char v[16];
		snprintf(v, sizeof(v), "%d", (int)c->pid);
		if (write_file_atomic(o->pid_file, v, strlen(v), 0644, err) < 0)
			return cell_error_wrap(err, "--pid-file");
	}
	return 0;
}

int cell_rt_create(const char *id, const struct cell_rt_opts *o, cell_error **err)
{
	struct creation c;
	creation_init(&c);
	if (do_create(id, o, false, &c, err) < 0) {
		creation_undo(&c);
		return -1;
	}
	/* the init outlives us: it is reparented to our subreaper or to pid 1 */
	c.pid = 0;
	creation_release(&c);
	return 0;
}

static void run_warn_hooks(struct cell_state *st, enum cell_hook_kind kind, const char *status)
{
	struct cell_spec *s = NULL;
	cell_error *e = NULL;
	if (cell_state_load_spec(st, &s, &e) < 0) {
		cell_log_error(&e);
		return;
	}
	if (s->n_hooks[kind]) {
		json_object *o = cell_state_to_oci(st);
		json_object_object_add(o, "status", json_object_new_string(status));
		if (cell_hooks_run(s, kind, cj_to_string(o, false), &e) < 0) {
			cell_log(CELL_LOG_WARN, "%s", e->msg);
			cell_error_free(&e);
		}
		json_object_put(o);
	}
	cell_spec_free(s);
}

static int pidfd_of(struct cell_state *st)
{
	int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
	/* the pid may have been reused between the check and the open */
	if (fd >= 0 && !cell_state_init_alive(st))
		fd = safe_close(fd);
	return fd;
}

static int release_init(struct cell_state *st, cell_error **err)
{
	/* the pidfd first: a program that runs and exits at once must not be
	 * mistaken for an init that died before start */
	_cleanup_close_ int pidfd = pidfd_of(st);
	_cleanup_close_ int dfd = open(st->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa;
	char b;

	if (pidfd < 0)
		return cell_error_set(err, "container `%s`: its init exited before start", st->id);
	if (dfd < 0 || fd < 0)
		return cell_error_errno(err, errno, "open the exec socket of `%s`", st->id);
	exec_socket_addr(st, dfd, &sa);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return cell_error_errno(err, errno, "connect to `%s/exec.sock`", st->dir);
	for (;;) {
		ssize_t n = read(fd, &b, 1);
		if (n == 1)
			break;
		if (n == 0)
			return cell_error_set(err, "container `%s`: its init exited before it could start "
					      "(its error went to the container's stderr)", st->id);
		if (errno != EINTR)
			return cell_error_errno(err, errno, "read from `%s/exec.sock`", st->dir);
	}
	_cleanup_free_ char *path = cell_state_path(st, "exec.sock");
	unlink(path);
	return 0;
}

int cell_rt_start(const char *root, const char *id, cell_error **err)
{
	struct cell_state *st = NULL;
	if (cell_state_load(root_of(root), id, true, &st, err) < 0)
		return -1;
	enum cell_status s = cell_state_status(st);
	if (s != CELL_STATUS_CREATED) {
		cell_state_free(st);
		return cell_error_set(err, "container `%s` is %s: only a created container can be started", id,
				      cell_status_name(s));
	}
	int r = release_init(st, err);
	if (r == 0)
		run_warn_hooks(st, CELL_HOOK_POSTSTART, "running");
	cell_state_free(st);
	return r;
}

static pid_t forward_to;
static void forward_signal(int sig)
{
	if (forward_to > 0)
		kill(forward_to, sig);
}

int cell_rt_run(const char *id, const struct cell_rt_opts *o, int *ret_status, cell_error **err)
{
	struct creation c;
	creation_init(&c);
	*ret_status = 0;
	if (do_create(id, o, true, &c, err) < 0 || release_init(c.st, err) < 0) {
		creation_undo(&c);
		return -1;
	}
	run_warn_hooks(c.st, CELL_HOOK_POSTSTART, "running");
	pid_t pid = c.pid;
	_cleanup_free_ char *root = xstrdup(root_of(o->root));
	if (o->detach) {
		c.pid = 0;
		creation_release(&c);
		return 0;
	}
	/* unlock while running so that state, kill and exec work meanwhile */
	c.st->lock_fd = safe_close(c.st->lock_fd);
	forward_to = pid;
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	struct sigaction sa = { .sa_handler = forward_signal, .sa_flags = SA_RESTART };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	int status = 0;
	if (c.pty_master >= 0) {
		status = cell_tty_relay(c.pty_master, pid);
	} else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	forward_to = 0;
	*ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	c.pid = 0;
	creation_release(&c);
	if (!o->keep)
		return cell_rt_delete(root, id, true, err);
	return 0;
}

int cell_rt_kill(const char *root, const char *id, int sig, bool all, cell_error **err)
{
	struct cell_state *st = NULL;
	int r = 0;
	if (cell_state_load(root_of(root), id, false, &st, err) < 0)
		return -1;
	enum cell_status s = cell_state_status(st);
	if (all && st->cgroup) {
		struct cell_cgroup *cg = NULL;
		r = cell_cgroup_from_json(st->cgroup, &cg, err);
		if (r == 0)
			r = cell_cgroup_kill(cg, sig, err);
		cell_cgroup_free(cg);
	} else if (s == CELL_STATUS_STOPPED || s == CELL_STATUS_CREATING) {
		r = cell_error_set(err, "container `%s` is not running", id);
	} else {
		int fd = pidfd_of(st);
		if (fd < 0)
			r = cell_error_set(err, "container `%s` is not running", id);
		else if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
			r = cell_error_errno(err, errno, "send signal %d to container `%s` (pid %d)", sig, id,
					     (int)st->pid);
		safe_close(fd);
	}
	/* a frozen task dies only once thawed (v1 freezer): after SIGKILL a
	 * paused container is thawed, as runc does, so that kill -9 + delete
	 * of a paused container (ctr, podman rm -f) does not wait in vain */
	if (r == 0 && sig == SIGKILL && s == CELL_STATUS_PAUSED && st->cgroup) {
		struct cell_cgroup *cg = NULL;
		r = cell_cgroup_from_json(st->cgroup, &cg, err);
		if (r == 0 && cell_cgroup_freeze(cg, false, err) < 0)
			r = cell_error_wrap(err, "thaw paused container `%s` after SIGKILL", id);
		cell_cgroup_free(cg);
	}
	cell_state_free(st);
	return r;
}

/* Wait (bounded) for the init to be gone after SIGKILL. */
static void wait_gone(struct cell_state *st)
{
	int fd = pidfd_of(st);
	if (fd < 0)
		return;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	poll(&p, 1, 10000);
	close(fd);
}

int cell_rt_delete(const char *root, const char *id, bool force, cell_error **err)
{
	struct cell_state *st = NULL;
	struct cell_cgroup *cg = NULL;
	cell_error *e = NULL;

	if (cell_state_load(root_of(root), id, true, &st, &e) < 0) {
		if (force && cell_error_code(e) == ENOENT) {
			/* containerd relies on delete --force of a missing container succeeding */
			cell_error_free(&e);
			return 0;
		}
		*err = e;
		return -1;
	}
	enum cell_status s = cell_state_status(st);
	if (!force && s != CELL_STATUS_STOPPED && s != CELL_STATUS_CREATED) {
		cell_state_free(st);
		return cell_error_set(err, "container `%s` is %s: stop it first, or use --force", id,
				      cell_status_name(s));
	}
	if (st->cgroup && cell_cgroup_from_json(st->cgroup, &cg, err) < 0) {
		cell_state_free(st);
		return -1;
	}
	if (s != CELL_STATUS_STOPPED) {
		struct cell_spec *spec = NULL;
		if (cell_state_init_alive(st) && cell_state_load_spec(st, &spec, &e) == 0 && spec->net_devices)
			return_net_devices(st, spec->net_devices);
		cell_error_free(&e);
		cell_spec_free(spec);
		if (cg) {
			if (cell_cgroup_kill(cg, SIGKILL, &e) < 0)
				cell_log_error(&e);
		}
		if (cell_state_init_alive(st))
			kill(st->pid, SIGKILL);
		wait_gone(st);
	}
	/* no mount namespace: its mounts were made in ours, below the rootfs */
	{
		struct cell_spec *spec = NULL;
		if (cell_state_load_spec(st, &spec, &e) == 0 && !spec->ns[CELL_NS_MNT].enabled && spec->n_mounts &&
		    cell_rootfs_unmount_below(spec->root_path, &e) < 0)
			cell_log_error(&e);
		cell_error_free(&e);
		cell_spec_free(spec);
	}
	int r = 0;
	if (cg && cell_cgroup_destroy(cg, err) < 0)
		r = cell_error_wrap(err, "delete container `%s`", id);
	cell_cgroup_free(cg);
	if (r == 0) {
		run_warn_hooks(st, CELL_HOOK_POSTSTOP, "stopped");
		r = cell_state_remove(st, err);
	}
	cell_state_free(st);
	return r;
}

int cell_rt_state(const char *root, const char *id, json_object **ret, cell_error **err)
{
	struct cell_state *st = NULL;
	if (cell_state_load(root_of(root), id, false, &st, err) < 0)
		return -1;
	*ret = cell_state_to_oci(st);
	cell_state_free(st);
	return 0;
}

static int with_cgroup(const char *root, const char *id, bool need_running, struct cell_state **ret_st,
		       struct cell_cgroup **ret, cell_error **err)
{
	struct cell_state *st = NULL;
	if (cell_state_load(root_of(root), id, true, &st, err) < 0)
		return -1;
	enum cell_status s = cell_state_status(st);
	if (need_running && s == CELL_STATUS_STOPPED) {
		cell_state_free(st);
		return cell_error_set(err, "container `%s` is not running", id);
	}
	if (!st->cgroup || cell_cgroup_from_json(st->cgroup, ret, err) < 0) {
		cell_state_free(st);
		return *err ? -1 : cell_error_set(err, "container `%s` has no cgroup", id);
	}
	*ret_st = st;
	return 0;
}

int cell_rt_pause(const char *root, const char *id, bool pause, cell_error **err)
{
	struct cell_state *st = NULL;
	struct cell_cgroup *cg = NULL;
	if (with_cgroup(root, id, true, &st, &cg, err) < 0)
		return -1;
	enum cell_status s = cell_state_status(st);
	int r = 0;
	if (pause && s != CELL_STATUS_RUNNING && s != CELL_STATUS_CREATED)
		r = cell_error_set(err, "container `%s` is %s: only a running container can be paused", id,
				   cell_status_name(s));
	else if (!pause && s != CELL_STATUS_PAUSED)
		r = cell_error_set(err, "container `%s` is %s, not paused", id, cell_status_name(s));
	else
		r = cell_cgroup_freeze(cg, pause, err);
	cell_cgroup_free(cg);
	cell_state_free(st);
	return r;
}

/* A container without a cgroup (rootless): the processes of its init's
 * pid namespace, when it has one of its own; else the init alone. */
static int pids_of_pidns(const struct cell_state *st, pid_t **ret, size_t *ret_n, cell_error **err)
{
	char buf[64];
	struct stat ref, sb;
	size_t n = 0, cap = 16;
	snprintf(buf, sizeof(buf), "/proc/%d/ns/pid", (int)st->pid);
	if (!cell_state_init_alive(st) || stat(buf, &ref) < 0)
		return cell_error_set(err, "container `%s` is not running", st->id);
	struct stat self;
	bool own_ns = stat("/proc/self/ns/pid", &self) == 0 && self.st_ino != ref.st_ino;
	pid_t *v = xcalloc(cap, sizeof(*v));
	DIR *d = own_ns ? opendir("/proc") : NULL;
	for (struct dirent *de; d && (de = readdir(d));) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		snprintf(buf, sizeof(buf), "/proc/%ld/ns/pid", pid);
		if (stat(buf, &sb) < 0 || sb.st_ino != ref.st_ino || sb.st_dev != ref.st_dev)
			continue;
		if (n == cap) {
			pid_t *w = xcalloc(cap * 2, sizeof(*w));
			memcpy(w, v, cap * sizeof(*v));
			free(v);
			v = w;
			cap *= 2;
		}
		v[n++] = (pid_t)pid;
	}
	if (d)
		closedir(d);
	if (n == 0)
		v[n++] = st->pid;
	*ret = v;
	*ret_n = n;
	return 0;
}

int cell_rt_pids(const char *root, const char *id, pid_t **ret, size_t *ret_n, cell_error **err)
{
	struct cell_state *st = NULL;
	struct cell_cgroup *cg = NULL;
	if (cell_state_load(root_of(root), id, true, &st, err) < 0)
		return -1;
	if (!st->cgroup) {
		int r = pids_of_pidns(st, ret, ret_n, err);
		cell_state_free(st);
		return r;
	}
	cell_state_free(st);
	st = NULL;
	if (with_cgroup(root, id, false, &st, &cg, err) < 0)
		return -1;
	int r = cell_cgroup_pids(cg, ret, ret_n, err);
	cell_cgroup_free(cg);
	cell_state_free(st);
	return r;
}

int cell_rt_update(const char *root, const char *id, json_object *resources, cell_error **err)
{
	struct cell_state *st = NULL;
	struct cell_cgroup *cg = NULL;
	if (with_cgroup(root, id, true, &st, &cg, err) < 0)
		return -1;
	int r = cell_cgroup_update(cg, resources, err);
	cell_cgroup_free(cg);
	cell_state_free(st);
	return r;
}

int cell_rt_init_pidfd(const char *root, const char *id, cell_error **err)
{
	struct cell_state *st = NULL;
	if (cell_state_load(root_of(root), id, false, &st, err) < 0)
		return -1;
	int fd = pidfd_of(st);
	if (fd < 0)
		cell_error_set(err, "container `%s` is not running", id);
	cell_state_free(st);
	return fd;
}

int cell_rt_oom_count(const char *root, const char *id, uint64_t *ret, cell_error **err)
{
	struct cell_state *st = NULL;
	struct cell_cgroup *cg = NULL;
	*ret = 0;
	/* also once the init is dead: its own OOM kill is the usual one */
	if (with_cgroup(root, id, false, &st, &cg, err) < 0)
		return -1;
	int r = cell_cgroup_oom_count(cg, ret, err);
	cell_cgroup_free(cg);
	cell_state_free(st);
	return r;
}

int cell_rt_stats(const char *root, const char *id, json_object **ret, cell_error **err)
{
	struct cell_state *st = NULL;
	struct cell_cgroup *cg = NULL;
	if (with_cgroup(root, id, true, &st, &cg, err) < 0)
		return -1;
	int r = cell_cgroup_stats(cg, ret, err);
	cell_cgroup_free(cg);
	cell_state_free(st);
	return r;
}
