/* linux.seccomp: compile good and bad profiles, load filters in forked
 * children and check what the blocked syscalls return. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "linux/seccomp.h"
#include "util.h"
#include "tap.h"

static struct cell_seccomp *compile(const char *text, cell_error **err)
{
	json_object *o = NULL;
	struct cell_seccomp *s = NULL;
	if (cj_parse_string("profile", text, &o, err) < 0)
		return NULL;
	if (cell_seccomp_compile(o, &s, err) < 0)
		s = NULL;
	json_object_put(o);
	return s;
}

/* Compile must fail and the message must contain want. */
static void bad(const char *text, const char *want, const char *what)
{
	cell_error *err = NULL;
	struct cell_seccomp *s = compile(text, &err);
	OK(!s && err && strstr(err->msg, want), "%s is refused: %s", what, err ? err->msg : "(accepted)");
	if (err && !strstr(err->msg, want))
		printf("#   wanted \"%s\"\n", want);
	cell_seccomp_free(s);
	cell_error_free(&err);
}

typedef int (*probe_fn)(void);

/* Load the filter in a child, run probe there; the child exits with the
 * probe's value. Returns the wait status. */
static int in_child(struct cell_seccomp *s, probe_fn probe)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		cell_error *err = NULL;
		int nfd = -1;
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (cell_seccomp_load(s, &nfd, &err) < 0) {
			fprintf(stderr, "# load: %s\n", err->msg);
			_exit(250);
		}
		_exit(probe());
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return status;
}

static int errno_of(long r)
{
	return r < 0 ? (errno > 200 ? 200 : errno) : 0;
}

static int probe_getppid(void) { return errno_of(syscall(SYS_getppid)); }
static int probe_prio_pgrp(void) { return errno_of(syscall(SYS_getpriority, PRIO_PGRP, 0)); }
static int probe_prio_process(void) { return errno_of(syscall(SYS_getpriority, PRIO_PROCESS, 0)); }
static int probe_umask_022(void) { return errno_of(syscall(SYS_umask, 022)); }
static int probe_umask_077(void) { return errno_of(syscall(SYS_umask, 077)); }
static int probe_umask_002(void) { return errno_of(syscall(SYS_umask, 002)); }
static int probe_open_wronly(void) { return errno_of(syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY)); }
static int probe_open_rdonly(void) { return errno_of(syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY)); }
static int probe_nothing(void) { return 0; }

#define EXITED(st, code) (WIFEXITED(st) && WEXITSTATUS(st) == (code))

static void test_errno_rules(void)
{
	cell_error *err = NULL;
	struct cell_seccomp *s = compile(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\", "
		"\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"], \"syscalls\": ["
		"{\"names\": [\"no_such_syscall_at_all\", \"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 99},"
		"{\"names\": [\"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42,"
		" \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
		"{\"names\": [\"umask\"], \"action\": \"SCMP_ACT_ERRNO\","
		" \"args\": [{\"index\": 0, \"value\": 18, \"op\": \"SCMP_CMP_EQ\"},"
		"            {\"index\": 0, \"value\": 63, \"op\": \"SCMP_CMP_EQ\"}]},"
		"{\"names\": [\"openat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,"
		" \"args\": [{\"index\": 2, \"value\": 3, \"valueTwo\": 1, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
		"{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"}"
		"]}", &err);
	OK(s != NULL, "profile with errno rules, args, unknown names and extra archs compiles%s%s",
	   err ? ": " : "", err ? err->msg : "");
	if (!s) {
		cell_error_free(&err);
		return;
	}
	OK(cell_seccomp_bpf_length(s) > 10, "BPF program generated (%d instructions)", cell_seccomp_bpf_length(s));
	OK(!cell_seccomp_needs_notify(s), "no notify without SCMP_ACT_NOTIFY");
	int st = in_child(s, probe_getppid);
	OK(EXITED(st, 99), "getppid blocked with errnoRet 99 (status 0x%x)", st);
	st = in_child(s, probe_prio_pgrp);
	OK(EXITED(st, 42), "getpriority(PRIO_PGRP) matches arg 0 == 1: errno 42 (status 0x%x)", st);
	st = in_child(s, probe_prio_process);
	OK(EXITED(st, 0), "getpriority(PRIO_PROCESS) does not match: allowed (status 0x%x)", st);
	st = in_child(s, probe_umask_022);
	OK(EXITED(st, EPERM), "umask(022) blocked by the first of two same-index args, EPERM by default (0x%x)", st);
	st = in_child(s, probe_umask_077);
	OK(EXITED(st, EPERM), "umask(077) blocked by the second (same-index args are OR) (0x%x)", st);
	st = in_child(s, probe_umask_002);
	OK(EXITED(st, 0), "umask(002) allowed (0x%x)", st);
	st = in_child(s, probe_open_wronly);
	OK(EXITED(st, 13), "openat O_WRONLY matches MASKED_EQ (flags & 3) == 1: errno 13 (0x%x)", st);
	st = in_child(s, probe_open_rdonly);
	OK(EXITED(st, 0), "openat O_RDONLY allowed (0x%x)", st);
	cell_seccomp_free(s);
}

