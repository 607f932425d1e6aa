#define _GNU_SOURCE
#include "linux/seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "util.h"

#define CTX "linux.seccomp"
/* The kernel refuses classic BPF programs longer than this (BPF_MAXINSNS). */
#define SECCOMP_MAX_INSNS 4096

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

/* libseccomp builds the program once, in the runtime; the init loads it
 * with the seccomp(2) syscall itself. That halves the cost (generating a
 * multi-arch program takes libseccomp ~15 ms) and leaves the init nothing
 * to allocate between clone and execve. */
struct cell_seccomp {
	struct sock_filter *prog;
	unsigned short insns;
	unsigned long flags;	/* SECCOMP_FILTER_FLAG_* for seccomp(2) */
	bool notify;
	char *listener_path, *listener_metadata;
};

const char *const cell_seccomp_actions[] = {
	"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
	"SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", NULL,
};

const char *const cell_seccomp_operators[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
	"SCMP_CMP_MASKED_EQ", NULL,
};

const char *const cell_seccomp_archs[] = {
	"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
	"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
	"SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
	"SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
	"SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", NULL,
};

const char *const cell_seccomp_flags[] = {
	"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL,
};

static const struct {
	const char *name;
	unsigned long flag;
} flag_table[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV },
};

/* Ask the kernel: with a NULL program, a known flag set fails with EFAULT
 * and an unknown one with EINVAL (what libseccomp and runc do too). */
static bool kernel_has_flags(unsigned long flags)
{
	errno = 0;
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, NULL);
	return r < 0 && errno == EFAULT;
}

