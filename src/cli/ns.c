/* `cell ns ls`: lsns with a CONTAINER column, and `cell ns show CONTAINER`. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "json.h"
#include "linux/nsinfo.h"
#include "util.h"

enum col {
	COL_NS, COL_TYPE, COL_PATH, COL_NPROCS, COL_PID, COL_PPID, COL_COMMAND, COL_UID,
	COL_USER, COL_NETNSID, COL_NSFS, COL_PNS, COL_ONS, COL_CONTAINER, NCOLS
};

static const struct {
	const char *name;
	bool right;	/* numbers align right, as lsns prints them */
	const char *help;
} cols[NCOLS] = {
	[COL_NS] = { "NS", true, "namespace identifier (inode number)" },
	[COL_TYPE] = { "TYPE", false, "kind of namespace" },
	[COL_PATH] = { "PATH", false, "path to the namespace" },
	[COL_NPROCS] = { "NPROCS", true, "number of processes in the namespace" },
	[COL_PID] = { "PID", true, "lowest PID in the namespace" },
	[COL_PPID] = { "PPID", true, "PPID of the PID" },
	[COL_COMMAND] = { "COMMAND", false, "command line of the PID" },
	[COL_UID] = { "UID", true, "UID of the PID" },
	[COL_USER] = { "USER", false, "username of the PID" },
	[COL_NETNSID] = { "NETNSID", true, "namespace ID as used by network subsystem" },
	[COL_NSFS] = { "NSFS", false, "nsfs mountpoint (e.g. /run/netns/NAME)" },
	[COL_PNS] = { "PNS", true, "parent namespace identifier (user, pid)" },
	[COL_ONS] = { "ONS", true, "owner user namespace identifier" },
	[COL_CONTAINER] = { "CONTAINER", false, "container owning the namespace" },
};

static const char ns_ls_usage[] =
	"Usage: cell ns ls [OPTIONS] [NS-INODE]\n\n"
	"List the host's namespaces, as lsns does, with the container owning each.\n\n"
	"Options:\n"
	"  -t, --type TYPE       only this type (mnt, net, ipc, user, pid, uts, cgroup, time); repeatable\n"
	"  -p, --task PID        only the namespaces of this process\n"
	"  -o, --output COLS     columns, comma separated; \"+COLS\" appends to the defaults\n"
	"      --output-all      every column\n"
	"  -J, --json            JSON shaped like `lsns -J` (also --format json)\n"
	"  -T, --tree            the user/pid namespace hierarchy (parents, then owned namespaces)\n"
	"  -n, --noheadings      no header line\n\n"
	"Containers are found in /run/cell/runtime (cell, shown by name), /run/cell-runtime\n"
	"(cell-runtime), /run/runc (runc, podman with runc),\n"
	"/run/containerd/runc (containerd), /run/crun (crun, podman with crun) and\n"
	"/run/docker/runtime-runc/moby (Docker).\n\n"
	"Columns:\n";

static const char ns_show_usage[] =
	"Usage: cell ns show CONTAINER | -t PID\n\n"
	"Show a container's namespaces (its own and the host's it shares), uid/gid maps\n"
	"with their reading, cgroups and network links.\n";

static const char ns_usage[] =
	"Usage: cell ns COMMAND\n\n"
	"Commands:\n"
	"  ls     list every namespace on the host (lsns), with owning containers\n"
	"  show   a container's namespaces, id maps, cgroups and network links\n";

/* read_file() for files that may vanish under us (a process exits): no
 * error object, just failure. */
static int read_file_quiet(const char *path, char **ret, size_t *ret_len)
{
	cell_error *e = NULL;
	int r = read_file(path, ret, ret_len, &e);
	cell_error_free(&e);
	return r;
}

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "--"))
			break;
		if (streq(argv[i], "--help") || streq(argv[i], "-h"))
			return true;
	}
	return false;
}

static int parse_cols(const char *spec, int *out, int *nout, cell_error **err)
{
	_cleanup_free_ char *s = xstrdup(spec);
	char *save = NULL;
	for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int c;
		for (c = 0; c < NCOLS; c++)
			if (strcasecmp(tok, cols[c].name) == 0)
				break;
		if (c == NCOLS)
			return cell_error_set(err, "ns ls: unknown column `%s` (see `cell ns ls --help`)", tok);
		if (*nout >= 32)
			return cell_error_set(err, "ns ls: too many columns in `%s`", spec);
		out[(*nout)++] = c;
	}
	return 0;
}

