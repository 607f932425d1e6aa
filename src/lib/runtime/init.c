#define _GNU_SOURCE
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "hooks.h"
#include "linux/mounts.h"
#include "linux/seccomp.h"
#include "process.h"
#include "sync.h"
#include "util.h"

#define KEYCTL_JOIN_SESSION_KEYRING 1

/* Report err to the runtime and die. Before SYNC_READY the runtime is
 * listening; after it the runtime is gone and stderr is all we have, and
 * the status is the container's: 1, as runc's init exits on any failure
 * after start (a failed startContainer hook is no "command not found"). */
__attribute__((noreturn)) static void die(struct cell_init_ctx *c, cell_error **err, bool after_ready)
{
	if (after_ready || sync_send_error(c->sync, *err) < 0)
		fprintf(stderr, "cell-runtime: container init: %s\n", (*err)->msg);
	_exit(1);
}

static int join_namespaces(struct cell_init_ctx *c, cell_error **err)
{
	/* the user namespace first: it owns the others and gives us the
	 * capabilities to join them */
	static const enum cell_ns_type order[] = {
		CELL_NS_USER, CELL_NS_IPC, CELL_NS_UTS, CELL_NS_NET, CELL_NS_CGROUP, CELL_NS_MNT,
	};
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		enum cell_ns_type t = order[i];
		if (c->ns_fds[t] < 0)
			continue;
		if (setns(c->ns_fds[t], cell_ns_clone_flag(t)) < 0)
			return cell_error_errno(err, errno, "join %s namespace `%s`", cell_ns_name(t),
						c->spec->ns[t].path);
		c->ns_fds[t] = safe_close(c->ns_fds[t]);
	}
	return 0;
}

static int set_names(const struct cell_spec *s, cell_error **err)
{
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return cell_error_errno(err, errno, "`hostname`: sethostname(`%s`)", s->hostname);
	if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return cell_error_errno(err, errno, "`domainname`: setdomainname(`%s`)", s->domainname);
	return 0;
}

/* Only namespaced sysctls may be set: anything else would change the host. */
static int check_sysctl(const struct cell_spec *s, const char *key, cell_error **err)
{
	static const char *ipc[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
				     "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced" };
	for (size_t i = 0; i < ARRAY_SIZE(ipc); i++)
		if (streq(key, ipc[i]))
			return s->ns[CELL_NS_IPC].enabled ? 0 :
				cell_error_set(err, "`linux.sysctl.%s`: needs an ipc namespace", key);
	if (strncmp(key, "fs.mqueue.", 10) == 0)
		return s->ns[CELL_NS_IPC].enabled ? 0 :
			cell_error_set(err, "`linux.sysctl.%s`: needs an ipc namespace", key);
	if (strncmp(key, "net.", 4) == 0)
		return s->ns[CELL_NS_NET].enabled ? 0 :
			cell_error_set(err, "`linux.sysctl.%s`: needs a network namespace (it would change the host)", key);
	if (streq(key, "kernel.hostname") || streq(key, "kernel.domainname"))
		return s->ns[CELL_NS_UTS].enabled ? 0 :
			cell_error_set(err, "`linux.sysctl.%s`: needs a uts namespace", key);
	return cell_error_set(err, "`linux.sysctl.%s`: not a namespaced sysctl; setting it would change the host", key);
}

static int apply_sysctl(const struct cell_spec *s, cell_error **err)
{
	if (!s->sysctl)
		return 0;
	json_object_object_foreach(s->sysctl, key, val) {
		if (check_sysctl(s, key, err) < 0)
			return -1;
		_cleanup_free_ char *path = xasprintf("/proc/sys/%s", key);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		if (cell_proc_write(path, json_object_get_string(val), err) < 0)
			return cell_error_wrap(err, "`linux.sysctl.%s`", key);
	}
	return 0;
}

