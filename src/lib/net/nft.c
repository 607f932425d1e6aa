/* NAT and port publishing through libnftables, all in table `inet cell`:
 *
 *   prerouting  (nat, dstnat)   fib daddr type local jump published
 *   output      (nat, -100)     fib daddr type local jump published   (the host itself, 127.0.0.1)
 *   published                   one DNAT rule per published port, comment "cell-ctr:<id>"
 *   postrouting (nat, srcnat)   per network, comment "cell-net:<name>":
 *                                 masquerade the subnet leaving by another interface,
 *                                 masquerade 127.0.0.0/8 entering the bridge (localhost
 *                                 DNAT; needs route_localnet on the bridge),
 *                                 masquerade DNATed traffic from the subnet back into it
 *                                 (hairpin: container -> host:port -> other container)
 *   forward     (filter)        internal networks: drop whatever crosses their bridge;
 *                               every network: drop traffic to another cell bridge;
 *                               unless gateway_mode_ipv4/6=nat-unprotected, drop what
 *                               enters the bridge from outside it and is neither a
 *                               reply nor DNATed (a published port), as Docker 28:
 *                               a LAN host routing the subnet via this one reaches
 *                               no unpublished port
 *   input       (filter)        per network: drop packets to 127.0.0.0/8 arriving on
 *                               its bridge unless DNATed. route_localnet (needed for
 *                               -p 127.0.0.1:...) would otherwise let a container
 *                               with CAP_NET_RAW reach the host's loopback-only
 *                               services through its gateway (CVE-2020-8558, closed
 *                               by the same rule in Kubernetes and Docker)
 *
 * Changes go through nft_run_cmd_from_buffer() (libnftables' text API; no
 * nft process). Rules are found again by their comment, read from one
 * netlink dump of the table (see "reading the table" below), and deleted by
 * handle, so one container's or one network's rules go without touching
 * the rest. A network's comment names its bridge ("cell-net:<name>@<bridge>")
 * because several engine roots share the table. Published ports get an
 * IPv4 DNAT rule and, on a dual-stack network, an IPv6 one. Nothing outside
 * table `inet cell` is ever read or changed. */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <netinet/in.h>	/* before the kernel's headers, which then leave in.h out */
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "dl-nft.h"
#include "ipam.h"
#include "net.h"
#include "util.h"

#define TABLE "inet cell"

struct nft {
	struct nft_ctx *ctx;
};

static int nft_open(struct nft *n, bool json, cell_error **err)
{
	if (cell_dl_nft(err) < 0)
		return -1;
	n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n->ctx)
		return cell_error_errno(err, ENOMEM, "nftables: create context");
	nft_ctx_buffer_output(n->ctx);
	nft_ctx_buffer_error(n->ctx);
	if (json)
		nft_ctx_output_set_flags(n->ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
	return 0;
}

static void nft_close(struct nft *n)
{
	if (n->ctx)
		nft_ctx_free(n->ctx);
	n->ctx = NULL;
}

/* Run commands; on failure the error names `what` and quotes nft's text. */
static int nft_run(struct nft *n, const char *cmds, const char *what, cell_error **err)
{
	int rc;

	/* a listing races with any other ruleset change on the host (docker,
	 * podman, firewalld): the kernel then interrupts the dump (EINTR) and
	 * the command is simply run again */
	for (int tries = 0;; tries++) {
		rc = nft_run_cmd_from_buffer(n->ctx, cmds);
		if (rc == 0 || tries == 5)
			break;
		const char *e = nft_ctx_get_error_buffer(n->ctx);
		if (!e || !strstr(e, "Interrupted system call"))
			break;
		/* drop the failed attempt's text before the next one */
		nft_ctx_unbuffer_error(n->ctx);
		nft_ctx_buffer_error(n->ctx);
		nft_ctx_unbuffer_output(n->ctx);
		nft_ctx_buffer_output(n->ctx);
	}
	if (rc != 0) {
		const char *e = nft_ctx_get_error_buffer(n->ctx);
		_cleanup_free_ char *msg = xstrdup(e && *e ? e : "failed");
		size_t l = strlen(msg);
		while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
			msg[--l] = '\0';
		/* keep the first line: the rest repeats the command with carets */
		char *nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		return cell_error_set(err, "nftables: %s: %s", what, msg);
	}
	return 0;
}

