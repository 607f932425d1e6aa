/* `exec`: a new process inside a running container.
 *
 *   runtime                                   child
 *   setns(pid, time) for our children
 *   fork ───────────────────────────────────► waits for SYNC_GO
 *   join the container's cgroup
 *   SYNC_GO ────────────────────────────────► setns user, then the others
 *                                             terminal, limits, user, caps,
 *           ◄──────────────────────────────── cwd, no_new_privs, seccomp
 *   (SYNC_PTY → console socket or relay)      SYNC_READY, execve
 *   wait, or return with --detach
 *
 * The child is non-dumpable until execve so that the container cannot open
 * /proc/PID/exe, the runtime binary (CVE-2019-5736). */
#define _GNU_SOURCE
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "json.h"
#include "linux/caps.h"
#include "linux/seccomp.h"
#include "process.h"
#include "spec/spec.h"
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

static char **strv_copy(char **v)
{
	size_t n = strv_len(v);
	char **c = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

/* env entries override those with the same name */
static void env_merge(char ***env, char **add)
{
	for (size_t i = 0; add && add[i]; i++) {
		const char *eq = strchr(add[i], '=');
		size_t klen = eq ? (size_t)(eq - add[i]) : strlen(add[i]);
		size_t n = strv_len(*env), j;
		for (j = 0; j < n; j++)
			if (strncmp((*env)[j], add[i], klen) == 0 && (*env)[j][klen] == '=')
				break;
		if (j < n) {
			free((*env)[j]);
			(*env)[j] = xstrdup(add[i]);
			continue;
		}
		*env = realloc(*env, (n + 2) * sizeof(char *));
		if (!*env)
			abort();
		(*env)[n] = xstrdup(add[i]);
		(*env)[n + 1] = NULL;
	}
}

static bool in_set(json_object *caps, const char *set, const char *name)
{
	json_object *a = NULL;
	if (!caps || !json_object_object_get_ex(caps, set, &a))
		return false;
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (strcasecmp(json_object_get_string(json_object_array_get_idx(a, i)), name) == 0)
			return true;
	return false;
}

static int add_caps(json_object **caps, char **names, cell_error **err)
{
	/* not the inheritable set: a process with inheritable capabilities
	 * gains them again through any file that has them as inheritable file
	 * capabilities (CVE-2022-29162, runc's `exec --cap`, fixed in 1.1.2).
	 * An ambient capability needs the inheritable bit, so it is added only
	 * where the process already has that (runc adds it everywhere and the
	 * raise fails quietly): a non-root user gets no effective capability
	 * from --cap alone, as with runc. */
	static const char *sets[] = { "bounding", "effective", "permitted", "ambient" };
	uint64_t mask;
	if (cell_caps_parse_list(names, &mask, err) < 0)
		return cell_error_wrap(err, "--cap");
	if (!*caps)
		*caps = json_object_new_object();
	for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
		json_object *a = NULL;
		if (!json_object_object_get_ex(*caps, sets[s], &a)) {
			a = json_object_new_array();
			json_object_object_add(*caps, sets[s], a);
		}
		for (size_t i = 0; names[i]; i++)
			if (!streq(sets[s], "ambient") || in_set(*caps, "inheritable", names[i]))
				json_object_array_add(a, json_object_new_string(names[i]));
	}
	return 0;
}

static int build_process(const struct cell_exec_opts *o, struct cell_spec *s, struct cell_process *p,
			 json_object **caps_holder, cell_error **err)
{
	if (o->process_file) {
		json_object *doc = NULL;
		if (cj_parse_file(o->process_file, &doc, err) < 0)
			return -1;
		/* keep the document alive: capabilities are borrowed from it */
		*caps_holder = doc;
		return cell_spec_parse_process(doc, "process", p, err) < 0 ? cell_error_wrap(err, "--process `%s`", o->process_file) : 0;
	}
	if (!o->args || !o->args[0])
		return cell_error_set(err, "exec: a command (or --process FILE) is required");
	const struct cell_process *base = &s->process;
	memset(p, 0, sizeof(*p));
	p->args = strv_copy(o->args);
	p->env = strv_copy(base->env);
	p->cwd = xstrdup(base->cwd ? base->cwd : "/");
	p->uid = base->uid;
	p->gid = base->gid;
	p->umask = base->umask;
	p->no_new_privileges = base->no_new_privileges;
	p->apparmor_profile = base->apparmor_profile ? xstrdup(base->apparmor_profile) : NULL;
	p->selinux_label = base->selinux_label ? xstrdup(base->selinux_label) : NULL;
	if (base->capabilities)
		*caps_holder = json_object_get(base->capabilities);
	p->capabilities = *caps_holder;
	return 0;
}