static int setup_terminal(struct cell_init_ctx *c, cell_error **err)
{
	const struct cell_process *p = &c->spec->process;
	_cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return cell_error_errno(err, errno, "process.terminal: open /dev/ptmx in the container "
					"(is /dev/pts mounted with ptmxmode?)");
	if (unlockpt(master) < 0)
		return cell_error_errno(err, errno, "process.terminal: unlockpt");
	char name[64];
	if (ptsname_r(master, name, sizeof(name)) != 0)
		return cell_error_errno(err, errno, "process.terminal: ptsname");
	/* the peer of our master, not whatever `name` resolves to in a /dev
	 * the container may have rigged (CVE-2025-52565) */
	_cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return cell_error_errno(err, errno, "process.terminal: open the pty slave of `%s` (TIOCGPTPEER)", name);
	if (c->spec->ns[CELL_NS_MNT].enabled && cell_console_mount(slave, err) < 0)
		return -1;
	/* the container's user owns its terminal, as with runc (a shell's
	 * `mesg`, `tty` checks and write(1) rely on it) */
	if (fchown(slave, p->uid, (gid_t)-1) < 0)
		return cell_error_errno(err, errno, "process.terminal: give `%s` to uid %u (fchown)", name, p->uid);
	if (p->console_height || p->console_width) {
		struct winsize ws = { .ws_row = (unsigned short)p->console_height,
				      .ws_col = (unsigned short)p->console_width };
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	if (sync_send(c->sync, SYNC_PTY, 0, name, master) < 0)
		return cell_error_errno(err, errno, "send the pty master to the runtime");
	if (sync_expect(c->sync, SYNC_FD_DONE, "console setup", NULL, NULL, err) < 0)
		return -1;
	if (setsid() < 0)
		return cell_error_errno(err, errno, "process.terminal: start a new session (setsid) for the pty");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return cell_error_errno(err, errno, "make `%s` the controlling terminal", name);
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return cell_error_errno(err, errno, "dup the pty onto fd %d", fd);
	return 0;
}

/* Load the filter; a notify filter's fd goes to the runtime, which hands
 * it to the listener. */
static int load_seccomp(struct cell_init_ctx *c, cell_error **err)
{
	int nfd = -1;
	if (cell_seccomp_load(c->seccomp, &nfd, err) < 0)
		return -1;
	if (nfd < 0)
		return 0;
	int r = 0;
	if (sync_send(c->sync, SYNC_SECCOMP, 0, NULL, nfd) < 0)
		r = cell_error_errno(err, errno, "send the seccomp notify fd to the runtime");
	else
		r = sync_expect(c->sync, SYNC_FD_DONE, "seccomp notify setup", NULL, NULL, err);
	safe_close(nfd);
	return r;
}

static bool has_cgroup_mount(const struct cell_spec *s)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (s->mounts[i].type && !s->mounts[i].bind &&
		    (streq(s->mounts[i].type, "cgroup") || streq(s->mounts[i].type, "cgroup2")))
			return true;
	return false;
}