static void test_default_errno(void)
{
	cell_error *err = NULL;
	/* allow only what the child (and AddressSanitizer in it) needs */
	struct cell_seccomp *s = compile(
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 77, \"syscalls\": ["
		"{\"names\": [\"exit_group\", \"exit\", \"rt_sigreturn\", \"write\", \"sigaltstack\", \"mmap\","
		" \"munmap\", \"madvise\", \"mprotect\", \"brk\", \"futex\", \"rt_sigaction\", \"rt_sigprocmask\","
		" \"getpid\", \"gettid\", \"tgkill\", \"prctl\", \"sched_yield\", \"openat\", \"open\", \"read\","
		" \"close\", \"readlink\", \"readlinkat\", \"newfstatat\", \"fstat\", \"pread64\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		"{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 77}]}", &err);
	OK(s != NULL, "defaultAction ERRNO with defaultErrnoRet compiles%s%s", err ? ": " : "", err ? err->msg : "");
	if (s) {
		int st = in_child(s, probe_getppid);
		OK(EXITED(st, 77), "getppid fails with defaultErrnoRet 77 (0x%x)", st);
	}
	cell_seccomp_free(s);
	cell_error_free(&err);
}

static void test_kill_actions(void)
{
	cell_error *err = NULL;
	static const char *const acts[] = { "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP" };
	for (size_t i = 0; i < ARRAY_SIZE(acts); i++) {
		char *text = xasprintf("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
				       "[\"getppid\"], \"action\": \"%s\"}]}", acts[i]);
		struct cell_seccomp *s = compile(text, &err);
		free(text);
		OK(s != NULL, "%s compiles", acts[i]);
		if (!s) {
			cell_error_free(&err);
			continue;
		}
		int st = in_child(s, probe_getppid);
		OK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "%s: getppid ends the child with SIGSYS (0x%x)", acts[i], st);
		st = in_child(s, probe_nothing);
		OK(EXITED(st, 0), "%s: a child that does not call getppid exits 0", acts[i]);
		cell_seccomp_free(s);
	}
}

static void test_misc_good(void)
{
	cell_error *err = NULL;
	struct cell_seccomp *s = compile(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"], \"syscalls\": ["
		"{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		"{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_LOG\"},"
		"{\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 5}]}", &err);
	OK(s != NULL, "LOG flag, a rule equal to the default action, LOG and TRACE actions compile%s%s",
	   err ? ": " : "", err ? err->msg : "");
	if (s) {
		int st = in_child(s, probe_getppid);
		OK(EXITED(st, 0), "SCMP_ACT_LOG allows the call (0x%x)", st);
	}
	cell_seccomp_free(s);
	cell_error_free(&err);

	s = compile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_TSYNC\", "
		    "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\", \"SECCOMP_FILTER_FLAG_LOG\"], \"syscalls\": [{\"names\": "
		    "[\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 3}]}", &err);
	OK(s != NULL, "TSYNC, SPEC_ALLOW and LOG together compile%s%s", err ? ": " : "", err ? err->msg : "");
	if (s) {
		int st = in_child(s, probe_getppid);
		OK(EXITED(st, 3), "and load: getppid gets errno 3 (0x%x)", st);
	}
	cell_seccomp_free(s);
	cell_error_free(&err);

	s = compile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]}", &err);
	if (cell_seccomp_flag_supported("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"))
		OK(s != NULL, "WAIT_KILLABLE_RECV is supported here and accepted");
	else
		OK(!s && err && strstr(err->msg, "not supported"), "WAIT_KILLABLE_RECV unsupported here: %s",
		   err ? err->msg : "(accepted)");
	cell_seccomp_free(s);
	cell_error_free(&err);
	OK(cell_seccomp_flag_supported("SECCOMP_FILTER_FLAG_TSYNC"), "TSYNC is supported");
	OK(!cell_seccomp_flag_supported("SECCOMP_FILTER_FLAG_NOPE"), "unknown flag is not supported");
}

