/* Links over rtnetlink: bridge, veth, dummy; up, MTU, MAC, master, alias;
 * move to another netns; rename; delete; look up; list. */
#define _GNU_SOURCE
#include <sys/random.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "nl.h"
#include "util.h"

int cell_nl_open(int nsfd, struct cell_nl **ret, cell_error **err)
{
	struct cell_nl *h = xcalloc(1, sizeof(*h));
	int r = nsfd >= 0 ? nl_open_in_netns(&h->nl, nsfd, err) : nl_open(&h->nl, err);
	if (r < 0) {
		free(h);
		return r;
	}
	*ret = h;
	return 0;
}

void cell_nl_free(struct cell_nl *h)
{
	if (!h)
		return;
	nl_close(&h->nl);
	free(h);
}

void cell_nl_freep(struct cell_nl **h)
{
	cell_nl_free(*h);
	*h = NULL;
}

static int check_name(const char *name, const char *what, cell_error **err)
{
	if (!name || !*name || strlen(name) >= IFNAMSIZ || strchr(name, '/') || strchr(name, ' '))
		return cell_error_set(err, "%s name `%s` is not a valid interface name (1-%d characters, no '/' or space)",
				      what, name ? name : "", IFNAMSIZ - 1);
	return 0;
}

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *nlh, int index)
{
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = index;
	return ifm;
}

/* ---- lookup and listing ---- */

static int parse_link(const struct nlmsghdr *nlh, struct cell_link *l)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	memset(l, 0, sizeof(*l));
	l->index = ifm->ifi_index;
	l->flags = ifm->ifi_flags;
	l->link_netnsid = -1;
	mnl_attr_for_each(attr, nlh, sizeof(*ifm)) {
		switch (mnl_attr_get_type(attr)) {
		case IFLA_IFNAME:
			snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(attr));
			break;
		case IFLA_MTU:
			l->mtu = mnl_attr_get_u32(attr);
			break;
		case IFLA_MASTER:
			l->master = mnl_attr_get_u32(attr);
			break;
		case IFLA_LINK:
			l->link = mnl_attr_get_u32(attr);
			break;
		case IFLA_LINK_NETNSID:
			l->link_netnsid = (int32_t)mnl_attr_get_u32(attr);
			break;
		case IFLA_IFALIAS:
			snprintf(l->alias, sizeof(l->alias), "%s", mnl_attr_get_str(attr));
			break;
		case IFLA_ADDRESS:
			if (mnl_attr_get_payload_len(attr) == 6)
				memcpy(l->mac, mnl_attr_get_payload(attr), 6);
			break;
		case IFLA_LINKINFO: {
			const struct nlattr *in;
			mnl_attr_for_each_nested(in, attr) {
				if (mnl_attr_get_type(in) == IFLA_INFO_KIND)
					snprintf(l->kind, sizeof(l->kind), "%s", mnl_attr_get_str(in));
			}
			break;
		}
		}
	}
	return MNL_CB_OK;
}

static int get_one_cb(const struct nlmsghdr *nlh, void *data)
{
	return parse_link(nlh, data);
}

int cell_link_get(struct cell_nl *h, const char *name, struct cell_link *ret, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	char what[64];

	if (check_name(name, "link", err) < 0)
		return -EINVAL;
	nlh = nl_msg(&h->nl, buf, RTM_GETLINK, 0);
	put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	snprintf(what, sizeof(what), "look up link `%s`", name);
	/* a GETLINK answers with the link then (with NLM_F_ACK) an ack */
	struct cell_link l;
	memset(&l, 0, sizeof(l));
	int r = nl_request_cb(&h->nl, nlh, get_one_cb, &l, what, err);
	if (r < 0)
		return r;
	*ret = l;
	return 0;
}

int cell_link_index(struct cell_nl *h, const char *name, cell_error **err)
{
	struct cell_link l;
	cell_error *e = NULL;

	if (cell_link_get(h, name, &l, &e) < 0) {
		if (cell_error_code(e) == ENODEV) {
			cell_error_free(&e);
			return 0;
		}
		*err = e;
		return -1;
	}
	return l.index;
}

struct list_ctx {
	struct cell_link *v;
	size_t n, cap;
};

static void list_reset(void *data)
{
	struct list_ctx *c = data;
	free(c->v);
	*c = (struct list_ctx){ 0 };
}

static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct list_ctx *c = data;
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		if (!c->v)
			abort();
	}
	return parse_link(nlh, &c->v[c->n++]);
}