static void reset_signals(void)
{
	sigset_t none;
	for (int s = 1; s < _NSIG; s++)
		signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void cell_init_main(struct cell_init_ctx *c)
{
	const struct cell_spec *s = c->spec;
	const struct cell_process *p = &s->process;
	cell_error *err = NULL;
	_cleanup_free_ char *state_json = NULL, *path = NULL;
	/* a mount namespace joined by path is set up as a new one: as runc,
	 * the rootfs and the spec's mounts are made in it and pivoted to (the
	 * process ran in the joined namespace's own root, mounts ignored) */
	bool mount_ns = s->ns[CELL_NS_MNT].enabled;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_NAME, "cell:[1:INIT]", 0, 0, 0);

	/* The parent writes our id maps before GO. A non-dumpable process's
	 * /proc files belong to root, so a rootless parent could not write
	 * setgroups and uid_map if we went non-dumpable first; nothing of the
	 * container runs before GO, so this is soon enough for: a container
	 * must not reach the runtime binary through /proc/1/exe before
	 * execve (CVE-2019-5736). */
	if (sync_expect(c->sync, SYNC_GO, "start of setup", NULL, &state_json, &err) < 0)
		_exit(1);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* into the v1 hierarchies by ourselves: no RCU wait (cgroup.h) */
	if (c->cg_self && cell_cgroup_join_self(c->cg_self, &err) < 0)
		die(c, &err, false);
	if (join_namespaces(c, &err) < 0)
		die(c, &err, false);
	/* in a user namespace, new or joined, be its root for the setup: files
	 * made by a host uid it does not map would fail with EOVERFLOW */
	if (c->spec->ns[CELL_NS_USER].enabled && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		cell_error_errno(&err, errno, "become root in the %s user namespace (are uid and gid 0 mapped?)",
				 c->new_userns ? "new" : "joined");
		die(c, &err, false);
	}
	if (set_names(s, &err) < 0)
		die(c, &err, false);
	/* a new cgroup namespace is rooted where we are when it is made: wait
	 * for the runtime to move us into our cgroup first (and the cgroup
	 * mounts need it); otherwise set the mounts up meanwhile */
	bool cgns_new = s->ns[CELL_NS_CGROUP].enabled && !s->ns[CELL_NS_CGROUP].path;
	/* a cgroup mount without a cgroup namespace binds our own cgroup
	 * directories, read from /proc/self/cgroup: that too must wait */
	bool join_first = cgns_new || has_cgroup_mount(s);
	if (join_first && sync_expect(c->sync, SYNC_JOINED, "cgroup setup", NULL, NULL, &err) < 0)
		_exit(1);
	if (cgns_new) {
		if (unshare(CLONE_NEWCGROUP) < 0) {
			cell_error_errno(&err, errno, "create the cgroup namespace");
			die(c, &err, false);
		}
	}
	if (mount_ns && (cell_rootfs_prepare(s, &err) < 0 ||
			     cell_rootfs_mount_all(s, s->ns[CELL_NS_USER].enabled, c->idmap_trees, &err) < 0))
		die(c, &err, false);
	/* no mount namespace at all: as runc, the mounts go into the runtime's
	 * own namespace, below the rootfs (delete unmounts them), and the
	 * process is chrooted into root.path */
	bool mount_here = !s->ns[CELL_NS_MNT].enabled;
	if (mount_here && s->n_mounts &&
	    cell_rootfs_mount_all(s, s->ns[CELL_NS_USER].enabled, c->idmap_trees, &err) < 0)
		die(c, &err, false);
	if (!join_first && sync_expect(c->sync, SYNC_JOINED, "cgroup setup", NULL, NULL, &err) < 0)
		_exit(1);

	/* prestart and createRuntime run in the runtime's namespaces, now */
	if (cell_runtime_hooks_wanted(s)) {
		free(state_json);
		state_json = NULL;
		if (sync_send(c->sync, SYNC_HOOKS, 0, NULL, -1) < 0 ||
		    sync_expect(c->sync, SYNC_HOOKS_DONE, "hooks", NULL, &state_json, &err) < 0) {
			if (!err)
				cell_error_errno(&err, errno, "talk to the runtime");
			die(c, &err, false);
		}
	}
	if (cell_hooks_run(s, CELL_HOOK_CREATE_CONTAINER, state_json, &err) < 0)
		die(c, &err, false);
	/* sysctls go in before readonlyPaths makes /proc/sys read-only */
	if (mount_ns && cell_rootfs_pivot(s, c->no_pivot, &err) < 0)
		die(c, &err, false);
	if (mount_here && (chroot(s->root_path) < 0 || chdir("/") < 0)) {
		cell_error_errno(&err, errno, "chroot to root.path `%s` (no mount namespace: no pivot_root)",
				 s->root_path);
		die(c, &err, false);
	}
	if (apply_sysctl(s, &err) < 0)
		die(c, &err, false);
	if (mount_ns && cell_rootfs_finish(s, &err) < 0)
		die(c, &err, false);
	if (p->terminal && setup_terminal(c, &err) < 0)
		die(c, &err, false);
	if (s->personality && cell_process_personality(s->personality, &err) < 0)
		die(c, &err, false);
	if (!c->no_new_keyring && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 &&
	    errno != ENOSYS && errno != EACCES) {
		cell_error_errno(&err, errno, "join a new session keyring (try --no-new-keyring)");
		die(c, &err, false);
	}
	if (cell_process_limits(p, &err) < 0 || cell_process_lsm(p, &err) < 0)
		die(c, &err, false);
	bool setgroups_allowed = true;
	if (s->ns[CELL_NS_USER].enabled) {
		_cleanup_free_ char *sg = NULL;
		cell_error *e = NULL;
		if (read_file("/proc/self/setgroups", &sg, NULL, &e) == 0 && strncmp(sg, "deny", 4) == 0)
			setgroups_allowed = false;
		cell_error_free(&e);
	}
	/* Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: load
	 * it while we still have it, before the user and capabilities change
	 * (as runc does; the filter must then allow what follows). With
	 * no_new_privs, as late as possible; a notify filter before SYNC_READY,
	 * while the runtime is there to pass its fd to the listener. */
	bool seccomp_loaded = false;
	if (c->seccomp && !p->no_new_privileges) {
		if (load_seccomp(c, &err) < 0)
			die(c, &err, false);
		seccomp_loaded = true;
	}
	bool cwd_done = false;
	if (cell_process_cwd_early(p, &cwd_done, &err) < 0 || cell_process_identity(p, setgroups_allowed, &err) < 0 ||
	    (!cwd_done && cell_process_cwd(p, &err) < 0) ||
	    cell_process_find(p, &path, &err) < 0)
		die(c, &err, false);
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		cell_error_errno(&err, errno, "process.noNewPrivileges");
		die(c, &err, false);
	}
	if (c->seccomp && !seccomp_loaded && cell_seccomp_needs_notify(c->seccomp)) {
		if (load_seccomp(c, &err) < 0)
			die(c, &err, false);
		seccomp_loaded = true;
	}
	cell_process_close_fds(c->preserve_fds);
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	if (sync_send(c->sync, SYNC_READY, 0, NULL, -1) < 0)
		_exit(1);

	if (c->exec_sock >= 0) {
		/* parked here until `start` connects (see exec_socket_listen) */
		int conn;
		do
			conn = accept4(c->exec_sock, NULL, NULL, SOCK_CLOEXEC);
		while (conn < 0 && errno == EINTR);
		if (conn < 0) {
			cell_error_errno(&err, errno, "wait on the exec socket");
			die(c, &err, true);
		}
		close(c->exec_sock);
		if (write(conn, "0", 1) != 1) {
			cell_error_errno(&err, errno, "answer `start` on the exec socket");
			die(c, &err, true);
		}
		close(conn);
	}
	/* the startContainer hooks run under the container's filter (runc) */
	int unused_fd = -1;
	if (c->seccomp && !seccomp_loaded && cell_seccomp_load(c->seccomp, &unused_fd, &err) < 0)
		die(c, &err, true);
	if (cell_hooks_run(s, CELL_HOOK_START_CONTAINER, state_json, &err) < 0)
		die(c, &err, true);
	reset_signals();
	cell_process_exec(p, path);
}