static int apply_overrides(const struct cell_exec_opts *o, struct cell_process *p, json_object **caps_holder,
			   cell_error **err)
{
	if (o->env)
		env_merge(&p->env, o->env);
	if (o->cwd) {
		if (o->cwd[0] != '/')
			return cell_error_set(err, "--cwd `%s`: must be an absolute path", o->cwd);
		free(p->cwd);
		p->cwd = xstrdup(o->cwd);
	}
	if (o->user) {
		uint64_t uid, gid;
		_cleanup_free_ char *u = xstrdup(o->user);
		char *colon = strchr(u, ':');
		if (colon)
			*colon = '\0';
		if (parse_uint64(u, &uid) < 0 || uid > UINT32_MAX || (colon && (parse_uint64(colon + 1, &gid) < 0 || gid > UINT32_MAX)))
			return cell_error_set(err, "--user `%s`: expected uid[:gid] as numbers", o->user);
		p->uid = (uint32_t)uid;
		if (colon)
			p->gid = (uint32_t)gid;
	}
	for (size_t i = 0; o->additional_gids && o->additional_gids[i]; i++) {
		uint64_t g;
		if (parse_uint64(o->additional_gids[i], &g) < 0 || g > UINT32_MAX)
			return cell_error_set(err, "--additional-gids `%s`: expected a gid as a number",
					      o->additional_gids[i]);
		p->additional_gids = realloc(p->additional_gids, (p->n_additional_gids + 1) * sizeof(gid_t));
		if (!p->additional_gids)
			abort();
		p->additional_gids[p->n_additional_gids++] = (gid_t)g;
	}
	if (o->no_new_privs)
		p->no_new_privileges = true;
	if (o->tty)
		p->terminal = true;
	if (o->console_height || o->console_width) {
		p->console_height = o->console_height;
		p->console_width = o->console_width;
	}
	if (o->caps && o->caps[0]) {
		if (!p->capabilities) {
			*caps_holder = NULL;
		} else if (*caps_holder != p->capabilities) {
			/* --process document: copy its capabilities before changing them */
			json_object *copy = NULL;
			json_object_deep_copy(p->capabilities, &copy, NULL);
			json_object_put(*caps_holder);
			*caps_holder = copy;
		} else {
			json_object *copy = NULL;
			json_object_deep_copy(p->capabilities, &copy, NULL);
			json_object_put(*caps_holder);
			*caps_holder = copy;
		}
		if (add_caps(caps_holder, o->caps, err) < 0)
			return -1;
		p->capabilities = *caps_holder;
	}
	return 0;
}

struct exec_ns {
	int fd[CELL_NS_COUNT];
};

/* Open the init's namespaces that differ from ours. */
static int open_target_ns(pid_t pid, struct exec_ns *ns, cell_error **err)
{
	for (int t = 0; t < CELL_NS_COUNT; t++) {
		struct stat a, b;
		_cleanup_free_ char *theirs = xasprintf("/proc/%d/ns/%s", (int)pid, cell_ns_proc_name(t));
		_cleanup_free_ char *ours = xasprintf("/proc/self/ns/%s", cell_ns_proc_name(t));
		ns->fd[t] = -1;
		if (stat(theirs, &a) < 0) {
			if (errno == ENOENT && t == CELL_NS_TIME)
				continue;
			return cell_error_errno(err, errno, "open the container's %s namespace", cell_ns_name(t));
		}
		if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		ns->fd[t] = open(theirs, O_RDONLY | O_CLOEXEC);
		if (ns->fd[t] < 0)
			return cell_error_errno(err, errno, "open `%s`", theirs);
	}
	return 0;
}

static void close_ns(struct exec_ns *ns)
{
	for (int t = 0; t < CELL_NS_COUNT; t++)
		ns->fd[t] = safe_close(ns->fd[t]);
}

/* A notify filter's fd goes to the runtime, which hands it to the listener
 * (as for the init): without it the notified syscalls fail with ENOSYS. */