static void test_bad(void)
{
	bad("[]", "`linux.seccomp`: expected object, got array", "a non-object");
	bad("{}", "`linux.seccomp.defaultAction`: required", "missing defaultAction");
	bad("{\"defaultAction\": \"SCMP_ACT_NOPE\"}",
	    "`linux.seccomp.defaultAction`: unknown action `SCMP_ACT_NOPE`", "unknown default action");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 1}",
	    "`linux.seccomp.defaultErrnoRet`: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno, not `SCMP_ACT_ALLOW`",
	    "defaultErrnoRet with ALLOW");
	bad("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 70000}",
	    "`linux.seccomp.defaultErrnoRet`: 70000 is out of range", "defaultErrnoRet too large");
	bad("{\"defaultAction\": \"SCMP_ACT_NOTIFY\", \"listenerPath\": \"/x\"}",
	    "SCMP_ACT_NOTIFY cannot be the default action", "NOTIFY as default");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_VAX\"]}",
	    "`linux.seccomp.architectures[0]`: unknown architecture `SCMP_ARCH_VAX`", "unknown arch");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"x86_64\"]}",
	    "unknown architecture `x86_64`", "arch without the SCMP_ARCH_ prefix");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [1]}",
	    "`linux.seccomp.architectures[0]`: expected string, got int", "arch not a string");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_NOPE\"]}",
	    "`linux.seccomp.flags[0]`: unknown flag `SECCOMP_FILTER_FLAG_NOPE`", "unknown flag");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}",
	    "`linux.seccomp.syscalls`: expected array, got object", "syscalls not an array");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"},"
	    " {\"names\": [\"read\", 7], \"action\": \"SCMP_ACT_ERRNO\"}]}",
	    "`linux.seccomp.syscalls[1].names[1]`: expected string, got int", "syscall name not a string");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
	    "`linux.seccomp.syscalls[0].names[0]`: an empty string is not a syscall name", "empty syscall name");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [], \"action\": \"SCMP_ACT_ERRNO\"}]}",
	    "`linux.seccomp.syscalls[0].names`: required", "empty names");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"]}]}",
	    "`linux.seccomp.syscalls[0].action`: required", "missing action");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_FOO\"}]}",
	    "`linux.seccomp.syscalls[0].action`: unknown action `SCMP_ACT_FOO`", "unknown syscall action");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\", \"errnoRet\": 1}]}",
	    "`linux.seccomp.syscalls[0].errnoRet`: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno, not `SCMP_ACT_KILL`",
	    "errnoRet on KILL");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
	    " \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_ABOUT\"}]}]}",
	    "`linux.seccomp.syscalls[0].args[0].op`: unknown operator `SCMP_CMP_ABOUT`", "unknown operator");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
	    " \"args\": [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
	    "`linux.seccomp.syscalls[0].args[0].index`: 6 is out of range", "arg index 6");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
	    " \"args\": [{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
	    "`linux.seccomp.syscalls[0].args[0].value`: expected a non-negative integer", "negative arg value");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
	    " \"args\": [{\"index\": 0, \"op\": \"SCMP_CMP_EQ\"}]}]}",
	    "`linux.seccomp.syscalls[0].args[0].value`: required", "arg without value");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
	    "`linux.seccomp.listenerPath`: required when an action is SCMP_ACT_NOTIFY", "notify without listenerPath");
	bad("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": 3}",
	    "`linux.seccomp.listenerPath`: expected string, got int", "listenerPath not a string");
}

