/* Namespace enumeration for `cell ns`, `cell enter`: see nsinfo.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <linux/net_namespace.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "nsinfo.h"
#include "util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	const char *name;
	int flag;
} ns_types[CELL_NS_NTYPES] = {
	[CELL_NS_USER] = { "user", CLONE_NEWUSER },
	[CELL_NS_CGROUP] = { "cgroup", CLONE_NEWCGROUP },
	[CELL_NS_IPC] = { "ipc", CLONE_NEWIPC },
	[CELL_NS_UTS] = { "uts", CLONE_NEWUTS },
	[CELL_NS_NET] = { "net", CLONE_NEWNET },
	[CELL_NS_PID] = { "pid", CLONE_NEWPID },
	[CELL_NS_MNT] = { "mnt", CLONE_NEWNS },
	[CELL_NS_TIME] = { "time", CLONE_NEWTIME },
};

const char *cell_ns_type_name(int type)
{
	return type >= 0 && type < CELL_NS_NTYPES ? ns_types[type].name : NULL;
}

int cell_ns_type_parse(const char *name)
{
	if (streq(name, "mount"))
		return CELL_NS_MNT;
	if (streq(name, "network"))
		return CELL_NS_NET;
	for (int t = 0; t < CELL_NS_NTYPES; t++)
		if (streq(name, ns_types[t].name))
			return t;
	return -1;
}

int cell_ns_type_flag(int type)
{
	return type >= 0 && type < CELL_NS_NTYPES ? ns_types[type].flag : 0;
}

int cell_ns_parse_link(const char *s, int *ret_type, uint64_t *ret_ino)
{
	const char *br = strchr(s, ':');
	if (!br || br[1] != '[')
		return -EINVAL;
	char name[16];
	size_t len = (size_t)(br - s);
	if (len == 0 || len >= sizeof(name))
		return -EINVAL;
	memcpy(name, s, len);
	name[len] = '\0';
	int type = cell_ns_type_parse(name);
	if (type < 0)
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long ino = strtoull(br + 2, &end, 10);
	if (errno || end == br + 2 || end[0] != ']' || end[1] != '\0' || ino == 0)
		return -EINVAL;
	*ret_type = type;
	*ret_ino = ino;
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape_octal(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			*o++ = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Fields: id parent major:minor root mountpoint options [optional...] - fstype source superopts */
int cell_mountinfo_parse_line(const char *line, struct cell_mountinfo *ret)
{
	const char *f[9];
	size_t flen[9];
	const char *p = line;
	for (int i = 0; i < 9; i++) {
		while (*p == ' ')
			p++;
		/* the optional fields end at a lone "-" */
		if (i == 6) {
			const char *sep = strstr(p - 1, " - ");
			if (!sep)
				return -EINVAL;
			p = sep + 3;
		}
		if ((!*p || *p == '\n') && i < 8)
			return -EINVAL;
		f[i] = p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		flen[i] = (size_t)(p - f[i]);
	}
	*ret = (struct cell_mountinfo){
		.root = unescape_octal(f[3], flen[3]),
		.mountpoint = unescape_octal(f[4], flen[4]),
		.fstype = unescape_octal(f[6], flen[6]),
		.source = unescape_octal(f[7], flen[7]),
		.options = unescape_octal(f[8], flen[8]),
	};
	return 0;
}

void cell_mountinfo_clear(struct cell_mountinfo *m)
{
	free(m->root);
	free(m->mountpoint);
	free(m->fstype);
	free(m->source);
	free(m->options);
	*m = (struct cell_mountinfo){ 0 };
}

int cell_ns_parse_mountinfo_line(const char *line, int *ret_type, uint64_t *ret_ino,
				 char **ret_mountpoint)
{
	struct cell_mountinfo m;
	if (cell_mountinfo_parse_line(line, &m) < 0)
		return -EINVAL;
	int type, r = 0;
	uint64_t ino;
	/* an nsfs mount of something else has another root */
	if (streq(m.fstype, "nsfs") && cell_ns_parse_link(m.root, &type, &ino) == 0) {
		*ret_type = type;
		*ret_ino = ino;
		*ret_mountpoint = TAKE_PTR(m.mountpoint);
		r = 1;
	}
	cell_mountinfo_clear(&m);
	return r;
}

uint64_t cell_ns_ino(pid_t pid, int type, cell_error **err)
{
	char path[64];
	struct stat st;
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, cell_ns_type_name(type));
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", cell_ns_type_name(type));
	if (stat(path, &st) < 0) {
		cell_error_errno(err, errno, "stat `%s`%s", path,
				 errno == ENOENT ? " (no such process, or the kernel lacks this namespace type)" : "");
		return 0;
	}
	return st.st_ino;
}