int cell_link_list(struct cell_nl *h, struct cell_link **ret, size_t *ret_n, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct list_ctx c = { 0 };
	struct nlmsghdr *nlh = nl_msg(&h->nl, buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifm = put_ifinfo(nlh, 0);
	(void)ifm;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (nl_dump(&h->nl, nlh, list_cb, &c, list_reset, "list links", err) < 0) {
		free(c.v);
		return -1;
	}
	*ret = c.v;
	*ret_n = c.n;
	return 0;
}

/* ---- creation ---- */

int cell_link_add_bridge(struct cell_nl *h, const char *name, unsigned mtu, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[96];
	struct nlmsghdr *nlh;
	struct nlattr *info;

	if (check_name(name, "bridge", err) < 0)
		return -EINVAL;
	nlh = nl_msg(&h->nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	/* A MAC of its own, set (NET_ADDR_SET): without one a bridge takes the
	 * lowest MAC of its ports and changes it as veths come and go, and a
	 * container whose ARP cache still holds the old one has its frames to
	 * the gateway dropped as PACKET_OTHERHOST (DNS queries to cell-dns
	 * timed out that way, net_dns.sh). Random, locally administered. */
	uint8_t mac[6];
	if (getrandom(mac, sizeof(mac), 0) == (ssize_t)sizeof(mac)) {
		mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
		mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(mac), mac);
	}
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	snprintf(what, sizeof(what), "create bridge `%s`", name);
	return nl_request(&h->nl, nlh, what, err);
}

int cell_link_add_veth(struct cell_nl *h, const char *name, const char *peer, int peer_nsfd,
		       cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[128];
	struct nlmsghdr *nlh;
	struct nlattr *info, *data, *peer_attr;
	struct ifinfomsg *pifm;

	if (check_name(name, "veth", err) < 0 || check_name(peer, "veth peer", err) < 0)
		return -EINVAL;
	nlh = nl_msg(&h->nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* the peer's attributes follow an ifinfomsg of its own */
	pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	memset(pifm, 0, sizeof(*pifm));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_nsfd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
	mnl_attr_nest_end(nlh, peer_attr);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	snprintf(what, sizeof(what), "create veth `%s` ↔ `%s`%s", name, peer,
		 peer_nsfd >= 0 ? " (peer in the container's netns)" : "");
	return nl_request(&h->nl, nlh, what, err);
}

/* ---- changes to an existing link ---- */

/* Start an RTM_NEWLINK on an existing link, found by name. */
static struct nlmsghdr *set_msg(struct cell_nl *h, char *buf, const char *name)
{
	struct nlmsghdr *nlh = nl_msg(&h->nl, buf, RTM_NEWLINK, 0);
	put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

/* With IFLA_IFNAME used to find the link, a rename needs the index. */
static struct nlmsghdr *set_msg_by_index(struct cell_nl *h, char *buf, int index)
{
	struct nlmsghdr *nlh = nl_msg(&h->nl, buf, RTM_NEWLINK, 0);
	put_ifinfo(nlh, index);
	return nlh;
}

int cell_link_set_up(struct cell_nl *h, const char *name, bool up, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[96];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (check_name(name, "link", err) < 0)
		return -EINVAL;
	nlh = nl_msg(&h->nl, buf, RTM_NEWLINK, 0);
	ifm = put_ifinfo(nlh, 0);
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = up ? IFF_UP : 0;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	snprintf(what, sizeof(what), "set link `%s` %s", name, up ? "up" : "down");
	return nl_request(&h->nl, nlh, what, err);
}

int cell_link_set_mtu(struct cell_nl *h, const char *name, unsigned mtu, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[96];
	struct nlmsghdr *nlh;

	if (check_name(name, "link", err) < 0)
		return -EINVAL;
	nlh = set_msg(h, buf, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	snprintf(what, sizeof(what), "set MTU %u on link `%s`", mtu, name);
	return nl_request(&h->nl, nlh, what, err);
}

int cell_link_set_mac(struct cell_nl *h, const char *name, const uint8_t mac[6], cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[96], m[18];
	struct nlmsghdr *nlh;

	if (check_name(name, "link", err) < 0)
		return -EINVAL;
	nlh = set_msg(h, buf, name);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	snprintf(what, sizeof(what), "set MAC %s on link `%s`", cell_mac_str(mac, m), name);
	return nl_request(&h->nl, nlh, what, err);
}

int cell_link_set_master(struct cell_nl *h, const char *name, const char *master, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[96];
	struct nlmsghdr *nlh;
	int idx = 0;

	if (check_name(name, "link", err) < 0)
		return -EINVAL;
	if (master) {
		idx = cell_link_index(h, master, err);
		if (idx < 0)
			return idx;
		if (idx == 0)
			return cell_error_errno(err, ENODEV, "attach link `%s` to bridge `%s`", name, master);
	}
	nlh = set_msg(h, buf, name);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)idx);
	if (master)
		snprintf(what, sizeof(what), "attach link `%s` to bridge `%s`", name, master);
	else
		snprintf(what, sizeof(what), "detach link `%s` from its bridge", name);
	return nl_request(&h->nl, nlh, what, err);
}

int cell_link_set_hairpin(struct cell_nl *h, const char *name, bool on, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[96];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct nlattr *pi;
	int idx = cell_link_index(h, name, err);

	if (idx < 0)
		return idx;
	snprintf(what, sizeof(what), "set hairpin mode %s on bridge port `%s`", on ? "on" : "off", name);
	if (idx == 0)
		return cell_error_errno(err, ENODEV, "%s", what);
	nlh = nl_msg(&h->nl, buf, RTM_SETLINK, 0);
	ifm = put_ifinfo(nlh, idx);
	ifm->ifi_family = AF_BRIDGE;	/* bridge port attributes */
	pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO | NLA_F_NESTED);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
	mnl_attr_nest_end(nlh, pi);
	return nl_request(&h->nl, nlh, what, err);
}

int cell_link_set_alias(struct cell_nl *h, const char *name, const char *alias, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[128];
	struct nlmsghdr *nlh;

	if (check_name(name, "link", err) < 0)
		return -EINVAL;
	nlh = set_msg(h, buf, name);
	mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	snprintf(what, sizeof(what), "set alias `%s` on link `%s`", alias, name);
	return nl_request(&h->nl, nlh, what, err);
}

int cell_link_rename(struct cell_nl *h, const char *name, const char *newname, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[96];
	struct nlmsghdr *nlh;
	int idx;

	if (check_name(newname, "new link", err) < 0)
		return -EINVAL;
	idx = cell_link_index(h, name, err);
	if (idx < 0)
		return idx;
	if (idx == 0)
		return cell_error_errno(err, ENODEV, "rename link `%s` to `%s`", name, newname);
	nlh = set_msg_by_index(h, buf, idx);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, newname);
	snprintf(what, sizeof(what), "rename link `%s` to `%s`", name, newname);
	return nl_request(&h->nl, nlh, what, err);
}

