/* Writing cgroup knobs. Every failure is one line naming the resource, the
 * file, the value and the errno, with the likely cause for the errno values
 * that each kind of file returns:
 *
 *   linux.resources.memory.limit: memory.limit_in_bytes = 1024: Device or
 *   resource busy (limit below current usage?)
 *
 * For `update` every successful write first records the old value, so that
 * a later failure can put the cgroup back as it was. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

struct cg_undo {
	char *dir, *file, *old;
};

static const char *hint(const char *file, int e)
{
	bool mem = strncmp(file, "memory.", 7) == 0;
	switch (e) {
	case EBUSY:
		if (mem)
			return "limit below current usage?";
		if (strncmp(file, "cpuset.", 7) == 0)
			return "a process or child cgroup uses CPUs or nodes being removed?";
		if (streq(file, "cgroup.subtree_control"))
			return "the cgroup holds processes, so it cannot delegate controllers";
		return "still in use";
	case EINVAL:
		if (strncmp(file, "cpuset.", 7) == 0)
			return "outside the online CPUs / memory nodes, or a bad list?";
		if (strncmp(file, "devices.", 8) == 0)
			return "the device rule does not parse?";
		if (mem)
			return "memory+swap below memory, or a bad value?";
		if (strncmp(file, "cpu.rt_", 7) == 0)
			return "more real-time runtime than the parent cgroup's cpu.rt_runtime_us leaves (give the "
			       "parent a budget first), or runtime above period?";
		if (strncmp(file, "cpu.", 4) == 0)
			return "quota/period out of the kernel's range, or a bad value?";
		if (strstr(file, "_device") || streq(file, "io.max") || strstr(file, "weight"))
			return "no such block device, or a bad value?";
		return "the kernel rejected the value";
	case ERANGE:
		if (strncmp(file, "cpuset.", 7) == 0)
			return "outside the online CPUs / memory nodes?";
		return "value out of the kernel's range";
	case ENOENT:
		return "the kernel does not offer this file: controller or feature missing";
	case EPERM:
	case EACCES:
		if (strncmp(file, "cpuset.", 7) == 0)
			return "not a subset of the parent's cpuset?";
		if (strncmp(file, "devices.", 8) == 0)
			return "the parent cgroup denies this device";
		return "not root, or the parent's limit forbids it";
	case ENOSPC:
		return "the kernel ran out of room (cpuset with no CPUs, too many cgroups?)";
	case ENODEV:
		return "no such device or controller";
	case ENOTSUP:
		return "not supported by this kernel";
	}
	return NULL;
}

bool cg_file_exists(const char *dir, const char *file)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	return access(p, F_OK) == 0;
}

static int raw_write(const char *dir, const char *file, const char *value)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(value);
	ssize_t n;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return 0;
}

int cg_read(const char *dir, const char *file, char **ret, cell_error **err)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	char *s;
	size_t len;
	if (read_file(p, &s, &len, err) < 0)
		return -cell_error_code(*err);
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
	*ret = s;
	return 0;
}

int cg_read_u64(const char *dir, const char *file, uint64_t *ret, cell_error **err)
{
	_cleanup_free_ char *s = NULL;
	if (cg_read(dir, file, &s, err) < 0)
		return -1;
	if (streq(s, "max")) {
		*ret = UINT64_MAX;
		return 0;
	}
	if (parse_uint64(s, ret) < 0)
		return cell_error_set(err, "`%s/%s`: expected a number, got `%s`", dir, file, s);
	return 0;
}

int cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	cell_error *e = NULL;
	if (cg_read(dir, file, &s, &e) < 0) {
		cell_error_free(&e);
		return -1;
	}
	size_t kl = strlen(key);
	for (char *line = s; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ')
			return parse_uint64(line + kl + 1, ret) < 0 ? -1 : 0;
		line = nl ? nl + 1 : NULL;
	}
	return -1;
}

static void record(struct cg_writer *w, const char *file)
{
	/* files whose reading is not a value that can be written back */
	static const char *const no_undo[] = { "devices.allow", "devices.deny", "cgroup.procs",
		"cgroup.subtree_control", "net_prio.ifpriomap" };
	for (size_t i = 0; i < ARRAY_SIZE(no_undo); i++)
		if (streq(file, no_undo[i]))
			return;
	for (size_t i = 0; i < w->n_undo; i++)
		if (streq(w->undo[i].dir, w->dir) && streq(w->undo[i].file, file))
			return;	/* the first (oldest) value is the one to restore */
	_cleanup_free_ char *old = NULL;
	cell_error *e = NULL;
	if (cg_read(w->dir, file, &old, &e) < 0) {
		cell_error_free(&e);
		return;
	}
	/* cpu.max reads "max 100000"; memory.max "max"; these write back as is.
	 * Keyed multi-line files (io.max, blkio.throttle.*) cannot be restored
	 * by one write: skip them. */
	if (strchr(old, '\n'))
		return;
	w->undo = realloc(w->undo, (w->n_undo + 1) * sizeof(*w->undo));
	if (!w->undo)
		abort();
	w->undo[w->n_undo++] = (struct cg_undo){ xstrdup(w->dir), xstrdup(file), TAKE_PTR(old) };
}

