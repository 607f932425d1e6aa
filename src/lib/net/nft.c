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
 *                               every network: drop traffic to another cell bridge
 *
 * Commands go through nft_run_cmd_from_buffer() (libnftables' text API; no
 * nft process). Rules are found again by their comment in the JSON listing
 * (`-j -a`) and deleted by handle, so one container's or one network's
 * rules go without touching the rest. Nothing outside table `inet cell` is
 * ever read or changed. */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "dl-nft.h"
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

static bool table_exists(struct nft *jn, cell_error **err)
{
	json_object *root = NULL, *arr;
	bool found = false;

	if (nft_run(jn, "list tables inet", "list tables", err) < 0)
		return false;
	root = json_tokener_parse(nft_ctx_get_output_buffer(jn->ctx));
	if (root && json_object_object_get_ex(root, "nftables", &arr) && json_object_is_type(arr, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *it = json_object_array_get_idx(arr, i), *t, *name;
			if (json_object_object_get_ex(it, "table", &t) && json_object_object_get_ex(t, "name", &name) &&
			    streq(json_object_get_string(name), "cell"))
				found = true;
		}
	}
	json_object_put(root);
	return found;
}

/* Write "delete rule" commands for every rule whose comment is exactly
 * `comment` to f; count the rules of other networks in *ret_nets. */
static int collect_deletes_n(const char *comment, FILE *f, int *ret_nets, int *ret_own, cell_error **err)
{
	struct nft jn = { 0 };
	json_object *root = NULL, *arr;
	cell_error *e = NULL;
	int nets = 0, own = 0, r = -1;

	if (nft_open(&jn, true, err) < 0)
		return -1;
	if (!table_exists(&jn, &e)) {
		if (e) {
			*err = e;
			goto out;
		}
		r = 0;	/* no table, nothing to delete */
		goto out;
	}
	if (nft_run(&jn, "list table " TABLE, "list table inet cell", err) < 0)
		goto out;
	root = json_tokener_parse(nft_ctx_get_output_buffer(jn.ctx));
	if (root && json_object_object_get_ex(root, "nftables", &arr) && json_object_is_type(arr, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *it = json_object_array_get_idx(arr, i), *rule, *c, *h, *chain;
			const char *cs;
			if (!json_object_object_get_ex(it, "rule", &rule) ||
			    !json_object_object_get_ex(rule, "comment", &c))
				continue;
			cs = json_object_get_string(c);
			if (!streq(cs, comment)) {
				if (strncmp(cs, "cell-net:", 9) == 0)
					nets++;
				continue;
			}
			if (!json_object_object_get_ex(rule, "handle", &h) ||
			    !json_object_object_get_ex(rule, "chain", &chain))
				continue;
			own++;
			fprintf(f, "delete rule " TABLE " %s handle %lld\n", json_object_get_string(chain),
				(long long)json_object_get_int64(h));
		}
	}
	r = 0;
out:
	if (ret_nets)
		*ret_nets = nets;
	if (ret_own)
		*ret_own = own;
	json_object_put(root);
	nft_close(&jn);
	return r;
}