static unsigned long probe_flag(unsigned long flag)
{
	/* WAIT_KILLABLE_RECV is only valid together with NEW_LISTENER */
	if (flag == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
		return flag | SECCOMP_FILTER_FLAG_NEW_LISTENER;
	return flag;
}

bool cell_seccomp_flag_supported(const char *flag)
{
	for (size_t i = 0; i < ARRAY_SIZE(flag_table); i++)
		if (streq(flag, flag_table[i].name))
			return kernel_has_flags(probe_flag(flag_table[i].flag));
	return false;
}

static const char *type_name(json_object *o)
{
	return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

/* An action name plus its optional errnoRet into a libseccomp action.
 * where names the object holding "action"/"defaultAction" in errors. */
static int parse_action(const char *name, const char *where, const char *key, bool has_errno,
			uint32_t errno_ret, const char *errno_key, uint32_t *ret, cell_error **err)
{
	static const struct {
		const char *name;
		uint32_t action;
		unsigned int api;
	} actions[] = {
		{ "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, 0 },
		{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, 0 },
		{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, 3 },
		{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP, 0 },
		{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, 0 },
		{ "SCMP_ACT_LOG", SCMP_ACT_LOG, 3 },
		{ "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, 5 },
	};
	unsigned int api = seccomp_api_get();

	if (streq(name, "SCMP_ACT_ERRNO") || streq(name, "SCMP_ACT_TRACE")) {
		uint32_t e = has_errno ? errno_ret : EPERM;
		*ret = name[9] == 'E' ? SCMP_ACT_ERRNO(e) : SCMP_ACT_TRACE(e);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
		if (!streq(name, actions[i].name))
			continue;
		if (has_errno)
			return cell_error_set(err, "`%s.%s`: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an "
					      "errno, not `%s`", where, errno_key, name);
		if (api < actions[i].api)
			return cell_error_set(err, "`%s.%s`: `%s` is not supported by this kernel and "
					      "libseccomp (API level %u, needs %u)", where, key, name, api,
					      actions[i].api);
		*ret = actions[i].action;
		return 0;
	}
	return cell_error_set(err, "`%s.%s`: unknown action `%s` (expected one of SCMP_ACT_KILL, "
			      "SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, "
			      "SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY)", where, key, name);
}

/* errnoRet: an errno number the seccomp return value can carry (16 bits). */
static int parse_errno_ret(json_object *o, const char *where, const char *key, bool *has,
			   uint32_t *ret, cell_error **err)
{
	uint64_t v;
	int r = cj_uint64(o, key, where, &v, err);
	if (r <= 0)
		return r;
	if (v > 0xffff)
		return cell_error_set(err, "`%s.%s`: %" PRIu64 " is out of range (0-65535)", where, key, v);
	*has = true;
	*ret = (uint32_t)v;
	return 0;
}

static int add_arch(scmp_filter_ctx ctx, const char *name, const char *where, cell_error **err)
{
	static const char prefix[] = "SCMP_ARCH_";
	char lower[32];

	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0 || strlen(name) - (sizeof(prefix) - 1) >= sizeof(lower))
		return cell_error_set(err, "`%s`: unknown architecture `%s` (expected SCMP_ARCH_X86_64, "
				      "SCMP_ARCH_AARCH64, ...)", where, name);
	size_t i = 0;
	for (const char *p = name + sizeof(prefix) - 1; *p; p++)
		lower[i++] = (char)tolower((unsigned char)*p);
	lower[i] = '\0';
	uint32_t token = seccomp_arch_resolve_name(lower);
	if (token == 0)
		return cell_error_set(err, "`%s`: unknown architecture `%s` (libseccomp %u.%u.%u does not "
				      "know `%s`)", where, name, SCMP_VER_MAJOR, SCMP_VER_MINOR,
				      SCMP_VER_MICRO, lower);
	int r = seccomp_arch_add(ctx, token);
	/* EDOM: an arch of the other endianness cannot share the filter, and
	 * no process here can make its syscalls either */
	if (r == -EDOM)
		return 0;
	if (r < 0 && r != -EEXIST)
		return cell_error_errno(err, -r, "`%s`: add architecture `%s`", where, name);
	return 0;
}

static int set_flag(struct cell_seccomp *s, const char *name, const char *where, cell_error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(flag_table); i++) {
		if (!streq(name, flag_table[i].name))
			continue;
		if (!kernel_has_flags(probe_flag(flag_table[i].flag)))
			return cell_error_set(err, "`%s`: `%s` is not supported by this kernel", where, name);
		s->flags |= flag_table[i].flag;
		return 0;
	}
	return cell_error_set(err, "`%s`: unknown flag `%s` (expected SECCOMP_FILTER_FLAG_TSYNC, "
			      "SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW or "
			      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)", where, name);
}

static int parse_op(const char *name, enum scmp_compare *ret)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (streq(name, ops[i].name)) {
			*ret = ops[i].op;
			return 0;
		}
	return -1;
}

/* syscalls[i].args into comparisons; *ret_same_index says whether two args
 * test the same argument (libseccomp refuses that within one rule). */
static int parse_args(json_object *args, const char *where, struct scmp_arg_cmp *cmp, size_t *ret_n,
		      bool *ret_same_index, cell_error **err)
{
	size_t n = json_object_array_length(args);
	unsigned seen = 0;

	if (n > 6)
		return cell_error_set(err, "`%s.args`: %zu conditions, at most 6 are supported", where, n);
	*ret_same_index = false;
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(args, i);
		_cleanup_free_ char *actx = xasprintf("%s.args[%zu]", where, i);
		uint64_t index = 0, value = 0, value2 = 0;
		const char *op = NULL;
		int r;

		if (cj_expect_object(a, actx, err) < 0)
			return -1;
		if ((r = cj_uint64(a, "index", actx, &index, err)) < 0)
			return -1;
		if (r == 0)
			return cell_error_set(err, "`%s.index`: required", actx);
		if (index > 5)
			return cell_error_set(err, "`%s.index`: %" PRIu64 " is out of range (a syscall has "
					      "arguments 0-5)", actx, index);
		if ((r = cj_uint64(a, "value", actx, &value, err)) < 0)
			return -1;
		if (r == 0)
			return cell_error_set(err, "`%s.value`: required", actx);
		if (cj_uint64(a, "valueTwo", actx, &value2, err) < 0)
			return -1;
		if ((r = cj_string(a, "op", actx, &op, err)) < 0)
			return -1;
		if (r == 0)
			return cell_error_set(err, "`%s.op`: required", actx);
		if (parse_op(op, &cmp[i].op) < 0)
			return cell_error_set(err, "`%s.op`: unknown operator `%s` (expected SCMP_CMP_NE, "
					      "SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, "
					      "SCMP_CMP_GT or SCMP_CMP_MASKED_EQ)", actx, op);
		cmp[i].arg = (unsigned int)index;
		cmp[i].datum_a = value;
		cmp[i].datum_b = value2;
		if (seen & (1u << index))
			*ret_same_index = true;
		seen |= 1u << index;
	}
	*ret_n = n;
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const char *name,
		    const struct scmp_arg_cmp *cmp, size_t n, bool same_index, const char *where,
		    cell_error **err)
{
	int r;
	if (!same_index) {
		r = seccomp_rule_add_array(ctx, action, nr, (unsigned int)n, n ? cmp : NULL);
	} else {
		/* as runc: conditions on one argument are alternatives */
		r = 0;
		for (size_t i = 0; i < n && r >= 0; i++)
			r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);
	}
	if (r < 0)
		return cell_error_errno(err, -r, "`%s`: add the rule for syscall `%s`%s", where, name,
					r == -EINVAL ? " (libseccomp rejected its conditions)" : "");
	return 0;
}