int cg_write(struct cg_writer *w, const char *what, const char *file, const char *value,
	     cell_error **err)
{
	if (w->record)
		record(w, file);
	int r = raw_write(w->dir, file, value);
	if (r < 0) {
		const char *h = hint(file, -r);
		cell_error_set(err, "%s: %s = %s: %s%s%s%s", what, file, value, strerror(-r),
			       h ? " (" : "", h ? h : "", h ? ")" : "");
		(*err)->errnum = -r;
		return r;
	}
	return 0;
}

int cg_writef(struct cg_writer *w, const char *what, const char *file, cell_error **err,
	      const char *fmt, ...)
{
	va_list ap;
	_cleanup_free_ char *v = NULL;
	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		abort();
	va_end(ap);
	return cg_write(w, what, file, v, err);
}

void cg_writer_rollback(struct cg_writer *w)
{
	for (size_t i = w->n_undo; i-- > 0;)
		(void)raw_write(w->undo[i].dir, w->undo[i].file, w->undo[i].old);
	cg_writer_clear(w);
}

void cg_writer_clear(struct cg_writer *w)
{
	for (size_t i = 0; i < w->n_undo; i++) {
		free(w->undo[i].dir);
		free(w->undo[i].file);
		free(w->undo[i].old);
	}
	free(w->undo);
	w->undo = NULL;
	w->n_undo = 0;
}

void cg_note(char ***notes, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	if (!notes)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	size_t n = *notes ? strv_len(*notes) : 0;
	for (size_t i = 0; i < n; i++)
		if (streq((*notes)[i], s)) {
			free(s);
			return;
		}
	*notes = realloc(*notes, (n + 2) * sizeof(char *));
	if (!*notes)
		abort();
	(*notes)[n] = s;
	(*notes)[n + 1] = NULL;
}

#ifndef CTX
#define CTX "linux.resources"
#endif

/* cpuset, pids and rdma: the same files and values on v1 and v2. */
int cg_apply_same(const char *ctrl, const struct cg_resources *r, struct cg_writer *w, cell_error **err)
{
	if (streq(ctrl, "cpuset")) {
		if (r->cpu.cpus && cg_write(w, CTX ".cpu.cpus", "cpuset.cpus", r->cpu.cpus, err) < 0)
			return -1;
		if (r->cpu.mems && cg_write(w, CTX ".cpu.mems", "cpuset.mems", r->cpu.mems, err) < 0)
			return -1;
		return 0;
	}
	if (streq(ctrl, "pids")) {
		if (r->pids > 0)
			return cg_writef(w, CTX ".pids.limit", "pids.max", err, "%lld", (long long)r->pids);
		return cg_write(w, CTX ".pids.limit", "pids.max", "max", err);
	}
	for (size_t i = 0; i < r->n_rdma; i++)
		if (cg_writef(w, CTX ".rdma", "rdma.max", err, "%s %s", r->rdma[i].key, r->rdma[i].value) < 0)
			return -1;
	return 0;
}

/* hugetlb: the same files on both versions but for the limit's name
 * (v1 "limit_in_bytes", v2 "max"), the reservation limit beside it. */
int cg_apply_hugetlb(const struct cg_resources *r, struct cg_writer *w, const char *limit, cell_error **err)
{
	for (size_t i = 0; i < r->n_huge; i++) {
		_cleanup_free_ char *f = xasprintf("hugetlb.%s.%s", r->huge[i].size, limit);
		_cleanup_free_ char *rf = xasprintf("hugetlb.%s.rsvd.%s", r->huge[i].size, limit);
		if (!cg_file_exists(w->dir, f))
			return cell_error_set(err, CTX ".hugepageLimits: %s does not exist: page size %s "
					      "is not supported here (see /sys/kernel/mm/hugepages)", f,
					      r->huge[i].size);
		if (cg_writef(w, CTX ".hugepageLimits", f, err, "%llu", (unsigned long long)r->huge[i].limit) < 0)
			return -1;
		if (cg_file_exists(w->dir, rf) &&
		    cg_writef(w, CTX ".hugepageLimits", rf, err, "%llu", (unsigned long long)r->huge[i].limit) < 0)
			return -1;
	}
	return 0;
}
