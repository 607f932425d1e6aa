/* The cgroup v2 device filter: v2 has no devices.allow, so, as runc and crun
 * do, the OCI device rules become a BPF_PROG_TYPE_CGROUP_DEVICE program,
 * hand-assembled here (no libbpf, no clang), loaded with bpf(2) and attached
 * to the container's cgroup.
 *
 * The program sees struct bpf_cgroup_dev_ctx { access_type, major, minor },
 * access_type being (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*:
 *
 *   r2 = ctx->access_type & 0xffff     device type (block 1, char 2)
 *   r3 = ctx->access_type >> 16        access asked (mknod 1, read 2, write 4)
 *   r4 = ctx->major, r5 = ctx->minor
 *   for each rule, last first (the last matching rule wins, as in v1):
 *       if type differs, or asked access is not within the rule's, or
 *       major/minor differ (unless wildcards): go to the next rule
 *       return allow ? 1 : 0
 *   return 1                            no rule matched: a new v1 cgroup
 *                                       allows everything too
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

static size_t rule_len(const struct cg_dev_rule *r)
{
	if (r->type == 'a')
		return 2;
	size_t n = 3;	/* type check, mov r0, exit */
	if (strcmp(r->access, "rwm") != 0)
		n += 3;
	if (r->major >= 0)
		n++;
	if (r->minor >= 0)
		n++;
	return n;
}

static int acc_bits(const char *access)
{
	int b = 0;
	if (strchr(access, 'm'))
		b |= BPF_DEVCG_ACC_MKNOD;
	if (strchr(access, 'r'))
		b |= BPF_DEVCG_ACC_READ;
	if (strchr(access, 'w'))
		b |= BPF_DEVCG_ACC_WRITE;
	return b;
}

size_t cg_devices_bpf_build(const struct cg_dev_rule *rules, size_t n, void **ret)
{
	/* everything before the last "a" rule is overridden by it */
	size_t first = 0;
	for (size_t i = 0; i < n; i++)
		if (rules[i].type == 'a')
			first = i;
	size_t cap = 8;
	for (size_t i = first; i < n; i++)
		cap += rule_len(&rules[i]);
	struct bpf_insn *p = xcalloc(cap, sizeof(*p));
	size_t k = 0;

	p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0);
	p[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff);
	p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0);
	p[k++] = INSN(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16);
	p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0);
	p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0);
	for (size_t i = n; i-- > first;) {
		const struct cg_dev_rule *r = &rules[i];
		size_t end = k + rule_len(r);
#define SKIP ((short)(end - k - 1))
		if (r->type != 'a') {
			int t = r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
			p[k] = INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, SKIP, t);
			k++;
			if (strcmp(r->access, "rwm") != 0) {
				p[k++] = INSN(BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0);
				p[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, acc_bits(r->access));
				p[k] = INSN(BPF_JMP | BPF_JNE | BPF_X, 1, 3, SKIP, 0);
				k++;
			}
			if (r->major >= 0) {
				p[k] = INSN(BPF_JMP | BPF_JNE | BPF_K, 4, 0, SKIP, (int)r->major);
				k++;
			}
			if (r->minor >= 0) {
				p[k] = INSN(BPF_JMP | BPF_JNE | BPF_K, 5, 0, SKIP, (int)r->minor);
				k++;
			}
		}
#undef SKIP
		p[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, r->allow ? 1 : 0);
		p[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	/* after an "a" rule nothing falls through (and the verifier refuses
	 * unreachable code) */
	if (!(n > 0 && rules[first].type == 'a')) {
		p[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
		p[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	*ret = p;
	return k;
}

static int bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int load(const struct bpf_insn *insns, size_t n, cell_error **err)
{
	union bpf_attr a;
	static char log[4096];
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"Apache";
	int fd = bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	int e = errno;
	if (e == EINVAL || e == EACCES) {
		/* again with the verifier's log, for the message */
		a.log_buf = (uint64_t)(uintptr_t)log;
		a.log_size = sizeof(log);
		a.log_level = 1;
		log[0] = '\0';
		fd = bpf(BPF_PROG_LOAD, &a);
		if (fd >= 0)
			return fd;
		/* the verifier's complaint is its first line */
		char *nl = strchr(log, '\n');
		if (nl)
			*nl = '\0';
		return cell_error_set(err, "load the device filter (%zu eBPF instructions): %s: verifier: %s",
				      n, strerror(e), log);
	}
	cell_error_errno(err, e, "load the device filter (bpf BPF_PROG_LOAD)");
	return -1;
}

int cg_devices_bpf_apply(const char *dir, const struct cg_dev_rule *rules, size_t n, cell_error **err)
{
	_cleanup_free_ void *insns = NULL;
	size_t len = cg_devices_bpf_build(rules, n, &insns);
	_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dfd < 0)
		return cell_error_errno(err, errno, "open cgroup `%s`", dir);

	/* programs already attached: replaced once the new one is in */
	uint32_t ids[64], cnt = ARRAY_SIZE(ids);
	union bpf_attr q;
	memset(&q, 0, sizeof(q));
	q.query.target_fd = (uint32_t)dfd;
	q.query.attach_type = BPF_CGROUP_DEVICE;
	q.query.prog_ids = (uint64_t)(uintptr_t)ids;
	q.query.prog_cnt = cnt;
	if (bpf(BPF_PROG_QUERY, &q) < 0)
		cnt = 0;
	else
		cnt = q.query.prog_cnt;

	_cleanup_close_ int pfd = load(insns, len, err);
	if (pfd < 0)
		return -1;
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)dfd;
	a.attach_bpf_fd = (uint32_t)pfd;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (bpf(BPF_PROG_ATTACH, &a) < 0)
		return cell_error_errno(err, errno, "attach the device filter to `%s`", dir);
	for (uint32_t i = 0; i < cnt; i++) {
		union bpf_attr g, d;
		memset(&g, 0, sizeof(g));
		g.prog_id = ids[i];
		_cleanup_close_ int ofd = bpf(BPF_PROG_GET_FD_BY_ID, &g);
		if (ofd < 0)
			continue;
		memset(&d, 0, sizeof(d));
		d.target_fd = (uint32_t)dfd;
		d.attach_bpf_fd = (uint32_t)ofd;
		d.attach_type = BPF_CGROUP_DEVICE;
		if (bpf(BPF_PROG_DETACH, &d) < 0 && errno != ENOENT)
			return cell_error_errno(err, errno, "detach the old device filter from `%s`", dir);
	}
	return 0;
}
