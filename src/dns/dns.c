/* cell-dns: the names of an engine root's user networks, by DNS.
 *
 *   cell-dns --networks DIR --lock FILE --pidfile FILE [--resolv FILE] [--ready-fd N]
 *
 * One per engine root, started by cell with the first container of any
 * user network (src/lib/net/dns.c); it answers on each network's gateway
 * address, port 53 (UDP), in the host's netns:
 *   A/AAAA  for container names, aliases, hostnames, full and short ids of
 *           every network the asking container is on (Docker's embedded DNS
 *           does the same); all addresses of a name, rotated (round robin)
 *   PTR     for the addresses of those networks
 *   else    relayed to the nameservers of --resolv (the host's resolv.conf,
 *           read again when it changes) unless the network is internal
 * Only clients inside the subnet of the network they ask on get any answer
 * (no open resolver, no amplification towards forged sources); two roots
 * have two resolvers on two bridges and never answer for each other.
 *
 * DIR is <root>/networks: a network is NAME.json + NAME.leases/ (one file
 * per lease). inotify says which lease file was created, replaced or
 * removed, and only that one is read: a container's start or removal is
 * O(1) work here and none in the other containers. A network created while
 * it runs is picked up from DIR's events (bound with IP_FREEBIND: the
 * bridge may get its address just after). When no lease is left in any
 * network it takes the ipam lock (so no attach is between its check and
 * its exit), looks again, removes its pid file and exits; the next attach
 * starts a new one. No always-on daemon.
 *
 * Not done: TCP (a truncated upstream answer is relayed with TC set, and
 * the client's retry over TCP finds no server), DNSSEC, caching. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "net/dnsmsg.h"

#define MAX_NAMES 24		/* per record: id, short id, hostname, aliases */
#define MAX_FILE (64 * 1024)
#define MAX_UPSTREAMS 3		/* as glibc's MAXNS */
#define MAX_NETS 64
#define PENDING 256		/* forwarded queries waiting for an answer */
#define PENDING_TTL 5		/* seconds */

struct net {
	bool used;
	char name[128];
	int wd;			/* inotify watch of its leases dir */
	int dirfd;
	int sock4, sock6;
	struct in_addr gw4, net4;
	int len4;
	struct in6_addr gw6, net6;
	int len6;
	bool has6, internal;
};

struct rec {
	int net;
	char file[64];		/* the lease file's name: its address */
	char id[72];		/* the container's id */
	uint8_t ip4[4];
	char *names[MAX_NAMES];
	size_t n_names;
};

struct pending {
	time_t sent;		/* 0: free */
	uint16_t client_id, our_id;
	struct sockaddr_storage client;
	socklen_t client_len;
	int sock;		/* which of our sockets the query came in on */
	struct sockaddr_storage upstream;
};

static struct {
	const char *dir, *lock, *pidfile, *resolv;
	int dirfd, in, dir_wd;
	struct net nets[MAX_NETS];
	struct rec *recs;
	size_t n_recs;
	unsigned rr;		/* round-robin counter */
	struct sockaddr_storage up[MAX_UPSTREAMS];
	size_t n_up;
	struct timespec resolv_mtime;
	struct pending pend[PENDING];
	int up4, up6;		/* sockets towards the upstreams */
} g = { .up4 = -1, .up6 = -1 };

