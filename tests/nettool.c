/* Test driver for src/lib/net: the engine's networking API from the shell,
 * and a tiny TCP server/client that tell who is on the other end (to check
 * DNAT and masquerade from inside namespaces).
 *
 *   nettool attach ROOT NETWORK ID PID [--ip IP] [--mac MAC] [--hostname H]
 *                  [--alias A]... [-p SPEC]... [--hosts-file F] [--add-host N:IP]...
 *                                                    prints key=value lines
 *                  [--netns FILE] (then PID may be 0) [--mtu N]
 *   nettool detach ROOT ID
 *   nettool info ROOT                                  cell_net_info() as JSON
 *   nettool dumps N                   N address and link dumps here, each must succeed
 *   nettool prune ROOT                                 prints how many leases went
 *   nettool none PID | phys-attach PID IF | phys-detach PID IF
 *   nettool move IF PID [NEWNAME]     move a host link into PID's netns by pid
 *   nettool rename PID OLD NEW        rename a link inside PID's netns
 *   nettool hosts ROOT NETWORK ID HOSTNAME IP [NAME:IP]...
 *   nettool resolv FILE [DNS]...
 *   nettool serve PORT        accept forever; to each client: "peer IP\n" then echo
 *   nettool connect IP PORT [MSG]   print what the server says (3 s timeout)
 *   nettool userve PORT       UDP: answer each datagram with "peer IP <datagram>"
 *   nettool uconnect IP PORT MSG    send one datagram, print the answer (3 s timeout)
 *   nettool bench ROOT NETWORK PID N   time N attach+detach and N none, in-process
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "net/net.h"
#include "util.h"

static int fail(cell_error **e)
{
	fprintf(stderr, "nettool: %s\n", (*e)->msg);
	cell_error_free(e);
	return 1;
}

static int do_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' }, { "mac", required_argument, NULL, 'm' },
		{ "hostname", required_argument, NULL, 'h' }, { "alias", required_argument, NULL, 'a' },
		{ "ifname", required_argument, NULL, 'n' }, { "hosts-file", required_argument, NULL, 'H' },
		{ "add-host", required_argument, NULL, 'A' }, { "netns", required_argument, NULL, 'N' },
		{ "mtu", required_argument, NULL, 'M' }, { 0 },
	};
	struct cell_net_opts o = { 0 };
	struct cell_net_result res;
	struct cell_port ports[16];
	char *aliases[8] = { 0 }, *add[8] = { 0 };
	size_t na = 0, nadd = 0;
	cell_error *e = NULL;
	int c;

	o.ports = ports;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		switch (c) {
		case 'i': o.ip = optarg; break;
		case 'm': o.mac = optarg; break;
		case 'h': o.hostname = optarg; break;
		case 'n': o.ifname = optarg; break;
		case 'a': if (na < 7) aliases[na++] = optarg; break;
		case 'H': o.hosts_path = optarg; break;
		case 'N': o.netns_path = optarg; break;
		case 'M': o.mtu = (unsigned)atoi(optarg); break;
		case 'A': if (nadd < 7) add[nadd++] = optarg; break;
		case 'p':
			if (o.n_ports >= 16 || cell_port_parse(optarg, &ports[o.n_ports], &e) < 0)
				return e ? fail(&e) : 1;
			o.n_ports++;
			break;
		default: return 2;
		}
	}
	o.aliases = na ? aliases : NULL;
	o.add_hosts = nadd ? add : NULL;
	if (argc - optind != 4) {
		fprintf(stderr, "usage: nettool attach ROOT NETWORK ID PID [options]\n");
		return 2;
	}
	if (cell_net_attach(argv[optind], argv[optind + 1], argv[optind + 2], atoi(argv[optind + 3]), &o, &res, &e) < 0)
		return fail(&e);
	printf("ip=%s\nprefixlen=%d\ngateway=%s\nmac=%s\nifname=%s\nveth=%s\nbridge=%s\n", res.ip, res.prefixlen,
	       res.gateway, res.mac, res.ifname, res.veth, res.bridge);
	if (res.ip6[0])
		printf("ip6=%s\nprefixlen6=%d\ngateway6=%s\n", res.ip6, res.prefixlen6, res.gateway6);
	for (size_t i = 0; i < res.n_ports; i++)
		printf("port=%u:%u\n", res.ports[i].host_port, res.ports[i].port);
	return 0;
}

/* Dual stack: IPv4 peers arrive as ::ffff:a.b.c.d and are printed as a.b.c.d. */
static const char *peer_str(const struct sockaddr_in6 *p, char *buf, size_t len)
{
	if (IN6_IS_ADDR_V4MAPPED(&p->sin6_addr))
		return inet_ntop(AF_INET, &p->sin6_addr.s6_addr[12], buf, len);
	return inet_ntop(AF_INET6, &p->sin6_addr, buf, len);
}