/* The text of a cell, NULL when empty (JSON null). */
static char *cell_text(const struct cell_ns *ns, int c)
{
	switch (c) {
	case COL_NS: return xasprintf("%" PRIu64, ns->ino);
	case COL_TYPE: return xstrdup(cell_ns_type_name(ns->type));
	case COL_PATH: return ns->path ? xstrdup(ns->path) : NULL;
	case COL_NPROCS: return xasprintf("%u", ns->nprocs);
	case COL_PID: return ns->pid ? xasprintf("%d", (int)ns->pid) : NULL;
	case COL_PPID: return ns->pid ? xasprintf("%d", (int)ns->ppid) : NULL;
	case COL_COMMAND: return ns->command ? xstrdup(ns->command) : NULL;
	case COL_UID: return ns->pid ? xasprintf("%u", (unsigned)ns->uid) : NULL;
	case COL_USER: {
		if (!ns->pid)
			return NULL;
		struct passwd *pw = getpwuid(ns->uid);
		return pw ? xstrdup(pw->pw_name) : xasprintf("%u", (unsigned)ns->uid);
	}
	case COL_NETNSID:
		if (ns->netnsid == CELL_NETNSID_NONE)
			return NULL;
		return ns->netnsid == CELL_NETNSID_UNASSIGNED ? xstrdup("unassigned")
							      : xasprintf("%d", ns->netnsid);
	case COL_NSFS: {
		if (!ns->nsfs)
			return NULL;
		char *s = xstrdup(ns->nsfs[0]);
		for (size_t i = 1; ns->nsfs[i]; i++) {
			char *t = xasprintf("%s,%s", s, ns->nsfs[i]);
			free(s);
			s = t;
		}
		return s;
	}
	case COL_PNS: return ns->parent ? xasprintf("%" PRIu64, ns->parent) : NULL;
	case COL_ONS: return ns->owner ? xasprintf("%" PRIu64, ns->owner) : NULL;
	case COL_CONTAINER: return ns->container ? xstrdup(ns->container) : NULL;
	}
	return NULL;
}

static json_object *cell_json(const struct cell_ns *ns, int c)
{
	switch (c) {
	case COL_NS: return json_object_new_uint64(ns->ino);
	case COL_NPROCS: return json_object_new_int64(ns->nprocs);
	case COL_PID: return ns->pid ? json_object_new_int(ns->pid) : NULL;
	case COL_PPID: return ns->pid ? json_object_new_int(ns->ppid) : NULL;
	case COL_UID: return ns->pid ? json_object_new_int64(ns->uid) : NULL;
	case COL_NETNSID:
		if (ns->netnsid >= 0)
			return json_object_new_int(ns->netnsid);
		break;
	case COL_PNS: return ns->parent ? json_object_new_uint64(ns->parent) : NULL;
	case COL_ONS: return ns->owner ? json_object_new_uint64(ns->owner) : NULL;
	case COL_NSFS:
		/* lsns joins several mount points with a newline */
		if (ns->nsfs) {
			_cleanup_free_ char *s = cell_text(ns, c);
			for (char *p = s; *p; p++)
				if (*p == ',')
					*p = '\n';
			return json_object_new_string(s);
		}
		return NULL;
	}
	_cleanup_free_ char *s = cell_text(ns, c);
	return s ? json_object_new_string(s) : NULL;
}