/* ---- reading the table: one netlink dump, no libnftables ----
 *
 * Finding a container's or a network's rules needs only their chain, handle
 * and comment (and for prune, a DNAT rule's target address). One dump of
 * table inet cell's rules over NETLINK_NETFILTER gives those in ~0.1 ms,
 * where a libnftables listing (a context, a cache of the table, JSON
 * output to parse) cost 2-3 ms each time: attach and detach of a container
 * that publishes no port, on a network whose rules are in place, now never
 * start libnftables at all. Every change still goes through libnftables. */

struct rule_ref {
	char chain[NFT_CHAIN_MAXNAMELEN];
	uint64_t handle;
	char comment[256];	/* "" when the rule has none */
	struct cell_prefix target;	/* first address a rule loads (a DNAT target), family 0 if none */
	char ifname[IFNAMSIZ];	/* first interface name it compares with (iifname/oifname), "" if none */
};

struct rule_list {
	struct rule_ref *v;
	size_t n;
};

static void rule_list_free(struct rule_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int attr_table_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	/* every NFTA_*_MAX used here is below 32 */
	if (mnl_attr_get_type(attr) < 32)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/* The comment is a TLV (type 0, NFTNL_UDATA_RULE_COMMENT) in the rule's
 * user data, as nft writes it; the value ends with its NUL. */
static void udata_comment(const struct nlattr *a, char *buf, size_t len)
{
	const uint8_t *p = mnl_attr_get_payload(a);
	size_t n = mnl_attr_get_payload_len(a);

	buf[0] = '\0';
	while (n >= 2) {
		uint8_t type = p[0], l = p[1];
		if ((size_t)l + 2 > n)
			return;
		if (type == 0) {
			size_t k = l < len - 1 ? l : len - 1;
			memcpy(buf, p + 2, k);
			buf[k] = '\0';
			return;
		}
		p += 2 + l;
		n -= 2 + (size_t)l;
	}
}

/* The first `immediate` expression loading 4 or 16 bytes: the address of
 * a `dnat ip to A:P` / `dnat ip6 to [A]:P` rule. */
static void rule_target(const struct nlattr *exprs, struct cell_prefix *ret)
{
	const struct nlattr *e;

	mnl_attr_for_each_nested(e, exprs) {
		const struct nlattr *tb[32] = { 0 }, *imm[32] = { 0 }, *data[32] = { 0 };
		if (mnl_attr_parse_nested(e, attr_table_cb, tb) < 0 || !tb[NFTA_EXPR_NAME] || !tb[NFTA_EXPR_DATA] ||
		    !streq(mnl_attr_get_str(tb[NFTA_EXPR_NAME]), "immediate"))
			continue;
		if (mnl_attr_parse_nested(tb[NFTA_EXPR_DATA], attr_table_cb, imm) < 0 || !imm[NFTA_IMMEDIATE_DATA] ||
		    mnl_attr_parse_nested(imm[NFTA_IMMEDIATE_DATA], attr_table_cb, data) < 0 || !data[NFTA_DATA_VALUE])
			continue;
		uint16_t l = mnl_attr_get_payload_len(data[NFTA_DATA_VALUE]);
		if (l != 4 && l != 16)
			continue;
		memset(ret, 0, sizeof(*ret));
		ret->family = l == 4 ? AF_INET : AF_INET6;
		ret->len = l * 8;
		memcpy(ret->addr, mnl_attr_get_payload(data[NFTA_DATA_VALUE]), l);
		return;
	}
}

/* The first interface name a rule compares with: a `cmp` against IFNAMSIZ
 * bytes (an exact iifname/oifname; a wildcard compares fewer). */
static void rule_ifname(const struct nlattr *exprs, char *buf)
{
	const struct nlattr *e;

	mnl_attr_for_each_nested(e, exprs) {
		const struct nlattr *tb[32] = { 0 }, *cmp[32] = { 0 }, *data[32] = { 0 };
		if (mnl_attr_parse_nested(e, attr_table_cb, tb) < 0 || !tb[NFTA_EXPR_NAME] || !tb[NFTA_EXPR_DATA] ||
		    !streq(mnl_attr_get_str(tb[NFTA_EXPR_NAME]), "cmp"))
			continue;
		if (mnl_attr_parse_nested(tb[NFTA_EXPR_DATA], attr_table_cb, cmp) < 0 || !cmp[NFTA_CMP_DATA] ||
		    mnl_attr_parse_nested(cmp[NFTA_CMP_DATA], attr_table_cb, data) < 0 || !data[NFTA_DATA_VALUE] ||
		    mnl_attr_get_payload_len(data[NFTA_DATA_VALUE]) != IFNAMSIZ)
			continue;
		memcpy(buf, mnl_attr_get_payload(data[NFTA_DATA_VALUE]), IFNAMSIZ);
		buf[IFNAMSIZ - 1] = '\0';
		return;
	}
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rule_list *l = data;
	const struct nlattr *tb[32] = { 0 };
	struct rule_ref *r;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_table_cb, tb) < 0)
		return MNL_CB_ERROR;
	if (!tb[NFTA_RULE_CHAIN] || !tb[NFTA_RULE_HANDLE])
		return MNL_CB_OK;
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	if (!l->v)
		abort();
	r = &l->v[l->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->chain, sizeof(r->chain), "%s", mnl_attr_get_str(tb[NFTA_RULE_CHAIN]));
	r->handle = be64toh(mnl_attr_get_u64(tb[NFTA_RULE_HANDLE]));
	if (tb[NFTA_RULE_USERDATA])
		udata_comment(tb[NFTA_RULE_USERDATA], r->comment, sizeof(r->comment));
	if (tb[NFTA_RULE_EXPRESSIONS]) {
		rule_target(tb[NFTA_RULE_EXPRESSIONS], &r->target);
		rule_ifname(tb[NFTA_RULE_EXPRESSIONS], r->ifname);
	}
	return MNL_CB_OK;
}