static int serve(int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int one = 1, zero = 0, fd = socket(AF_INET6, SOCK_STREAM, 0);

	signal(SIGCHLD, SIG_IGN);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		perror("nettool serve");
		return 1;
	}
	for (;;) {
		struct sockaddr_in6 peer;
		socklen_t pl = sizeof(peer);
		int c = accept(fd, (struct sockaddr *)&peer, &pl);
		char a[INET6_ADDRSTRLEN], buf[4096];
		ssize_t n;
		if (c < 0)
			continue;
		if (fork() == 0) {
			close(fd);
			dprintf(c, "peer %s\n", peer_str(&peer, a, sizeof(a)));
			while ((n = read(c, buf, sizeof(buf))) > 0)
				if (write(c, buf, n) != n)
					break;
			_exit(0);
		}
		close(c);
	}
}

static int connect_to(const char *ip, int port, const char *msg)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct timeval tv = { .tv_sec = 3 };
	socklen_t sl;
	char buf[4096];
	ssize_t n;
	int fd;

	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		sl = sizeof(*s6);
	} else {
		fprintf(stderr, "nettool connect: bad address %s\n", ip);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		fprintf(stderr, "nettool connect %s:%d: %s\n", ip, port, strerror(errno));
		return 1;
	}
	if (msg) {
		dprintf(fd, "%s\n", msg);
		shutdown(fd, SHUT_WR);
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, n, stdout);
		if (!msg)
			break;	/* without a message, the greeting line is enough */
	}
	close(fd);
	return 0;
}

static int userve(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("nettool userve");
		return 1;
	}
	for (;;) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		char buf[2048], out[2200], a[INET_ADDRSTRLEN];
		ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&peer, &pl);
		if (n < 0)
			continue;
		buf[n] = '\0';
		int m = snprintf(out, sizeof(out), "peer %s %s", inet_ntop(AF_INET, &peer.sin_addr, a, sizeof(a)), buf);
		sendto(fd, out, m, 0, (struct sockaddr *)&peer, pl);
	}
}

static int uconnect(const char *ip, int port, const char *msg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct timeval tv = { .tv_sec = 3 };
	char buf[2200];
	ssize_t n;

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return 2;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send(fd, msg, strlen(msg), 0) < 0 ||
	    (n = recv(fd, buf, sizeof(buf) - 1, 0)) < 0) {
		fprintf(stderr, "nettool uconnect %s:%d: %s\n", ip, port, strerror(errno));
		return 1;
	}
	buf[n] = '\0';
	printf("%s\n", buf);
	return 0;
}

static int move_link(const char *ifname, pid_t pid, const char *newname)
{
	struct cell_nl *nl = NULL;
	cell_error *e = NULL;
	int r = cell_nl_open(-1, &nl, &e) < 0 || cell_link_move(nl, ifname, -1, pid, newname, &e) < 0;
	cell_nl_free(nl);
	return r ? fail(&e) : 0;
}