/* read_file() for files that may vanish under us (a process exits): no
 * error object, just failure. */
static int read_file_quiet(const char *path, char **ret, size_t *ret_len)
{
	cell_error *e = NULL;
	int r = read_file(path, ret, ret_len, &e);
	cell_error_free(&e);
	return r;
}

/* ---- netnsid over rtnetlink ---- */

static int nsid_attr_cb(const struct nlattr *attr, void *data)
{
	int *id = data;
	if (mnl_attr_get_type(attr) == NETNSA_NSID &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
		*id = (int32_t)mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int nsid_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWNSID)
		mnl_attr_parse(nlh, sizeof(struct rtgenmsg), nsid_attr_cb, data);
	return MNL_CB_OK;
}

static int netnsid_query(struct mnl_socket *sock, uint32_t seq, int nsfd, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETNSID;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)nsfd);
	if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0)
		return cell_error_errno(err, errno, "netlink RTM_GETNSID: send");
	int id = CELL_NETNSID_UNASSIGNED;
	ssize_t n = mnl_socket_recvfrom(sock, buf, sizeof(buf));
	if (n < 0)
		return cell_error_errno(err, errno, "netlink RTM_GETNSID: receive");
	/* mnl_cb_run sets errno from NLMSG_ERROR: the kernel's own errno */
	if (mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(sock), nsid_msg_cb, &id) < 0)
		return cell_error_errno(err, errno, "netlink RTM_GETNSID");
	return id;
}

static struct mnl_socket *nl_route_open(cell_error **err)
{
	struct mnl_socket *sock = mnl_socket_open(NETLINK_ROUTE);
	if (!sock) {
		cell_error_errno(err, errno, "open rtnetlink socket");
		return NULL;
	}
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		cell_error_errno(err, errno, "bind rtnetlink socket");
		mnl_socket_close(sock);
		return NULL;
	}
	return sock;
}

int cell_ns_netnsid(int nsfd, cell_error **err)
{
	struct mnl_socket *sock = nl_route_open(err);
	if (!sock)
		return -1;
	int r = netnsid_query(sock, 1, nsfd, err);
	mnl_socket_close(sock);
	return r < CELL_NETNSID_UNASSIGNED ? -1 : r;
}

/* ---- the scan ---- */

struct scan {
	struct cell_ns *ns;
	size_t n, cap;
};

static struct cell_ns *scan_find(struct scan *s, uint64_t ino)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ns[i].ino == ino)
			return &s->ns[i];
	return NULL;
}

static struct cell_ns *scan_add(struct scan *s, int type, uint64_t ino)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->ns = realloc(s->ns, s->cap * sizeof(*s->ns));
		if (!s->ns)
			abort();
	}
	struct cell_ns *ns = &s->ns[s->n++];
	*ns = (struct cell_ns){ .ino = ino, .type = type, .netnsid = CELL_NETNSID_NONE };
	return ns;
}

static void strv_push(char ***v, char *s)
{
	size_t n = *v ? strv_len(*v) : 0;
	char **nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv)
		abort();
	nv[n] = s;
	nv[n + 1] = NULL;
	*v = nv;
}

static bool strv_has(char **v, const char *s)
{
	for (; v && *v; v++)
		if (streq(*v, s))
			return true;
	return false;
}

/* The namespaces of one process; types it cannot show (EACCES on pid 1 in
 * some sandboxes, a race with exit) are left 0. */
static void proc_ns(pid_t pid, uint64_t ino[CELL_NS_NTYPES])
{
	char path[64];
	for (int t = 0; t < CELL_NS_NTYPES; t++) {
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_types[t].name);
		ino[t] = stat(path, &st) == 0 ? st.st_ino : 0;
	}
}

static void proc_describe(struct cell_ns *ns)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d", (int)ns->pid);
	if (stat(path, &st) == 0)
		ns->uid = st.st_uid;

	_cleanup_free_ char *stat_txt = NULL;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)ns->pid);
	if (read_file_quiet(path, &stat_txt, NULL) == 0) {
		/* comm may hold spaces and parentheses: the state follows the last ')' */
		char *rp = strrchr(stat_txt, ')');
		int ppid;
		if (rp && sscanf(rp + 1, " %*c %d", &ppid) == 1)
			ns->ppid = ppid;
	}

	char *cmd = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)ns->pid);
	if (read_file_quiet(path, &cmd, &len) == 0 && len > 0) {
		while (len > 0 && cmd[len - 1] == '\0')
			len--;
		for (size_t i = 0; i < len; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		cmd[len] = '\0';
	} else {
		free(cmd);
		cmd = NULL;
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)ns->pid);
		if (read_file_quiet(path, &cmd, &len) == 0)
			cmd[strcspn(cmd, "\n")] = '\0';
	}
	ns->command = cmd;
}