static void col_key(int c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", cols[c].name);
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* ---- tree: user and pid namespaces under their parents, the rest under their owner ---- */

static ssize_t tree_parent(const struct cell_ns_list *l, size_t i)
{
	const struct cell_ns *ns = &l->ns[i];
	uint64_t p = 0;
	if (ns->type == CELL_NS_USER || ns->type == CELL_NS_PID)
		p = ns->parent;
	if ((!p || !cell_ns_find(l, p)) && ns->type != CELL_NS_USER)
		p = ns->owner;
	if (!p || p == ns->ino)
		return -1;
	const struct cell_ns *q = cell_ns_find(l, p);
	return q ? q - l->ns : -1;
}

struct tree {
	ssize_t *parent;
	size_t *order;	/* depth-first */
	char **prefix;	/* glyphs before the first column */
	size_t n;
};

static void tree_walk(const struct cell_ns_list *l, struct tree *t, ssize_t node, const char *indent,
		      size_t *k)
{
	/* children of node, in inode order */
	size_t nkids = 0, last = 0;
	for (size_t i = 0; i < l->n; i++)
		if (t->parent[i] == node) {
			nkids++;
			last = i;
		}
	for (size_t i = 0; i < l->n; i++) {
		if (t->parent[i] != node)
			continue;
		bool is_last = i == last;
		t->order[*k] = i;
		t->prefix[i] = node < 0 ? xstrdup("") : xasprintf("%s%s", indent, is_last ? "└─" : "├─");
		(*k)++;
		_cleanup_free_ char *sub = node < 0 ? xstrdup("") : xasprintf("%s%s", indent, is_last ? "  " : "│ ");
		tree_walk(l, t, (ssize_t)i, sub, k);
	}
	(void)nkids;
}

static void tree_build(const struct cell_ns_list *l, struct tree *t)
{
	t->n = l->n;
	t->parent = xcalloc(l->n + 1, sizeof(*t->parent));
	t->order = xcalloc(l->n + 1, sizeof(*t->order));
	t->prefix = xcalloc(l->n + 1, sizeof(*t->prefix));
	for (size_t i = 0; i < l->n; i++)
		t->parent[i] = tree_parent(l, i);
	size_t k = 0;
	tree_walk(l, t, -1, "", &k);
}

static void tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->prefix[i]);
	free(t->prefix);
	free(t->parent);
	free(t->order);
}

static json_object *json_row(const struct cell_ns *ns, const int *sel, int nsel)
{
	json_object *o = json_object_new_object();
	for (int j = 0; j < nsel; j++) {
		char key[16];
		col_key(sel[j], key, sizeof(key));
		json_object_object_add(o, key, cell_json(ns, sel[j]));
	}
	return o;
}

static json_object *json_subtree(const struct cell_ns_list *l, const struct tree *t, ssize_t node,
				 const int *sel, int nsel)
{
	json_object *arr = NULL;
	for (size_t i = 0; i < l->n; i++) {
		if (t->parent[i] != node)
			continue;
		json_object *o = json_row(&l->ns[i], sel, nsel);
		json_object *kids = json_subtree(l, t, (ssize_t)i, sel, nsel);
		if (kids)
			json_object_object_add(o, "children", kids);
		if (!arr)
			arr = json_object_new_array();
		json_object_array_add(arr, o);
	}
	return arr;
}

