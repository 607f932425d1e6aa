/* The default seccomp profile: an allow-list, organized as Docker's is
 * (moby's profiles/seccomp/default.json) but written here from the x86_64
 * syscall table (arch/x86/entry/syscalls/syscall_64.tbl), one decision per
 * entry.
 *
 *   - anything not named below fails with EPERM (new syscalls included: a
 *     kernel upgrade does not widen what containers may do);
 *   - `allowed` holds what any process needs and what the kernel already
 *     confines to the container's own namespaces or checks a capability for;
 *   - `by_cap` groups come back with their capability (--cap-add SYS_ADMIN
 *     gives mount, unshare, setns ...; SYS_PTRACE gives ptrace ...), so the
 *     filter never refuses what the capability set grants;
 *   - argument rules: clone without namespace flags, clone3 answered ENOSYS
 *     (its flags live in memory the filter cannot read, and glibc falls back
 *     to clone on ENOSYS), personality limited to the harmless personas,
 *     socket anything but AF_VSOCK (a channel to the hypervisor).
 *
 * Refused whatever the capabilities: the key management syscalls (keyrings
 * are not namespaced), io_uring (it runs I/O outside the filter's sight and
 * has a long record of kernel bugs; Docker dropped it too), userfaultfd
 * without CAP_SYS_PTRACE, the obsolete and unimplemented entries (uselib,
 * ustat, sysfs, _sysctl, create_module, nfsservctl, afs_syscall ...).
 *
 * Names libseccomp does not know yet (syscalls newer than it) are skipped
 * by the runtime and so refused. Only the x86_64 ABI is listed: 32-bit
 * syscalls do not match the filter's architecture and are refused. */
#include <errno.h>
#include <string.h>

#include "engine-internal.h"
#include "util.h"

static const char *const allowed[] = {
	/* files and directories */
	"access", "chdir", "chmod", "chown", "close", "close_range", "copy_file_range", "creat", "dup",
	"dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir", "fchmod",
	"fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "file_getattr",
	"file_setattr", "flock", "fstat", "fstatfs", "fsync", "ftruncate", "futimesat", "getcwd",
	"getdents", "getdents64", "lchown", "link", "linkat", "lseek", "lstat", "mkdir", "mkdirat",
	"mknod", "mknodat", "newfstatat", "open", "openat", "openat2", "pread64", "preadv", "preadv2",
	"pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
	"rename", "renameat", "renameat2", "rmdir", "sendfile", "splice", "stat", "statfs", "statx",
	"symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "umask",
	"unlink", "unlinkat", "utime", "utimensat", "utimes", "vmsplice", "write", "writev",
	/* extended attributes */
	"fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "getxattrat", "lgetxattr",
	"listxattr", "listxattrat", "llistxattr", "lremovexattr", "lsetxattr", "removexattr",
	"removexattrat", "setxattr", "setxattrat",
	/* waiting on files: poll, select, epoll, inotify, fanotify marks, eventfd, AIO */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"eventfd", "eventfd2", "fanotify_mark", "inotify_add_watch", "inotify_init", "inotify_init1",
	"inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup",
	"io_submit", "ioctl", "pipe", "pipe2", "poll", "ppoll", "pselect6", "select",
	/* memory */
	"brk", "cachestat", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret",
	"mincore", "mlock", "mlock2", "mlockall", "mmap", "mprotect", "mremap", "mseal", "msync",
	"munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
	"remap_file_pages",
	/* processes and threads (clone is below, with its flags checked) */
	"arch_prctl", "execve", "execveat", "exit", "exit_group", "fork", "get_robust_list",
	"get_thread_area", "getcpu", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
	"getrlimit", "getrusage", "getsid", "gettid", "ioprio_get", "ioprio_set", "modify_ldt",
	"pidfd_open", "pidfd_send_signal", "prctl", "prlimit64", "process_mrelease", "restart_syscall",
	"rseq", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
	"sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
	"sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
	"seccomp", "set_robust_list", "set_thread_area", "set_tid_address", "setpgid", "setpriority",
	"setrlimit", "setsid", "uretprobe", "vfork", "wait4", "waitid",
	/* credentials: the kernel checks CAP_SETUID/CAP_SETGID/CAP_SETPCAP itself */
	"capget", "capset", "getegid", "geteuid", "getgid", "getgroups", "getresgid", "getresuid",
	"getuid", "setfsgid", "setfsuid", "setgid", "setgroups", "setregid", "setresgid", "setresuid",
	"setreuid", "setuid",
	/* sandboxing oneself */
	"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lsm_get_self_attr",
	"lsm_list_modules", "lsm_set_self_attr",
	/* signals */
	"kill", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
	"rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo", "sigaltstack",
	"signalfd", "signalfd4", "tgkill", "tkill",
	/* time and timers (reading the clocks; setting them needs CAP_SYS_TIME) */
	"adjtimex", "alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "getitimer",
	"gettimeofday", "nanosleep", "setitimer", "time", "timer_create", "timer_delete",
	"timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create", "timerfd_gettime",
	"timerfd_settime", "times",
	/* futexes */
	"futex", "futex_requeue", "futex_wait", "futex_waitv", "futex_wake",
	/* sockets (socket itself is below: not AF_VSOCK) */
	"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
	"recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
	"socketpair",
	/* System V and POSIX IPC, private to the IPC namespace */
	"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink",
	"msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop", "shmat",
	"shmctl", "shmdt", "shmget",
	/* the system, read only */
	"getrandom", "listmount", "statmount", "sysinfo", "uname",
	NULL,
};

