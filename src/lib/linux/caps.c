#define _GNU_SOURCE
#include "caps.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "util.h"

#define CTX "process.capabilities"

static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

_Static_assert(ARRAY_SIZE(cap_names) <= 64, "capability masks are 64 bits");

int cell_cap_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (strcasecmp(name, cap_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *cell_cap_name(int cap)
{
	return cap >= 0 && (size_t)cap < ARRAY_SIZE(cap_names) ? cap_names[cap] : NULL;
}

int cell_cap_last_known(void)
{
	return (int)ARRAY_SIZE(cap_names) - 1;
}

int cell_cap_last_cap(void)
{
	static int last = -1;
	if (last < 0) {
		cell_error *err = NULL;
		_cleanup_free_ char *text = NULL;
		int64_t v;
		if (read_file("/proc/sys/kernel/cap_last_cap", &text, NULL, &err) == 0 &&
		    (text[strcspn(text, "\n")] = '\0', parse_int64(text, &v) == 0) && v >= 0 && v < 64)
			last = (int)v;
		else
			last = cell_cap_last_known();
		cell_error_free(&err);
	}
	return last;
}

/* Names of the capabilities in mask, comma separated (for messages). */
static char *mask_names(uint64_t mask)
{
	char *s = xstrdup("");
	for (int c = 0; c < 64; c++) {
		if (!(mask & CELL_CAP_BIT(c)))
			continue;
		const char *n = cell_cap_name(c);
		char *t = n ? xasprintf("%s%s%s", s, *s ? ", " : "", n)
			    : xasprintf("%s%scapability %d", s, *s ? ", " : "", c);
		free(s);
		s = t;
	}
	return s;
}

static int parse_set(json_object *caps, const char *key, uint64_t *ret, uint64_t *ignored, cell_error **err)
{
	json_object *a = NULL;
	int last = cell_cap_last_cap();

	if (cj_array(caps, key, CTX, &a, err) < 0)
		return -1;
	*ret = 0;
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		if (!e || json_object_get_type(e) != json_type_string)
			return cell_error_set(err, "`" CTX ".%s[%zu]`: expected string, got %s", key, i,
					      e ? json_type_to_name(json_object_get_type(e)) : "null");
		const char *name = json_object_get_string(e);
		int c = cell_cap_from_name(name);
		if (c < 0)
			return cell_error_set(err, "`" CTX ".%s[%zu]`: unknown capability `%s` (names look like "
					      "CAP_SYS_ADMIN; see capabilities(7))", key, i, name);
		if (c > last) {
			*ignored |= CELL_CAP_BIT(c);
			continue;
		}
		*ret |= CELL_CAP_BIT(c);
	}
	return 0;
}

int cell_caps_parse(json_object *caps, struct cell_caps *ret, cell_error **err)
{
	struct cell_caps c = { 0 };

	if (cj_expect_object(caps, CTX, err) < 0)
		return -1;
	if (parse_set(caps, "bounding", &c.bounding, &c.ignored, err) < 0 ||
	    parse_set(caps, "effective", &c.effective, &c.ignored, err) < 0 ||
	    parse_set(caps, "inheritable", &c.inheritable, &c.ignored, err) < 0 ||
	    parse_set(caps, "permitted", &c.permitted, &c.ignored, err) < 0 ||
	    parse_set(caps, "ambient", &c.ambient, &c.ignored, err) < 0)
		return -1;
	if (c.ignored) {
		_cleanup_free_ char *names = mask_names(c.ignored);
		cell_warn("ignoring capabilities unknown to this kernel (cap_last_cap %d): %s",
			  cell_cap_last_cap(), names);
	}
	*ret = c;
	return 0;
}

int cell_caps_parse_list(char **names, uint64_t *ret_mask, cell_error **err)
{
	uint64_t mask = 0;
	for (size_t i = 0; names && names[i]; i++) {
		const char *n = names[i];
		int c = cell_cap_from_name(n);
		if (c < 0 && strncasecmp(n, "CAP_", 4) != 0) {
			_cleanup_free_ char *full = xasprintf("CAP_%s", n);
			c = cell_cap_from_name(full);
		}
		if (c < 0)
			return cell_error_set(err, "unknown capability `%s` (names look like CAP_SYS_ADMIN; "
					      "see capabilities(7))", n);
		if (c > cell_cap_last_cap())
			return cell_error_set(err, "capability `%s` is not supported by this kernel "
					      "(cap_last_cap %d)", cell_cap_name(c), cell_cap_last_cap());
		mask |= CELL_CAP_BIT(c);
	}
	*ret_mask = mask;
	return 0;
}

/* The raw capget/capset interface (version 3: two 32-bit words per set). */
static int capget_(uint64_t *eff, uint64_t *perm, uint64_t *inh)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*perm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int capset_(uint64_t eff, uint64_t perm, uint64_t inh)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh },
		{ .effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32),
		  .inheritable = (uint32_t)(inh >> 32) },
	};
	return (int)syscall(SYS_capset, &h, d);
}