static int send_notify_fd(int sock, int *nfd, cell_error **err)
{
	if (*nfd < 0)
		return 0;
	int r = 0;
	if (sync_send(sock, SYNC_SECCOMP, 0, NULL, *nfd) < 0)
		r = cell_error_errno(err, errno, "send the seccomp notify fd to the runtime");
	else
		r = sync_expect(sock, SYNC_FD_DONE, "seccomp notify setup", NULL, NULL, err);
	*nfd = safe_close(*nfd);
	return r;
}

__attribute__((noreturn)) static void exec_child(int sock, struct exec_ns *ns, struct cell_process *p,
						 struct cell_seccomp *seccomp, bool userns, int preserve_fds,
						 struct cell_cgroup_self *cg_self)
{
	cell_error *err = NULL;
	_cleanup_free_ char *path = NULL;
	static const enum cell_ns_type order[] = { CELL_NS_USER, CELL_NS_IPC, CELL_NS_UTS, CELL_NS_NET,
						   CELL_NS_CGROUP, CELL_NS_MNT };

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_NAME, "cell:[2:EXEC]", 0, 0, 0);
	if (sync_expect(sock, SYNC_GO, "exec setup", NULL, NULL, &err) < 0)
		_exit(1);
	/* into the v1 hierarchies by ourselves: no RCU wait (cgroup.h) */
	if (cell_cgroup_join_self(cg_self, &err) < 0)
		goto fail;
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		enum cell_ns_type t = order[i];
		if (ns->fd[t] >= 0 && setns(ns->fd[t], cell_ns_clone_flag(t)) < 0) {
			cell_error_errno(&err, errno, "join the container's %s namespace", cell_ns_name(t));
			goto fail;
		}
	}
	close_ns(ns);
	if (p->terminal) {
		int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		char name[64];
		if (master < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0) {
			cell_error_errno(&err, errno, "allocate a pty in the container (is /dev/pts mounted?)");
			goto fail;
		}
		int slave = open(name, O_RDWR | O_NOCTTY);
		if (slave < 0) {
			cell_error_errno(&err, errno, "open `%s`", name);
			goto fail;
		}
		if (fchown(slave, p->uid, (gid_t)-1) < 0) {
			cell_error_errno(&err, errno, "give the pty `%s` to uid %u (fchown)", name, p->uid);
			goto fail;
		}
		/* the size before the process runs: a window size sent after
		 * the start would come too late for `stty size` */
		if (p->console_height || p->console_width) {
			struct winsize ws = { .ws_row = (unsigned short)p->console_height,
					      .ws_col = (unsigned short)p->console_width };
			ioctl(slave, TIOCSWINSZ, &ws);
		}
		if (sync_send(sock, SYNC_PTY, 0, name, master) < 0 ||
		    sync_expect(sock, SYNC_FD_DONE, "terminal setup", NULL, NULL, &err) < 0) {
			if (!err)
				cell_error_errno(&err, errno, "send the pty master");
			goto fail;
		}
		close(master);
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
	}
	bool setgroups_allowed = true;
	if (userns) {
		_cleanup_free_ char *sg = NULL;
		cell_error *e = NULL;
		if (read_file("/proc/self/setgroups", &sg, NULL, &e) == 0 && strncmp(sg, "deny", 4) == 0)
			setgroups_allowed = false;
		cell_error_free(&e);
	}
	int nfd = -1;
	if (cell_process_limits(p, &err) < 0 || cell_process_lsm(p, &err) < 0)
		goto fail;
	/* without no_new_privs the filter needs CAP_SYS_ADMIN: load it first */
	if (seccomp && !p->no_new_privileges &&
	    (cell_seccomp_load(seccomp, &nfd, &err) < 0 || send_notify_fd(sock, &nfd, &err) < 0))
		goto fail;
	bool cwd_done = false;
	if (cell_process_cwd_early(p, &cwd_done, &err) < 0 || cell_process_identity(p, setgroups_allowed, &err) < 0 ||
	    (!cwd_done && cell_process_cwd(p, &err) < 0) ||
	    cell_process_find(p, &path, &err) < 0)
		goto fail;
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		cell_error_errno(&err, errno, "exec: set no_new_privs (prctl PR_SET_NO_NEW_PRIVS)");
		goto fail;
	}
	if (seccomp && p->no_new_privileges &&
	    (cell_seccomp_load(seccomp, &nfd, &err) < 0 || send_notify_fd(sock, &nfd, &err) < 0))
		goto fail;
	cell_process_close_fds(preserve_fds);
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	sigset_t none;
	sigemptyset(&none);
	for (int s = 1; s < _NSIG; s++)
		signal(s, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* success is silence: the socket closes on execve */
	cell_process_exec(p, path);
fail:
	sync_send_error(sock, err);
	_exit(1);
}