/* Accept one connection on l, receive the payload and fd, check them. */
static void check_listener(int l, const struct stat *want, const char *want_meta)
{
	cell_error *err = NULL;
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	char buf[4096] = { 0 };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	ssize_t n = c >= 0 ? recvmsg(c, &msg, MSG_CMSG_CLOEXEC) : -1;
	OK(n > 0, "listener receives the state (%zd bytes)", n);
	struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	int got = -1;
	struct stat got_st;
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&got, CMSG_DATA(cm), sizeof(int));
	OK(got >= 0 && fstat(got, &got_st) == 0 && got_st.st_ino == want->st_ino && got_st.st_dev == want->st_dev,
	   "the fd arrives with SCM_RIGHTS and is the one sent");
	json_object *o = NULL, *v;
	OK(n > 0 && cj_parse_string("state", buf, &o, &err) == 0, "payload is JSON: %s", buf);
	OK(o && json_object_object_get_ex(o, "fds", &v) && json_object_array_length(v) == 1 &&
	   streq(json_object_get_string(json_object_array_get_idx(v, 0)), "seccompFd"), "fds is [\"seccompFd\"]");
	OK(o && json_object_object_get_ex(o, "pid", &v) && json_object_get_int(v) == 4242, "pid from the state");
	OK(o && json_object_object_get_ex(o, "state", &v) && json_object_object_get_ex(v, "id", &v) &&
	   streq(json_object_get_string(v), "c1"), "state.id is the container's");
	OK(o && json_object_object_get_ex(o, "ociVersion", &v), "ociVersion present");
	IS_STR(o && json_object_object_get_ex(o, "metadata", &v) ? json_object_get_string(v) : NULL, want_meta,
	       "metadata");
	json_object_put(o);
	cell_error_free(&err);
	safe_close(got);
	safe_close(c);
}

static void test_notify(void)
{
	cell_error *err = NULL;
	char dir[] = "/tmp/cell-test-seccomp-XXXXXX";
	const char *state = "{\"ociVersion\": \"1.2.0\", \"id\": \"c1\", \"pid\": 4242, \"status\": \"creating\","
			    " \"bundle\": \"/b\"}";
	struct cell_seccomp *s = compile(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/run/agent.sock\","
		" \"listenerMetadata\": \"meta-1\", \"syscalls\": [{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
		&err);
	OK(s != NULL, "notify profile compiles%s%s", err ? ": " : "", err ? err->msg : "");
	if (!s) {
		cell_error_free(&err);
		return;
	}
	OK(cell_seccomp_needs_notify(s), "needs_notify");
	IS_STR(cell_seccomp_listener_path(s), "/run/agent.sock", "listener path");
	IS_STR(cell_seccomp_listener_metadata(s), "meta-1", "listener metadata");

	/* with TSYNC and WAIT_KILLABLE_RECV too, where the kernel has them */
	if (cell_seccomp_flag_supported("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")) {
		struct cell_seccomp *s2 = compile(
			"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/x\", \"flags\": "
			"[\"SECCOMP_FILTER_FLAG_TSYNC\", \"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"], \"syscalls\": "
			"[{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}", &err);
		OK(s2 != NULL, "notify with TSYNC and WAIT_KILLABLE_RECV compiles%s%s", err ? ": " : "",
		   err ? err->msg : "");
		cell_error_free(&err);
		if (s2) {
			fflush(stdout);
			pid_t p2 = fork();
			if (p2 == 0) {
				int nfd = -1;
				prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
				if (cell_seccomp_load(s2, &nfd, &err) < 0) {
					printf("# %s\n", err->msg);
					_exit(250);
				}
				_exit(nfd >= 0 ? 0 : 251);
			}
			int st2 = 0;
			waitpid(p2, &st2, 0);
			OK(EXITED(st2, 0), "it loads with TSYNC_ESRCH added and gives a notify fd (0x%x)", st2);
		}
		cell_seccomp_free(s2);
	} else {
		printf("ok %d - # SKIP WAIT_KILLABLE_RECV not supported by this kernel\n", ++tap_n);
	}

	/* load it in a child and check that a notify fd comes out */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int nfd = -1;
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (cell_seccomp_load(s, &nfd, &err) < 0)
			_exit(250);
		_exit(nfd >= 0 && fcntl(nfd, F_GETFD) >= 0 ? 0 : 251);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	OK(EXITED(st, 0), "load returns a valid notify fd (0x%x)", st);
	cell_seccomp_free(s);

	OK(cell_seccomp_send_notify_fd("/nonexistent/agent.sock", 0, state, &err) < 0 && err &&
	   strstr(err->msg, "connect to the seccomp listener `/nonexistent/agent.sock`"),
	   "no listener: %s", err ? err->msg : "(sent)");
	cell_error_free(&err);

	/* send: a listener gets the fd and the container process state */
	if (!mkdtemp(dir)) {
		OK(0, "mkdtemp");
		return;
	}
	char *path = xasprintf("%s/agent.sock", dir);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	OK(l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 2) == 0, "listener socket");
	int sent = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct stat want_st;
	fstat(sent, &want_st);

	int r = cell_seccomp_send_notify_fd(path, sent, state, &err);
	OK(r == 0, "send_notify_fd succeeds%s%s", err ? ": " : "", err ? err->msg : "");
	cell_error_free(&err);
	check_listener(l, &want_st, "");

	char *text = xasprintf("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"%s\", \"listenerMetadata\":"
			       " \"meta-2\", \"syscalls\": [{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}", path);
	s = compile(text, &err);
	free(text);
	r = s ? cell_seccomp_send_notify(s, sent, state, &err) : -1;
	OK(r == 0, "send_notify with the profile succeeds%s%s", err ? ": " : "", err ? err->msg : "");
	cell_error_free(&err);
	check_listener(l, &want_st, "meta-2");
	cell_seccomp_free(s);

	safe_close(sent);
	safe_close(l);
	unlink(path);
	free(path);
	rmdir(dir);
}