int cell_caps_get(struct cell_caps *ret, cell_error **err)
{
	struct cell_caps c = { 0 };
	if (capget_(&c.effective, &c.permitted, &c.inheritable) < 0)
		return cell_error_errno(err, errno, "capget");
	for (int i = 0; i <= cell_cap_last_cap(); i++) {
		int r = prctl(PR_CAPBSET_READ, i, 0, 0, 0);
		if (r > 0)
			c.bounding |= CELL_CAP_BIT(i);
		r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0);
		if (r > 0)
			c.ambient |= CELL_CAP_BIT(i);
	}
	*ret = c;
	return 0;
}

int cell_caps_keep(bool keep, cell_error **err)
{
	if (prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) < 0)
		return cell_error_errno(err, errno, "prctl(PR_SET_KEEPCAPS, %d)", keep ? 1 : 0);
	return 0;
}

static int drop_bounding(uint64_t keep, cell_error **err)
{
	for (int c = 0; c <= cell_cap_last_cap(); c++) {
		if (keep & CELL_CAP_BIT(c))
			continue;
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) <= 0)
			continue;	/* already gone (or unknown to the kernel) */
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return cell_error_errno(err, errno, "drop `%s` from the bounding set (dropping needs "
						"CAP_SETPCAP in the effective set)", cell_cap_name(c));
	}
	return 0;
}

static void raise_ambient(uint64_t ambient)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		if (ambient)
			cell_warn("can't raise ambient capabilities: the kernel has none (Linux < 4.3)");
		return;
	}
	for (int c = 0; c <= cell_cap_last_cap(); c++) {
		if (!(ambient & CELL_CAP_BIT(c)))
			continue;
		/* runc warns and goes on here too: an ambient capability must also
		 * be permitted and inheritable, and configs often miss that */
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			cell_warn("can't raise ambient capability `%s`: %s (it must also be in the permitted "
				  "and inheritable sets)", cell_cap_name(c), strerror(errno));
	}
}

int cell_caps_apply(const struct cell_caps *c, cell_error **err)
{
	uint64_t eff, perm, inh;

	if (capget_(&eff, &perm, &inh) < 0)
		return cell_error_errno(err, errno, "capget");
	/* after setuid with KEEPCAPS the effective set is empty: take back
	 * what is permitted so that CAP_SETPCAP can shrink the bounding set */
	if (eff != perm && capset_(perm, perm, inh) < 0)
		return cell_error_errno(err, errno, "capset: raise the effective set to the permitted one");
	if (drop_bounding(c->bounding, err) < 0)
		return -1;

	/* a process can only grant what it holds itself; an inheritable
	 * capability must also survive the bounding set (with CAP_SETPCAP) or
	 * be permitted (without) */
	uint64_t bset = 0;
	for (int i = 0; i <= cell_cap_last_cap(); i++)
		if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) > 0)
			bset |= CELL_CAP_BIT(i);
	uint64_t inh_ok = inh | ((perm & CELL_CAP_BIT(CAP_SETPCAP)) ? bset : perm);
	uint64_t missing = ((c->effective | c->permitted | c->ambient) & ~perm) | (c->inheritable & ~(perm | inh));
	uint64_t unbounded = c->inheritable & ~inh_ok & (perm | inh);
	if (missing) {
		_cleanup_free_ char *names = mask_names(missing);
		cell_warn("ignoring capabilities the runtime does not hold itself: %s", names);
	}
	if (unbounded) {
		_cleanup_free_ char *names = mask_names(unbounded);
		cell_warn("ignoring inheritable capabilities outside `" CTX ".bounding`: %s", names);
	}
	uint64_t new_perm = c->permitted & perm;
	uint64_t new_eff = c->effective & new_perm;
	uint64_t new_inh = c->inheritable & inh_ok;
	if ((c->effective & perm) & ~new_perm) {
		_cleanup_free_ char *names = mask_names((c->effective & perm) & ~new_perm);
		return cell_error_set(err, "`" CTX ".effective`: %s not in `" CTX ".permitted` (an effective "
				      "capability must be permitted)", names);
	}
	if (capset_(new_eff, new_perm, new_inh) < 0)
		return cell_error_errno(err, errno, "capset (effective %#" PRIx64 ", permitted %#" PRIx64
					", inheritable %#" PRIx64 ")", new_eff, new_perm, new_inh);
	raise_ambient(c->ambient & new_perm & new_inh);
	if (c->ambient & ~(new_perm & new_inh) & perm) {
		_cleanup_free_ char *names = mask_names(c->ambient & ~(new_perm & new_inh) & perm);
		cell_warn("can't raise ambient capabilities %s: an ambient capability must also be in the "
			  "permitted and inheritable sets", names);
	}
	return 0;
}

int cell_caps_drop_all(cell_error **err)
{
	struct cell_caps none = { 0 };
	return cell_caps_apply(&none, err);
}