int cell_rt_exec(const char *root, const char *id, const struct cell_exec_opts *o, int *ret_status,
		 cell_error **err)
{
	struct cell_state *st = NULL;
	struct cell_spec *s = NULL;
	struct cell_process p = { 0 };
	json_object *caps_holder = NULL;
	struct cell_seccomp *seccomp = NULL;
	struct cell_cgroup *cg = NULL;
	struct cell_cgroup_self cg_self = { 0 };
	struct exec_ns ns;
	int sp[2] = { -1, -1 }, master = -1, r = -1;
	_cleanup_free_ char *cache = xasprintf("%s/.seccomp-cache", root && *root ? root : CELL_RUNTIME_ROOT);
	pid_t pid = -1;

	for (int t = 0; t < CELL_NS_COUNT; t++)
		ns.fd[t] = -1;
	*ret_status = 0;
	if (cell_state_load(root && *root ? root : CELL_RUNTIME_ROOT, id, false, &st, err) < 0)
		return -1;
	enum cell_status status = cell_state_status(st);
	/* runc refuses too: the new process would stay frozen, and its caller
	 * with it, until someone resumes the container */
	if (status == CELL_STATUS_PAUSED && !o->ignore_paused) {
		cell_error_set(err, "container `%s` is paused: exec would block until it is resumed (resume it "
			       "first, or pass --ignore-paused)", id);
		goto out;
	}
	if (status != CELL_STATUS_RUNNING && status != CELL_STATUS_CREATED && status != CELL_STATUS_PAUSED) {
		cell_error_set(err, "container `%s` is %s: exec needs a running container", id, cell_status_name(status));
		goto out;
	}
	if (cell_state_load_spec(st, &s, err) < 0 || build_process(o, s, &p, &caps_holder, err) < 0 ||
	    apply_overrides(o, &p, &caps_holder, err) < 0)
		goto out;
	if (p.terminal && !o->console_socket && o->detach) {
		cell_error_set(err, "exec: --tty with --detach needs --console-socket");
		goto out;
	}
	if (s->seccomp && cell_seccomp_compile_cached(s->seccomp, cache, &seccomp, err) < 0)
		goto out;
	if (o->cgroups && o->cgroups[0] && !st->cgroup) {
		cell_error_set(err, "--cgroup: container `%s` has no cgroup of its own", id);
		goto out;
	}
	if (st->cgroup && (cell_cgroup_from_json(st->cgroup, &cg, err) < 0 ||
			   cell_cgroup_descend(cg, o->cgroups, err) < 0 ||
			   cell_cgroup_self_fds(cg, &cg_self, err) < 0))
		goto out;
	if (open_target_ns(st->pid, &ns, err) < 0)
		goto out;
	/* Rootless: joining the pid and time namespaces takes CAP_SYS_ADMIN
	 * in the user namespace owning them, which we have only inside it;
	 * so join it here (non-dumpable first: the container's root must not
	 * ptrace or open /proc of a runtime in its namespace). */
	bool in_userns = ns.fd[CELL_NS_USER] >= 0;
	if (in_userns && geteuid() != 0) {
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		if (setns(ns.fd[CELL_NS_USER], CLONE_NEWUSER) < 0) {
			cell_error_errno(err, errno, "join the container's user namespace");
			goto out;
		}
		ns.fd[CELL_NS_USER] = safe_close(ns.fd[CELL_NS_USER]);
	}
	/* the pid and time namespaces apply to our children only */
	if (ns.fd[CELL_NS_PID] >= 0 && setns(ns.fd[CELL_NS_PID], CLONE_NEWPID) < 0) {
		cell_error_errno(err, errno, "join the container's pid namespace");
		goto out;
	}
	if (ns.fd[CELL_NS_TIME] >= 0 && setns(ns.fd[CELL_NS_TIME], CLONE_NEWTIME) < 0) {
		cell_error_errno(err, errno, "join the container's time namespace");
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		cell_error_errno(err, errno, "create a socketpair");
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	/* straight into the container's cgroup2 dir where there is one (no
	 * migration afterwards: that costs an RCU grace period) */
	int cgfd = cg ? cell_cgroup_clone_fd(cg) : -1;
	struct clone_args ca = { .exit_signal = SIGCHLD };
	if (cgfd >= 0) {
		ca.flags = CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)cgfd;
	}
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0 && errno == ENOSYS) {
		cgfd = -1;
		pid = fork();
	}
	if (pid < 0) {
		cell_error_errno(err, errno, "fork the exec process");
		goto out;
	}
	if (pid == 0) {
		close(sp[0]);
		exec_child(sp[1], &ns, &p, seccomp, in_userns, o->preserve_fds, &cg_self);
	}
	sp[1] = safe_close(sp[1]);
	/* the v1 hierarchies: the child joins them itself */
	bool self_v1 = cg_self.n > 0;
	cell_cgroup_self_close(&cg_self);
	if (cg && (self_v1 ? (cgfd < 0 ? cell_cgroup_enter_v2(cg, pid, err) : 0)
			   : (cgfd >= 0 ? cell_cgroup_enter_cloned(cg, pid, err) : cell_cgroup_enter(cg, pid, err))) < 0)
		goto kill;
	if (sync_send(sp[0], SYNC_GO, 0, NULL, -1) < 0) {
		cell_error_errno(err, errno, "start the exec process");
		goto kill;
	}
	if (p.terminal) {
		_cleanup_free_ char *name = NULL;
		if (sync_expect(sp[0], SYNC_PTY, "terminal setup", &master, &name, err) < 0)
			goto kill;
		if (o->console_socket) {
			_cleanup_close_ int cs = cell_console_connect(o->console_socket, err);
			if (cs < 0 || cell_console_send(cs, master, name, err) < 0)
				goto kill;
		}
		if (sync_send(sp[0], SYNC_FD_DONE, 0, NULL, -1) < 0) {
			cell_error_errno(err, errno, "resume the exec process");
			goto kill;
		}
	}
	if (seccomp && cell_seccomp_needs_notify(seccomp)) {
		_cleanup_close_ int nfd = -1;
		if (sync_expect(sp[0], SYNC_SECCOMP, "seccomp setup", &nfd, NULL, err) < 0)
			goto kill;
		json_object *ps = cell_state_to_oci(st);
		json_object_object_add(ps, "pid", json_object_new_int(pid));
		int sr = cell_seccomp_send_notify(seccomp, nfd, cj_to_string(ps, false), err);
		json_object_put(ps);
		if (sr < 0)
			goto kill;
		if (sync_send(sp[0], SYNC_FD_DONE, 0, NULL, -1) < 0) {
			cell_error_errno(err, errno, "resume the exec process");
			goto kill;
		}
	}
	/* EOF means execve succeeded; an error message means it did not */
	{
		cell_error *e = NULL;
		if (sync_expect(sp[0], SYNC_READY, "exec", NULL, NULL, &e) < 0 && !strstr(e->msg, "exited during")) {
			*err = e;
			cell_error_wrap(err, "exec in container `%s`", id);
			goto kill;
		}
		cell_error_free(&e);
	}
	if (o->pid_file) {
		char v[16];
		snprintf(v, sizeof(v), "%d", (int)pid);
		if (write_file_atomic(o->pid_file, v, strlen(v), 0644, err) < 0)
			goto kill;
	}
	if (o->detach) {
		r = 0;
		goto out;
	}
	int wstatus = 0;
	if (master >= 0 && !o->console_socket) {
		wstatus = cell_tty_relay(master, pid);
	} else {
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
	}
	*ret_status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	r = 0;
	goto out;
kill:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
out:
	safe_close(master);
	safe_close(sp[0]);
	safe_close(sp[1]);
	close_ns(&ns);
	cell_cgroup_self_close(&cg_self);
	cell_cgroup_free(cg);
	if (seccomp)
		cell_seccomp_free(seccomp);
	cell_spec_process_clear(&p);
	json_object_put(caps_holder);
	cell_spec_free(s);
	cell_state_free(st);
	return r;
}