static int collect_deletes(const char *comment, FILE *f, int *ret_nets, cell_error **err)
{
	return collect_deletes_n(comment, f, ret_nets, NULL, err);
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

static int delete_by_comment(const char *comment, int *ret_nets, cell_error **err)
{
	char *cmds = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&cmds, &len);
	int r = collect_deletes(comment, f, ret_nets, err);
	fclose(f);
	if (r == 0)
		r = run_batch(cmds, comment, err);
	free(cmds);
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
	"add chain " TABLE " published\n"
	"flush chain " TABLE " prerouting\n"
	"flush chain " TABLE " output\n"
	"add rule " TABLE " prerouting fib daddr type local jump published\n"
	"add rule " TABLE " output fib daddr type local jump published\n";

static int network_add(const struct cell_network *n, bool force, cell_error **err)
{
	char sub[64], cmt[96];
	char *cmds = NULL;
	size_t len = 0;
	FILE *f;
	const char *br = n->bridge;
	int r, own = 0, want;

	cell_prefix_str(&n->subnet, true, sub, sizeof(sub));
	snprintf(cmt, sizeof(cmt), "cell-net:%s", n->name);
	want = 3 + !streq(br, CELL_DEFAULT_NETWORK) + (n->internal ? 2 : 1) +
	       (n->subnet6.family ? (n->internal ? 1 : 2) : 0);
	f = open_memstream(&cmds, &len);
	/* replace, never duplicate, the network's rules, in one transaction */
	if (collect_deletes_n(cmt, f, NULL, &own, err) < 0) {
		fclose(f);
		free(cmds);
		return cell_error_wrap(err, "network `%s`", n->name);
	}
	if (own == want && !force) {
		/* all there (every attach calls this): a commit costs ~10 ms */
		fclose(f);
		free(cmds);
		return 0;
	}
	fputs(base_cmds, f);
	fprintf(f, "add rule " TABLE " postrouting oifname \"%s\" ip saddr 127.0.0.0/8 masquerade comment \"%s\"\n",
		br, cmt);
	fprintf(f, "add rule " TABLE " postrouting oifname \"%s\" ip saddr %s ct status dnat masquerade comment \"%s\"\n",
		br, sub, cmt);
	fprintf(f, "add rule " TABLE " forward iifname \"%s\" oifname != \"%s\" oifname \"cb-*\" drop comment \"%s\"\n",
		br, br, cmt);
	if (!streq(br, CELL_DEFAULT_NETWORK))
		fprintf(f, "add rule " TABLE " forward iifname \"%s\" oifname \"" CELL_DEFAULT_NETWORK "\" drop comment \"%s\"\n",
			br, cmt);
	if (n->subnet6.family) {
		char sub6[64];
		cell_prefix_str(&n->subnet6, true, sub6, sizeof(sub6));
		fprintf(f, "add rule " TABLE " postrouting oifname \"%s\" ip6 saddr %s ct status dnat masquerade comment \"%s\"\n",
			br, sub6, cmt);
		if (!n->internal)
			fprintf(f, "add rule " TABLE " postrouting ip6 saddr %s oifname != \"%s\" masquerade comment \"%s\"\n",
				sub6, br, cmt);
	}
	if (n->internal) {
		fprintf(f, "add rule " TABLE " forward iifname \"%s\" oifname != \"%s\" drop comment \"%s\"\n", br, br, cmt);
		fprintf(f, "add rule " TABLE " forward oifname \"%s\" iifname != \"%s\" drop comment \"%s\"\n", br, br, cmt);
	} else {
		fprintf(f, "add rule " TABLE " postrouting ip saddr %s oifname != \"%s\" masquerade comment \"%s\"\n",
			sub, br, cmt);
	}
	fclose(f);
	r = run_batch(cmds, cmt, err);
	free(cmds);
	return r;
}

int cell_nft_network_add(const struct cell_network *n, cell_error **err)
{
	return network_add(n, true, err);
}

int cell_nft_network_ensure(const struct cell_network *n, cell_error **err)
{
	return network_add(n, false, err);
}

int cell_nft_table_del(cell_error **err)
{
	struct nft jn = { 0 };
	cell_error *e = NULL;
	int r = 0;

	if (nft_open(&jn, true, err) < 0)
		return -1;
	if (table_exists(&jn, &e))
		r = nft_run(&jn, "delete table " TABLE, "delete table inet cell", err);
	else if (e) {
		*err = e;
		r = -1;
	}
	nft_close(&jn);
	return r;
}

int cell_nft_network_del(const char *name, cell_error **err)
{
	char cmt[96];
	int left = 0;

	snprintf(cmt, sizeof(cmt), "cell-net:%s", name);
	if (delete_by_comment(cmt, &left, err) < 0)
		return -1;
	/* counted in the table, not in one root's files: several roots (tests,
	 * a second engine) share table inet cell */
	return left == 0 ? cell_nft_table_del(err) : 0;
}

int cell_nft_container_add(const char *id, const struct cell_prefix *ip,
			   const struct cell_port *ports, size_t n, cell_error **err)
{
	struct nft tn = { 0 };
	char cmt[128], a[64];
	char *cmds = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if (n == 0)
		return 0;
	snprintf(cmt, sizeof(cmt), "cell-ctr:%s", id);
	cell_prefix_str(ip, false, a, sizeof(a));
	f = open_memstream(&cmds, &len);
	/* no base_cmds here: the network setup just made table and chains, and
	 * re-flushing the hooked chains made this commit 4x slower */
	for (size_t i = 0; i < n; i++) {
		const struct cell_port *p = &ports[i];
		const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";
		fprintf(f, "add rule " TABLE " published ");
		if (p->host_ip[0] && !streq(p->host_ip, "0.0.0.0"))
			fprintf(f, "ip daddr %s ", p->host_ip);
		else
			fprintf(f, "meta nfproto ipv4 ");
		fprintf(f, "%s dport %u dnat ip to %s:%u comment \"%s\"\n", proto, p->host_port, a, p->port, cmt);
	}
	fclose(f);
	if (nft_open(&tn, false, err) < 0) {
		free(cmds);
		return -1;
	}
	r = nft_run(&tn, cmds, cmt, err);
	nft_close(&tn);
	free(cmds);
	return r;
}

int cell_nft_container_del(const char *id, cell_error **err)
{
	char cmt[128];
	snprintf(cmt, sizeof(cmt), "cell-ctr:%s", id);
	return delete_by_comment(cmt, NULL, err);
}

char *cell_nft_table_text(cell_error **err)
{
	struct nft jn = { 0 }, tn = { 0 };
	cell_error *e = NULL;
	char *s = NULL;

	if (nft_open(&jn, true, err) < 0)
		return NULL;
	if (!table_exists(&jn, &e)) {
		if (e)
			*err = e;
		goto out;
	}
	if (nft_open(&tn, false, err) < 0)
		goto out;
	if (nft_run(&tn, "list table " TABLE, "list table inet cell", err) == 0)
		s = xstrdup(nft_ctx_get_output_buffer(tn.ctx));
out:
	nft_close(&jn);
	nft_close(&tn);
	return s;
}
