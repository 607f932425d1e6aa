/* The engine's default seccomp profile (engine/seccomp.c) and the --userns
 * flag checks (engine/userns.c): names that exist, capability groups, the
 * argument rules, a program the runtime compiles and loads; id mappings
 * parsed and refused. */
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine-internal.h"
#include "json.h"
#include "linux/seccomp.h"
#include "util.h"
#include "tap.h"

/* allowed names newer than the libseccomp this is built with */
static const char *const newer[] = {
	"cachestat", "fchmodat2", "file_getattr", "file_setattr", "futex_requeue", "futex_wait",
	"futex_wake", "getxattrat", "listmount", "listxattrat", "lsm_get_self_attr", "lsm_list_modules",
	"lsm_set_self_attr", "map_shadow_stack", "mseal", "open_tree_attr", "removexattrat",
	"setxattrat", "statmount", "uretprobe", NULL,
};

static bool in(const char *const *v, const char *s)
{
	for (size_t i = 0; v[i]; i++)
		if (streq(v[i], s))
			return true;
	return false;
}

static json_object *allow_names(json_object *p)
{
	return json_object_object_get(json_object_array_get_idx(json_object_object_get(p, "syscalls"), 0), "names");
}

static bool allowed(json_object *p, const char *name)
{
	json_object *n = allow_names(p);
	for (size_t i = 0; i < json_object_array_length(n); i++)
		if (streq(json_object_get_string(json_object_array_get_idx(n, i)), name))
			return true;
	return false;
}

/* the rule naming only `name` beyond the first (the argument rules) */
static json_object *arg_rule(json_object *p, const char *name)
{
	json_object *s = json_object_object_get(p, "syscalls");
	for (size_t i = 1; i < json_object_array_length(s); i++) {
		json_object *r = json_object_array_get_idx(s, i);
		if (streq(json_object_get_string(json_object_array_get_idx(json_object_object_get(r, "names"), 0)), name))
			return r;
	}
	return NULL;
}

static void test_profile(void)
{
	char *defaults[] = { "CAP_CHOWN", "CAP_SETUID", "CAP_SYS_CHROOT", "CAP_KILL", NULL };
	json_object *p = engine_default_seccomp(defaults);
	IS_STR(json_object_get_string(json_object_object_get(p, "defaultAction")), "SCMP_ACT_ERRNO",
	       "default action: refuse");
	IS_INT(json_object_get_int(json_object_object_get(p, "defaultErrnoRet")), EPERM, "... with EPERM");

	json_object *n = allow_names(p);
	size_t unknown = 0, dup = 0;
	for (size_t i = 0; i < json_object_array_length(n); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(n, i));
		if (seccomp_syscall_resolve_name(s) == __NR_SCMP_ERROR && !in(newer, s)) {
			printf("# not a syscall: %s\n", s);
			unknown++;
		}
		for (size_t j = 0; j < i; j++)
			if (streq(s, json_object_get_string(json_object_array_get_idx(n, j))))
				dup++;
	}
	IS_INT(unknown, 0, "every allowed name is a syscall (no typo)");
	IS_INT(dup, 0, "no name twice");
	OK(json_object_array_length(n) > 250, "an allow-list of %zu names", json_object_array_length(n));
	OK(allowed(p, "read") && allowed(p, "execve") && allowed(p, "openat") && allowed(p, "rt_sigtimedwait") &&
	   allowed(p, "wait4") && allowed(p, "setgroups"), "the everyday syscalls are allowed");
	static const char *const never[] = { "keyctl", "add_key", "request_key", "io_uring_setup", "mount", "unshare",
					      "setns", "ptrace", "bpf", "kexec_load", "init_module", "reboot",
					      "clone", "clone3", "personality", "socket", "userfaultfd", NULL };
	for (size_t i = 0; never[i]; i++)
		OK(!allowed(p, never[i]), "`%s` not unconditionally allowed with the default capabilities", never[i]);
	OK(allowed(p, "chroot"), "chroot allowed: CAP_SYS_CHROOT is a default");

	json_object *clone = arg_rule(p, "clone");
	json_object *a = json_object_array_get_idx(json_object_object_get(clone, "args"), 0);
	IS_STR(json_object_get_string(json_object_object_get(a, "op")), "SCMP_CMP_MASKED_EQ", "clone: flags masked");
	IS_INT(json_object_get_int64(json_object_object_get(a, "value")), 0x7E020000, "... with every CLONE_NEW* flag");
	IS_INT(json_object_get_int64(json_object_object_get(a, "valueTwo")), 0, "... which must all be clear");
	json_object *c3 = arg_rule(p, "clone3");
	IS_INT(json_object_get_int(json_object_object_get(c3, "errnoRet")), ENOSYS, "clone3: ENOSYS");
	IS_INT(json_object_array_length(json_object_object_get(arg_rule(p, "personality"), "args")), 5,
	       "personality: five alternatives");
	json_object *v = json_object_array_get_idx(json_object_object_get(arg_rule(p, "socket"), "args"), 0);
	IS_INT(json_object_get_int(json_object_object_get(v, "value")), 40, "socket: not AF_VSOCK (40)");

	/* the runtime compiles it, and a child under it sees the decisions */
	struct cell_seccomp *s = NULL;
	cell_error *err = NULL;
	OK(cell_seccomp_compile_inprocess(p, &s, &err) == 0, "the runtime compiles it%s%s", err ? ": " : "",
	   err ? err->msg : "");
	OK(s && cell_seccomp_bpf_length(s) < 4096, "a program the kernel accepts (%d instructions)",
	   s ? cell_seccomp_bpf_length(s) : -1);
	int pipefd[2];
	if (s && pipe(pipefd) == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			char res[5];
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
				_exit(2);
			int nfd = -1;
			if (cell_seccomp_load(s, &nfd, &err) < 0)
				_exit(2);
			res[0] = syscall(SYS_keyctl, 0, -3, 0) < 0 && errno == EPERM ? 'k' : '-';
			res[1] = syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS ? '3' : '-';
			res[2] = syscall(SYS_unshare, 0x00020000) < 0 && errno == EPERM ? 'u' : '-';
			res[3] = getpid() > 0 && syscall(SYS_getcwd, (char[64]){ 0 }, 64) > 0 ? 'g' : '-';
			res[4] = syscall(1000) < 0 && errno == ENOSYS ? 'x' : '-';
			if (write(pipefd[1], res, 5) != 5)
				_exit(3);
			_exit(0);
		}
		close(pipefd[1]);
		char got[6] = { 0 };
		ssize_t r = read(pipefd[0], got, 5);
		close(pipefd[0]);
		waitpid(pid, NULL, 0);
		IS_STR(r == 5 ? got : "", "k3ugx", "under it: keyctl EPERM, clone3 ENOSYS, unshare EPERM, getcwd ok, "
		       "a number above the arch's highest ENOSYS (as runc)");
	}
	cell_seccomp_free(s);
	json_object_put(p);

	char *admin[] = { "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", NULL };
	p = engine_default_seccomp(admin);
	OK(allowed(p, "mount") && allowed(p, "unshare") && allowed(p, "setns") && allowed(p, "clone") &&
	   allowed(p, "clone3"), "CAP_SYS_ADMIN: mount, unshare, setns, clone, clone3 allowed");
	OK(!arg_rule(p, "clone") && !arg_rule(p, "clone3"), "CAP_SYS_ADMIN: no clone/clone3 restriction");
	OK(allowed(p, "ptrace") && allowed(p, "process_vm_readv"), "CAP_SYS_PTRACE: ptrace allowed");
	OK(!allowed(p, "chroot"), "without CAP_SYS_CHROOT: no chroot");
	OK(!allowed(p, "keyctl"), "keyctl refused whatever the capabilities");
	json_object_put(p);
}