static int scan_procs(struct scan *s, pid_t only_pid, cell_error **err)
{
	uint64_t want[CELL_NS_NTYPES] = { 0 };
	if (only_pid > 0) {
		proc_ns(only_pid, want);
		bool any = false;
		for (int t = 0; t < CELL_NS_NTYPES; t++)
			any |= want[t] != 0;
		if (!any)
			return cell_error_errno(err, kill(only_pid, 0) < 0 ? errno : EACCES,
						"namespaces of pid %d", (int)only_pid);
	}

	DIR *d = opendir("/proc");
	if (!d)
		return cell_error_errno(err, errno, "open `/proc`");
	struct dirent *de;
	while ((de = readdir(d))) {
		int64_t v;
		if (parse_int64(de->d_name, &v) < 0 || v <= 0)
			continue;
		pid_t pid = (pid_t)v;
		uint64_t ino[CELL_NS_NTYPES];
		proc_ns(pid, ino);
		for (int t = 0; t < CELL_NS_NTYPES; t++) {
			if (!ino[t] || (only_pid > 0 && ino[t] != want[t]))
				continue;
			struct cell_ns *ns = scan_find(s, ino[t]);
			if (!ns)
				ns = scan_add(s, t, ino[t]);
			ns->nprocs++;
			if (ns->pid == 0 || pid < ns->pid)
				ns->pid = pid;
		}
	}
	closedir(d);
	return 0;
}

static void scan_mounts(struct scan *s, bool add_unheld)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		int type;
		uint64_t ino;
		char *mp;
		if (cell_ns_parse_mountinfo_line(line, &type, &ino, &mp) <= 0)
			continue;
		struct cell_ns *ns = scan_find(s, ino);
		if (!ns && add_unheld)
			ns = scan_add(s, type, ino);
		if (!ns || strv_has(ns->nsfs, mp)) {
			free(mp);
			continue;
		}
		strv_push(&ns->nsfs, mp);
	}
}

static uint64_t fd_ino_ioctl(int fd, unsigned long req)
{
	int r = ioctl(fd, req);
	if (r < 0)
		return 0;
	struct stat st;
	uint64_t ino = fstat(r, &st) == 0 ? st.st_ino : 0;
	close(r);
	return ino;
}

/* Open each namespace once: parent, owner and netnsid. */
static void scan_relations(struct scan *s)
{
	struct mnl_socket *sock = NULL;
	uint32_t seq = 1;
	for (size_t i = 0; i < s->n; i++) {
		struct cell_ns *ns = &s->ns[i];
		_cleanup_close_ int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ns->owner = fd_ino_ioctl(fd, NS_GET_USERNS);
		if (ns->type == CELL_NS_USER || ns->type == CELL_NS_PID)
			ns->parent = fd_ino_ioctl(fd, NS_GET_PARENT);
		if (ns->type != CELL_NS_NET)
			continue;
		if (!sock) {
			cell_error *e = NULL;
			sock = nl_route_open(&e);
			cell_error_free(&e);
		}
		if (!sock)
			continue;
		cell_error *e = NULL;
		int id = netnsid_query(sock, seq++, fd, &e);
		cell_error_free(&e);
		if (id >= CELL_NETNSID_UNASSIGNED)
			ns->netnsid = id;
	}
	if (sock)
		mnl_socket_close(sock);
}

static void scan_containers(struct scan *s)
{
	struct cell_ns_ctr *ctr = NULL;
	size_t nctr = 0;
	cell_error *e = NULL;
	if (cell_ns_ctr_scan(&ctr, &nctr, &e) < 0) {
		cell_error_free(&e);
		return;
	}
	uint64_t self[CELL_NS_NTYPES];
	proc_ns(getpid(), self);
	for (size_t c = 0; c < nctr; c++) {
		uint64_t ino[CELL_NS_NTYPES];
		proc_ns(ctr[c].pid, ino);
		for (int t = 0; t < CELL_NS_NTYPES; t++) {
			if (!ino[t] || ino[t] == self[t])
				continue;
			struct cell_ns *ns = scan_find(s, ino[t]);
			if (ns && !ns->container)
				ns->container = xstrdup(ctr[c].name);
		}
	}
	cell_ns_ctr_free(ctr, nctr);
}