static int add_syscalls(struct cell_seccomp *s, scmp_filter_ctx ctx, json_object *sc, size_t idx,
			uint32_t def_action, cell_error **err)
{
	_cleanup_free_ char *where = xasprintf(CTX ".syscalls[%zu]", idx);
	json_object *names = NULL, *args = NULL;
	const char *action_name = NULL;
	uint32_t errno_ret = 0, action;
	bool has_errno = false, same_index = false;
	struct scmp_arg_cmp cmp[6];
	size_t ncmp = 0;
	int r;

	if (cj_expect_object(sc, where, err) < 0)
		return -1;
	if ((r = cj_array(sc, "names", where, &names, err)) < 0)
		return -1;
	if (r == 0 || json_object_array_length(names) == 0)
		return cell_error_set(err, "`%s.names`: required, at least one syscall name", where);
	if ((r = cj_string(sc, "action", where, &action_name, err)) < 0)
		return -1;
	if (r == 0)
		return cell_error_set(err, "`%s.action`: required", where);
	if (parse_errno_ret(sc, where, "errnoRet", &has_errno, &errno_ret, err) < 0 ||
	    parse_action(action_name, where, "action", has_errno, errno_ret, "errnoRet", &action, err) < 0)
		return -1;
	if (action == SCMP_ACT_NOTIFY)
		s->notify = true;
	if (cj_array(sc, "args", where, &args, err) < 0)
		return -1;
	if (args && parse_args(args, where, cmp, &ncmp, &same_index, err) < 0)
		return -1;

	for (size_t i = 0; i < json_object_array_length(names); i++) {
		json_object *n = json_object_array_get_idx(names, i);
		if (!n || json_object_get_type(n) != json_type_string)
			return cell_error_set(err, "`%s.names[%zu]`: expected string, got %s", where, i,
					      type_name(n));
		const char *name = json_object_get_string(n);
		if (!*name)
			return cell_error_set(err, "`%s.names[%zu]`: an empty string is not a syscall name",
					      where, i);
		/* libseccomp refuses rules that repeat the default action; they
		 * change nothing, so skip them as runc does */
		if (action == def_action)
			continue;
		/* the runtime writes to the container before the listener runs,
		 * and the listener reports through write(2): runc refuses it too */
		if (action == SCMP_ACT_NOTIFY && streq(name, "write"))
			return cell_error_set(err, "`%s.names[%zu]`: SCMP_ACT_NOTIFY cannot be used for the "
					      "write syscall (the runtime and the listener would deadlock)", where, i);
		int nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR)
			continue;	/* unknown here: newer kernel or other arch only */
		_cleanup_free_ char *nwhere = xasprintf("%s.names[%zu]", where, i);
		if (add_rule(ctx, action, nr, name, cmp, ncmp, same_index, nwhere, err) < 0)
			return -1;
	}
	return 0;
}

/* Syscall numbers above the highest one libseccomp knows for an arch return
 * ENOSYS instead of the default action (runc's patchbpf does the same): a
 * libc newer than the profile then sees "not implemented" and falls back
 * (clone3 to clone, ...) instead of failing on EPERM. Done as a stub in
 * front of libseccomp's program, for the archs whose numbers start at 0
 * (x86_64's x32 calls, bit 30, are left to the program).
 *
 *   for each arch of the filter:
 *       ld [arch]; jeq ARCH ? next : skip block
 *       ld [nr]; (x86_64: jset X32 ? program); jgt MAX ? enosys : program
 *   enosys: ret ERRNO(ENOSYS)
 *   program: libseccomp's */
#define ENOSYS_STUB_MAX 4
#define SC_X32_BIT 0x40000000u