/* One nf_tables request about table inet cell: a rule dump, or a table
 * get. Returns 0, or -ENOENT when there is no table (no error set). */
static int nfnl_request(uint16_t type, uint16_t flags, mnl_cb_t cb, void *data, const char *what, cell_error **err)
{
	_cleanup_free_ char *buf = xmalloc(MNL_SOCKET_BUFFER_SIZE);
	struct mnl_socket *sock;
	int r = 0;

	for (int tries = 0;; tries++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct nfgenmsg *g;
		uint32_t seq = (uint32_t)time(NULL) + (uint32_t)tries, portid;
		ssize_t n;

		sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
		if (!sock)
			return cell_error_errno(err, errno, "nftables: %s: open netfilter netlink socket", what);
		if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
			r = cell_error_errno(err, errno, "nftables: %s: bind netfilter netlink socket", what);
			mnl_socket_close(sock);
			return r;
		}
		portid = mnl_socket_get_portid(sock);
		nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
		nlh->nlmsg_flags = NLM_F_REQUEST | flags;
		nlh->nlmsg_seq = seq;
		g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
		g->nfgen_family = NFPROTO_INET;
		g->version = NFNETLINK_V0;
		g->res_id = 0;
		/* NFTA_RULE_TABLE and NFTA_TABLE_NAME are both attribute 1 */
		mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, "cell");
		r = 0;
		if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0)
			r = -errno;
		while (r == 0) {
			n = mnl_socket_recvfrom(sock, buf, MNL_SOCKET_BUFFER_SIZE);
			if (n < 0) {
				r = -errno;
				break;
			}
			int c = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
			if (c < 0)
				r = -errno;
			else if (c == MNL_CB_STOP)
				break;
		}
		mnl_socket_close(sock);
		/* a dump racing with a ruleset change is interrupted: start again */
		if (r != -EINTR || tries == 5)
			break;
		if (cb == rule_cb)
			rule_list_free(data);
	}
	if (r == -ENOENT)
		return -ENOENT;
	if (r < 0)
		return cell_error_errno(err, -r, "nftables: %s", what);
	return 0;
}