static int check(const char *userns, char **uid, char **gid, const char *network, bool priv,
		 struct engine_userns *u, cell_error **err)
{
	struct cell_run_request req = { .userns = userns, .uidmaps = uid, .gidmaps = gid, .privileged = priv };
	return engine_userns_check(&req, network, u, err);
}

static void test_userns(void)
{
	struct engine_userns u;
	cell_error *err = NULL;
	OK(check(NULL, NULL, NULL, "bridge", false, &u, &err) == 0 && !u.mode, "no flag: no user namespace");
	OK(check("host", NULL, NULL, "host", true, &u, &err) == 0 && !u.mode, "--userns host: none");
	OK(check("auto", NULL, NULL, "bridge", false, &u, &err) == 0 && u.mode && streq(u.mode, "auto"),
	   "--userns auto");
	char *m1[] = { "0:100000:1000", "1000:300000:10", NULL };
	OK(check(NULL, m1, NULL, "none", false, &u, &err) == 0 && u.n_uid == 2 && u.n_gid == 2 &&
	   u.gid[1].host == 300000, "--uidmap twice, --gidmap defaults to it");
	IS_INT(engine_userns_host(u.uid, u.n_uid, 0), 100000, "container uid 0 is host 100000");
	IS_INT(engine_userns_host(u.uid, u.n_uid, 1005), 300005, "container uid 1005 is host 300005");
	IS_INT(engine_userns_host(u.uid, u.n_uid, 2000), UINT32_MAX, "container uid 2000 is unmapped");

	static const struct {
		const char *userns;
		char *map;
		const char *network;
		bool priv;
		const char *want;
	} bad[] = {
		{ "bogus", NULL, "bridge", false, "invalid --userns `bogus`" },
		{ "auto", "0:1:1", "bridge", false, "conflicting options: --userns auto" },
		{ "host", "0:1:1", "bridge", false, "conflicting options: --userns host" },
		{ "auto", NULL, "bridge", true, "--privileged" },
		{ "auto", NULL, "host", false, "--network host" },
		{ NULL, "0:1", "bridge", false, "invalid --uidmap `0:1`" },
		{ NULL, "0:1:2:3", "bridge", false, "invalid --uidmap `0:1:2:3`" },
		{ NULL, "0:x:2", "bridge", false, "invalid --uidmap" },
		{ NULL, "0::1:2", "bridge", false, "invalid --uidmap `0::1:2`" },
		{ NULL, ":0:1", "bridge", false, "invalid --uidmap" },
		{ NULL, "0:1:0", "bridge", false, "the size must be positive" },
		{ NULL, "0:4294967295:2", "bridge", false, "within 32 bits" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *mv[] = { bad[i].map, NULL };
		int r = check(bad[i].userns, bad[i].map ? mv : NULL, NULL, bad[i].network, bad[i].priv, &u, &err);
		OK(r < 0 && err && strstr(err->msg, bad[i].want), "refused: %s", bad[i].want);
		if (r == 0 || !err || !strstr(err->msg, bad[i].want))
			printf("#   got: %s\n", err ? err->msg : "(accepted)");
		cell_error_free(&err);
	}
	char *ov[] = { "0:100000:100", "50:200000:100", NULL };
	OK(check(NULL, ov, NULL, "none", false, &u, &err) < 0 && strstr(err->msg, "overlap"),
	   "overlapping container ranges refused");
	cell_error_free(&err);
}

int main(void)
{
	test_profile();
	test_userns();
	return TAP_DONE();
}
