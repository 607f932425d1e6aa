/* Unit tests of src/lib/net's pure logic: prefixes, ports, MACs, leases and
 * address picking on files, /etc/hosts and resolv.conf content. No netlink,
 * no nftables: runs unprivileged. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/ipam.h"
#include "net/net.h"
#include "tap.h"
#include "util.h"

static void test_prefix(void)
{
	struct cell_prefix p, q, n;
	cell_error *e = NULL;
	char b[64];

	OK(cell_prefix_parse("10.88.0.0/16", &p, &e) == 0, "parse 10.88.0.0/16");
	IS_INT(p.family, AF_INET, "family");
	IS_INT(p.len, 16, "length");
	IS_STR(cell_prefix_str(&p, true, b, sizeof(b)), "10.88.0.0/16", "round trip");
	OK(cell_prefix_parse("10.88.3.7", &q, &e) == 0, "bare address");
	IS_INT(q.len, 32, "bare address is /32");
	OK(cell_prefix_contains(&p, &q), "10.88.0.0/16 contains 10.88.3.7");
	OK(cell_prefix_parse("10.89.0.1", &q, &e) == 0 && !cell_prefix_contains(&p, &q), "but not 10.89.0.1");
	OK(cell_prefix_parse("10.88.200.0/24", &q, &e) == 0 && cell_prefix_overlaps(&p, &q) &&
	   cell_prefix_overlaps(&q, &p), "overlap is symmetric");
	OK(cell_prefix_parse("10.0.0.0/8", &q, &e) == 0 && cell_prefix_overlaps(&p, &q), "a wider prefix overlaps");
	OK(cell_prefix_parse("172.18.0.0/16", &q, &e) == 0 && !cell_prefix_overlaps(&p, &q), "disjoint prefixes");
	OK(cell_prefix_parse("10.88.5.9/16", &q, &e) == 0, "host bits set");
	cell_prefix_network(&q, &n);
	IS_STR(cell_prefix_str(&n, true, b, sizeof(b)), "10.88.0.0/16", "network address clears host bits");
	OK(cell_prefix_parse("fd00:1::/64", &q, &e) == 0 && q.family == AF_INET6 && q.len == 64, "IPv6 prefix");
	OK(!cell_prefix_overlaps(&p, &q), "IPv4 and IPv6 never overlap");
	IS_INT(cell_prefix_v4(&p), 0x0a580000, "as an integer");
	cell_prefix_set_v4(&q, 0x0a580001, 16);
	IS_STR(cell_prefix_str(&q, false, b, sizeof(b)), "10.88.0.1", "from an integer");

	OK(cell_prefix_parse("10.88.0.0/33", &p, &e) < 0, "/33 refused");
	IS_STR(e ? e->msg : NULL, "`10.88.0.0/33`: prefix length must be 0-32", "and the error says why");
	cell_error_free(&e);
	OK(cell_prefix_parse("10.88.0/16", &p, &e) < 0, "a short address is refused");
	cell_error_free(&e);
	OK(cell_prefix_parse("10.88.0.0/x", &p, &e) < 0, "a non-numeric length is refused");
	cell_error_free(&e);
}

static void test_port(void)
{
	struct cell_port p;
	cell_error *e = NULL;

	OK(cell_port_parse("8080:80", &p, &e) == 0 && p.host_port == 8080 && p.port == 80 && p.proto == IPPROTO_TCP &&
	   p.host_ip[0] == 0, "8080:80");
	OK(cell_port_parse("80", &p, &e) == 0 && p.host_port == 0 && p.port == 80, "80: host port chosen later");
	OK(cell_port_parse("127.0.0.1:8080:80/udp", &p, &e) == 0 && streq(p.host_ip, "127.0.0.1") &&
	   p.host_port == 8080 && p.port == 80 && p.proto == IPPROTO_UDP, "IP:HOST:PORT/udp");
	OK(cell_port_parse("127.0.0.1::80", &p, &e) == 0 && p.host_port == 0 && streq(p.host_ip, "127.0.0.1"),
	   "IP::PORT");
	OK(cell_port_parse("8080:80/sctp", &p, &e) < 0, "sctp refused");
	cell_error_free(&e);
	OK(cell_port_parse("70000:80", &p, &e) < 0, "host port 70000 refused");
	cell_error_free(&e);
	OK(cell_port_parse("8080:0", &p, &e) < 0, "container port 0 refused");
	cell_error_free(&e);
	OK(cell_port_parse("a.b:1:2", &p, &e) < 0, "bad host address refused");
	cell_error_free(&e);
	OK(cell_port_parse("1:2:3:4", &p, &e) < 0, "too many parts refused");
	cell_error_free(&e);
	OK(cell_port_parse("", &p, &e) < 0, "empty refused");
	cell_error_free(&e);
}

static void test_mac(void)
{
	uint8_t m[6];
	char b[18];

	OK(cell_mac_parse("02:ce:0a:58:00:02", m) == 0, "parse a MAC");
	IS_STR(cell_mac_str(m, b), "02:ce:0a:58:00:02", "format it back");
	OK(cell_mac_parse("03:00:00:00:00:01", m) < 0, "multicast MAC refused");
	OK(cell_mac_parse("02:00:00:00:00", m) < 0, "short MAC refused");
	OK(cell_mac_parse("02:00:00:00:00:01:02", m) < 0, "long MAC refused");
}

static void lease(const char *root, const char *net, const char *ctr, const char *ip, const char *host,
		  char **aliases)
{
	struct cell_lease l = { 0 };
	cell_error *e = NULL;
	cell_prefix_parse(ip, &l.ip, &e);
	l.network = (char *)net;
	l.container = (char *)ctr;
	l.hostname = (char *)host;
	l.aliases = aliases;
	l.veth = (char *)"cell00000000";
	l.ports = (char *)"tcp:0.0.0.0:8080:80";
	OK(ipam_lease_write(root, &l, true, &e) == 0, "lease %s to %s", ip, ctr);
	if (e)
		printf("#   %s\n", e->msg);
	cell_error_free(&e);
}

static void test_ipam(void)
{
	char tmpl[] = "/tmp/cell-test-net.XXXXXX";
	char *root = mkdtemp(tmpl);
	_cleanup_free_ char *ldir = NULL;
	struct cell_network n = { .name = (char *)"t", .bridge = (char *)"cb-test" };
	struct cell_prefix p;
	struct cell_lease *all = NULL;
	size_t nl = 0;
	cell_error *e = NULL;
	char b[64];
	char *aliases[] = { (char *)"web", NULL };

	if (!root) {
		OK(0, "mkdtemp");
		return;
	}
	ldir = ipam_lease_dir(root, "t");
	OK(mkdir_p(ldir, 0700, &e) == 0, "lease dir");
	cell_prefix_parse("10.200.0.0/29", &n.subnet, &e);
	cell_prefix_parse("10.200.0.1/29", &n.gateway, &e);
	n.range = n.subnet;

	OK(ipam_pick_address(root, &n, NULL, &p, &e) == 0, "pick in an empty network");
	IS_STR(cell_prefix_str(&p, true, b, sizeof(b)), "10.200.0.2/29", "first after the gateway");
	lease(root, "t", "c1", "10.200.0.2/29", "c1", NULL);
	lease(root, "t", "c2", "10.200.0.3/29", "c2", aliases);
	{
		struct cell_lease l = { .network = (char *)"t", .container = (char *)"cx" };
		cell_prefix_parse("10.200.0.3/29", &l.ip, &e);
		OK(ipam_lease_write(root, &l, true, &e) < 0 && cell_error_code(e) == EEXIST,
		   "a taken address cannot be leased twice (link: EEXIST)");
		cell_error_free(&e);
	}
	OK(ipam_pick_address(root, &n, NULL, &p, &e) == 0, "pick skips leased ones");
	IS_STR(cell_prefix_str(&p, false, b, sizeof(b)), "10.200.0.4", "next free");
	OK(ipam_pick_address(root, &n, "10.200.0.3", &p, &e) < 0 && cell_error_code(e) == EADDRINUSE,
	   "requested address in use refused");
	IS_STR(e ? e->msg : NULL, "--ip 10.200.0.3 is already leased to container `c2` in network `t`",
	       "the error names the holder");
	cell_error_free(&e);
	OK(ipam_pick_address(root, &n, "10.200.0.1", &p, &e) < 0, "the gateway cannot be requested");
	cell_error_free(&e);
	OK(ipam_pick_address(root, &n, "10.200.0.7", &p, &e) < 0, "the broadcast address cannot be requested");
	cell_error_free(&e);
	OK(ipam_pick_address(root, &n, "10.201.0.5", &p, &e) < 0, "an address outside the subnet is refused");
	cell_error_free(&e);
	OK(ipam_pick_address(root, &n, "10.200.0.6", &p, &e) == 0 && p.len == 29, "a free requested address");
	lease(root, "t", "c4", "10.200.0.4/29", "", NULL);
	lease(root, "t", "c5", "10.200.0.5/29", "", NULL);
	lease(root, "t", "c6", "10.200.0.6/29", "", NULL);
	OK(ipam_pick_address(root, &n, NULL, &p, &e) < 0 && cell_error_code(e) == EADDRNOTAVAIL, "a full network says so");
	cell_error_free(&e);

	OK(cell_lease_list(root, "t", &all, &nl, &e) == 0, "list leases");
	IS_INT(nl, 5, "five leases");
	for (size_t i = 0; i < nl; i++)
		if (streq(all[i].container, "c2")) {
			IS_STR(cell_prefix_str(&all[i].ip, true, b, sizeof(b)), "10.200.0.3/29", "c2's address with its length");
			IS_STR(all[i].aliases ? all[i].aliases[0] : NULL, "web", "c2's alias");
			IS_STR(all[i].ports, "tcp:0.0.0.0:8080:80", "c2's ports");
		}
	cell_lease_list_free(all, nl);

	{
		char *add[] = { (char *)"db:10.9.9.9", NULL };
		char *h = cell_net_hosts(root, "t", "c1", "c1", "10.200.0.2", add, &e);
		OK(h != NULL, "hosts for c1");
		OK(h && strstr(h, "127.0.0.1\tlocalhost\n"), "localhost line");
		OK(h && strstr(h, "10.200.0.2\tc1\n"), "its own name");
		OK(h && !strstr(h, "10.200.0.3"), "peers are not listed (they resolve by DNS, issue 17)");
		OK(h && !strstr(h, "10.200.0.4"), "nor containers without a name");
		OK(h && strstr(h, "10.9.9.9\tdb\n"), "--add-host");
		free(h);
		char *bad[] = { (char *)"nocolon", NULL };
		OK(cell_net_hosts(NULL, NULL, NULL, "x", "1.2.3.4", bad, &e) == NULL, "bad --add-host refused");
		cell_error_free(&e);
	}
	rm_rf(root, &e);
	cell_error_free(&e);
}

static void test_ip6(void)
{
	struct cell_network n = { .name = (char *)"v6" };
	struct cell_prefix ip4, ip6;
	cell_error *e = NULL;
	char b[64];

	cell_prefix_parse("10.88.0.0/16", &n.subnet, &e);
	cell_network_ip6(&n, &n.subnet, &ip6);
	IS_INT(ip6.family, 0, "no IPv6 address on a network without IPv6");
	cell_prefix_parse("fd12:3456:789a::/64", &n.subnet6, &e);
	cell_prefix_parse("10.88.1.2/16", &ip4, &e);
	cell_network_ip6(&n, &ip4, &ip6);
	IS_STR(cell_prefix_str(&ip6, true, b, sizeof(b)), "fd12:3456:789a::102/64", "IPv6 = subnet6 + IPv4 host part");
	cell_prefix_parse("10.88.255.254/16", &ip4, &e);
	cell_network_ip6(&n, &ip4, &ip6);
	IS_STR(cell_prefix_str(&ip6, false, b, sizeof(b)), "fd12:3456:789a::fffe", "the highest host");
	cell_error_free(&e);
}

static void test_resolv(void)
{
	char path[] = "/tmp/cell-test-resolv.XXXXXX";
	int fd = mkstemp(path);
	cell_error *e = NULL;
	char *s;

	dprintf(fd, "# comment\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.org\noptions edns0\n");
	close(fd);
	s = cell_net_resolv(path, NULL, NULL, &e);
	IS_STR(s, "nameserver 192.0.2.53\nsearch example.org\noptions edns0\n",
	       "host's resolvers minus loopback, search and options kept");
	free(s);
	char *dns[] = { (char *)"10.0.0.53", NULL };
	char *search[] = { (char *)"corp", NULL };
	s = cell_net_resolv(path, dns, search, &e);
	IS_STR(s, "search corp\nnameserver 10.0.0.53\noptions edns0\n", "--dns and --dns-search replace the host's");
	free(s);
	unlink(path);
}

int main(void)
{
	test_prefix();
	test_port();
	test_mac();
	test_ipam();
	test_ip6();
	test_resolv();
	return TAP_DONE();
}