static int rules_list(struct rule_list *ret, cell_error **err)
{
	memset(ret, 0, sizeof(*ret));
	int r = nfnl_request(NFT_MSG_GETRULE, NLM_F_DUMP, rule_cb, ret, "list table inet cell", err);
	if (r == -ENOENT)
		return 0;	/* no table, no rules */
	if (r < 0)
		rule_list_free(ret);
	return r;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

/* 1 when table inet cell exists, 0 when not, -1 on error. */
static int table_exists(cell_error **err)
{
	int r = nfnl_request(NFT_MSG_GETTABLE, NLM_F_ACK, noop_cb, NULL, "get table inet cell", err);
	return r == -ENOENT ? 0 : r < 0 ? -1 : 1;
}

/* ---- which rules ---- */

/* A network's rules: "cell-net:<name>@<bridge>" (the bridge tells roots
 * apart: two roots may both have a network called `bench`, and the default
 * network of each root has its own bridge); "cell-net:<name>" was the
 * form before, without the bridge. */
static void net_comment(const struct cell_network *n, char *buf, size_t len)
{
	snprintf(buf, len, "cell-net:%s@%s", n->name, n->bridge);
}

enum match { MATCH_EXACT, MATCH_NET_NAME, MATCH_NET_BRIDGE, MATCH_NET_OWN };

static bool rule_matches(const struct rule_ref *r, enum match how, const char *what)
{
	const char *c = r->comment;
	size_t l = strlen(what);
	switch (how) {
	case MATCH_EXACT:
		return streq(c, what);
	case MATCH_NET_NAME:	/* what = "cell-net:<name>": with or without "@<bridge>" */
		return strncmp(c, what, l) == 0 && (c[l] == '\0' || c[l] == '@');
	case MATCH_NET_OWN: {	/* what = "cell-net:<name>@<bridge>": it, or "cell-net:<name>" on that
				 * bridge (another root's network of that name has another bridge) */
		const char *at = strrchr(what, '@');
		return streq(c, what) || (at && strlen(c) == (size_t)(at - what) && strncmp(c, what, at - what) == 0 &&
					  streq(r->ifname, at + 1));
	}
	case MATCH_NET_BRIDGE: {	/* what = "@<bridge>" */
		size_t cl = strlen(c);
		return strncmp(c, "cell-net:", 9) == 0 && cl > l && streq(c + cl - l, what);
	}
	}
	return false;
}

/* Write "delete rule" commands for the rules that match to f; count the
 * rules of the other networks in *ret_nets, the matching ones in *ret_own. */
static int collect_deletes_how(enum match how, const char *what, FILE *f, struct rule_list *match, int *ret_nets,
			       int *ret_own, cell_error **err)
{
	struct rule_list l;
	int nets = 0, own = 0;

	if (rules_list(&l, err) < 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		const struct rule_ref *r = &l.v[i];
		if (!rule_matches(r, how, what)) {
			if (strncmp(r->comment, "cell-net:", 9) == 0)
				nets++;
			continue;
		}
		/* a rule of the old form counts as missing: it is replaced */
		own += how == MATCH_NET_OWN && !streq(r->comment, what) ? 1000 : 1;
		if (f)
			fprintf(f, "delete rule " TABLE " %s handle %llu\n", r->chain, (unsigned long long)r->handle);
		if (match) {
			match->v = realloc(match->v, (match->n + 1) * sizeof(*match->v));
			if (!match->v)
				abort();
			match->v[match->n++] = *r;
		}
	}
	rule_list_free(&l);
	if (ret_nets)
		*ret_nets = nets;
	if (ret_own)
		*ret_own = own;
	return 0;
}

/* Run commands as one nftables transaction: all or nothing, so replacing a
 * network's rules never leaves an instant without its masquerade. */
static int run_batch(const char *cmds, const char *what, cell_error **err)
{
	struct nft tn = { 0 };
	int r;

	if (!cmds || !*cmds)
		return 0;
	if (nft_open(&tn, false, err) < 0)
		return -1;
	r = nft_run(&tn, cmds, what, err);
	nft_close(&tn);
	return r;
}

/* Delete rules by handle in one nf_tables transaction sent over netlink:
 * libnftables would first fill a cache of the whole ruleset (every rule of
 * every table, parsed back), 5-10 ms for a few DELRULE messages. */
static int delete_rules(const struct rule_list *l, const char *what, cell_error **err)
{
	size_t size = MNL_SOCKET_BUFFER_SIZE + l->n * 256;
	_cleanup_free_ char *buf = xmalloc(size);
	struct mnl_nlmsg_batch *b;
	struct mnl_socket *sock;
	uint32_t seq = (uint32_t)time(NULL);
	size_t replies = 0;
	int r = 0;

	if (l->n == 0)
		return 0;
	sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!sock)
		return cell_error_errno(err, errno, "nftables: %s: open netfilter netlink socket", what);
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = cell_error_errno(err, errno, "nftables: %s: bind netfilter netlink socket", what);
		mnl_socket_close(sock);
		return r;
	}
	b = mnl_nlmsg_batch_start(buf, size);
	for (size_t i = 0; i <= l->n + 1; i++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
		struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
		nlh->nlmsg_seq = seq + (uint32_t)i;
		nlh->nlmsg_flags = NLM_F_REQUEST;
		g->version = NFNETLINK_V0;
		if (i == 0 || i == l->n + 1) {	/* the transaction's begin and end */
			nlh->nlmsg_type = i == 0 ? NFNL_MSG_BATCH_BEGIN : NFNL_MSG_BATCH_END;
			g->nfgen_family = AF_UNSPEC;
			g->res_id = htons(NFNL_SUBSYS_NFTABLES);
		} else {
			const struct rule_ref *rr = &l->v[i - 1];
			nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELRULE;
			nlh->nlmsg_flags |= NLM_F_ACK;
			g->nfgen_family = NFPROTO_INET;
			g->res_id = 0;
			mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, "cell");
			mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, rr->chain);
			mnl_attr_put_u64(nlh, NFTA_RULE_HANDLE, htobe64(rr->handle));
		}
		mnl_nlmsg_batch_next(b);
	}
	if (mnl_socket_sendto(sock, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0)
		r = -errno;
	mnl_nlmsg_batch_stop(b);
	/* one reply per DELRULE: its ack, or its error (then nothing is done) */
	while (r == 0 && replies < l->n) {
		ssize_t n = mnl_socket_recvfrom(sock, buf, MNL_SOCKET_BUFFER_SIZE);
		if (n < 0) {
			r = -errno;
			break;
		}
		for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, (int)n);
		     nlh = mnl_nlmsg_next(nlh, (int *)&n)) {
			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			replies++;
			if (e->error && !r)
				r = e->error;
		}
	}
	mnl_socket_close(sock);
	if (r < 0)
		return cell_error_errno(err, -r, "nftables: %s: delete %zu rule%s", what, l->n, l->n > 1 ? "s" : "");
	return 0;
}

