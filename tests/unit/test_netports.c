/* Unit tests of published ports as src/lib/net reads and writes them: -p
 * with IPv6 addresses, the lease form ("tcp:[::1]:8080:80") written and
 * read back, conflicts between leases. Runs unprivileged. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "net/ipam.h"
#include "net/net.h"
#include "tap.h"
#include "util.h"

static void test_parse6(void)
{
	struct cell_port p;
	cell_error *e = NULL;

	OK(cell_port_parse("[fd00::5]:8080:80", &p, &e) == 0 && streq(p.host_ip, "fd00::5") && p.host_port == 8080 &&
	   p.port == 80 && p.proto == IPPROTO_TCP, "[IPv6]:HOST:PORT");
	OK(cell_port_parse("[fd00:0::0:5]::53/udp", &p, &e) == 0 && streq(p.host_ip, "fd00::5") && p.host_port == 0 &&
	   p.port == 53 && p.proto == IPPROTO_UDP, "[IPv6]::PORT/udp, the address written short");
	OK(cell_port_parse("[::]:8080:80", &p, &e) == 0 && streq(p.host_ip, "::"), "[::] (every IPv6 address)");
	OK(cell_port_parse("[::1]:8080:80", &p, &e) < 0 && e && strstr(e->msg, "without a proxy"),
	   "[::1] refused, saying why");
	cell_error_free(&e);
	OK(cell_port_parse("[fd00::5:8080:80", &p, &e) < 0, "missing ] refused");
	cell_error_free(&e);
	OK(cell_port_parse("[fd00::5]8080:80", &p, &e) < 0, "missing : after ] refused");
	cell_error_free(&e);
	OK(cell_port_parse("[10.0.0.1]:8080:80", &p, &e) < 0, "an IPv4 address in brackets refused");
	cell_error_free(&e);
	OK(cell_port_parse("[fd00::5]:80", &p, &e) < 0, "[IPv6]:PORT without a host port part refused");
	cell_error_free(&e);
	OK(cell_port_parse("fd00::5:8080:80", &p, &e) < 0, "IPv6 without brackets refused");
	cell_error_free(&e);
	OK(cell_port_parse("127.0.0.1:8080:80", &p, &e) == 0 && streq(p.host_ip, "127.0.0.1"), "IPv4 still parses");
}

static void test_lease_form(void)
{
	struct cell_port in[3], out;
	cell_error *e = NULL;
	char *s;

	cell_port_parse("8080:80", &in[0], &e);
	cell_port_parse("[fd00::5]:9090:90/udp", &in[1], &e);
	cell_port_parse("127.0.0.1:7070:70", &in[2], &e);
	s = net_ports_str(in, 3);
	IS_STR(s, "tcp:0.0.0.0:8080:80,udp:[fd00::5]:9090:90,tcp:127.0.0.1:7070:70", "lease form, IPv6 in brackets");
	free(s);
	OK(net_port_entry_parse("udp:[fd00::5]:9090:90", &out) == 0 && streq(out.host_ip, "fd00::5") &&
	   out.host_port == 9090 && out.port == 90 && out.proto == IPPROTO_UDP, "IPv6 entry read back");
	OK(net_port_entry_parse("tcp:0.0.0.0:8080:80", &out) == 0 && out.host_ip[0] == 0 && out.host_port == 8080,
	   "0.0.0.0 reads back as every address");
	OK(net_port_entry_parse("tcp:[fd00::5:9090:90", &out) < 0, "a torn entry is refused");
	OK(net_port_entry_parse("tcp:1.2.3.4:70000:90", &out) < 0, "a port above 65535 is refused");

	struct cell_lease l = { .container = (char *)"other", .ports = (char *)"udp:[fd00::5]:9090:90" };
	struct cell_port q = { .host_port = 9090, .port = 1, .proto = IPPROTO_UDP };
	OK(net_check_published(&l, 1, &q, &e) < 0 && e && strstr(e->msg, "container `other`"),
	   "a host port published over IPv6 by another lease is refused");
	cell_error_free(&e);
	q.proto = IPPROTO_TCP;
	OK(net_check_published(&l, 1, &q, &e) == 0, "the same number over TCP is free");
}

int main(void)
{
	test_parse6();
	test_lease_form();
	return TAP_DONE();
}