static void print_json(const struct cell_ns_list *l, const struct tree *t, const int *sel, int nsel)
{
	json_object *root = json_object_new_object();
	json_object *arr;
	if (t) {
		arr = json_subtree(l, t, -1, sel, nsel);
		if (!arr)
			arr = json_object_new_array();
	} else {
		arr = json_object_new_array();
		for (size_t i = 0; i < l->n; i++)
			json_object_array_add(arr, json_row(&l->ns[i], sel, nsel));
	}
	json_object_object_add(root, "namespaces", arr);
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_SPACED |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

/* Display width of UTF-8 text (the tree glyphs are one column each). */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

static void print_table(const struct cell_ns_list *l, const struct tree *t, const int *sel, int nsel,
			bool headings)
{
	size_t n = l->n;
	char ***cells = xcalloc(n + 1, sizeof(char **));
	size_t width[32] = { 0 };
	for (int j = 0; j < nsel; j++)
		width[j] = headings ? strlen(cols[sel[j]].name) : 0;
	for (size_t r = 0; r < n; r++) {
		size_t i = t ? t->order[r] : r;
		cells[r] = xcalloc((size_t)nsel, sizeof(char *));
		for (int j = 0; j < nsel; j++) {
			char *s = cell_text(&l->ns[i], sel[j]);
			/* the seeds' `ip netns add`: alive with no process at all */
			if (!s && sel[j] == COL_COMMAND && !l->ns[i].nprocs && l->ns[i].nsfs)
				s = xasprintf("(no process: kept alive by the bind mount on %s)", l->ns[i].nsfs[0]);
			if (!s)
				s = xstrdup("");
			/* a long command line in the middle would push every
			 * later column off the screen: cut it, as lsns does */
			if (j < nsel - 1 && sel[j] == COL_COMMAND && strlen(s) > 40)
				strcpy(s + 37, "...");
			if (t && j == 0) {
				char *p = xasprintf("%s%s", t->prefix[i] ? t->prefix[i] : "", s);
				free(s);
				s = p;
			}
			cells[r][j] = s;
			if (text_width(s) > width[j])
				width[j] = text_width(s);
		}
	}
	for (size_t r = 0; r < n + (headings ? 1 : 0); r++) {
		bool head = headings && r == 0;
		size_t row = headings ? r - 1 : r;
		for (int j = 0; j < nsel; j++) {
			const char *s = head ? cols[sel[j]].name : cells[row][j];
			bool last = j == nsel - 1;
			size_t pad = width[j] - text_width(s);
			bool right = cols[sel[j]].right && !(t && j == 0);
			if (right)
				printf("%*s%s", (int)pad, "", s);
			else
				printf("%s%*s", s, last ? 0 : (int)pad, "");
			if (!last)
				putchar(' ');
		}
		putchar('\n');
	}
	for (size_t r = 0; r < n; r++) {
		for (int j = 0; j < nsel; j++)
			free(cells[r][j]);
		free(cells[r]);
	}
	free(cells);
}

static int ns_ls(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "task", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "output-all", no_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'J' },
		{ "format", required_argument, NULL, 'F' },
		{ "tree", no_argument, NULL, 'T' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct cell_ns_filter f = { 0 };
	const char *outspec = NULL;
	bool json = false, tree = false, headings = true, all = false;
	int c;

	if (want_help(argc, argv)) {
		printf("%s", ns_ls_usage);
		for (int i = 0; i < NCOLS; i++)
			printf("  %10s  %s\n", cols[i].name, cols[i].help);
		return 0;
	}
	while ((c = getopt_long(argc, argv, "t:p:o:JTnh", opts, NULL)) != -1) {
		switch (c) {
		case 't': {
			int t = cell_ns_type_parse(optarg);
			if (t < 0)
				return cell_error_set(err, "ns ls: unknown namespace type `%s` (mnt, net, ipc, user, pid, uts, cgroup, time)", optarg);
			f.types |= 1u << t;
			break;
		}
		case 'p': {
			int64_t v;
			if (parse_int64(optarg, &v) < 0 || v <= 0)
				return cell_error_set(err, "ns ls: `%s` is not a pid", optarg);
			f.pid = (pid_t)v;
			break;
		}
		case 'o': outspec = optarg; break;
		case 'A': all = true; break;
		case 'J': json = true; break;
		case 'F':	/* as the other lists: --format json is -J */
			if (streq(optarg, "json"))
				json = true;
			else if (!streq(optarg, "table"))
				return cell_error_set(err, "ns ls: --format `%s`: table or json", optarg);
			break;
		case 'T': tree = true; break;
		case 'n': headings = false; break;
		default: return cell_error_set(err, "ns ls: bad usage (see `cell ns ls --help`)");
		}
	}
	if (optind < argc) {
		uint64_t ino;
		if (parse_uint64(argv[optind], &ino) < 0 || ino == 0)
			return cell_error_set(err, "ns ls: `%s` is not a namespace inode number", argv[optind]);
		f.ino = ino;
	}

	int sel[32], nsel = 0;
	if (all) {
		for (int i = 0; i < NCOLS; i++)
			sel[nsel++] = i;
	} else if (!outspec || outspec[0] == '+') {
		static const int defaults[] = { COL_NS, COL_TYPE, COL_NPROCS, COL_PID, COL_USER, COL_CONTAINER };
		for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
			sel[nsel++] = defaults[i];
		/* as lsns: listing network namespaces shows their id and bind mounts */
		if (f.types == (1u << CELL_NS_NET)) {
			sel[nsel++] = COL_NETNSID;
			sel[nsel++] = COL_NSFS;
		}
		sel[nsel++] = COL_COMMAND;
		if (outspec && parse_cols(outspec + 1, sel, &nsel, err) < 0)
			return -1;
	} else if (parse_cols(outspec, sel, &nsel, err) < 0) {
		return -1;
	}

	struct cell_ns_list *l = NULL;
	if (cell_ns_scan(&f, &l, err) < 0)
		return cell_error_wrap(err, "ns ls");
	struct tree t = { 0 };
	if (tree)
		tree_build(l, &t);
	if (json)
		print_json(l, tree ? &t : NULL, sel, nsel);
	else
		print_table(l, tree ? &t : NULL, sel, nsel, headings);
	if (tree)
		tree_free(&t);
	cell_ns_list_free(l);
	return 0;
}

/* ---- ns show ---- */

struct links_ctx {
	int nsfd;
	struct ifaddrs *ifa;
	struct if_nameindex *names;
	int errnum;
};

/* Network namespaces are per thread: this thread joins the container's and
 * the sockets getifaddrs() opens there see its links; the rest of the
 * process never moves. */
static void *links_thread(void *arg)
{
	struct links_ctx *c = arg;
	if (setns(c->nsfd, CLONE_NEWNET) < 0) {
		c->errnum = errno;
		return NULL;
	}
	c->names = if_nameindex();
	if (getifaddrs(&c->ifa) < 0)
		c->errnum = errno;
	return NULL;
}

static void show_links(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	struct links_ctx c = { .nsfd = open(path, O_RDONLY | O_CLOEXEC) };
	printf("\nNetwork links (inside its network namespace):\n");
	if (c.nsfd < 0) {
		printf("  cannot open `%s`: %s\n", path, strerror(errno));
		return;
	}
	pthread_t th;
	if (pthread_create(&th, NULL, links_thread, &c) != 0) {
		printf("  cannot start a thread to enter the namespace\n");
		close(c.nsfd);
		return;
	}
	pthread_join(th, NULL);
	close(c.nsfd);
	if (c.errnum)
		printf("  cannot enter the namespace: %s\n", strerror(c.errnum));
	for (struct if_nameindex *n = c.names; n && n->if_index; n++) {
		unsigned flags = 0;
		for (struct ifaddrs *a = c.ifa; a; a = a->ifa_next)
			if (streq(a->ifa_name, n->if_name))
				flags = a->ifa_flags;
		printf("  %u: %-16s %s", n->if_index, n->if_name, (flags & IFF_UP) ? "UP" : "DOWN");
		for (struct ifaddrs *a = c.ifa; a; a = a->ifa_next) {
			if (!streq(a->ifa_name, n->if_name) || !a->ifa_addr ||
			    (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6))
				continue;
			char host[NI_MAXHOST];
			socklen_t sl = a->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
									   : sizeof(struct sockaddr_in6);
			if (getnameinfo(a->ifa_addr, sl, host, sizeof(host), NULL, 0, NI_NUMERICHOST) == 0)
				printf(" %s", host);
		}
		putchar('\n');
	}
	if (c.names)
		if_freenameindex(c.names);
	if (c.ifa)
		freeifaddrs(c.ifa);
}

static void show_idmap(pid_t pid, const char *file, const char *what)
{
	char path[64];
	_cleanup_free_ char *text = NULL;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	printf("\n%s (ID-inside-ns ID-outside-ns COUNT, read from `%s`):\n", file, path);
	if (read_file_quiet(path, &text, NULL) < 0) {
		printf("  unreadable\n");
		return;
	}
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		_cleanup_free_ char *why = cell_idmap_explain(line, what);
		unsigned long long a, b, n;
		bool identity = sscanf(line, "%llu %llu %llu", &a, &b, &n) == 3 && a == 0 && b == 0 &&
				n == 4294967295ULL;
		while (*line == ' ')
			line++;
		printf("  %-28s %s%s\n", line, why ? why : "?",
		       identity ? ": the identity map, no user namespace of its own" : "");
	}
}