static int delete_matching(enum match how, const char *what, int *ret_nets, cell_error **err)
{
	struct rule_list match = { 0 };
	cell_error *e = NULL;
	int r;

	/* twice at most: a rule deleted meanwhile by someone else (prune)
	 * fails the whole transaction with ENOENT */
	for (int tries = 0;; tries++) {
		r = collect_deletes_how(how, what, NULL, &match, ret_nets, NULL, err);
		if (r == 0)
			r = delete_rules(&match, what, &e);
		rule_list_free(&match);
		if (r == 0 || !e || cell_error_code(e) != ENOENT || tries == 1)
			break;
		cell_error_free(&e);
	}
	if (e)
		*err = e;
	return r;
}

/* Table and chains; `add` is a no-op for what exists. The two jump chains
 * hold nothing but their jump, so flush + add keeps them at one rule. */
static const char base_cmds[] =
	"add table " TABLE "\n"
	"add chain " TABLE " prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
	"add chain " TABLE " output { type nat hook output priority -100; policy accept; }\n"
	"add chain " TABLE " postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
	"add chain " TABLE " forward { type filter hook forward priority filter; policy accept; }\n"
	"add chain " TABLE " input { type filter hook input priority filter; policy accept; }\n"
	"add chain " TABLE " published\n"
	"flush chain " TABLE " prerouting\n"
	"flush chain " TABLE " output\n"
	"add rule " TABLE " prerouting fib daddr type local jump published\n"
	"add rule " TABLE " output fib daddr type local jump published\n";