static int cmp_ns(const void *a, const void *b)
{
	const struct cell_ns *x = a, *y = b;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static void ns_clear(struct cell_ns *ns)
{
	free(ns->command);
	free(ns->path);
	strv_free(ns->nsfs);
	free(ns->container);
}

int cell_ns_scan(const struct cell_ns_filter *f, struct cell_ns_list **ret, cell_error **err)
{
	static const struct cell_ns_filter all;
	struct scan s = { 0 };
	if (!f)
		f = &all;
	if (scan_procs(&s, f->pid, err) < 0) {
		free(s.ns);
		return -1;
	}
	scan_mounts(&s, f->pid == 0);

	/* filter before the costly per-namespace work */
	size_t k = 0;
	for (size_t i = 0; i < s.n; i++) {
		struct cell_ns *ns = &s.ns[i];
		bool keep = (!f->types || (f->types & (1u << ns->type))) && (!f->ino || f->ino == ns->ino);
		if (keep)
			s.ns[k++] = *ns;
		else
			ns_clear(ns);
	}
	s.n = k;

	for (size_t i = 0; i < s.n; i++) {
		struct cell_ns *ns = &s.ns[i];
		if (ns->pid > 0) {
			ns->path = xasprintf("/proc/%d/ns/%s", (int)ns->pid, ns_types[ns->type].name);
			proc_describe(ns);
		} else if (ns->nsfs) {
			ns->path = xstrdup(ns->nsfs[0]);
		}
	}
	scan_relations(&s);
	scan_containers(&s);
	qsort(s.ns, s.n, sizeof(*s.ns), cmp_ns);

	struct cell_ns_list *l = xcalloc(1, sizeof(*l));
	l->ns = s.ns;
	l->n = s.n;
	*ret = l;
	return 0;
}

void cell_ns_list_free(struct cell_ns_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		ns_clear(&l->ns[i]);
	free(l->ns);
	free(l);
}

const struct cell_ns *cell_ns_find(const struct cell_ns_list *l, uint64_t ino)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->ns[i].ino == ino)
			return &l->ns[i];
	return NULL;
}

/* ---- containers from runtime state files ---- */

/* Whatever the root, the state file may come from any runtime: containerd
 * and podman hand their root to whichever runtime they run, cell-runtime
 * included. So every file is read in every known format. */
struct ctr_root {
	const char *dir;
	const char *prefix;	/* shown before the id */
	bool nested;		/* <dir>/<namespace>/<id>/ (containerd) */
	bool engine;		/* the cell engine's: shown by the record's Name */
};

static const struct ctr_root ctr_roots[] = {
	{ NULL, "", false, true },
	{ "/run/cell-runtime", "", false, false },
	{ "/run/runc", "runc:", false, false },
	{ "/run/containerd/runc", "containerd:", true, false },
	{ "/run/crun", "crun:", false, false },
	{ "/run/docker/runtime-runc/moby", "docker:", false, false },
};

static char *engine_root, *engine_runroot;

void cell_ns_ctr_set_engine(const char *root, const char *runroot)
{
	free(engine_root);
	free(engine_runroot);
	engine_root = root ? xstrdup(root) : NULL;
	engine_runroot = runroot ? xstrdup(runroot) : NULL;
}

/* Docker's Name is "/web"; shown without the slash, or the short id. */
static char *engine_name(const char *id)
{
	_cleanup_free_ char *path = xasprintf("%s/containers/%s/config.json",
					      engine_root ? engine_root : "/var/lib/cell", id);
	json_object *o = NULL;
	cell_error *e = NULL;
	const char *name = NULL;
	char *ret = NULL;
	if (cj_parse_file(path, &o, &e) == 0 && cj_string(o, "Name", "record", &name, &e) > 0 && name[0])
		ret = xstrdup(name[0] == '/' ? name + 1 : name);
	cell_error_free(&e);
	json_object_put(o);
	return ret ? ret : xasprintf("%.12s", id);
}

static void ctr_push(struct cell_ns_ctr **v, size_t *n, char *name, const char *id, pid_t pid)
{
	struct cell_ns_ctr *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		abort();
	nv[*n] = (struct cell_ns_ctr){ .name = name, .id = xstrdup(id), .pid = pid };
	*v = nv;
	(*n)++;
}

/* Init pid and its start time (field 22 of /proc/PID/stat) as each runtime
 * records them: cell-runtime "pid" + "x-cell"."startTime", runc
 * "init_process_pid" + "init_process_start", crun "pid" +
 * "process-start-time" (in its "status" file). */
static const struct {
	const char *file, *pid_key, *start_obj, *start_key;
} state_formats[] = {
	{ "state.json", "init_process_pid", NULL, "init_process_start" },
	{ "state.json", "pid", "x-cell", "startTime" },
	{ "status", "pid", NULL, "process-start-time" },
};