/* The root the process sees: the last mount on "/" in its mountinfo. An
 * overlay's layers are its lowerdirs, top first. */
static void show_rootfs(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	printf("\nRoot file system (the last mount on / in `%s`):\n", path);
	if (!f) {
		printf("  unreadable: %s\n", strerror(errno));
		return;
	}
	struct cell_mountinfo root = { 0 }, m;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		if (cell_mountinfo_parse_line(line, &m) < 0)
			continue;
		if (streq(m.mountpoint, "/")) {
			cell_mountinfo_clear(&root);
			root = m;
		} else {
			cell_mountinfo_clear(&m);
		}
	}
	if (!root.fstype) {
		printf("  none found\n");
		return;
	}
	printf("  %s from %s%s%s\n", root.fstype, root.source,
	       streq(root.root, "/") ? "" : ", subdirectory ", streq(root.root, "/") ? "" : root.root);
	_cleanup_free_ char *opts = xstrdup(root.options);
	char *save = NULL;
	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (strncmp(o, "lowerdir=", 9) == 0) {
			char *s2 = NULL;
			int n = 0;
			for (char *l = strtok_r(o + 9, ":", &s2); l; l = strtok_r(NULL, ":", &s2)) {
				n++;
				printf("  layer %d (read-only%s): %s\n", n, n == 1 ? ", top" : "", l);
			}
		} else if (strncmp(o, "upperdir=", 9) == 0) {
			printf("  upper (the container's writes): %s\n", o + 9);
		}
	}
	cell_mountinfo_clear(&root);
}