/* The network's rules, one per line, each ending in its comment. */
static int network_rules(const struct cell_network *n, const char *cmt, FILE *f)
{
	char sub[64];
	const char *br = n->bridge;
	int k = 0;

	cell_prefix_str(&n->subnet, true, sub, sizeof(sub));
#define RULE(...) (fprintf(f, "add rule " TABLE " " __VA_ARGS__), fprintf(f, " comment \"%s\"\n", cmt), k++)
	RULE("postrouting oifname \"%s\" ip saddr 127.0.0.0/8 masquerade", br);
	RULE("postrouting oifname \"%s\" ip saddr %s ct status dnat masquerade", br, sub);
	/* the reply to a connection to a port published on 127.0.0.1 comes
	 * back to 127.0.0.1 through the bridge: its conntrack entry is DNAT */
	RULE("input iifname \"%s\" ip daddr 127.0.0.0/8 ct status & dnat == 0 drop", br);
	/* no way from one cell bridge into another: user networks are cb-*,
	 * the default networks of the roots c0-* and cell0 */
	RULE("forward iifname \"%s\" oifname != \"%s\" oifname \"cb-*\" drop", br, br);
	RULE("forward iifname \"%s\" oifname != \"%s\" oifname \"c0-*\" drop", br, br);
	if (!streq(br, CELL_DEFAULT_NETWORK))
		RULE("forward iifname \"%s\" oifname \"" CELL_DEFAULT_NETWORK "\" drop", br);
	if (n->subnet6.family) {
		char sub6[64];
		cell_prefix_str(&n->subnet6, true, sub6, sizeof(sub6));
		/* a published port reached from ::1 or the host's own address */
		RULE("postrouting oifname \"%s\" ip6 saddr ::1 masquerade", br);
		RULE("postrouting oifname \"%s\" ip6 saddr %s ct status dnat masquerade", br, sub6);
		if (!n->internal)
			RULE("postrouting ip6 saddr %s oifname != \"%s\" masquerade", sub6, br);
	}
	if (n->internal) {
		RULE("forward iifname \"%s\" oifname != \"%s\" drop", br, br);
		RULE("forward oifname \"%s\" iifname != \"%s\" drop", br, br);
	} else {
		/* from outside: replies and published ports only. One drop rule
		 * with the exceptions in it, no accept: an accept would end the
		 * chain before another network's drops */
		if (!n->unprotected4)
			RULE("forward oifname \"%s\" iifname != \"%s\" meta nfproto ipv4 "
			     "ct state & (established | related) == 0 ct status & dnat == 0 drop", br, br);
		if (n->subnet6.family && !n->unprotected6)
			RULE("forward oifname \"%s\" iifname != \"%s\" meta nfproto ipv6 "
			     "ct state & (established | related) == 0 ct status & dnat == 0 drop", br, br);
		RULE("postrouting ip saddr %s oifname != \"%s\" masquerade", sub, br);
	}
#undef RULE
	return k;
}