/* A filter longer than the kernel's 4096 instructions fails at compile
 * time, before any container exists. */
static void test_too_big(void)
{
	cell_error *err = NULL;
	json_object *o = json_object_new_object(), *rules = json_object_new_array();
	json_object_object_add(o, "defaultAction", json_object_new_string("SCMP_ACT_ALLOW"));
	for (int i = 0; i < 4500; i++) {
		json_object *r = json_object_new_object(), *names = json_object_new_array();
		json_object *args = json_object_new_array(), *a = json_object_new_object();
		json_object_array_add(names, json_object_new_string("ioctl"));
		json_object_object_add(r, "names", names);
		json_object_object_add(r, "action", json_object_new_string("SCMP_ACT_ERRNO"));
		json_object_object_add(a, "index", json_object_new_int(1));
		json_object_object_add(a, "value", json_object_new_int(i));
		json_object_object_add(a, "op", json_object_new_string("SCMP_CMP_EQ"));
		json_object_array_add(args, a);
		json_object_object_add(r, "args", args);
		json_object_array_add(rules, r);
	}
	json_object_object_add(o, "syscalls", rules);
	struct cell_seccomp *s = NULL;
	int r = cell_seccomp_compile(o, &s, &err);
	OK(r < 0 && err && strstr(err->msg, "the kernel accepts at most 4096"), "4500 rules are refused at compile "
	   "time: %s", err ? err->msg : "(accepted)");
	cell_seccomp_free(s);
	cell_error_free(&err);
	json_object_put(o);
}