static void die(const char *what)
{
	fprintf(stderr, "cell-dns: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void rec_clear(struct rec *r)
{
	for (size_t i = 0; i < r->n_names; i++)
		free(r->names[i]);
	r->n_names = 0;
}

static void rec_add_name(struct rec *r, const char *s, size_t len)
{
	if (len == 0 || len > 253 || r->n_names == MAX_NAMES)
		return;
	char *n = strndup(s, len);
	if (!n)
		abort();
	for (char *c = n; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	r->names[r->n_names++] = n;
}

static struct rec *rec_find(int net, const char *file)
{
	for (size_t i = 0; i < g.n_recs; i++)
		if (g.recs[i].net == net && strcmp(g.recs[i].file, file) == 0)
			return &g.recs[i];
	return NULL;
}

static void rec_drop(struct rec *r)
{
	rec_clear(r);
	*r = g.recs[--g.n_recs];
}

static void rec_remove(int net, const char *file)
{
	struct rec *r = rec_find(net, file);
	if (r)
		rec_drop(r);
}

/* A file of ours, read whole: regular, bounded, no symlink (cell wrote it,
 * but a resolver running as root reads no more than it must). */
static json_object *read_json(int dirfd, const char *file)
{
	static char buf[MAX_FILE + 1];
	struct stat st;
	ssize_t n;
	int fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
		close(fd);
		return NULL;
	}
	n = read(fd, buf, MAX_FILE);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return json_tokener_parse(buf);
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

static void rec_load(int net, const char *file)
{
	struct in_addr a;
	char ipb[64];

	if (file[0] == '.' || strlen(file) >= sizeof(((struct rec *)0)->file))
		return;
	json_object *o = read_json(g.nets[net].dirfd, file), *v;
	if (!o)
		return;
	const char *ip = jstr(o, "ip"), *id = jstr(o, "container"), *hn = jstr(o, "hostname");
	if (!ip || !id || snprintf(ipb, sizeof(ipb), "%s", ip) >= (int)sizeof(ipb) || strlen(id) >= 72) {
		json_object_put(o);
		return;
	}
	ipb[strcspn(ipb, "/")] = '\0';
	if (inet_pton(AF_INET, ipb, &a) != 1) {
		json_object_put(o);
		return;
	}
	struct rec *r = rec_find(net, file);
	if (!r) {
		g.recs = realloc(g.recs, (g.n_recs + 1) * sizeof(*g.recs));
		if (!g.recs)
			abort();
		r = &g.recs[g.n_recs++];
		memset(r, 0, sizeof(*r));
		r->net = net;
		snprintf(r->file, sizeof(r->file), "%s", file);
	}
	rec_clear(r);
	memcpy(r->ip4, &a, 4);
	snprintf(r->id, sizeof(r->id), "%s", id);
	/* the container name is the first alias (the engine puts it there):
	 * it is what PTR answers */
	if (json_object_object_get_ex(o, "aliases", &v) && json_object_is_type(v, json_type_array))
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const char *s = json_object_get_string(json_object_array_get_idx(v, i));
			if (s)
				rec_add_name(r, s, strlen(s));
		}
	if (hn)
		rec_add_name(r, hn, strlen(hn));
	rec_add_name(r, id, strlen(id));
	if (strlen(id) > 12)
		rec_add_name(r, id, 12);	/* Docker's short id */
	json_object_put(o);
}

/* Every lease of a network, from scratch. */
static void net_scan(int net)
{
	int fd = dup(g.nets[net].dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	for (size_t i = 0; i < g.n_recs;)
		if (g.recs[i].net == net)
			rec_drop(&g.recs[i]);
		else
			i++;
	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			rec_load(net, de->d_name);
	closedir(d);
}

static void ip6_of(const struct net *n, const uint8_t ip4[4], uint8_t out[16])
{
	uint32_t a = (uint32_t)ip4[0] << 24 | (uint32_t)ip4[1] << 16 | (uint32_t)ip4[2] << 8 | ip4[3];
	uint32_t host = n->len4 >= 32 ? 0 : a & (0xffffffffu >> n->len4);
	memcpy(out, &n->net6, 16);
	for (int i = 0; i < 4; i++)
		out[15 - i] |= (uint8_t)(host >> (8 * i));
}

static bool has_name(const struct rec *r, const char *name)
{
	for (size_t i = 0; i < r->n_names; i++)
		if (strcmp(r->names[i], name) == 0)
			return true;
	return false;
}

/* ---- upstreams ---- */

static void upstreams_refresh(void)
{
	struct stat st;
	char line[512];
	FILE *f;

	if (!g.resolv || stat(g.resolv, &st) < 0)
		return;
	if (st.st_mtim.tv_sec == g.resolv_mtime.tv_sec && st.st_mtim.tv_nsec == g.resolv_mtime.tv_nsec)
		return;
	g.resolv_mtime = st.st_mtim;
	f = fopen(g.resolv, "re");
	if (!f)
		return;
	g.n_up = 0;
	while (fgets(line, sizeof(line), f) && g.n_up < MAX_UPSTREAMS) {
		char addr[128];
		struct sockaddr_in *s4 = (struct sockaddr_in *)&g.up[g.n_up];
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&g.up[g.n_up];
		if (sscanf(line, " nameserver %127s", addr) != 1)
			continue;
		memset(&g.up[g.n_up], 0, sizeof(g.up[0]));
		if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
			/* never ourselves: a loop */
			bool own = false;
			for (int k = 0; k < MAX_NETS; k++)
				own |= g.nets[k].used && g.nets[k].gw4.s_addr == s4->sin_addr.s_addr;
			if (own)
				continue;
			s4->sin_family = AF_INET;
			s4->sin_port = htons(53);
			g.n_up++;
		} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
			bool own = false;
			for (int k = 0; k < MAX_NETS; k++)
				own |= g.nets[k].used && g.nets[k].has6 && memcmp(&g.nets[k].gw6, &s6->sin6_addr, 16) == 0;
			if (own)
				continue;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(53);
			g.n_up++;
		}
	}
	fclose(f);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0 && x->sin6_port == y->sin6_port;
}

/* ---- queries ---- */

static bool in6_prefix(const uint8_t *a, const uint8_t *n, int bits)
{
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a[i] & m) != (n[i] & m))
			return false;
	}
	return true;
}