int cell_nft_network_ensure(const struct cell_network *n, cell_error **err)
{
	char cmt[160];
	char *cmds = NULL, *rules = NULL;
	size_t len = 0, rlen = 0;
	FILE *f, *rf;
	int r, own = 0, want;

	net_comment(n, cmt, sizeof(cmt));
	rf = open_memstream(&rules, &rlen);
	want = network_rules(n, cmt, rf);
	fclose(rf);
	f = open_memstream(&cmds, &len);
	/* replace, never duplicate, the network's rules, in one transaction;
	 * the rules of the form without the bridge go too */
	if (collect_deletes_how(MATCH_NET_OWN, cmt, f, NULL, NULL, &own, err) < 0) {
		fclose(f);
		free(cmds);
		free(rules);
		return cell_error_wrap(err, "network `%s`", n->name);
	}
	if (own == want) {
		/* all there (every attach calls this): nothing to commit, and
		 * libnftables is never loaded */
		fclose(f);
		free(cmds);
		free(rules);
		return 0;
	}
	fputs(base_cmds, f);
	fputs(rules, f);
	fclose(f);
	r = run_batch(cmds, cmt, err);
	free(cmds);
	free(rules);
	return r;
}

int cell_nft_table_del(cell_error **err)
{
	struct nft tn = { 0 };
	int r = table_exists(err);

	if (r <= 0)
		return r;
	if (nft_open(&tn, false, err) < 0)
		return -1;
	r = nft_run(&tn, "delete table " TABLE, "delete table inet cell", err);
	nft_close(&tn);
	return r;
}

static int table_del_if_unused(int left, cell_error **err)
{
	/* counted in the table, not in one root's files: several roots (tests,
	 * a second engine) share table inet cell */
	return left == 0 ? cell_nft_table_del(err) : 0;
}

int cell_nft_network_del(const char *name, cell_error **err)
{
	char what[96];
	int left = 0;

	snprintf(what, sizeof(what), "cell-net:%s", name);
	if (delete_matching(MATCH_NET_NAME, what, &left, err) < 0)
		return -1;
	return table_del_if_unused(left, err);
}

int cell_nft_bridge_del(const char *bridge, cell_error **err)
{
	char what[IFNAMSIZ + 2];
	int left = 0;

	snprintf(what, sizeof(what), "@%s", bridge);
	if (delete_matching(MATCH_NET_BRIDGE, what, &left, err) < 0)
		return -1;
	return table_del_if_unused(left, err);
}