static uint32_t highest_known_nr(uint32_t arch)
{
	uint32_t max = 0;
	for (int nr = 0; nr < 1024; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(arch, nr);
		if (name) {
			max = (uint32_t)nr;
			free(name);
		}
	}
	return max;
}

static size_t enosys_stub(scmp_filter_ctx ctx, uint32_t def, struct sock_filter *out)
{
	static const uint32_t archs[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_AARCH64 };
	struct { uint32_t arch, max; } a[ENOSYS_STUB_MAX];
	size_t na = 0, k = 0;

	/* nothing is refused by default: the kernel's own ENOSYS holds */
	if (def == SCMP_ACT_ALLOW || def == SCMP_ACT_LOG)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(archs); i++)
		if (seccomp_arch_exist(ctx, archs[i]) == 0) {
			uint32_t max = highest_known_nr(archs[i]);
			if (max > 0)
				a[na++] = (typeof(a[0])){ archs[i], max };
		}
	if (na == 0)
		return 0;
	/* block length: 4 instructions, 5 with the x32 test */
	size_t total = 1;
	for (size_t i = 0; i < na; i++)
		total += a[i].arch == SCMP_ARCH_X86_64 ? 5 : 4;
	size_t enosys = total - 1;
	for (size_t i = 0; i < na; i++) {
		size_t len = a[i].arch == SCMP_ARCH_X86_64 ? 5 : 4;
		size_t end = k + len;	/* the next block */
		out[k] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4);
		k++;
		out[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, a[i].arch, 0,
						      (unsigned char)(end - k - 1));
		k++;
		out[k] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
		k++;
		if (a[i].arch == SCMP_ARCH_X86_64) {
			out[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SC_X32_BIT,
							      (unsigned char)(total - k - 1), 0);
			k++;
		}
		out[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, a[i].max,
						      (unsigned char)(enosys - k - 1), (unsigned char)(total - k - 1));
		k++;
	}
	out[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
	return k;
}

/* Generate the program, keep it, and refuse now one the kernel would
 * refuse for its size. */
static int export_program(struct cell_seccomp *s, scmp_filter_ctx ctx, uint32_t def, cell_error **err)
{
	struct sock_filter stub[1 + 5 * ENOSYS_STUB_MAX];
	size_t nstub = enosys_stub(ctx, def, stub);
	_cleanup_close_ int fd = memfd_create("cell-seccomp", MFD_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return cell_error_errno(err, errno, "memfd_create for the seccomp program");
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return cell_error_errno(err, -r, "`" CTX "`: generate the BPF program");
	if (fstat(fd, &st) < 0)
		return cell_error_errno(err, errno, "fstat the seccomp program");
	size_t m = (size_t)st.st_size / sizeof(struct sock_filter);
	if (m == 0 || (size_t)st.st_size % sizeof(struct sock_filter))
		return cell_error_set(err, "`" CTX "`: libseccomp generated a program of %lld bytes",
				      (long long)st.st_size);
	size_t n = nstub + m;
	if (n > SECCOMP_MAX_INSNS)
		return cell_error_set(err, "`" CTX "`: the filter has %zu BPF instructions, the kernel "
				      "accepts at most %d (too many rules or arguments)", n, SECCOMP_MAX_INSNS);
	s->prog = xmalloc(n * sizeof(struct sock_filter));
	memcpy(s->prog, stub, nstub * sizeof(struct sock_filter));
	if (pread(fd, s->prog + nstub, m * sizeof(struct sock_filter), 0) != (ssize_t)(m * sizeof(struct sock_filter)))
		return cell_error_errno(err, errno, "read the seccomp program back");
	s->insns = (unsigned short)n;
	return 0;
}

static int compile_header(json_object *o, struct cell_seccomp *s, uint32_t *ret_default, cell_error **err)
{
	const char *def = NULL, *str = NULL;
	bool has_errno = false;
	uint32_t errno_ret = 0;
	int r;

	if ((r = cj_string(o, "defaultAction", CTX, &def, err)) < 0)
		return -1;
	if (r == 0)
		return cell_error_set(err, "`" CTX ".defaultAction`: required");
	if (parse_errno_ret(o, CTX, "defaultErrnoRet", &has_errno, &errno_ret, err) < 0 ||
	    parse_action(def, CTX, "defaultAction", has_errno, errno_ret, "defaultErrnoRet", ret_default, err) < 0)
		return -1;
	if (*ret_default == SCMP_ACT_NOTIFY)
		return cell_error_set(err, "`" CTX ".defaultAction`: SCMP_ACT_NOTIFY cannot be the default "
				      "action (the listener itself would be blocked)");
	if (cj_string(o, "listenerPath", CTX, &str, err) < 0)
		return -1;
	if (str && *str)
		s->listener_path = xstrdup(str);
	str = NULL;
	if (cj_string(o, "listenerMetadata", CTX, &str, err) < 0)
		return -1;
	if (str)
		s->listener_metadata = xstrdup(str);
	return 0;
}

static int compile_lists(json_object *o, struct cell_seccomp *s, scmp_filter_ctx ctx, uint32_t def,
			 cell_error **err)
{
	static const char *const lists[] = { "architectures", "flags" };
	json_object *a;

	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		a = NULL;
		if (cj_array(o, lists[l], CTX, &a, err) < 0)
			return -1;
		for (size_t i = 0; a && i < json_object_array_length(a); i++) {
			json_object *e = json_object_array_get_idx(a, i);
			_cleanup_free_ char *where = xasprintf(CTX ".%s[%zu]", lists[l], i);
			if (!e || json_object_get_type(e) != json_type_string)
				return cell_error_set(err, "`%s`: expected string, got %s", where, type_name(e));
			const char *v = json_object_get_string(e);
			if ((l == 0 ? add_arch(ctx, v, where, err) : set_flag(s, v, where, err)) < 0)
				return -1;
		}
	}
	a = NULL;
	if (cj_array(o, "syscalls", CTX, &a, err) < 0)
		return -1;
	for (size_t i = 0; a && i < json_object_array_length(a); i++)
		if (add_syscalls(s, ctx, json_object_array_get_idx(a, i), i, def, err) < 0)
			return -1;
	return 0;
}