struct cap_group {
	const char *cap;
	const char *const *names;
};

static const char *const sys_admin[] = {
	"bpf", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount",
	"mount_setattr", "move_mount", "name_to_handle_at", "open_tree", "open_tree_attr",
	"perf_event_open", "pivot_root", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
	"setns", "swapoff", "swapon", "syslog", "umount2", "unshare", NULL,
};
static const char *const sys_ptrace[] = {
	"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace",
	"userfaultfd", NULL,
};
static const char *const sys_module[] = { "delete_module", "finit_module", "init_module", NULL };
static const char *const sys_boot[] = { "kexec_file_load", "kexec_load", "reboot", NULL };
static const char *const sys_time[] = { "clock_adjtime", "clock_settime", "settimeofday", NULL };
static const char *const sys_nice[] = {
	"get_mempolicy", "mbind", "migrate_pages", "move_pages", "set_mempolicy", "set_mempolicy_home_node",
	NULL,
};
static const char *const sys_rawio[] = { "ioperm", "iopl", NULL };
static const char *const sys_chroot[] = { "chroot", NULL };
static const char *const sys_pacct[] = { "acct", NULL };
static const char *const sys_tty_config[] = { "vhangup", NULL };
static const char *const syslog_[] = { "syslog", NULL };
static const char *const bpf_[] = { "bpf", NULL };
static const char *const perfmon[] = { "perf_event_open", NULL };
static const char *const dac_read_search[] = { "open_by_handle_at", NULL };

static const struct cap_group by_cap[] = {
	{ "CAP_SYS_ADMIN", sys_admin },
	{ "CAP_SYS_PTRACE", sys_ptrace },
	{ "CAP_SYS_MODULE", sys_module },
	{ "CAP_SYS_BOOT", sys_boot },
	{ "CAP_SYS_TIME", sys_time },
	{ "CAP_SYS_NICE", sys_nice },
	{ "CAP_SYS_RAWIO", sys_rawio },
	{ "CAP_SYS_CHROOT", sys_chroot },
	{ "CAP_SYS_PACCT", sys_pacct },
	{ "CAP_SYS_TTY_CONFIG", sys_tty_config },
	{ "CAP_SYSLOG", syslog_ },
	{ "CAP_BPF", bpf_ },
	{ "CAP_PERFMON", perfmon },
	{ "CAP_DAC_READ_SEARCH", dac_read_search },
};

/* CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
 * CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET */
#define CLONE_NS_FLAGS 0x7E020000ULL
#define AF_VSOCK_ 40
/* PER_LINUX, UNAME26, PER_LINUX32, PER_LINUX32|UNAME26, and 0xffffffff
 * which only queries the current persona */
static const unsigned long long personas[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffffULL };

static bool has(char **v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (streq(v[i], s))
			return true;
	return false;
}

static json_object *arg(unsigned index, unsigned long long value, unsigned long long value2, const char *op)
{
	json_object *a = json_object_new_object();
	json_object_object_add(a, "index", json_object_new_int(index));
	json_object_object_add(a, "value", json_object_new_uint64(value));
	json_object_object_add(a, "valueTwo", json_object_new_uint64(value2));
	json_object_object_add(a, "op", json_object_new_string(op));
	return a;
}

/* One OCI syscalls[] entry; args (taken) may be NULL. Several args on one
 * index are alternatives (runc's reading, and cell-runtime's). */
static void rule(json_object *sys, const char *name, const char *action, int errno_ret, json_object *args)
{
	json_object *r = json_object_new_object();
	json_object *names = json_object_new_array();
	json_object_array_add(names, json_object_new_string(name));
	json_object_object_add(r, "names", names);
	json_object_object_add(r, "action", json_object_new_string(action));
	if (errno_ret)
		json_object_object_add(r, "errnoRet", json_object_new_int(errno_ret));
	if (args)
		json_object_object_add(r, "args", args);
	json_object_array_add(sys, r);
}

static void add_name(json_object *names, const char *n)
{
	/* a name can come from two groups (syslog: SYS_ADMIN and SYSLOG) */
	for (size_t i = 0; i < json_object_array_length(names); i++)
		if (streq(json_object_get_string(json_object_array_get_idx(names, i)), n))
			return;
	json_object_array_add(names, json_object_new_string(n));
}

json_object *engine_default_seccomp(char **caps)
{
	bool admin = has(caps, "CAP_SYS_ADMIN");
	json_object *names = json_object_new_array();
	for (size_t i = 0; allowed[i]; i++)
		json_object_array_add(names, json_object_new_string(allowed[i]));
	for (size_t i = 0; i < ARRAY_SIZE(by_cap); i++) {
		if (!has(caps, by_cap[i].cap))
			continue;
		for (size_t j = 0; by_cap[i].names[j]; j++)
			add_name(names, by_cap[i].names[j]);
	}
	if (admin) {
		add_name(names, "clone");
		add_name(names, "clone3");
	}

	json_object *sys = json_object_new_array();
	json_object *all = json_object_new_object();
	json_object_object_add(all, "names", names);
	json_object_object_add(all, "action", json_object_new_string("SCMP_ACT_ALLOW"));
	json_object_array_add(sys, all);
	if (!admin) {
		json_object *a = json_object_new_array();
		json_object_array_add(a, arg(0, CLONE_NS_FLAGS, 0, "SCMP_CMP_MASKED_EQ"));
		rule(sys, "clone", "SCMP_ACT_ALLOW", 0, a);
		rule(sys, "clone3", "SCMP_ACT_ERRNO", ENOSYS, NULL);
	}
	json_object *p = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(personas); i++)
		json_object_array_add(p, arg(0, personas[i], 0, "SCMP_CMP_EQ"));
	rule(sys, "personality", "SCMP_ACT_ALLOW", 0, p);
	json_object *s = json_object_new_array();
	json_object_array_add(s, arg(0, AF_VSOCK_, 0, "SCMP_CMP_NE"));
	rule(sys, "socket", "SCMP_ACT_ALLOW", 0, s);

	json_object *o = json_object_new_object();
	json_object_object_add(o, "defaultAction", json_object_new_string("SCMP_ACT_ERRNO"));
	json_object_object_add(o, "defaultErrnoRet", json_object_new_int(EPERM));
	json_object *arches = json_object_new_array();
	json_object_array_add(arches, json_object_new_string("SCMP_ARCH_X86_64"));
	json_object_object_add(o, "architectures", arches);
	json_object_object_add(o, "syscalls", sys);
	return o;
}
