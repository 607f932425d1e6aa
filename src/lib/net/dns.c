/* The resolver of an engine root's user networks (src/dns/dns.c,
 * `cell-dns`): started by the attach of the first container on any user
 * network, it ends itself with the last lease (see there), so no daemon
 * runs while no container is on a user network.
 *
 *   <root>/networks/.dns      its pid, written by cell-dns once bound
 *
 * It listens on each network's gateway address, port 53: containers'
 * resolv.conf names their first network's (cell_net_resolv_for()). The
 * default network has none, as Docker's default bridge has no embedded DNS. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipam.h"
#include "net.h"
#include "util.h"

#define DNS_EXE "cell-dns"

static char *pidfile_path(const char *root)
{
	return xasprintf("%s/networks/.dns", root);
}

bool cell_net_dns_wanted(const struct cell_network *n)
{
	return !streq(n->name, CELL_DEFAULT_NETWORK);
}

/* The pid of the root's running resolver, 0 if none: the pid file's
 * process must be a cell-dns serving that pid file (a pid reused by
 * another process is no resolver). */
pid_t cell_net_dns_pid(const char *root)
{
	_cleanup_free_ char *abs = realpath(root, NULL);
	if (!abs)
		return 0;
	_cleanup_free_ char *pf = pidfile_path(abs);
	_cleanup_free_ char *text = NULL, *cmd = NULL, *comm = NULL;
	size_t len = 0;
	cell_error *e = NULL;
	long pid;

	if (read_file(pf, &text, NULL, &e) < 0) {
		cell_error_free(&e);
		return 0;
	}
	pid = strtol(text, NULL, 10);
	if (pid <= 1)
		return 0;
	_cleanup_free_ char *cp = xasprintf("/proc/%ld/cmdline", pid);
	_cleanup_free_ char *cm = xasprintf("/proc/%ld/comm", pid);
	if (read_file(cm, &comm, NULL, &e) < 0 || strncmp(comm, DNS_EXE, strlen(DNS_EXE)) != 0 ||
	    read_file(cp, &cmd, &len, &e) < 0) {
		cell_error_free(&e);
		return 0;
	}
	/* the arguments are NUL-separated: look for the pid file among them */
	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
		if (streq(cmd + i, pf))
			return (pid_t)pid;
	return 0;
}

static char *dns_exe(cell_error **err)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return cell_error_errno(err, errno, "readlink /proc/self/exe (to find " DNS_EXE " beside it)"), NULL;
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	/* installed beside cell; in the build tree, in its own folder (and
	 * from tests/, where nettool is) */
	static const char *const rel[] = { DNS_EXE, "src/dns/" DNS_EXE, "../libexec/cell/" DNS_EXE,
					   "../src/dns/" DNS_EXE };
	for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
		char *c = xasprintf("%s/%s", self, rel[i]);
		if (access(c, X_OK) == 0)
			return c;
		free(c);
	}
	cell_error_set(err, "no executable `%s` beside `%s`: names on user networks need it "
			    "(`make install` puts it beside cell)", DNS_EXE, self);
	return NULL;
}