static int count_files(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static double ms_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void test_cache(void)
{
	cell_error *err = NULL;
	char dir[] = "/tmp/cell-test-seccomp-cache-XXXXXX";
	if (!mkdtemp(dir)) {
		OK(0, "mkdtemp");
		return;
	}
	char *cache = xasprintf("%s/cache", dir);
	const char *text = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1, \"architectures\": "
			   "[\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"], \"listenerPath\": \"/l\", "
			   "\"listenerMetadata\": \"m\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", "
			   "\"exit\", \"rt_sigreturn\", \"sigaltstack\", \"mmap\", \"munmap\", \"madvise\", \"mprotect\", "
			   "\"brk\", \"futex\", \"rt_sigaction\", \"rt_sigprocmask\", \"getpid\", \"gettid\", \"tgkill\", "
			   "\"prctl\", \"openat\", \"close\", \"readlink\", \"newfstatat\", \"fstat\", \"pread64\"], "
			   "\"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"umask\"], \"action\": \"SCMP_ACT_NOTIFY\"}, "
			   "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 61}]}";
	json_object *o = NULL;
	struct cell_seccomp *a = NULL, *b = NULL, *c = NULL;
	cj_parse_string("profile", text, &o, &err);

	double t0 = ms_now();
	int r = cell_seccomp_compile_cached(o, cache, &a, &err);
	double t1 = ms_now();
	OK(r == 0, "first compile through the cache%s%s", err ? ": " : "", err ? err->msg : "");
	cell_error_free(&err);
	IS_INT(count_files(cache), 1, "the cache dir is created with one program in it");
	r = cell_seccomp_compile_cached(o, cache, &b, &err);
	double t2 = ms_now();
	OK(r == 0, "second compile (a hit)");
	printf("# miss %.2f ms, hit %.2f ms\n", t1 - t0, t2 - t1);
	if (a && b) {
		size_t la, lb;
		const void *pa = cell_seccomp_program(a, &la), *pb = cell_seccomp_program(b, &lb);
		OK(la == lb && la > 0 && memcmp(pa, pb, la) == 0, "the hit has the same program (%zu bytes)", la);
		OK(cell_seccomp_needs_notify(b) && streq(cell_seccomp_listener_path(b), "/l") &&
		   streq(cell_seccomp_listener_metadata(b), "m"), "the hit keeps notify, listenerPath and listenerMetadata");
		int st = in_child(b, probe_getppid);
		OK(EXITED(st, 61), "the cached program loads and works: getppid gets errno 61 (0x%x)", st);
	}

	/* a damaged file is a miss, and is replaced */
	DIR *d = opendir(cache);
	struct dirent *e;
	char *file = NULL;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			file = xasprintf("%s/%s", cache, e->d_name);
	if (d)
		closedir(d);
	if (file) {
		int fd = open(file, O_WRONLY);
		(void)!pwrite(fd, "XXXX", 4, 40);
		close(fd);
		r = cell_seccomp_compile_cached(o, cache, &c, &err);
		OK(r == 0, "a damaged cache file is a miss, not an error");
		size_t la = 0, lc = 1;
		if (a && c) {
			const void *pa = cell_seccomp_program(a, &la), *pc = cell_seccomp_program(c, &lc);
			OK(la == lc && memcmp(pa, pc, la) == 0, "and the program is compiled again");
		}
		char *data = NULL;
		read_file(file, &data, NULL, &err);
		OK(data && !memmem(data, 100, "XXXX", 4), "the damaged file is rewritten");
		free(data);
		cell_error_free(&err);
		free(file);
	}
	cell_seccomp_free(a);
	cell_seccomp_free(b);
	cell_seccomp_free(c);

	/* another profile, another file; a bad profile is still an error */
	json_object_object_add(o, "defaultErrnoRet", json_object_new_int(2));
	r = cell_seccomp_compile_cached(o, cache, &a, &err);
	OK(r == 0 && count_files(cache) == 2, "a changed profile is a new entry");
	cell_seccomp_free(a);
	json_object_object_add(o, "defaultAction", json_object_new_string("SCMP_ACT_NOPE"));
	a = NULL;
	r = cell_seccomp_compile_cached(o, cache, &a, &err);
	OK(r < 0 && err && strstr(err->msg, "unknown action `SCMP_ACT_NOPE`"), "errors come through the cache: %s",
	   err ? err->msg : "(accepted)");
	cell_error_free(&err);
	r = cell_seccomp_compile_cached(o, NULL, &a, &err);
	OK(r < 0, "no cache dir: plain compile");
	cell_error_free(&err);
	json_object_put(o);
	rm_rf(dir, &err);
	cell_error_free(&err);
	free(cache);
}

/* A rule set libseccomp chokes on (found by libFuzzer): the compile ends
 * with an error at the deadline instead of hanging the runtime. */
static void test_deadline(void)
{
	cell_error *err = NULL;
	json_object *o = json_object_new_object(), *rules = json_object_new_array();
	json_object_object_add(o, "defaultAction", json_object_new_string("SCMP_ACT_ALLOW"));
	for (int i = 0; i < 24; i++) {
		char *t = xasprintf("{\"names\": [\"ioctl\", \"fcntl\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": "
				    "[{\"index\": 1, \"value\": %d, \"op\": \"SCMP_CMP_EQ\"}, {\"index\": 0, \"value\": %d, "
				    "\"op\": \"SCMP_CMP_GT\"}]}", i, i == 3 ? 4 : i);
		json_object *r = NULL;
		cj_parse_string("rule", t, &r, &err);
		json_object_array_add(rules, r);
		free(t);
	}
	json_object_object_add(o, "syscalls", rules);
	struct cell_seccomp *s = NULL;
	cell_seccomp_set_compile_timeout(1000);
	double t0 = ms_now();
	int r = cell_seccomp_compile(o, &s, &err);
	double t = ms_now() - t0;
	cell_seccomp_set_compile_timeout(0);
	if (r == 0) {
		printf("ok %d - # SKIP this libseccomp builds the pathological set in %.0f ms\n", ++tap_n, t);
	} else {
		OK(err && strstr(err->msg, "did not finish building the filter in 1000 ms"), "deadline: %s",
		   err ? err->msg : "?");
		OK(t < 3000, "the error comes at the deadline (%.0f ms)", t);
	}
	cell_seccomp_free(s);
	cell_error_free(&err);
	json_object_put(o);
}

int main(void)
{
	test_deadline();
	test_cache();
	test_too_big();
	test_bad();
	test_errno_rules();
	test_default_errno();
	test_kill_actions();
	test_misc_good();
	test_notify();
	return TAP_DONE();
}