/* Flags for seccomp(2) once the whole profile is known. */
static int final_flags(struct cell_seccomp *s, cell_error **err)
{
	if (!s->notify) {
		/* meaningless without a listener, and refused by the kernel */
		s->flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
		return 0;
	}
	s->flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	if (s->flags & SECCOMP_FILTER_FLAG_TSYNC) {
		/* TSYNC reports a failing thread through the return value that
		 * NEW_LISTENER needs for the fd, unless told to use ESRCH */
		s->flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
		if (!kernel_has_flags(s->flags))
			return cell_error_set(err, "`" CTX ".flags`: SECCOMP_FILTER_FLAG_TSYNC together with "
					      "SCMP_ACT_NOTIFY needs Linux 5.7 (SECCOMP_FILTER_FLAG_TSYNC_ESRCH)");
	}
	if (!kernel_has_flags(SECCOMP_FILTER_FLAG_NEW_LISTENER))
		return cell_error_set(err, "`" CTX "`: SCMP_ACT_NOTIFY needs seccomp user notification "
				      "(Linux 5.0)");
	return 0;
}

int cell_seccomp_compile_inprocess(json_object *o, struct cell_seccomp **ret, cell_error **err)
{
	struct cell_seccomp *s;
	scmp_filter_ctx ctx = NULL;
	uint32_t def = 0;

	if (cj_expect_object(o, CTX, err) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	if (compile_header(o, s, &def, err) < 0)
		goto fail;
	ctx = seccomp_init(def);
	if (!ctx) {
		cell_error_set(err, "`" CTX "`: libseccomp refused to create a filter with default action "
			       "0x%x", def);
		goto fail;
	}
	if (compile_lists(o, s, ctx, def, err) < 0)
		goto fail;
	if (s->notify && !s->listener_path) {
		cell_error_set(err, "`" CTX ".listenerPath`: required when an action is SCMP_ACT_NOTIFY");
		goto fail;
	}
	if (final_flags(s, err) < 0 || export_program(s, ctx, def, err) < 0)
		goto fail;
	seccomp_release(ctx);
	*ret = s;
	return 0;
fail:
	if (ctx)
		seccomp_release(ctx);
	cell_seccomp_free(s);
	return -1;
}

/* libseccomp can take minutes (or forever) on some small rule sets (two
 * dozen rules comparing two arguments with GT is enough), so the program is
 * built in a child process with a deadline: a bad config.json then costs an
 * error, not a hung runtime. It also keeps libseccomp's working memory out
 * of the runtime. */
static int compile_timeout_ms = 10000;

void cell_seccomp_set_compile_timeout(int ms)
{
	compile_timeout_ms = ms > 0 ? ms : 10000;
}

struct reply {
	int32_t status, errnum;
	uint32_t len, insns;
	uint64_t flags;
	uint32_t notify, pad;
};

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void __attribute__((noreturn)) compile_child(json_object *o, int fd)
{
	struct cell_seccomp *c = NULL;
	cell_error *e = NULL;
	struct reply r = { 0 };

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (cell_seccomp_compile_inprocess(o, &c, &e) < 0) {
		const char *msg = e && e->msg ? e->msg : "compile the seccomp filter";
		r.status = -1;
		r.errnum = e ? e->errnum : 0;
		r.len = (uint32_t)strlen(msg);
		write_all(fd, &r, sizeof(r));
		write_all(fd, msg, r.len);
	} else {
		r.insns = c->insns;
		r.flags = c->flags;
		r.notify = c->notify;
		r.len = (uint32_t)(c->insns * sizeof(struct sock_filter));
		write_all(fd, &r, sizeof(r));
		write_all(fd, c->prog, r.len);
	}
	_exit(0);
}

/* Read len bytes before the deadline (ms on CLOCK_MONOTONIC). 1 = done,
 * 0 = the child closed the pipe early, -1 = timed out. */
static int read_deadline(int fd, void *buf, size_t len, int64_t deadline)
{
	char *p = buf;
	while (len > 0) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t left = deadline - ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
		if (left <= 0)
			return -1;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -1;
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

static int compile_bounded(json_object *o, struct cell_seccomp *s, cell_error **err)
{
	int p[2];
	struct timespec now;
	struct reply r;
	int ok;

	if (pipe2(p, O_CLOEXEC) < 0)
		return cell_error_errno(err, errno, "pipe for the seccomp compiler");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return cell_error_errno(err, e, "fork the seccomp compiler");
	}
	if (pid == 0) {
		close(p[0]);
		compile_child(o, p[1]);
	}
	close(p[1]);
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t deadline = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + compile_timeout_ms;
	ok = read_deadline(p[0], &r, sizeof(r), deadline);
	char *payload = NULL;
	if (ok > 0 && r.len <= SECCOMP_MAX_INSNS * sizeof(struct sock_filter) + 65536) {
		payload = xmalloc(r.len + 1);
		ok = read_deadline(p[0], payload, r.len, deadline);
		payload[ok > 0 ? r.len : 0] = '\0';
	} else if (ok > 0) {
		ok = 0;
	}
	close(p[0]);
	if (ok < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (ok < 0) {
		free(payload);
		return cell_error_set(err, "`" CTX "`: libseccomp did not finish building the filter in %d ms "
				      "(some sets of rules comparing arguments make it explode; fewer or "
				      "simpler conditions help)", compile_timeout_ms);
	}
	if (ok == 0) {
		free(payload);
		return cell_error_set(err, "`" CTX "`: the seccomp compiler process died");
	}
	if (r.status < 0) {
		cell_error_from_text(err, r.errnum, payload);
		free(payload);
		return -1;
	}
	if (r.insns == 0 || r.insns > SECCOMP_MAX_INSNS || r.len != r.insns * sizeof(struct sock_filter)) {
		free(payload);
		return cell_error_set(err, "`" CTX "`: the seccomp compiler sent a bad program");
	}
	s->prog = (struct sock_filter *)payload;
	s->insns = (unsigned short)r.insns;
	s->flags = (unsigned long)r.flags;
	s->notify = r.notify != 0;
	return 0;
}

int cell_seccomp_compile(json_object *o, struct cell_seccomp **ret, cell_error **err)
{
	struct cell_seccomp *s;
	uint32_t def;

	if (cj_expect_object(o, CTX, err) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	/* the header in this process: it gives the listener, and its errors
	 * cost no fork */
	if (compile_header(o, s, &def, err) < 0 || compile_bounded(o, s, err) < 0) {
		cell_seccomp_free(s);
		return -1;
	}
	*ret = s;
	return 0;
}

/* The cache: one file per profile, named by a 64-bit FNV-1a hash of the key
 * text (this build, libseccomp, the kernel release and the profile as
 * serialized). The file holds the whole key text, so a hash collision is a
 * miss, never another profile's program.
 *
 *   struct cache_header | key text | program */
struct cache_header {
	char magic[8];		/* "CELLBPF1" */
	uint32_t key_len, insns;
	uint64_t flags;
	uint32_t notify, pad;
};

static char *cache_key(json_object *o)
{
	struct utsname u;
	const struct scmp_version *v = seccomp_version();
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	return xasprintf("cell %s enosys-stub\nlibseccomp %u.%u.%u\nlinux %s %s\n%s", CELL_VERSION, v->major, v->minor,
			 v->micro, u.release, u.machine, cj_to_string(o, false));
}

static char *cache_path(const char *dir, const char *key)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * UINT64_C(0x100000001b3);
	return xasprintf("%s/%016" PRIx64 ".bpf", dir, h);
}

static bool cache_read(const char *path, const char *key, struct cell_seccomp *s)
{
	cell_error *e = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	struct cache_header h;
	size_t key_len = strlen(key);

	if (read_file(path, &data, &len, &e) < 0) {
		cell_error_free(&e);
		return false;
	}
	if (len < sizeof(h))
		return false;
	memcpy(&h, data, sizeof(h));
	if (memcmp(h.magic, "CELLBPF1", 8) != 0 || h.key_len != key_len || h.insns == 0 ||
	    h.insns > SECCOMP_MAX_INSNS ||
	    len != sizeof(h) + key_len + (size_t)h.insns * sizeof(struct sock_filter) ||
	    memcmp(data + sizeof(h), key, key_len) != 0)
		return false;
	s->insns = (unsigned short)h.insns;
	s->flags = (unsigned long)h.flags;
	s->notify = h.notify != 0;
	s->prog = xmalloc(h.insns * sizeof(struct sock_filter));
	memcpy(s->prog, data + sizeof(h) + key_len, h.insns * sizeof(struct sock_filter));
	return true;
}

static void cache_write(const char *dir, const char *path, const char *key, const struct cell_seccomp *s)
{
	cell_error *e = NULL;
	struct cache_header h = { .magic = "CELLBPF1" };
	size_t key_len = strlen(key), prog_len = s->insns * sizeof(struct sock_filter);
	size_t len = sizeof(h) + key_len + prog_len;
	_cleanup_free_ char *data = xmalloc(len);

	h.key_len = (uint32_t)key_len;
	h.insns = s->insns;
	h.flags = s->flags;
	h.notify = s->notify;
	memcpy(data, &h, sizeof(h));
	memcpy(data + sizeof(h), key, key_len);
	memcpy(data + sizeof(h) + key_len, s->prog, prog_len);
	/* a cache that cannot be written costs time, not correctness */
	if (mkdir_p(dir, 0700, &e) < 0 || write_file_atomic(path, data, len, 0600, &e) < 0) {
		cell_debug("seccomp cache: %s", e->msg);
		cell_error_free(&e);
	}
}

int cell_seccomp_compile_cached(json_object *o, const char *cache_dir, struct cell_seccomp **ret,
				cell_error **err)
{
	if (!cache_dir || cj_expect_object(o, CTX, err) < 0)
		return cache_dir ? -1 : cell_seccomp_compile(o, ret, err);

	_cleanup_free_ char *key = cache_key(o);
	_cleanup_free_ char *path = cache_path(cache_dir, key);
	struct cell_seccomp *s = xcalloc(1, sizeof(*s));
	uint32_t def;

	if (cache_read(path, key, s)) {
		/* the same text compiled before: only the listener is needed */
		if (compile_header(o, s, &def, err) < 0) {
			cell_seccomp_free(s);
			return -1;
		}
		*ret = s;
		return 0;
	}
	cell_seccomp_free(s);
	if (cell_seccomp_compile(o, &s, err) < 0)
		return -1;
	cache_write(cache_dir, path, key, s);
	*ret = s;
	return 0;
}

const void *cell_seccomp_program(const struct cell_seccomp *s, size_t *ret_len)
{
	*ret_len = s->insns * sizeof(struct sock_filter);
	return s->prog;
}

int cell_seccomp_load(struct cell_seccomp *s, int *ret_notify_fd, cell_error **err)
{
	struct sock_fprog prog = { .len = s->insns, .filter = s->prog };
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s->flags, &prog);
	if (r < 0) {
		if (errno == EACCES || errno == EPERM)
			return cell_error_errno(err, errno, "load the seccomp filter (without "
						"process.noNewPrivileges, loading a filter needs CAP_SYS_ADMIN)");
		if (errno == EBUSY)
			return cell_error_errno(err, errno, "load the seccomp filter (a filter with a notify "
						"listener is already installed: listeners cannot nest)");
		if (errno == ESRCH)
			return cell_error_errno(err, errno, "load the seccomp filter (SECCOMP_FILTER_FLAG_TSYNC: "
						"another thread has a diverging filter)");
		return cell_error_errno(err, errno, "load the seccomp filter (%u instructions, flags %#lx)",
					s->insns, s->flags);
	}
	if (ret_notify_fd)
		*ret_notify_fd = -1;
	if (!s->notify)
		return 0;
	if (ret_notify_fd)
		*ret_notify_fd = (int)r;
	else
		close((int)r);
	return 0;
}

bool cell_seccomp_needs_notify(const struct cell_seccomp *s)
{
	return s && s->notify;
}

const char *cell_seccomp_listener_path(const struct cell_seccomp *s)
{
	return s ? s->listener_path : NULL;
}

const char *cell_seccomp_listener_metadata(const struct cell_seccomp *s)
{
	return s ? s->listener_metadata : NULL;
}

int cell_seccomp_bpf_length(const struct cell_seccomp *s)
{
	return s->insns;
}

void cell_seccomp_free(struct cell_seccomp *s)
{
	if (!s)
		return;
	free(s->prog);
	free(s->listener_path);
	free(s->listener_metadata);
	free(s);
}

/* The container process state of the OCI spec around the container state. */
static char *process_state(const char *state_json, const char *metadata, cell_error **err)
{
	json_object *st = NULL, *v;
	if (cj_parse_string("container state", state_json, &st, err) < 0)
		return NULL;
	if (json_object_object_get_ex(st, "fds", NULL)) {
		json_object_put(st);
		return xstrdup(state_json);
	}
	json_object *ps = json_object_new_object();
	const char *ver = "1.2.0";
	if (json_object_object_get_ex(st, "ociVersion", &v) && json_object_is_type(v, json_type_string))
		ver = json_object_get_string(v);
	json_object_object_add(ps, "ociVersion", json_object_new_string(ver));
	json_object *fds = json_object_new_array();
	json_object_array_add(fds, json_object_new_string("seccompFd"));
	json_object_object_add(ps, "fds", fds);
	if (json_object_object_get_ex(st, "pid", &v) && json_object_is_type(v, json_type_int))
		json_object_object_add(ps, "pid", json_object_new_int64(json_object_get_int64(v)));
	json_object_object_add(ps, "metadata", json_object_new_string(metadata ? metadata : ""));
	json_object_object_add(ps, "state", st);
	char *text = xstrdup(cj_to_string(ps, false));
	json_object_put(ps);
	return text;
}

static int send_notify(const char *path, const char *metadata, int fd, const char *state_json,
		       cell_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *payload = NULL;

	if (!path || !*path)
		return cell_error_set(err, "`" CTX ".listenerPath`: empty");
	if (strlen(path) >= sizeof(sa.sun_path))
		return cell_error_set(err, "`" CTX ".listenerPath` `%s`: longer than a unix socket path "
				      "can be (%zu bytes)", path, sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	payload = process_state(state_json, metadata, err);
	if (!payload)
		return -1;

	_cleanup_close_ int sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return cell_error_errno(err, errno, "seccomp listener: socket");
	if (connect(sk, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return cell_error_errno(err, errno, "connect to the seccomp listener `%s` (is the agent "
					"listening there?)", path);

	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = { .iov_base = payload, .iov_len = strlen(payload) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));

	ssize_t n;
	do
		n = sendmsg(sk, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return cell_error_errno(err, errno, "send the seccomp notify fd to `%s`", path);
	if ((size_t)n < iov.iov_len) {
		/* the fd went with the first part; the rest of the state follows */
		size_t off = (size_t)n;
		while (off < iov.iov_len) {
			n = send(sk, payload + off, iov.iov_len - off, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return cell_error_errno(err, errno, "send the container state to `%s`", path);
			off += (size_t)n;
		}
	}
	return 0;
}

int cell_seccomp_send_notify_fd(const char *listener_path, int fd, const char *state_json, cell_error **err)
{
	return send_notify(listener_path, NULL, fd, state_json, err);
}

int cell_seccomp_send_notify(const struct cell_seccomp *s, int fd, const char *state_json, cell_error **err)
{
	return send_notify(s->listener_path, s->listener_metadata, fd, state_json, err);
}