int cell_link_move(struct cell_nl *h, const char *name, int nsfd, pid_t pid,
		   const char *newname, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[128], target[32];
	struct nlmsghdr *nlh;
	int idx;

	if (newname && check_name(newname, "new link", err) < 0)
		return -EINVAL;
	idx = cell_link_index(h, name, err);
	if (idx < 0)
		return idx;
	if (nsfd >= 0)
		snprintf(target, sizeof(target), "netns fd %d", nsfd);
	else
		snprintf(target, sizeof(target), "netns of pid %d", (int)pid);
	snprintf(what, sizeof(what), "move link `%s` into %s%s%s%s", name, target,
		 newname ? " as `" : "", newname ? newname : "", newname ? "`" : "");
	if (idx == 0)
		return cell_error_errno(err, ENODEV, "%s", what);
	nlh = set_msg_by_index(h, buf, idx);
	if (nsfd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)nsfd);
	else
		mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)pid);
	/* a name next to a netns change names the link in its new netns */
	if (newname)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, newname);
	return nl_request(&h->nl, nlh, what, err);
}

int cell_link_del(struct cell_nl *h, const char *name, bool missing_ok, cell_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[96];
	struct nlmsghdr *nlh;
	cell_error *e = NULL;

	if (check_name(name, "link", err) < 0)
		return -EINVAL;
	nlh = nl_msg(&h->nl, buf, RTM_DELLINK, 0);
	put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	snprintf(what, sizeof(what), "delete link `%s`", name);
	if (nl_request(&h->nl, nlh, what, &e) < 0) {
		if (missing_ok && cell_error_code(e) == ENODEV) {
			cell_error_free(&e);
			return 0;
		}
		*err = e;
		return -1;
	}
	return 0;
}

int cell_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -EINVAL;
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)	/* multicast bit: the kernel refuses it as a unicast MAC */
		return -EINVAL;
	return 0;
}

const char *cell_mac_str(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

bool cell_link_veth_peer_alive(struct cell_nl *h, const struct cell_link *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct cell_link peer;
	cell_error *e = NULL;

	if (!streq(l->kind, "veth") || l->link_netnsid < 0 || l->link <= 0)
		return false;
	/* asked in the peer's netns by its id: the kernel refuses (EINVAL)
	 * once that namespace is dead or dying, although the id still shows
	 * on our side until its cleanup has run */
	nlh = nl_msg(&h->nl, buf, RTM_GETLINK, 0);
	put_ifinfo(nlh, l->link);
	mnl_attr_put_u32(nlh, IFLA_TARGET_NETNSID, (uint32_t)l->link_netnsid);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	memset(&peer, 0, sizeof(peer));
	if (nl_request_cb(&h->nl, nlh, get_one_cb, &peer, "look up a veth peer", &e) == 0)
		return true;
	cell_error_free(&e);
	return false;
}

int cell_link_retire_veth(struct cell_nl *h, const char *name, bool owner_gone, cell_error **err)
{
	struct cell_link l;
	cell_error *e = NULL;

	if (!owner_gone)
		return cell_link_del(h, name, true, err);
	if (cell_link_get(h, name, &l, &e) < 0) {
		if (cell_error_code(e) == ENODEV) {	/* the kernel was first */
			cell_error_free(&e);
			return 0;
		}
		*err = e;
		return -1;
	}
	/* only a veth whose peer is elsewhere dies with that namespace */
	if (!streq(l.kind, "veth") || l.link_netnsid < 0)
		return cell_link_del(h, name, true, err);
	if ((l.master && cell_link_set_master(h, name, NULL, &e) < 0) || cell_link_set_up(h, name, false, &e) < 0) {
		if (cell_error_code(e) == ENODEV) {
			cell_error_free(&e);
			return 0;
		}
		*err = e;
		return -1;
	}
	return 0;
}