static int rename_in(pid_t pid, const char *old, const char *new_name)
{
	char path[64];
	struct cell_nl *nl = NULL;
	cell_error *e = NULL;
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	r = cell_nl_open(fd, &nl, &e) < 0 || cell_link_rename(nl, old, new_name, &e) < 0;
	close(fd);
	cell_nl_free(nl);
	return r ? fail(&e) : 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int bench(const char *root, const char *net, pid_t pid, int n)
{
	struct cell_net_opts o = { 0 };
	struct cell_port port;
	struct cell_net_result res;
	cell_error *e = NULL;
	double att = 0, det = 0, attp = 0, none = 0, t;

	for (int i = 0; i < n; i++) {
		t = now_ms();
		if (cell_net_attach(root, net, "bench", pid, &o, &res, &e) < 0)
			return fail(&e);
		att += now_ms() - t;
		t = now_ms();
		if (cell_net_detach(root, "bench", &e) < 0)
			return fail(&e);
		det += now_ms() - t;
		if (cell_port_parse("80", &port, &e) < 0)
			return fail(&e);
		o.ports = &port;
		o.n_ports = 1;
		t = now_ms();
		if (cell_net_attach(root, net, "bench", pid, &o, &res, &e) < 0)
			return fail(&e);
		attp += now_ms() - t;
		o.ports = NULL;
		o.n_ports = 0;
		if (cell_net_detach(root, "bench", &e) < 0)
			return fail(&e);
		t = now_ms();
		if (cell_net_none(pid, &e) < 0)
			return fail(&e);
		none += now_ms() - t;
	}
	printf("attach_ms=%.2f\nattach_with_port_ms=%.2f\ndetach_ms=%.2f\nnone_ms=%.2f\n", att / n, attp / n, det / n,
	       none / n);
	return 0;
}

int main(int argc, char **argv)
{
	cell_error *e = NULL;
	const char *cmd = argc > 1 ? argv[1] : "";

	if (streq(cmd, "attach"))
		return do_attach(argc - 1, argv + 1);
	if (streq(cmd, "detach") && argc == 4)
		return cell_net_detach(argv[2], argv[3], &e) < 0 ? fail(&e) : 0;
	if (streq(cmd, "prune") && argc == 3) {
		int n = cell_net_prune_leases(argv[2], &e);
		if (n < 0)
			return fail(&e);
		printf("%d\n", n);
		return 0;
	}
	if (streq(cmd, "move") && (argc == 4 || argc == 5))
		return move_link(argv[2], atoi(argv[3]), argc == 5 ? argv[4] : NULL);
	if (streq(cmd, "rename") && argc == 5)
		return rename_in(atoi(argv[2]), argv[3], argv[4]);
	if (streq(cmd, "dumps") && argc == 3) {
		/* N address and link dumps in a row: each must succeed, also
		 * while addresses change meanwhile (interrupted dumps retried) */
		struct cell_nl *nl = NULL;
		if (cell_nl_open(-1, &nl, &e) < 0)
			return fail(&e);
		for (int i = 0; i < atoi(argv[2]); i++) {
			struct cell_addr *a = NULL;
			struct cell_link *l = NULL;
			size_t na = 0, nlk = 0;
			if (cell_addr_list(nl, AF_UNSPEC, &a, &na, &e) < 0 || cell_link_list(nl, &l, &nlk, &e) < 0) {
				cell_nl_free(nl);
				return fail(&e);
			}
			free(a);
			free(l);
		}
		cell_nl_free(nl);
		printf("ok\n");
		return 0;
	}
	if (streq(cmd, "info") && argc == 3) {
		json_object *o = cell_net_info(argv[2]);
		printf("%s\n", json_object_to_json_string(o));
		json_object_put(o);
		return 0;
	}
	if (streq(cmd, "none") && argc == 3)
		return cell_net_none(atoi(argv[2]), &e) < 0 ? fail(&e) : 0;
	if (streq(cmd, "phys-attach") && argc == 4)
		return cell_net_phys_attach(atoi(argv[2]), argv[3], &e) < 0 ? fail(&e) : 0;
	if (streq(cmd, "phys-detach") && argc == 4)
		return cell_net_phys_detach(atoi(argv[2]), argv[3], &e) < 0 ? fail(&e) : 0;
	if (streq(cmd, "hosts") && argc >= 7) {
		char *s = cell_net_hosts(argv[2], argv[3], argv[4], argv[5], argv[6], argv + 7, &e);
		if (!s)
			return fail(&e);
		fputs(s, stdout);
		free(s);
		return 0;
	}
	if (streq(cmd, "resolv") && argc >= 3) {
		char *s = cell_net_resolv(argv[2], argc > 3 ? argv + 3 : NULL, NULL, &e);
		if (!s)
			return fail(&e);
		fputs(s, stdout);
		free(s);
		return 0;
	}
	if (streq(cmd, "bench") && argc == 6)
		return bench(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	if (streq(cmd, "userve") && argc == 3)
		return userve(atoi(argv[2]));
	if (streq(cmd, "uconnect") && argc == 5)
		return uconnect(argv[2], atoi(argv[3]), argv[4]);
	if (streq(cmd, "serve") && argc == 3)
		return serve(atoi(argv[2]));
	if (streq(cmd, "connect") && argc >= 4)
		return connect_to(argv[2], atoi(argv[3]), argc > 4 ? argv[4] : NULL);
	fprintf(stderr, "usage: see the comment at the top of tests/nettool.c\n");
	return 2;
}
