#define _GNU_SOURCE
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "json.h"
#include "linux/caps.h"
#include "linux/mounts.h"
#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static const struct { const char *name; int policy; } sched_policies[] = {
	{ "SCHED_OTHER", SCHED_OTHER }, { "SCHED_FIFO", SCHED_FIFO }, { "SCHED_RR", SCHED_RR },
	{ "SCHED_BATCH", SCHED_BATCH }, { "SCHED_ISO", 4 }, { "SCHED_IDLE", SCHED_IDLE },
	{ "SCHED_DEADLINE", 6 },
};

static const struct { const char *name; uint64_t flag; } sched_flags[] = {
	{ "SCHED_FLAG_RESET_ON_FORK", 0x01 }, { "SCHED_FLAG_RECLAIM", 0x02 },
	{ "SCHED_FLAG_DL_OVERRUN", 0x04 }, { "SCHED_FLAG_KEEP_POLICY", 0x08 },
	{ "SCHED_FLAG_KEEP_PARAMS", 0x10 }, { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
	{ "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
};

struct sched_attr_ {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

static int apply_scheduler(json_object *o, cell_error **err)
{
	const char *policy = NULL;
	int64_t nice = 0, prio = 0;
	uint64_t runtime = 0, deadline = 0, period = 0;
	_cleanup_strv_ char **flags = NULL;
	struct sched_attr_ a = { .size = sizeof(a) };
	const char *ctx = "process.scheduler";

	if (cj_string(o, "policy", ctx, &policy, err) < 0 || cj_int64(o, "nice", ctx, &nice, err) < 0 ||
	    cj_int64(o, "priority", ctx, &prio, err) < 0 || cj_strv(o, "flags", ctx, &flags, err) < 0 ||
	    cj_uint64(o, "runtime", ctx, &runtime, err) < 0 || cj_uint64(o, "deadline", ctx, &deadline, err) < 0 ||
	    cj_uint64(o, "period", ctx, &period, err) < 0)
		return -1;
	int pol = -1;
	for (size_t i = 0; policy && i < ARRAY_SIZE(sched_policies); i++)
		if (streq(policy, sched_policies[i].name))
			pol = sched_policies[i].policy;
	if (pol < 0)
		return cell_error_set(err, "`%s.policy`: unknown policy `%s`", ctx, policy ? policy : "");
	for (size_t i = 0; flags && flags[i]; i++) {
		bool found = false;
		for (size_t j = 0; j < ARRAY_SIZE(sched_flags); j++)
			if (streq(flags[i], sched_flags[j].name)) {
				a.sched_flags |= sched_flags[j].flag;
				found = true;
			}
		if (!found)
			return cell_error_set(err, "`%s.flags[%zu]`: unknown flag `%s`", ctx, i, flags[i]);
	}
	a.sched_policy = (uint32_t)pol;
	a.sched_nice = (int32_t)nice;
	a.sched_priority = (uint32_t)prio;
	a.sched_runtime = runtime;
	a.sched_deadline = deadline;
	a.sched_period = period;
	if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
		return cell_error_errno(err, errno, "`%s`: sched_setattr(policy %s, priority %lld, nice %lld)", ctx,
					policy, (long long)prio, (long long)nice);
	return 0;
}

static int apply_ioprio(json_object *o, cell_error **err)
{
	static const struct { const char *name; int cls; } classes[] = {
		{ "IOPRIO_CLASS_RT", 1 }, { "IOPRIO_CLASS_BE", 2 }, { "IOPRIO_CLASS_IDLE", 3 },
	};
	const char *cls = NULL;
	int64_t prio = 0;
	int c = -1;
	if (cj_string(o, "class", "process.ioPriority", &cls, err) < 0 ||
	    cj_int64(o, "priority", "process.ioPriority", &prio, err) < 0)
		return -1;
	for (size_t i = 0; cls && i < ARRAY_SIZE(classes); i++)
		if (streq(cls, classes[i].name))
			c = classes[i].cls;
	if (c < 0)
		return cell_error_set(err, "`process.ioPriority.class`: unknown class `%s`", cls ? cls : "");
	if (prio < 0 || prio > 7)
		return cell_error_set(err, "`process.ioPriority.priority`: %lld is outside 0..7", (long long)prio);
	/* IOPRIO_WHO_PROCESS = 1, value = class << 13 | data */
	if (syscall(SYS_ioprio_set, 1, 0, (c << 13) | (int)prio) < 0)
		return cell_error_errno(err, errno, "`process.ioPriority`: ioprio_set(%s, %lld)", cls, (long long)prio);
	return 0;
}

int cell_process_limits(const struct cell_process *p, cell_error **err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct cell_rlimit *rl = &p->rlimits[i];
		struct rlimit v = { rl->soft, rl->hard };
		if (setrlimit(rl->resource, &v) < 0) {
			int e = errno;
			struct rlimit cur;
			getrlimit(rl->resource, &cur);
			if (e == EPERM && rl->hard > cur.rlim_max)
				return cell_error_set(err, "`process.rlimits[%zu]`: set %s to %llu:%llu: Operation not "
						      "permitted (the hard limit is %llu and raising it needs "
						      "CAP_SYS_RESOURCE, which this runtime lacks)", i, rl->name,
						      (unsigned long long)rl->soft, (unsigned long long)rl->hard,
						      (unsigned long long)cur.rlim_max);
			return cell_error_errno(err, e, "`process.rlimits[%zu]`: set %s to %llu:%llu", i, rl->name,
						(unsigned long long)rl->soft, (unsigned long long)rl->hard);
		}
	}
	if (p->scheduler && apply_scheduler(p->scheduler, err) < 0)
		return -1;
	if (p->io_priority && apply_ioprio(p->io_priority, err) < 0)
		return -1;
	return 0;
}

static bool lsm_enabled(const char *name)
{
	_cleanup_free_ char *lsms = NULL;
	cell_error *e = NULL;
	if (read_file("/sys/kernel/security/lsm", &lsms, NULL, &e) < 0) {
		cell_error_free(&e);
		return false;
	}
	return strstr(lsms, name) != NULL;
}

int cell_process_lsm(const struct cell_process *p, cell_error **err)
{
	if (p->selinux_label && !lsm_enabled("selinux"))
		return cell_error_set(err, "`process.selinuxLabel` is `%s` but SELinux is not enabled on this host",
				      p->selinux_label);
	if (p->apparmor_profile) {
		if (!lsm_enabled("apparmor"))
			return cell_error_set(err, "`process.apparmorProfile` is `%s` but AppArmor is not enabled on "
					      "this host", p->apparmor_profile);
		_cleanup_free_ char *v = xasprintf("exec %s", p->apparmor_profile);
		/* through a procfs of our own: a mount over the attr file must
		 * not swallow the label (CVE-2025-52881) */
		if (cell_proc_write("/proc/thread-self/attr/apparmor/exec", v, err) < 0 &&
		    (cell_error_free(err), cell_proc_write("/proc/thread-self/attr/exec", v, err) < 0))
			return cell_error_wrap(err, "`process.apparmorProfile` `%s` (is the profile loaded?)",
					       p->apparmor_profile);
	}
	if (p->selinux_label && cell_proc_write("/proc/thread-self/attr/exec", p->selinux_label, err) < 0)
		return cell_error_wrap(err, "`process.selinuxLabel`");
	return 0;
}

int cell_process_identity(const struct cell_process *p, bool setgroups_allowed, cell_error **err)
{
	struct cell_caps caps;
	bool has_caps = false;

	if (p->capabilities) {
		if (cell_caps_parse(p->capabilities, &caps, err) < 0)
			return -1;
		has_caps = true;
	}
	if (setgroups_allowed && setgroups(p->n_additional_gids, p->additional_gids) < 0)
		return cell_error_errno(err, errno, "`process.user.additionalGids`: setgroups");
	if (!setgroups_allowed && p->n_additional_gids)
		return cell_error_set(err, "`process.user.additionalGids`: setgroups is denied in this user namespace");
	/* keep the permitted set across the uid change, then set it exactly */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return cell_error_errno(err, errno, "prctl(PR_SET_KEEPCAPS)");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return cell_error_errno(err, errno, "`process.user.gid`: setresgid(%u) (is gid %u mapped in the "
					"user namespace?)", p->gid, p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return cell_error_errno(err, errno, "`process.user.uid`: setresuid(%u) (is uid %u mapped in the "
					"user namespace?)", p->uid, p->uid);
	if (has_caps && cell_caps_apply(&caps, err) < 0)
		return cell_error_wrap(err, "process.capabilities");
	if (!has_caps && cell_caps_drop_all(err) < 0)
		return cell_error_wrap(err, "drop capabilities");
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (p->umask >= 0)
		umask((mode_t)p->umask);
	else
		umask(0022);
	return 0;
}

int cell_process_cwd_early(const struct cell_process *p, bool *ret_done, cell_error **err)
{
	*ret_done = false;
	if (chdir(p->cwd) == 0) {
		*ret_done = true;
		return 0;
	}
	/* a root-squashed or id-mapped dir the user owns: the user may get in */
	if (errno == EACCES || errno == EPERM)
		return 0;
	return cell_error_errno(err, errno, "`process.cwd` `%s`", p->cwd);
}

int cell_process_cwd(const struct cell_process *p, cell_error **err)
{
	if (chdir(p->cwd) < 0)
		return cell_error_errno(err, errno, "`process.cwd` `%s`", p->cwd);
	return 0;
}

static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

int cell_process_find(const struct cell_process *p, char **ret, cell_error **err)
{
	const char *prog = p->args[0];
	struct stat st;

	if (strchr(prog, '/')) {
		if (stat(prog, &st) < 0)
			return cell_error_errno(err, errno, "`process.args[0]` `%s`", prog);
		if (S_ISDIR(st.st_mode) || access(prog, X_OK) < 0)
			return cell_error_errno(err, EACCES, "`process.args[0]` `%s` is not executable", prog);
		*ret = xstrdup(prog);
		return 0;
	}
	const char *path = env_get(p->env, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *cand = xasprintf("%s/%s", *dir ? dir : ".", prog);
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
			*ret = TAKE_PTR(cand);
			return 0;
		}
	}
	return cell_error_errno(err, ENOENT, "`process.args[0]` `%s`: not found in $PATH (%s) inside the container",
				prog, path);
}

void cell_process_close_fds(int preserve_fds)
{
	unsigned int first = 3 + (unsigned)(preserve_fds > 0 ? preserve_fds : 0);
	if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	for (int fd = (int)first; fd < 65536; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

void cell_process_exec(const struct cell_process *p, const char *path)
{
	char *empty[] = { NULL };
	execve(path, p->args, p->env ? p->env : empty);
	int e = errno;
	fprintf(stderr, "cell-runtime: exec `%s` in the container: %s\n", path, strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

int cell_process_personality(json_object *pers, cell_error **err)
{
	const char *domain = NULL;
	unsigned long v;
	if (cj_string(pers, "domain", "linux.personality", &domain, err) < 0)
		return -1;
	if (!domain || streq(domain, "LINUX"))
		v = PER_LINUX;
	else if (streq(domain, "LINUX32"))
		v = PER_LINUX32;
	else
		return cell_error_set(err, "`linux.personality.domain`: unknown domain `%s` (LINUX or LINUX32)", domain);
	if (personality(v) < 0)
		return cell_error_errno(err, errno, "`linux.personality`: personality(%s)", domain);
	return 0;
}