/* Whether the client is inside the subnet of the network it asks on. */
static bool client_ok(const struct net *n, const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
		uint32_t mask = n->len4 == 0 ? 0 : 0xffffffffu << (32 - n->len4);
		return (a & mask) == (ntohl(n->net4.s_addr) & mask);
	}
	if (ss->ss_family == AF_INET6 && n->has6)
		return in6_prefix(((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr, n->net6.s6_addr, n->len6);
	return false;
}

/* The networks whose names the client sees: the one it asks on, and every
 * other network its container is on (found by its address there). */
static void client_nets(int net, const struct sockaddr_storage *ss, bool on[MAX_NETS])
{
	const char *id = NULL;
	uint8_t six[16];

	memset(on, 0, MAX_NETS * sizeof(bool));
	on[net] = true;
	for (size_t i = 0; i < g.n_recs && !id; i++) {
		const struct rec *r = &g.recs[i];
		if (r->net != net)
			continue;
		if (ss->ss_family == AF_INET &&
		    memcmp(r->ip4, &((const struct sockaddr_in *)ss)->sin_addr, 4) == 0)
			id = r->id;
		if (ss->ss_family == AF_INET6 && g.nets[net].has6 &&
		    (ip6_of(&g.nets[net], r->ip4, six), memcmp(six, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16) == 0))
			id = r->id;
	}
	if (!id)
		return;
	for (size_t i = 0; i < g.n_recs; i++)
		if (strcmp(g.recs[i].id, id) == 0)
			on[g.recs[i].net] = true;
}

static void forward(const struct net *nt, int sock, const uint8_t *p, size_t n, const struct cell_dns_query *q,
		    const struct sockaddr_storage *from, socklen_t flen)
{
	uint8_t out[CELL_DNS_MAX_QUERY];
	time_t now = time(NULL);
	struct pending *slot = NULL;

	upstreams_refresh();
	for (size_t i = 0; i < PENDING && !slot; i++)
		if (!g.pend[i].sent || now - g.pend[i].sent > PENDING_TTL)
			slot = &g.pend[i];
	if (nt->internal || g.n_up == 0 || !slot) {
		size_t l = cell_dns_answer(p, q, CELL_DNS_SERVFAIL, NULL, 0, out, sizeof(out));
		if (l)
			sendto(sock, out, l, MSG_DONTWAIT, (const struct sockaddr *)from, flen);
		return;
	}
	const struct sockaddr_storage *up = &g.up[g.rr++ % g.n_up];
	int us = up->ss_family == AF_INET ? g.up4 : g.up6;
	if (us < 0)
		return;
	uint16_t id;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return;
	memcpy(out, p, n);
	out[0] = (uint8_t)(id >> 8), out[1] = (uint8_t)id;
	slot->sent = now;
	slot->client_id = q->id;
	slot->our_id = id;
	slot->client = *from;
	slot->client_len = flen;
	slot->sock = sock;
	slot->upstream = *up;
	sendto(us, out, n, MSG_DONTWAIT, (const struct sockaddr *)up,
	       up->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
}

static void upstream_reply(int us)
{
	uint8_t buf[4096];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(us, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	time_t now = time(NULL);

	if (n < 12 || !(buf[2] & 0x80))
		return;
	uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);
	for (size_t i = 0; i < PENDING; i++) {
		struct pending *s = &g.pend[i];
		if (!s->sent || now - s->sent > PENDING_TTL || s->our_id != id || !same_addr(&s->upstream, &from))
			continue;
		buf[0] = (uint8_t)(s->client_id >> 8), buf[1] = (uint8_t)s->client_id;
		sendto(s->sock, buf, (size_t)n, MSG_DONTWAIT, (const struct sockaddr *)&s->client, s->client_len);
		s->sent = 0;
		return;
	}
}

static size_t answer_name(const bool on[MAX_NETS], const uint8_t *p, const struct cell_dns_query *q, uint8_t *out,
			  size_t len)
{
	struct cell_dns_rr rr[32];
	size_t n = 0, matched = 0, start;

	if (g.n_recs == 0)
		return 0;
	start = g.rr++ % g.n_recs;
	for (size_t k = 0; k < g.n_recs; k++) {
		const struct rec *r = &g.recs[(start + k) % g.n_recs];
		if (!on[r->net] || !has_name(r, q->name))
			continue;
		matched++;
		if (n == sizeof(rr) / sizeof(rr[0]))
			continue;
		memset(&rr[n], 0, sizeof(rr[n]));
		if (q->qtype == CELL_DNS_TYPE_A) {
			rr[n].type = CELL_DNS_TYPE_A;
			memcpy(rr[n++].addr, r->ip4, 4);
		} else if (q->qtype == CELL_DNS_TYPE_AAAA && g.nets[r->net].has6) {
			rr[n].type = CELL_DNS_TYPE_AAAA;
			ip6_of(&g.nets[r->net], r->ip4, rr[n++].addr);
		}
	}
	if (!matched)
		return 0;
	/* a name of ours with no record of that type: NOERROR, no answer
	 * (NODATA), so the client does not ask elsewhere */
	return cell_dns_answer(p, q, CELL_DNS_NOERROR, rr, n, out, len);
}

static size_t answer_ptr(const bool on[MAX_NETS], const uint8_t *p, const struct cell_dns_query *q, uint8_t *out,
			 size_t len)
{
	uint8_t a[16], six[16];
	int fam = cell_dns_ptr_addr(q->name, a);

	if (!fam)
		return 0;
	for (size_t i = 0; i < g.n_recs; i++) {
		const struct rec *r = &g.recs[i];
		const struct net *nt = &g.nets[r->net];
		if (!on[r->net] || r->n_names == 0)
			continue;
		bool hit = fam == 4 ? memcmp(r->ip4, a, 4) == 0 : nt->has6 && (ip6_of(nt, r->ip4, six), memcmp(six, a, 16) == 0);
		if (!hit)
			continue;
		struct cell_dns_rr rr = { .type = CELL_DNS_TYPE_PTR, .target = r->names[0] };
		return cell_dns_answer(p, q, CELL_DNS_NOERROR, &rr, 1, out, len);
	}
	return 0;
}

static void query(int net, int sock)
{
	uint8_t buf[CELL_DNS_MAX_QUERY + 1], out[CELL_DNS_MAX_ANSWER];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	struct cell_dns_query q;
	bool on[MAX_NETS];
	ssize_t n = recvfrom(sock, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	size_t l = 0;

	/* oversized (cut at CELL_DNS_MAX_QUERY + 1), malformed, or from
	 * outside the network: dropped without an answer */
	if (n <= 0 || cell_dns_parse_query(buf, (size_t)n, &q) < 0)
		return;
	/* a container that left the network its resolv.conf names asks at
	 * that address from another of the root's networks: it is the one
	 * whose subnet holds the client that counts */
	for (int i = 0; !client_ok(&g.nets[net], &from); i++) {
		if (i == MAX_NETS)
			return;
		if (g.nets[i].used)
			net = i;
	}
	client_nets(net, &from, on);
	if (q.qclass == CELL_DNS_CLASS_IN) {
		if (q.qtype == CELL_DNS_TYPE_PTR)
			l = answer_ptr(on, buf, &q, out, sizeof(out));
		else
			l = answer_name(on, buf, &q, out, sizeof(out));
	}
	if (l)
		sendto(sock, out, l, MSG_DONTWAIT, (struct sockaddr *)&from, fl);
	else
		forward(&g.nets[net], sock, buf, (size_t)n, &q, &from, fl);
}

/* ---- networks ---- */

static int parse_cidr(const char *s, int fam, void *addr, int *len)
{
	char b[128];
	char *slash;
	if (!s)
		return -1;
	snprintf(b, sizeof(b), "%s", s);
	slash = strchr(b, '/');
	if (slash) {
		*slash = '\0';
		*len = atoi(slash + 1);
	} else {
		*len = fam == AF_INET ? 32 : 128;
	}
	return inet_pton(fam, b, addr) == 1 && *len >= 0 && *len <= (fam == AF_INET ? 32 : 128) ? 0 : -1;
}

/* A UDP socket on ADDR:53, -1 on failure. IP_FREEBIND: a network just
 * created may not have its bridge address yet, IPv6 may still be in DAD. */
static int udp_bind(int fam, const void *addr)
{
	struct sockaddr_storage ss = { 0 };
	int one = 1, s = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	socklen_t l;

	if (s < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(53);
		memcpy(&a->sin_addr, addr, 4);
		l = sizeof(*a);
		setsockopt(s, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(53);
		memcpy(&a->sin6_addr, addr, 16);
		l = sizeof(*a);
		setsockopt(s, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(s, (struct sockaddr *)&ss, l) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static int net_find(const char *name)
{
	for (int i = 0; i < MAX_NETS; i++)
		if (g.nets[i].used && strcmp(g.nets[i].name, name) == 0)
			return i;
	return -1;
}

static void net_remove(int i)
{
	struct net *n = &g.nets[i];
	for (size_t k = 0; k < g.n_recs;)
		if (g.recs[k].net == i)
			rec_drop(&g.recs[k]);
		else
			k++;
	if (n->wd >= 0)
		inotify_rm_watch(g.in, n->wd);
	if (n->sock4 >= 0)
		close(n->sock4);
	if (n->sock6 >= 0)
		close(n->sock6);
	if (n->dirfd >= 0)
		close(n->dirfd);
	memset(n, 0, sizeof(*n));
}

/* NAME.json and NAME.leases/ make a network (not the default one: cell0
 * has no DNS, as Docker's default bridge). Added once; -1 if not one. */
static int net_add(const char *json_file)
{
	char name[128], dir[160];
	size_t l = strlen(json_file);
	struct net n;
	int i, free_slot = -1;

	if (l <= 5 || l - 5 >= sizeof(name) || strcmp(json_file + l - 5, ".json") != 0 || json_file[0] == '.')
		return -1;
	memcpy(name, json_file, l - 5);
	name[l - 5] = '\0';
	if (strcmp(name, "cell0") == 0 || net_find(name) >= 0)
		return -1;
	for (i = 0; i < MAX_NETS && free_slot < 0; i++)
		if (!g.nets[i].used)
			free_slot = i;
	if (free_slot < 0)
		return -1;
	json_object *o = read_json(g.dirfd, json_file), *v;
	if (!o)
		return -1;
	memset(&n, 0, sizeof(n));
	n.used = true;
	n.sock4 = n.sock6 = n.wd = n.dirfd = -1;
	snprintf(n.name, sizeof(n.name), "%s", name);
	int gl;
	if (parse_cidr(jstr(o, "subnet"), AF_INET, &n.net4, &n.len4) < 0 ||
	    parse_cidr(jstr(o, "gateway"), AF_INET, &n.gw4, &gl) < 0) {
		json_object_put(o);
		return -1;
	}
	if (parse_cidr(jstr(o, "subnet6"), AF_INET6, &n.net6, &n.len6) == 0 &&
	    parse_cidr(jstr(o, "gateway6"), AF_INET6, &n.gw6, &gl) == 0)
		n.has6 = true;
	n.internal = json_object_object_get_ex(o, "internal", &v) && json_object_get_boolean(v);
	json_object_put(o);
	snprintf(dir, sizeof(dir), "%s.leases", name);
	n.dirfd = openat(g.dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (n.dirfd < 0)
		return -1;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", g.dir, dir);
	n.wd = inotify_add_watch(g.in, path, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM |
						     IN_DELETE_SELF | IN_MOVE_SELF);
	n.sock4 = udp_bind(AF_INET, &n.gw4);
	if (n.has6)
		n.sock6 = udp_bind(AF_INET6, &n.gw6);
	if (n.wd < 0 || n.sock4 < 0) {
		fprintf(stderr, "cell-dns: network `%s`: %s %s: %s\n", name, n.wd < 0 ? "watch" : "bind port 53 on",
			n.wd < 0 ? path : inet_ntop(AF_INET, &n.gw4, dir, sizeof(dir)), strerror(errno));
		if (n.wd >= 0)
			inotify_rm_watch(g.in, n.wd);
		if (n.sock6 >= 0)
			close(n.sock6);
		close(n.dirfd);
		return -1;
	}
	g.nets[free_slot] = n;
	net_scan(free_slot);
	return free_slot;
}

static void nets_scan(void)
{
	int fd = dup(g.dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		net_add(de->d_name);
	closedir(d);
}

/* ---- lifetime ---- */

/* No lease left: exit unless an attach got in meanwhile (under its lock). */
static void maybe_exit(void)
{
	int fd = open(g.lock, O_RDWR | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		exit(0);	/* the root's files are going */
	for (int i = 0; i < MAX_NETS; i++)
		if (g.nets[i].used)
			net_scan(i);
	if (g.n_recs == 0) {
		unlink(g.pidfile);
		exit(0);
	}
	close(fd);
}

static void inotify_events(void)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(g.in, buf, sizeof(buf));
	bool removed = false;

	if (n <= 0)
		return;
	for (char *p = buf; p < buf + n;) {
		const struct inotify_event *ev = (const struct inotify_event *)p;
		p += sizeof(*ev) + ev->len;
		if (ev->mask & IN_Q_OVERFLOW) {
			for (int i = 0; i < MAX_NETS; i++)
				if (g.nets[i].used)
					net_scan(i);
			nets_scan();
			removed = true;
			continue;
		}
		if (ev->wd == g.dir_wd) {
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
				exit(0);	/* the root is gone */
			/* a network created: its file comes by rename */
			if (ev->len && (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE))) {
				/* whichever of NAME.json and NAME.leases/ comes second adds it */
				char js[300];
				size_t l = strlen(ev->name);
				if (l > 7 && strcmp(ev->name + l - 7, ".leases") == 0 && l - 7 < 200) {
					snprintf(js, sizeof(js), "%.*s.json", (int)(l - 7), ev->name);
					net_add(js);
				} else {
					net_add(ev->name);
				}
			}
			continue;
		}
		int net = -1;
		for (int i = 0; i < MAX_NETS && net < 0; i++)
			if (g.nets[i].used && g.nets[i].wd == ev->wd)
				net = i;
		if (net < 0)
			continue;
		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
			net_remove(net);	/* network rm */
			removed = true;
			continue;
		}
		if (!ev->len || ev->name[0] == '.')
			continue;
		if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
			rec_remove(net, ev->name);
			removed = true;
		} else if (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)) {
			rec_load(net, ev->name);
		}
	}
	if (removed && g.n_recs == 0)
		maybe_exit();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "networks", required_argument, NULL, 'n' }, { "lock", required_argument, NULL, 'k' },
		{ "pidfile", required_argument, NULL, 'p' }, { "resolv", required_argument, NULL, 'r' },
		{ "ready-fd", required_argument, NULL, 'R' }, { 0 },
	};
	int ready = -1, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': g.dir = optarg; break;
		case 'k': g.lock = optarg; break;
		case 'p': g.pidfile = optarg; break;
		case 'r': g.resolv = optarg; break;
		case 'R': ready = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!g.dir || !g.lock || !g.pidfile) {
		fprintf(stderr, "usage: cell-dns --networks DIR --lock FILE --pidfile FILE [--resolv FILE] [--ready-fd N]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	g.dirfd = open(g.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g.dirfd < 0)
		die(g.dir);
	g.in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (g.in < 0)
		die("inotify_init1");
	g.dir_wd = inotify_add_watch(g.in, g.dir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF);
	if (g.dir_wd < 0)
		die("inotify on the networks");
	g.up4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	g.up6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	nets_scan();
	upstreams_refresh();
	{
		char b[32], tmp[PATH_MAX];
		int l = snprintf(b, sizeof(b), "%d\n", (int)getpid());
		snprintf(tmp, sizeof(tmp), "%s.%d", g.pidfile, (int)getpid());
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, b, (size_t)l) != l || close(fd) < 0 || rename(tmp, g.pidfile) < 0)
			die("write the pid file");
	}
	if (ready >= 0) {
		(void)!write(ready, "ok\n", 3);
		close(ready);
	}
	/* stderr was the spawner's pipe too (for die() before this point) */
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 2);
		close(null);
	}
	struct pollfd pf[3 + 2 * MAX_NETS];
	int who[3 + 2 * MAX_NETS];	/* >= 0: the network of a query socket; -1 inotify; -2 upstream */
	for (;;) {
		int np = 0;
		pf[np] = (struct pollfd){ .fd = g.in, .events = POLLIN }, who[np++] = -1;
		if (g.up4 >= 0)
			pf[np] = (struct pollfd){ .fd = g.up4, .events = POLLIN }, who[np++] = -2;
		if (g.up6 >= 0)
			pf[np] = (struct pollfd){ .fd = g.up6, .events = POLLIN }, who[np++] = -2;
		for (int i = 0; i < MAX_NETS; i++) {
			if (!g.nets[i].used)
				continue;
			pf[np] = (struct pollfd){ .fd = g.nets[i].sock4, .events = POLLIN }, who[np++] = i;
			if (g.nets[i].sock6 >= 0)
				pf[np] = (struct pollfd){ .fd = g.nets[i].sock6, .events = POLLIN }, who[np++] = i;
		}
		if (poll(pf, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		/* queries and answers first: an inotify event may close sockets */
		for (int i = 0; i < np; i++) {
			if (!(pf[i].revents & POLLIN) || who[i] == -1)
				continue;
			if (who[i] >= 0)
				query(who[i], pf[i].fd);
			else
				upstream_reply(pf[i].fd);
		}
		if (pf[0].revents & POLLIN)
			inotify_events();
	}
}