int cell_nft_container_add(const char *id, const struct cell_prefix *ip,
			   const struct cell_port *ports, size_t n, cell_error **err)
{
	char cmt[128], a[64], a6[64] = "";
	char *cmds = NULL;
	size_t len = 0;
	struct cell_prefix ip6 = { 0 };
	FILE *f;
	int r;

	if (n == 0)
		return 0;
	snprintf(cmt, sizeof(cmt), "cell-ctr:%s", id);
	cell_prefix_str(ip, false, a, sizeof(a));
	if (net_ip6_of(ip, &ip6, err) < 0)
		return -1;
	if (ip6.family)
		cell_prefix_str(&ip6, false, a6, sizeof(a6));
	f = open_memstream(&cmds, &len);
	/* no base_cmds here: the network setup just made table and chains, and
	 * re-flushing the hooked chains made this commit 4x slower */
	for (size_t i = 0; i < n; i++) {
		const struct cell_port *p = &ports[i];
		const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";
		const char *hip = p->host_ip;
		bool v6 = strchr(hip, ':') != NULL, all = !hip[0];
		/* no address: both families, as Docker with ip6tables; 0.0.0.0
		 * or [::]: that family only */
		if (!v6)
			fprintf(f, "add rule " TABLE " published %s%s %s dport %u dnat ip to %s:%u comment \"%s\"\n",
				all || streq(hip, "0.0.0.0") ? "meta nfproto ipv4" : "ip daddr ",
				all || streq(hip, "0.0.0.0") ? "" : hip, proto, p->host_port, a, p->port, cmt);
		if (v6 && !a6[0]) {
			fclose(f);
			free(cmds);
			return cell_error_set(err, "-p [%s]:%u: the network has no IPv6 (create it with --ipv6)", hip,
					      p->host_port);
		}
		/* never ::1: the reply, un-NATed to ::1, would come in on the
		 * bridge, and the kernel drops loopback addresses arriving on
		 * any other interface (RFC 4291 2.5.3; IPv6 has no
		 * route_localnet). Left alone, [::1]:PORT is refused at once
		 * instead of hanging. */
		if (a6[0] && (v6 || all))
			fprintf(f, "add rule " TABLE " published %s%s %s dport %u dnat ip6 to [%s]:%u comment \"%s\"\n",
				all || streq(hip, "::") ? "ip6 daddr != ::1" : "ip6 daddr ",
				all || streq(hip, "::") ? "" : hip, proto, p->host_port, a6, p->port, cmt);
	}
	fclose(f);
	r = run_batch(cmds, cmt, err);
	free(cmds);
	return r;
}

int cell_nft_container_del(const char *id, cell_error **err)
{
	char cmt[128];
	snprintf(cmt, sizeof(cmt), "cell-ctr:%s", id);
	return delete_matching(MATCH_EXACT, cmt, NULL, err);
}

char *cell_nft_table_text(cell_error **err)
{
	struct nft tn = { 0 };
	char *s = NULL;
	int r = table_exists(err);

	if (r <= 0)
		return NULL;
	if (nft_open(&tn, false, err) < 0)
		return NULL;
	if (nft_run(&tn, "list table " TABLE, "list table inet cell", err) == 0)
		s = xstrdup(nft_ctx_get_output_buffer(tn.ctx));
	nft_close(&tn);
	return s;
}

/* ---- orphans ---- */

/* A network's rules whose bridge is gone, a container's DNAT rules whose
 * target is on no cell bridge any more: what a root deleted without
 * `network rm`, or a crash, left behind. bridge_alive says whether a
 * bridge still belongs to a network; targets are checked against the
 * subnets of the bridges that do. */
int cell_nft_prune(bool (*bridge_alive)(const char *bridge, void *data), void *data,
		   const struct cell_prefix *live, size_t n_live, cell_error **err)
{
	struct rule_list l, gone = { 0 };
	int nets = 0, r;

	if (rules_list(&l, err) < 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		const struct rule_ref *rr = &l.v[i];
		bool orphan = false;
		if (strncmp(rr->comment, "cell-net:", 9) == 0) {
			const char *at = strrchr(rr->comment, '@');
			/* the form without the bridge is left to `network rm` */
			orphan = at && !bridge_alive(at + 1, data);
			if (!orphan)
				nets++;
		} else if (strncmp(rr->comment, "cell-ctr:", 9) == 0 && rr->target.family) {
			orphan = true;
			for (size_t j = 0; j < n_live && orphan; j++)
				if (live[j].family == rr->target.family && cell_prefix_contains(&live[j], &rr->target))
					orphan = false;
		}
		if (orphan) {
			gone.v = realloc(gone.v, (gone.n + 1) * sizeof(*gone.v));
			if (!gone.v)
				abort();
			gone.v[gone.n++] = *rr;
		}
	}
	rule_list_free(&l);
	r = delete_rules(&gone, "remove orphaned rules", err);
	int count = (int)gone.n;
	rule_list_free(&gone);
	if (r < 0)
		return -1;
	if (count && table_del_if_unused(nets, err) < 0)
		return -1;
	return count;
}