/* The live init pid recorded in <dir>/state.json or status, or 0. */
static pid_t ctr_state_pid(const char *dir)
{
	for (size_t i = 0; i < ARRAY_SIZE(state_formats); i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, state_formats[i].file);
		json_object *o = NULL, *so = NULL;
		cell_error *e = NULL;
		int64_t v = 0, start = 0;
		if (cj_parse_file(path, &o, &e) < 0 ||
		    cj_int64(o, state_formats[i].pid_key, "state", &v, &e) <= 0) {
			cell_error_free(&e);
			json_object_put(o);
			continue;
		}
		pid_t pid = v > 0 && kill((pid_t)v, 0) == 0 ? (pid_t)v : 0;
		so = o;
		if (pid && (!state_formats[i].start_obj ||
			    cj_object(o, state_formats[i].start_obj, "state", &so, &e) > 0) &&
		    cj_int64(so, state_formats[i].start_key, "state", &start, &e) > 0 && start > 0 &&
		    proc_start_time(pid) != (uint64_t)start)
			pid = 0;	/* a reused pid: the container is gone */
		cell_error_free(&e);
		json_object_put(o);
		return pid;
	}
	return 0;
}

static void ctr_scan_dir(const struct ctr_root *r, const char *dir, const char *nsname,
			 struct cell_ns_ctr **v, size_t *n)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (r->nested && !nsname) {
			_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
			ctr_scan_dir(r, sub, de->d_name, v, n);
			continue;
		}
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
		pid_t pid = ctr_state_pid(path);
		if (pid <= 0)
			continue;
		char *name = r->engine ? engine_name(de->d_name)
			   : nsname ? xasprintf("%s%s/%s", r->prefix, nsname, de->d_name)
				    : xasprintf("%s%s", r->prefix, de->d_name);
		ctr_push(v, n, name, de->d_name, pid);
	}
	closedir(d);
}

int cell_ns_ctr_scan(struct cell_ns_ctr **ret, size_t *ret_n, cell_error **err)
{
	struct cell_ns_ctr *v = NULL;
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ctr_roots); i++) {
		_cleanup_free_ char *dir = ctr_roots[i].engine
			? xasprintf("%s/runtime", engine_runroot ? engine_runroot : "/run/cell")
			: xstrdup(ctr_roots[i].dir);
		ctr_scan_dir(&ctr_roots[i], dir, NULL, &v, &n);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void cell_ns_ctr_free(struct cell_ns_ctr *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].id);
	}
	free(v);
}

int cell_ns_ctr_resolve(const char *name, pid_t *ret_pid, char **ret_name, cell_error **err)
{
	struct cell_ns_ctr *v = NULL;
	size_t n = 0;
	if (cell_ns_ctr_scan(&v, &n, err) < 0)
		return -1;
	ssize_t found = -1;
	size_t nprefix = 0;
	for (size_t i = 0; i < n && found < 0; i++)
		if (streq(v[i].name, name) || streq(v[i].id, name))
			found = (ssize_t)i;
	if (found < 0) {
		for (size_t i = 0; i < n; i++)
			if (strncmp(v[i].id, name, strlen(name)) == 0) {
				found = (ssize_t)i;
				nprefix++;
			}
		if (nprefix > 1) {
			cell_ns_ctr_free(v, n);
			return cell_error_set(err, "container `%s`: the prefix matches %zu running containers; give more of the id",
					      name, nprefix);
		}
	}
	if (found < 0) {
		cell_ns_ctr_free(v, n);
		return cell_error_errno(err, ENOENT,
					"container `%s`: no running container by that name or id in %s/runtime (cell), /run/cell-runtime, /run/runc, /run/containerd/runc, /run/crun or /run/docker/runtime-runc/moby (stopped? use -t PID for other processes)",
					name, engine_runroot ? engine_runroot : "/run/cell");
	}
	*ret_pid = v[found].pid;
	if (ret_name)
		*ret_name = xstrdup(v[found].name);
	cell_ns_ctr_free(v, n);
	return 0;
}

char *cell_idmap_explain(const char *line, const char *what)
{
	unsigned long long in, out, count;
	if (sscanf(line, "%llu %llu %llu", &in, &out, &count) != 3 || count == 0)
		return NULL;
	if (count == 1)
		return xasprintf("%s %llu inside is %s %llu outside (1 id)", what, in, what, out);
	return xasprintf("%ss %llu-%llu inside are %ss %llu-%llu outside (%llu ids)", what, in,
			 in + count - 1, what, out, out + count - 1, count);
}
