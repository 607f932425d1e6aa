/* IPv4/IPv6 prefixes, and addresses and routes over rtnetlink. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <stdio.h>
#include <string.h>

#include "net.h"
#include "nl.h"
#include "util.h"

/* ---- prefixes ---- */

int cell_prefix_parse(const char *s, struct cell_prefix *ret, cell_error **err)
{
	char buf[INET6_ADDRSTRLEN + 8];
	struct cell_prefix p = { 0 };
	char *slash;
	int max;

	if (!s || strlen(s) >= sizeof(buf))
		return cell_error_set(err, "`%s` is not an IP address or prefix", s ? s : "");
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, p.addr) == 1)
		p.family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p.addr) == 1)
		p.family = AF_INET6;
	else
		return cell_error_set(err, "`%s` is not an IP address or prefix (expected e.g. 10.88.0.0/16 or fd00::/64)", s);
	max = p.family == AF_INET ? 32 : 128;
	p.len = max;
	if (slash) {
		int64_t v;
		if (parse_int64(slash, &v) < 0 || v < 0 || v > max)
			return cell_error_set(err, "`%s`: prefix length must be 0-%d", s, max);
		p.len = (int)v;
	}
	*ret = p;
	return 0;
}

const char *cell_prefix_str(const struct cell_prefix *p, bool with_len, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	if (!inet_ntop(p->family, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (with_len)
		snprintf(buf, len, "%s/%d", a, p->len);
	else
		snprintf(buf, len, "%s", a);
	return buf;
}

static void mask_bits(uint8_t *addr, int nbytes, int len)
{
	for (int i = 0; i < nbytes; i++) {
		int bits = len - i * 8;
		if (bits >= 8)
			continue;
		addr[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

void cell_prefix_network(const struct cell_prefix *p, struct cell_prefix *ret)
{
	*ret = *p;
	mask_bits(ret->addr, p->family == AF_INET ? 4 : 16, p->len);
}

static bool same_network(const struct cell_prefix *a, const struct cell_prefix *b, int len)
{
	struct cell_prefix x = *a, y = *b;
	int n = a->family == AF_INET ? 4 : 16;
	mask_bits(x.addr, n, len);
	mask_bits(y.addr, n, len);
	return memcmp(x.addr, y.addr, n) == 0;
}

bool cell_prefix_contains(const struct cell_prefix *net, const struct cell_prefix *addr)
{
	if (net->family != addr->family)
		return false;
	return same_network(net, addr, net->len);
}

bool cell_prefix_overlaps(const struct cell_prefix *a, const struct cell_prefix *b)
{
	if (a->family != b->family)
		return false;
	return same_network(a, b, a->len < b->len ? a->len : b->len);
}

uint32_t cell_prefix_v4(const struct cell_prefix *p)
{
	uint32_t v;
	memcpy(&v, p->addr, 4);
	return ntohl(v);
}

void cell_prefix_set_v4(struct cell_prefix *p, uint32_t host_order, int len)
{
	uint32_t v = htonl(host_order);
	memset(p, 0, sizeof(*p));
	p->family = AF_INET;
	memcpy(p->addr, &v, 4);
	p->len = len;
}

static int alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* ---- addresses ---- */

int cell_addr_add(struct cell_nl *h, const char *ifname, const struct cell_prefix *p, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[128], a[64];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int idx = cell_link_index(h, ifname, err);

	cell_prefix_str(p, true, a, sizeof(a));
	snprintf(what, sizeof(what), "add address %s to link `%s`", a, ifname);
	if (idx < 0)
		return cell_error_wrap(err, "%s", what);
	if (idx == 0)
		return cell_error_errno(err, ENODEV, "%s", what);
	nlh = nl_msg(&h->nl, buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = p->family;
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	mnl_attr_put(nlh, IFA_LOCAL, alen(p->family), p->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen(p->family), p->addr);
	if (p->family == AF_INET && p->len < 31) {
		struct cell_prefix b = *p;
		uint32_t host = p->len ? (0xffffffffu >> p->len) : 0xffffffffu;
		cell_prefix_set_v4(&b, cell_prefix_v4(p) | host, p->len);
		mnl_attr_put(nlh, IFA_BROADCAST, 4, b.addr);
	}
	if (p->family == AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);	/* usable at once */
	return nl_request(&h->nl, nlh, what, err);
}

struct addr_ctx {
	struct cell_addr *v;
	size_t n, cap;
};

static void addr_reset(void *data)
{
	struct addr_ctx *c = data;
	free(c->v);
	*c = (struct addr_ctx){ 0 };
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_ctx *c = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	struct cell_addr a = { 0 };
	bool have = false;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return MNL_CB_OK;
	a.ifindex = ifa->ifa_index;
	a.scope = ifa->ifa_scope;
	a.prefix.family = ifa->ifa_family;
	a.prefix.len = ifa->ifa_prefixlen;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		int t = mnl_attr_get_type(attr);
		/* IFA_LOCAL is the address itself; IFA_ADDRESS the peer on p2p links */
		if ((t == IFA_LOCAL || (t == IFA_ADDRESS && !have)) &&
		    mnl_attr_get_payload_len(attr) == (unsigned)alen(ifa->ifa_family)) {
			memcpy(a.prefix.addr, mnl_attr_get_payload(attr), alen(ifa->ifa_family));
			have = true;
		}
	}
	if (!have)
		return MNL_CB_OK;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		if (!c->v)
			abort();
	}
	c->v[c->n++] = a;
	return MNL_CB_OK;
}

int cell_addr_list(struct cell_nl *h, int family, struct cell_addr **ret, size_t *ret_n, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct addr_ctx c = { 0 };
	struct nlmsghdr *nlh = nl_msg(&h->nl, buf, RTM_GETADDR, 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = family;
	if (nl_dump(&h->nl, nlh, addr_cb, &c, addr_reset, "list addresses", err) < 0) {
		free(c.v);
		return -1;
	}
	*ret = c.v;
	*ret_n = c.n;
	return 0;
}

/* ---- routes ---- */

int cell_route_add(struct cell_nl *h, const struct cell_prefix *dst, const struct cell_prefix *gw,
		   const char *ifname, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[160], d[64] = "default", g[64] = "";
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int family = dst ? dst->family : gw ? gw->family : AF_INET;
	int idx = 0;

	if (dst)
		cell_prefix_str(dst, true, d, sizeof(d));
	if (gw)
		cell_prefix_str(gw, false, g, sizeof(g));
	snprintf(what, sizeof(what), "add route %s%s%s%s%s%s", d, gw ? " via " : "", g,
		 ifname ? " dev `" : "", ifname ? ifname : "", ifname ? "`" : "");
	if (!gw && !ifname)
		return cell_error_set(err, "%s: needs a gateway or a device", what);
	if (ifname) {
		idx = cell_link_index(h, ifname, err);
		if (idx < 0)
			return cell_error_wrap(err, "%s", what);
		if (idx == 0)
			return cell_error_errno(err, ENODEV, "%s", what);
	}
	nlh = nl_msg(&h->nl, buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_dst_len = dst ? dst->len : 0;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (dst && dst->len) {
		struct cell_prefix n;
		cell_prefix_network(dst, &n);
		mnl_attr_put(nlh, RTA_DST, alen(family), n.addr);
	}
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, alen(family), gw->addr);
	if (idx)
		mnl_attr_put_u32(nlh, RTA_OIF, idx);
	return nl_request(&h->nl, nlh, what, err);
}

struct route_ctx {
	struct cell_route *v;
	size_t n, cap;
};

static void route_reset(void *data)
{
	struct route_ctx *c = data;
	free(c->v);
	*c = (struct route_ctx){ 0 };
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_ctx *c = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	struct cell_route r = { 0 };
	int n = alen(rtm->rtm_family);

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return MNL_CB_OK;
	r.dst.family = rtm->rtm_family;
	r.dst.len = rtm->rtm_dst_len;
	r.table = rtm->rtm_table;
	r.type = rtm->rtm_type;
	r.protocol = rtm->rtm_protocol;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(attr)) {
		case RTA_DST:
			if (mnl_attr_get_payload_len(attr) == (unsigned)n)
				memcpy(r.dst.addr, mnl_attr_get_payload(attr), n);
			break;
		case RTA_GATEWAY:
			if (mnl_attr_get_payload_len(attr) == (unsigned)n) {
				r.gateway.family = rtm->rtm_family;
				r.gateway.len = n * 8;
				memcpy(r.gateway.addr, mnl_attr_get_payload(attr), n);
			}
			break;
		case RTA_OIF:
			r.oif = mnl_attr_get_u32(attr);
			break;
		case RTA_TABLE:
			r.table = mnl_attr_get_u32(attr);
			break;
		}
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		if (!c->v)
			abort();
	}
	c->v[c->n++] = r;
	return MNL_CB_OK;
}

int cell_route_list(struct cell_nl *h, int family, struct cell_route **ret, size_t *ret_n, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct route_ctx c = { 0 };
	struct nlmsghdr *nlh = nl_msg(&h->nl, buf, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = family;
	if (nl_dump(&h->nl, nlh, route_cb, &c, route_reset, "list routes", err) < 0) {
		free(c.v);
		return -1;
	}
	*ret = c.v;
	*ret_n = c.n;
	return 0;
}
