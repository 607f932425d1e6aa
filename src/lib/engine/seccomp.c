/* The default seccomp profile. Docker's default is an allow-list; this one
 * refuses (EPERM) the syscalls Docker's refuses unless a capability grants
 * them, and allows the rest, so that new harmless syscalls keep working. The
 * refused ones come back when their capability is added (--cap-add
 * SYS_ADMIN gives mount, unshare, setns ... as Docker does). */
#include <errno.h>
#include <string.h>

#include "engine-internal.h"
#include "util.h"

struct rule {
	const char *cap;	/* NULL: refused whatever the capabilities */
	const char *const *names;
};

static const char *const always[] = {
	"acct", "add_key", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "nfsservctl",
	"request_key", "uselib", "userfaultfd", "ustat", "_sysctl", "sysfs",
	"create_module", "get_kernel_syms", "query_module", NULL,
};
static const char *const sys_admin[] = {
	"bpf", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
	"lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree",
	"perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "swapon",
	"swapoff", "umount", "umount2", "unshare", "pivot_root", "open_by_handle_at", NULL,
};
static const char *const sys_module[] = { "delete_module", "init_module", "finit_module", NULL };
static const char *const sys_time[] = { "clock_adjtime", "clock_settime", "settimeofday", NULL };
static const char *const sys_boot[] = { "reboot", NULL };
static const char *const sys_ptrace[] = { "kcmp", "process_vm_readv", "process_vm_writev", "ptrace", NULL };
static const char *const sys_rawio[] = { "ioperm", "iopl", NULL };
static const char *const sys_nice[] = { "get_mempolicy", "mbind", "set_mempolicy", "move_pages", NULL };

static const struct rule rules[] = {
	{ NULL, always },
	{ "CAP_SYS_ADMIN", sys_admin },
	{ "CAP_SYS_MODULE", sys_module },
	{ "CAP_SYS_TIME", sys_time },
	{ "CAP_SYS_BOOT", sys_boot },
	{ "CAP_SYS_PTRACE", sys_ptrace },
	{ "CAP_SYS_RAWIO", sys_rawio },
	{ "CAP_SYS_NICE", sys_nice },
};

static bool has(char **v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (streq(v[i], s))
			return true;
	return false;
}

json_object *engine_default_seccomp(char **caps)
{
	json_object *names = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		if (rules[i].cap && has(caps, rules[i].cap))
			continue;
		for (size_t j = 0; rules[i].names[j]; j++)
			json_object_array_add(names, json_object_new_string(rules[i].names[j]));
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "defaultAction", json_object_new_string("SCMP_ACT_ALLOW"));
	json_object *arches = json_object_new_array();
	json_object_array_add(arches, json_object_new_string("SCMP_ARCH_X86_64"));
	json_object_object_add(o, "architectures", arches);
	json_object *sys = json_object_new_array();
	json_object *r = json_object_new_object();
	json_object_object_add(r, "names", names);
	json_object_object_add(r, "action", json_object_new_string("SCMP_ACT_ERRNO"));
	json_object_object_add(r, "errnoRet", json_object_new_int(EPERM));
	json_object_array_add(sys, r);
	json_object_object_add(o, "syscalls", sys);
	return o;
}
