/* Published ports: Docker's -p syntax, and the checks made before a port
 * is published (not bound on the host, not published by another container). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipam.h"
#include "net.h"
#include "util.h"

/* ---- ports ---- */

int cell_port_parse(const char *s, struct cell_port *ret, cell_error **err)
{
	char buf[128], *proto, *parts[3] = { 0 }, *p, ip6buf[128], *ip6 = NULL;
	struct cell_port port = { .proto = IPPROTO_TCP };
	int n = 0;
	int64_t v;

	if (!s || strlen(s) >= sizeof(buf) || !*s)
		return cell_error_set(err, "-p `%s`: expected [IP:][HOSTPORT:]PORT[/tcp|udp]", s ? s : "");
	strcpy(buf, s);
	if (buf[0] == '[') {
		/* [IPv6]:HOSTPORT:PORT: the address holds colons of its own */
		char *end = strchr(buf, ']');
		if (!end || end[1] != ':')
			return cell_error_set(err, "-p `%s`: expected [IPv6]:[HOSTPORT]:PORT", s);
		*end = '\0';
		ip6 = strcpy(ip6buf, buf + 1);
		memmove(buf, end + 1, strlen(end + 1) + 1);	/* ":HOSTPORT:PORT" */
	}
	proto = strchr(buf, '/');
	if (proto) {
		*proto++ = '\0';
		if (streq(proto, "udp"))
			port.proto = IPPROTO_UDP;
		else if (!streq(proto, "tcp"))
			return cell_error_set(err, "-p `%s`: protocol must be tcp or udp", s);
	}
	for (p = buf; n < 3; n++) {
		parts[n] = p;
		p = strchr(p, ':');
		if (!p) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	if (p && n == 3)
		return cell_error_set(err, "-p `%s`: expected [IP:][HOSTPORT:]PORT[/tcp|udp]", s);
	/* the last part is the container port, the one before the host port */
	if (parse_int64(parts[n - 1], &v) < 0 || v < 1 || v > 65535)
		return cell_error_set(err, "-p `%s`: container port `%s` must be 1-65535", s, parts[n - 1]);
	port.port = (uint16_t)v;
	if (n >= 2 && *parts[n - 2]) {
		if (parse_int64(parts[n - 2], &v) < 0 || v < 1 || v > 65535)
			return cell_error_set(err, "-p `%s`: host port `%s` must be 1-65535", s, parts[n - 2]);
		port.host_port = (uint16_t)v;
	}
	if (ip6) {
		struct in6_addr a6;
		if (n != 3 || *parts[0] || inet_pton(AF_INET6, ip6, &a6) != 1)
			return cell_error_set(err, "-p `%s`: `%s` is not an IPv6 address ([IPv6]:HOSTPORT:PORT)", s, ip6);
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return cell_error_set(err, "-p `%s`: ::1 cannot be published without a proxy process (the kernel "
					      "drops IPv6 loopback packets coming in from the bridge); publish on [::] or an "
					      "IPv6 address of the host, or on 127.0.0.1", s);
		inet_ntop(AF_INET6, &a6, port.host_ip, sizeof(port.host_ip));
	} else if (n == 3 && *parts[0]) {
		struct in_addr a;
		if (inet_pton(AF_INET, parts[0], &a) != 1)
			return cell_error_set(err, "-p `%s`: `%s` is not an IPv4 address", s, parts[0]);
		snprintf(port.host_ip, sizeof(port.host_ip), "%s", parts[0]);
	}
	*ret = port;
	return 0;
}

const char *net_proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* Bind the host port once to check it is free (0: let the kernel choose). */
int net_probe_port(struct cell_port *p, cell_error **err)
{
	bool v6 = strchr(p->host_ip, ':') != NULL;
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sa6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl = v6 ? sizeof(*sa6) : sizeof(*sa);
	_cleanup_close_ int fd = socket(v6 ? AF_INET6 : AF_INET,
					(p->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return cell_error_errno(err, errno, "socket");
	/* A TCP port whose only sockets are closed connections (TIME_WAIT) is
	 * free to publish, as for any server that sets SO_REUSEADDR; a listener
	 * still conflicts. Not for UDP, where it would share the port. */
	if (p->proto != IPPROTO_UDP)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	if (v6) {
		sa6->sin6_family = AF_INET6;
		sa6->sin6_port = htons(p->host_port);
		inet_pton(AF_INET6, p->host_ip, &sa6->sin6_addr);
	} else {
		sa->sin_family = AF_INET;
		sa->sin_port = htons(p->host_port);
		if (p->host_ip[0])
			inet_pton(AF_INET, p->host_ip, &sa->sin_addr);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno == EADDRINUSE)
			return net_error(err, EADDRINUSE, "host port %u/%s is already in use by a process on the host",
						p->host_port, net_proto_name(p->proto));
		if (errno == EADDRNOTAVAIL)
			return cell_error_errno(err, EADDRNOTAVAIL, "-p %s:%u: %s is not an address of this host",
						p->host_ip, p->host_port, p->host_ip);
		return cell_error_errno(err, errno, "check host port %u/%s", p->host_port, net_proto_name(p->proto));
	}
	if (p->host_port == 0) {
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
			return cell_error_errno(err, errno, "getsockname");
		p->host_port = ntohs(v6 ? sa6->sin6_port : sa->sin_port);
	}
	return 0;
}

/* One "tcp:IP:HOSTPORT:PORT" of a lease (IPv6 in brackets). */
int net_port_entry_parse(const char *t, struct cell_port *ret)
{
	char proto[8], ip[INET6_ADDRSTRLEN];
	unsigned hp, cp;
	const char *rest;

	memset(ret, 0, sizeof(*ret));
	if (sscanf(t, "%7[^:]:", proto) != 1)
		return -1;
	rest = t + strlen(proto) + 1;
	if (*rest == '[') {
		if (sscanf(rest, "[%45[^]]]:%u:%u", ip, &hp, &cp) != 3)
			return -1;
	} else if (sscanf(rest, "%45[^:]:%u:%u", ip, &hp, &cp) != 3) {
		return -1;
	}
	if (hp > 65535 || cp > 65535)
		return -1;
	ret->proto = streq(proto, "udp") ? IPPROTO_UDP : IPPROTO_TCP;
	snprintf(ret->host_ip, sizeof(ret->host_ip), "%s", streq(ip, "0.0.0.0") ? "" : ip);
	ret->host_port = (uint16_t)hp;
	ret->port = (uint16_t)cp;
	return 0;
}

/* Published elsewhere? Each lease's ports read "tcp:IP:HOSTPORT:PORT,...". */
int net_check_published(const struct cell_lease *all, size_t n, const struct cell_port *p, cell_error **err)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *copy = xstrdup(all[i].ports ? all[i].ports : "");
		char *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			struct cell_port q;
			if (net_port_entry_parse(t, &q) < 0)
				continue;
			if (q.host_port == p->host_port && q.proto == p->proto)
				return net_error(err, EADDRINUSE, "host port %u/%s is already published by container `%s`",
						 q.host_port, net_proto_name(q.proto), all[i].container);
		}
	}
	return 0;
}

char *net_ports_str(const struct cell_port *ports, size_t n)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	for (size_t i = 0; i < n; i++) {
		const char *ip = ports[i].host_ip[0] ? ports[i].host_ip : "0.0.0.0";
		bool v6 = strchr(ip, ':') != NULL;
		fprintf(f, "%s%s:%s%s%s:%u:%u", i ? "," : "", net_proto_name(ports[i].proto), v6 ? "[" : "", ip,
			v6 ? "]" : "", ports[i].host_port, ports[i].port);
	}
	fclose(f);
	return s;
}