int net_dns_ensure(const char *root, const struct cell_network *n, cell_error **err)
{
	if (!cell_net_dns_wanted(n) || cell_net_dns_pid(root) > 0)
		return 0;
	_cleanup_free_ char *exe = dns_exe(err);
	if (!exe)
		return -1;
	_cleanup_free_ char *abs = realpath(root, NULL);
	if (!abs)
		return cell_error_errno(err, errno, "resolve the engine root `%s`", root);
	_cleanup_free_ char *dir = xasprintf("%s/networks", abs);
	_cleanup_free_ char *lock = xasprintf("%s/networks/.lock", abs);
	_cleanup_free_ char *pf = pidfile_path(abs);
	/* tests point the forwarding at a resolver of their own */
	const char *resolv = getenv("CELL_DNS_RESOLV");
	if (!resolv || !*resolv)
		resolv = "/etc/resolv.conf";
	char *argv[] = { (char *)DNS_EXE, (char *)"--networks", dir, (char *)"--lock", lock, (char *)"--pidfile", pf,
			 (char *)"--resolv", (char *)resolv, (char *)"--ready-fd", (char *)"3", NULL };
	char gw[64];
	cell_prefix_str(&n->gateway, false, gw, sizeof(gw));

	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return cell_error_errno(err, errno, "start the resolver of network `%s`: pipe", n->name);
	pid_t mid = fork();
	if (mid < 0) {
		close(p[0]), close(p[1]);
		return cell_error_errno(err, errno, "start the resolver of network `%s`: fork", n->name);
	}
	if (mid == 0) {
		/* twice forked and in its own session: no child of the engine,
		 * no terminal's signals */
		setsid();
		if (fork() != 0)
			_exit(0);
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(p[1], 2) < 0 || dup2(p[1], 3) < 0)
			_exit(127);
		close_range(4, ~0U, 0);	/* the ipam lock among them */
		signal(SIGPIPE, SIG_DFL);
		execv(exe, argv);
		dprintf(3, "exec `%s`: %s\n", exe, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	waitpid(mid, NULL, 0);
	/* one line: "ok", or why it failed; bounded wait */
	char msg[512];
	size_t got = 0;
	struct pollfd pf1 = { .fd = p[0], .events = POLLIN };
	while (got < sizeof(msg) - 1 && poll(&pf1, 1, 3000) > 0) {
		ssize_t r = read(p[0], msg + got, sizeof(msg) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		if (memchr(msg, '\n', got))
			break;
	}
	close(p[0]);
	msg[got] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (!streq(msg, "ok"))
		return cell_error_set(err, "start the resolver of network `%s` on %s:53: %s", n->name, gw,
				      *msg ? msg : "it did not answer");
	return 0;
}

int cell_net_dns_revive(const char *root, cell_error **err)
{
	_cleanup_strv_ char **names = NULL;

	if (cell_net_dns_pid(root) > 0)
		return 0;
	_cleanup_close_ int lock = ipam_lock(root, err);
	if (lock < 0)
		return -1;
	if (cell_net_dns_pid(root) > 0 || cell_network_list(root, &names, err) < 0)
		return cell_net_dns_pid(root) > 0 ? 0 : -1;
	for (char **it = names; *it; it++) {
		_cleanup_cell_network_ struct cell_network *n = NULL;
		struct cell_lease *l = NULL;
		size_t nl = 0;
		bool live = false;
		cell_error *e = NULL;
		if (ipam_load_locked(root, *it, &n, &e) < 0 || !cell_net_dns_wanted(n) ||
		    cell_lease_list(root, n->name, &l, &nl, &e) < 0) {
			cell_error_free(&e);
			continue;
		}
		/* a lease of a container still there (not one left by a crash) */
		for (size_t i = 0; i < nl && !live; i++)
			live = (l[i].pid > 0 && proc_alive(l[i].pid, l[i].start_time)) ||
			       (l[i].pid <= 0 && l[i].netns_path && *l[i].netns_path && access(l[i].netns_path, F_OK) == 0);
		cell_lease_list_free(l, nl);
		if (live)
			return net_dns_ensure(root, n, err);
	}
	return 0;
}

char *cell_net_resolv_for(const char *root, const char *network, const char *host_resolv_path, char **dns,
			  char **search, char **options, cell_error **err)
{
	_cleanup_cell_network_ struct cell_network *n = NULL;
	cell_error *e = NULL;

	/* --dns overrides, as Docker: then no resolver of cell's is named */
	if ((dns && *dns) || !root || !network || streq(network, CELL_DEFAULT_NETWORK) ||
	    streq(network, "bridge"))
		return cell_net_resolv_opts(host_resolv_path, dns, search, options, err);
	_cleanup_free_ char *path = xasprintf("%s/networks/%s.json", root, network);
	if (access(path, F_OK) < 0 || cell_network_load(root, network, &n, &e) < 0) {
		cell_error_free(&e);
		return cell_net_resolv_opts(host_resolv_path, dns, search, options, err);
	}
	char gw[64];
	cell_prefix_str(&n->gateway, false, gw, sizeof(gw));
	char *servers[] = { gw, NULL };
	/* Docker's embedded DNS: its address, the host's search domains and
	 * options; ndots:0 unless the user says otherwise, so a bare name is
	 * asked as it is first (a peer's name) */
	bool has_ndots = false;
	for (char **it = options; it && *it; it++)
		has_ndots |= strncmp(*it, "ndots:", 6) == 0;
	size_t no = strv_len(options);
	_cleanup_free_ char **opts = xcalloc(no + 2, sizeof(char *));
	for (size_t i = 0; i < no; i++)
		opts[i] = options[i];
	if (!has_ndots && no)
		opts[no] = (char *)"ndots:0";
	/* with no options given the host's stay, and ndots:0 is added to them */
	char *s = cell_net_resolv_opts(host_resolv_path, servers, search, no ? opts : NULL, err);
	if (s && !no) {
		char *t = xasprintf("%soptions ndots:0\n", s);
		free(s);
		s = t;
	}
	return s;
}