static int ns_show(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	pid_t pid = 0;
	int c;
	if (want_help(argc, argv)) {
		printf("%s", ns_show_usage);
		return 0;
	}
	while ((c = getopt_long(argc, argv, "+t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': {
			int64_t v;
			if (parse_int64(optarg, &v) < 0 || v <= 0)
				return cell_error_set(err, "ns show: `%s` is not a pid", optarg);
			pid = (pid_t)v;
			break;
		}
		default: return cell_error_set(err, "ns show: bad usage (see `cell ns show --help`)");
		}
	}
	_cleanup_free_ char *name = NULL;
	if (!pid) {
		if (optind >= argc)
			return cell_error_set(err, "ns show: which container? (see `cell ns show --help`)");
		if (cell_ns_ctr_resolve(argv[optind], &pid, &name, err) < 0)
			return cell_error_wrap(err, "ns show");
	}
	struct cell_ns_filter f = { .pid = pid };
	struct cell_ns_list *l = NULL;
	if (cell_ns_scan(&f, &l, err) < 0)
		return cell_error_wrap(err, "ns show");

	if (name)
		printf("Container %s, init pid %d\n", name, (int)pid);
	else
		printf("Process %d\n", (int)pid);
	printf("\nNamespaces (own = created for it; host = shared with cell's own):\n");
	printf("  %-7s %-11s %-5s %6s  %s\n", "TYPE", "NS", "WHOSE", "NPROCS", "DETAILS");
	for (int t = 0; t < CELL_NS_NTYPES; t++) {
		cell_error *e = NULL;
		uint64_t mine = cell_ns_ino(0, t, &e);
		uint64_t its = cell_ns_ino(pid, t, &e);
		cell_error_free(&e);
		const struct cell_ns *ns = its ? cell_ns_find(l, its) : NULL;
		if (!ns)
			continue;
		printf("  %-7s %-11" PRIu64 " %-5s %6u ", cell_ns_type_name(t), ns->ino,
		       its == mine ? "host" : "own", ns->nprocs);
		if (ns->netnsid >= 0)
			printf(" netnsid %d", ns->netnsid);
		for (size_t i = 0; ns->nsfs && ns->nsfs[i]; i++)
			printf(" mounted on %s", ns->nsfs[i]);
		if ((t == CELL_NS_PID || t == CELL_NS_USER) && ns->parent)
			printf(" parent %" PRIu64, ns->parent);
		putchar('\n');
	}
	cell_ns_list_free(l);

	show_idmap(pid, "uid_map", "uid");
	show_idmap(pid, "gid_map", "gid");

	char path[64];
	_cleanup_free_ char *cg = NULL;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	printf("\nCgroups (HIERARCHY-ID:CONTROLLERS:PATH from `%s`; paths are relative to each\n"
	       "hierarchy's mount under /sys/fs/cgroup, and to its cgroup namespace root):\n", path);
	if (read_file_quiet(path, &cg, NULL) == 0) {
		char *save = NULL;
		for (char *line = strtok_r(cg, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			printf("  %s\n", line);
	}
	show_rootfs(pid);
	show_links(pid);
	return 0;
}

static int do_ns(int argc, char **argv, cell_error **err)
{
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		printf("%s", ns_usage);
		return argc < 2 ? EXIT_CELL : 0;
	}
	if (streq(argv[1], "ls") || streq(argv[1], "list"))
		return ns_ls(argc - 1, argv + 1, err);
	if (streq(argv[1], "show") || streq(argv[1], "inspect"))
		return ns_show(argc - 1, argv + 1, err);
	return cell_error_set(err, "ns: unknown command `%s` (ls, show)", argv[1]);
}

int cmd_ns(int argc, char **argv, cell_error **err)
{
	/* errors come back negative; the exit status is then cell's own */
	cell_ns_ctr_set_engine(cell_globals.root, cell_globals.runroot);
	int r = do_ns(argc, argv, err);
	return r < 0 ? EXIT_CELL : r;
}
