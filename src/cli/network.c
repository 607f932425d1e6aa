/* `cell network create|ls|inspect|rm|prune|diagram`. Networks live in
 * <root>/networks (see src/lib/net/ipam.c); this file only parses flags and
 * prints. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "engine/events.h"
#include "engine/engine.h"
#include "json.h"
#include "engine/explain.h"
#include "engine/network.h"
#include "log.h"
#include "net/net.h"
#include "util.h"

static const char network_usage[] =
	"Usage: cell network COMMAND\n\n"
	"Manage bridge networks.\n\n"
	"Commands:\n"
	"  create [--subnet CIDR] [--gateway IP] [--ip-range CIDR] [--internal] [--label K=V]...\n"
	"         [--ipv6 [--subnet IPV6-CIDR] [--gateway IPV6]] [-o KEY=VALUE]...\n"
	"         [--explain [--dry-run]] NAME\n"
	"                    from outside the bridge only published ports are reachable;\n"
	"                    -o com.docker.network.bridge.gateway_mode_ipv4=nat-unprotected\n"
	"                    (and _ipv6) lets hosts that route the subnet here reach any port\n"
	"                    --explain: first print the ip/nft commands that build the\n"
	"                    same network by hand; --dry-run: only print them\n"
	"  ls [--format table|json] [-q] [--no-trunc]\n"
	"  inspect NAME...\n"
	"  rm [-f] NAME...\n"
	"  prune             remove leases of dead containers, then unused networks, and the\n"
	"                    bridges, veths and rules of engine roots deleted without `network rm`\n"
	"  diagram [--format mermaid|dot]   the live topology, as the seeds draw it\n"
	"  connect [--ip IP] [--alias NAME]... [-p [IP:]HOSTPORT:PORT[/udp]]... NETWORK CONTAINER\n"
	"                    join a running container to a network: a veth pair on the\n"
	"                    network's bridge, eth0 inside (eth1, eth2... when it has\n"
	"                    one), an address, /etc/hosts and /etc/resolv.conf rewritten\n"
	"  disconnect NETWORK CONTAINER\n"
	"                    leave that network only (its interface, lease, published\n"
	"                    ports); the container's other networks stay\n";

static bool help_asked(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (streq(argv[i], "--help") || streq(argv[i], "-h"))
			return true;
	return false;
}

static int net_create(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "subnet", required_argument, NULL, 's' }, { "gateway", required_argument, NULL, 'g' },
		{ "ip-range", required_argument, NULL, 'r' }, { "internal", no_argument, NULL, 'i' },
		{ "driver", required_argument, NULL, 'd' }, { "ipv6", no_argument, NULL, '6' },
		{ "explain", no_argument, NULL, 'x' }, { "dry-run", no_argument, NULL, 'n' },
		{ "opt", required_argument, NULL, 'o' }, { "label", required_argument, NULL, 'l' }, { 0 },
	};
	struct cell_network_opts o = { 0 };
	_cleanup_free_ char **labels = NULL;
	_cleanup_cell_network_ struct cell_network *n = NULL;
	bool explain = false, dry_run = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:o:", opts, NULL)) != -1) {
		switch (c) {
		/* as Docker: --subnet and --gateway once per address family */
		case 's': if (strchr(optarg, ':')) o.subnet6 = optarg, o.ipv6 = true; else o.subnet = optarg; break;
		case 'g': if (strchr(optarg, ':')) o.gateway6 = optarg; else o.gateway = optarg; break;
		case '6': o.ipv6 = true; break;
		case 'r': o.ip_range = optarg; break;
		case 'i': o.internal = true; break;
		case 'o':
			if (cell_network_opt_parse(&o, optarg, err) < 0)
				return EXIT_CELL;
			break;
		case 'l': cli_strv_push(&labels, optarg); o.labels = labels; break;
		case 'x': explain = true; break;
		case 'n': dry_run = true; break;
		case 'd':
			if (!streq(optarg, "bridge")) {
				cell_error_set(err, "--driver `%s`: only `bridge` is supported", optarg);
				return EXIT_CELL;
			}
			break;
		default: return EXIT_CELL;
		}
	}
	if (argc - optind != 1) {
		cell_error_set(err, "network create: expected one NAME (see `cell network --help`)");
		return EXIT_CELL;
	}
	if (dry_run && !explain) {
		cell_error_set(err, "network create: --dry-run goes with --explain (nothing else to show)");
		return EXIT_CELL;
	}
	if (explain) {
		if (!cell_name_valid(argv[optind])) {
			cell_error_set(err, "network create: invalid name `%s`: use [a-zA-Z0-9][a-zA-Z0-9_.-]*",
				       argv[optind]);
			return EXIT_CELL;
		}
		if (cell_explain_network(stdout, argv[optind], &o, err) < 0)
			return EXIT_CELL;
		fflush(stdout);
		if (dry_run)
			return 0;
	}
	if (cell_network_create(cell_globals.root, argv[optind], &o, &n, err) < 0)
		return EXIT_CELL;
	printf("%s\n", n->id);
	return 0;
}

static int net_ls(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' }, { "quiet", no_argument, NULL, 'q' },
		{ "no-trunc", no_argument, NULL, 'T' }, { 0 },
	};
	_cleanup_strv_ char **names = NULL;
	const char *format = "table";
	bool quiet = false, notrunc = false;
	json_object *arr = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qf:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'q': quiet = true; break;
		case 'T': notrunc = true; break;
		default: return EXIT_CELL;
		}
	}
	if (!streq(format, "table") && !streq(format, "json")) {
		cell_error_set(err, "--format `%s`: expected table or json", format);
		return EXIT_CELL;
	}
	if (cell_network_list(cell_globals.root, &names, err) < 0)
		return EXIT_CELL;
	if (streq(format, "json"))
		arr = json_object_new_array();
	else if (!quiet)
		printf("%-12s  %-16s  %-7s  %-18s  %-15s  %-14s  %s\n", "NETWORK ID", "NAME", "DRIVER", "SUBNET",
		       "GATEWAY", "BRIDGE", "CONTAINERS");
	for (char **it = names; *it; it++) {
		_cleanup_cell_network_ struct cell_network *n = NULL;
		struct cell_lease *l = NULL;
		size_t nl = 0;
		char sub[64], gw[64];
		if (cell_network_load(cell_globals.root, *it, &n, err) < 0) {
			json_object_put(arr);
			return EXIT_CELL;
		}
		if (quiet && !arr) {
			printf("%.*s\n", notrunc ? 64 : 12, n->id);
			continue;
		}
		if (arr) {
			json_object_array_add(arr, cell_network_json(cell_globals.root, n));
			continue;
		}
		if (cell_lease_list(cell_globals.root, n->name, &l, &nl, err) < 0)
			return EXIT_CELL;
		cell_lease_list_free(l, nl);
		printf("%-12.*s  %-16s  %-7s  %-18s  %-15s  %-14s  %zu%s\n", notrunc ? 64 : 12, n->id, n->name, "bridge",
		       cell_prefix_str(&n->subnet, true, sub, sizeof(sub)),
		       cell_prefix_str(&n->gateway, false, gw, sizeof(gw)), n->bridge, nl, n->internal ? " (internal)" : "");
	}
	if (arr) {
		printf("%s\n", cj_to_string(arr, true));
		json_object_put(arr);
	}
	return 0;
}

static int net_inspect(int argc, char **argv, cell_error **err)
{
	const char *format = NULL;
	int i = 1, r = 0;

	/* -f/--format TEMPLATE: each network through the template, as docker */
	for (; i < argc && argv[i][0] == '-'; i++) {
		if ((streq(argv[i], "-f") || streq(argv[i], "--format")) && i + 1 < argc)
			format = argv[++i];
		else if (strncmp(argv[i], "--format=", 9) == 0)
			format = argv[i] + 9;
		else if (streq(argv[i], "-h") || streq(argv[i], "--help")) {
			printf("Usage: cell network inspect [-f TEMPLATE|json] NAME...\n\n"
			       "The networks as a JSON array, or each through a template ({{.Name}}, {{.IPAM.Config}}).\n");
			return 0;
		} else {
			cell_error_set(err, "network inspect: unknown option `%s` (see `cell network inspect --help`)",
				       argv[i]);
			return EXIT_CELL;
		}
	}
	if (format && streq(format, "json"))
		format = NULL;
	if (i == argc) {
		cell_error_set(err, "network inspect: expected NAME...");
		return EXIT_CELL;
	}
	json_object *arr = json_object_new_array();
	for (; i < argc; i++) {
		_cleanup_cell_network_ struct cell_network *n = NULL;
		if (cell_network_find(cell_globals.root, argv[i], &n, err) < 0) {
			r = EXIT_CELL;
			break;
		}
		json_object_array_add(arr, cell_network_json(cell_globals.root, n));
	}
	if (r == 0 && format)
		for (size_t k = 0; k < json_object_array_length(arr); k++)
			cli_template(stdout, json_object_array_get_idx(arr, k), format), fputc('\n', stdout);
	else if (r == 0)
		printf("%s\n", cj_to_string(arr, true));
	json_object_put(arr);
	return r;
}

static int net_rm(int argc, char **argv, cell_error **err)
{
	bool force = false;
	int i = 1, r = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (streq(argv[i], "-f") || streq(argv[i], "--force"))
			force = true;
		else {
			cell_error_set(err, "network rm: unknown option `%s`", argv[i]);
			return EXIT_CELL;
		}
	}
	if (i == argc) {
		cell_error_set(err, "network rm: expected NAME...");
		return EXIT_CELL;
	}
	for (; i < argc; i++) {
		_cleanup_cell_network_ struct cell_network *n = NULL;
		if (cell_network_find(cell_globals.root, argv[i], &n, err) < 0 ||
		    cell_network_remove(cell_globals.root, n->name, force, err) < 0)
			return EXIT_CELL;
		printf("%s\n", argv[i]);
	}
	return r;
}

static int net_prune(int argc, char **argv, cell_error **err)
{
	_cleanup_strv_ char **gone = NULL;
	int dead = 0, orphans = 0;

	if (cell_network_prune(cell_globals.root, NULL, &gone, &dead, &orphans, err) < 0)
		return EXIT_CELL;
	if (dead > 0)
		printf("Released %d lease%s of containers that are gone\n", dead, dead > 1 ? "s" : "");
	/* bridges, veths and rules of engine roots that were deleted */
	if (orphans > 0)
		printf("Removed %d bridge%s or rule%s left by deleted engine roots\n", orphans, orphans > 1 ? "s" : "",
		       orphans > 1 ? "s" : "");
	if (gone[0])
		printf("Deleted Networks:\n");
	for (char **it = gone; *it; it++)
		printf("%s\n", *it);
	return 0;
}

/* ---- diagram ---- */

/* Mermaid and dot identifiers: letters, digits and '_' only. */
static void ident(char *out, size_t len, const char *prefix, const char *s)
{
	size_t n = snprintf(out, len, "%s", prefix);
	for (; *s && n + 1 < len; s++)
		out[n++] = ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')) ? *s : '_';
	out[n] = '\0';
}

static bool link_exists(const struct cell_link *links, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(links[i].name, name))
			return true;
	return false;
}

static int net_diagram(int argc, char **argv, cell_error **err)
{
	_cleanup_strv_ char **names = NULL;
	_cleanup_cell_nl_ struct cell_nl *nl = NULL;
	struct cell_link *links = NULL;
	size_t n_links = 0;
	bool dot = false;

	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "--format") && i + 1 < argc) {
			const char *f = argv[++i];
			if (streq(f, "dot"))
				dot = true;
			else if (!streq(f, "mermaid")) {
				cell_error_set(err, "--format `%s`: expected mermaid or dot", f);
				return EXIT_CELL;
			}
		} else if (streq(argv[i], "--format=dot")) {
			dot = true;
		} else if (!streq(argv[i], "--format=mermaid")) {
			cell_error_set(err, "network diagram: unknown argument `%s`", argv[i]);
			return EXIT_CELL;
		}
	}
	if (cell_network_list(cell_globals.root, &names, err) < 0 || cell_nl_open(-1, &nl, err) < 0 ||
	    cell_link_list(nl, &links, &n_links, err) < 0)
		return EXIT_CELL;
	printf(dot ? "digraph cell {\n  rankdir=LR;\n  node [shape=box];\n  subgraph cluster_host {\n    label=\"host\";\n"
		   : "flowchart LR\n  subgraph host[\"host\"]\n    direction TB\n");
	{
		/* the uplink is the interface of the IPv4 default route */
		struct cell_route *rt = NULL;
		size_t nrt = 0;
		const char *up = "no default route";
		if (cell_route_list(nl, AF_INET, &rt, &nrt, err) < 0) {
			free(links);
			return EXIT_CELL;
		}
		for (size_t i = 0; i < nrt; i++)
			if (rt[i].dst.len == 0 && rt[i].table == RT_TABLE_MAIN)
				for (size_t j = 0; j < n_links; j++)
					if (links[j].index == rt[i].oif)
						up = links[j].name;
		printf(dot ? "    uplink [label=\"%s\\n(default route)\"];\n" : "    uplink[[\"%s<br/>(default route)\"]]\n", up);
		free(rt);
	}
	/* host side first: bridges and the veths on them */
	bool dns_drawn = false;
	for (char **it = names; *it; it++) {
		_cleanup_cell_network_ struct cell_network *n = NULL;
		struct cell_lease *l = NULL;
		size_t nl_ = 0;
		char br[96], v[96], gw[64], sub[64];
		if (cell_network_load(cell_globals.root, *it, &n, err) < 0 ||
		    cell_lease_list(cell_globals.root, n->name, &l, &nl_, err) < 0)
			goto fail;
		ident(br, sizeof(br), "br_", n->bridge);
		if (cell_net_dns_wanted(n)) {
			/* the root's one resolver, answering on each user network's gateway */
			char ga[64];
			pid_t dp = cell_net_dns_pid(cell_globals.root);
			if (!dns_drawn) {
				char st[48];
				if (dp > 0)
					snprintf(st, sizeof(st), "running, pid %d", (int)dp);
				else
					snprintf(st, sizeof(st), "stopped");
				printf(dot ? "    dns [label=\"cell-dns\\n(%s)\"];\n" : "    dns([\"cell-dns<br/>(%s)\"])\n", st);
				dns_drawn = true;
			}
			cell_prefix_str(&n->gateway, false, ga, sizeof(ga));
			printf(dot ? "    %s -> dns [label=\"DNS %s:53\"];\n" : "    %s -.-|DNS %s:53| dns\n", br, ga);
		}
		cell_prefix_str(&n->gateway, true, gw, sizeof(gw));
		cell_prefix_str(&n->subnet, true, sub, sizeof(sub));
		if (dot)
			printf("    %s [label=\"%s\\n%s\\nnetwork %s%s%s\"];\n", br, n->bridge, gw, n->name,
			       n->internal ? " (internal)" : "", link_exists(links, n_links, n->bridge) ? "" : "\\n(missing)");
		else
			printf("    %s[[\"%s<br/>%s<br/>network %s%s%s\"]]\n", br, n->bridge, gw, n->name,
			       n->internal ? " (internal)" : "", link_exists(links, n_links, n->bridge) ? "" : "<br/>(missing)");
		if (!n->internal)
			printf(dot ? "    %s -> uplink [label=\"masquerade %s\"];\n" : "    %s ---|masquerade %s| uplink\n",
			       br, sub);
		for (size_t i = 0; i < nl_; i++) {
			if (!*l[i].veth)
				continue;
			ident(v, sizeof(v), "veth_", l[i].veth);
			printf(dot ? "    %s [label=\"%s%s\"];\n    %s -> %s [dir=none];\n" : "    %s[[\"%s%s\"]]\n    %s --- %s\n",
			       v, l[i].veth, link_exists(links, n_links, l[i].veth) ? "" : " (missing)", br, v);
		}
		cell_lease_list_free(l, nl_);
	}
	printf(dot ? "  }\n" : "  end\n");
	/* then each container's namespace, joined to its veth */
	for (char **it = names; *it; it++) {
		struct cell_lease *l = NULL;
		size_t nl_ = 0;
		if (cell_lease_list(cell_globals.root, *it, &l, &nl_, err) < 0)
			goto fail;
		for (size_t i = 0; i < nl_; i++) {
			char c[160], v[96], ip[64];
			const char *label = *l[i].hostname ? l[i].hostname : l[i].container;
			ident(c, sizeof(c), "ns_", l[i].container);
			ident(v, sizeof(v), "veth_", l[i].veth);
			cell_prefix_str(&l[i].ip, true, ip, sizeof(ip));
			if (dot)
				printf("  subgraph cluster_%s_%s {\n    label=\"%s\";\n    %s_%s_eth [label=\"eth0\\n%s\\n%s\"];\n"
				       "    %s_%s_lo [label=\"lo\"];\n  }\n  %s -> %s_%s_eth;\n",
				       c, *it, label, c, *it, ip, l[i].mac, c, *it, v, c, *it);
			else
				printf("  subgraph %s_%s[\"%s<br/>%s\"]\n    direction TB\n    %s_%s_lo[/\"lo\"/]\n"
				       "    %s_%s_eth[[\"eth0<br/>%s\"]]\n  end\n  %s --> %s_%s_eth\n",
				       c, *it, label, ip, c, *it, c, *it, l[i].mac, v, c, *it);
		}
		cell_lease_list_free(l, nl_);
	}
	if (dot)
		printf("}\n");
	free(links);
	return 0;
fail:
	free(links);
	return EXIT_CELL;
}

/* ---- connect / disconnect (engine/network.c) ---- */

static int net_connect(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' }, { "alias", required_argument, NULL, 'a' },
		{ "publish", required_argument, NULL, 'p' }, { 0 },
	};
	struct cell_port ports[16];
	_cleanup_strv_ char **aliases = NULL;
	struct cell_connect_opts o = { .ports = ports };
	struct cell_engine *e = NULL;
	int c_, r = EXIT_CELL;

	optind = 1;
	while ((c_ = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		switch (c_) {
		case 'i': o.ip = optarg; break;
		case 'a':
			if (!cell_name_valid(optarg)) {
				cell_error_set(err, "--alias `%s`: expected a name as [a-zA-Z0-9][a-zA-Z0-9_.-]*", optarg);
				return EXIT_CELL;
			}
			cli_strv_push(&aliases, xstrdup(optarg));
			break;
		case 'p':
			if (o.n_ports == ARRAY_SIZE(ports)) {
				cell_error_set(err, "-p `%s`: at most %zu published ports", optarg, ARRAY_SIZE(ports));
				return EXIT_CELL;
			}
			if (cell_port_parse(optarg, &ports[o.n_ports], err) < 0)
				return EXIT_CELL;
			o.n_ports++;
			break;
		default: return EXIT_CELL;
		}
	}
	if (argc - optind != 2) {
		cell_error_set(err, "network connect: expected NETWORK CONTAINER (see `cell network --help`)");
		return EXIT_CELL;
	}
	o.aliases = aliases;
	if (cli_engine_open(&e, err) == 0 && cell_ctr_network_connect(e, argv[optind], argv[optind + 1], &o, err) == 0)
		r = 0;
	cell_engine_free(e);
	return r;
}

static int net_disconnect(int argc, char **argv, cell_error **err)
{
	struct cell_engine *e = NULL;
	int i = 1, r = EXIT_CELL;

	for (; i < argc && argv[i][0] == '-'; i++)
		if (!streq(argv[i], "-f") && !streq(argv[i], "--force")) {	/* Docker's -f: accepted */
			cell_error_set(err, "network disconnect: unknown option `%s`", argv[i]);
			return EXIT_CELL;
		}
	if (argc - i != 2) {
		cell_error_set(err, "network disconnect: expected NETWORK CONTAINER (see `cell network --help`)");
		return EXIT_CELL;
	}
	if (cli_engine_open(&e, err) == 0 && cell_ctr_network_disconnect(e, argv[i], argv[i + 1], err) == 0)
		r = 0;
	cell_engine_free(e);
	return r;
}

int cmd_network(int argc, char **argv, cell_error **err)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (argc < 2 || streq(sub, "--help") || streq(sub, "-h") || streq(sub, "help")) {
		fputs(network_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_CELL : 0;
	}
	if (help_asked(argc - 1, argv + 1)) {
		fputs(network_usage, stdout);
		return 0;
	}
	if (streq(sub, "ls") || streq(sub, "list") || streq(sub, "inspect") || streq(sub, "diagram") ||
	    streq(sub, "connect")) {
		/* the resolver killed while containers still need it: back */
		cell_error *e = NULL;
		if (cell_net_dns_revive(cell_globals.root, &e) < 0) {
			cell_warn("%s", e->msg);
			cell_error_free(&e);
		}
	}
	if (streq(sub, "create"))
		return net_create(argc - 1, argv + 1, err);
	if (streq(sub, "ls") || streq(sub, "list"))
		return net_ls(argc - 1, argv + 1, err);
	if (streq(sub, "inspect"))
		return net_inspect(argc - 1, argv + 1, err);
	if (streq(sub, "rm") || streq(sub, "remove"))
		return net_rm(argc - 1, argv + 1, err);
	if (streq(sub, "prune"))
		return net_prune(argc - 1, argv + 1, err);
	if (streq(sub, "diagram"))
		return net_diagram(argc - 1, argv + 1, err);
	if (streq(sub, "connect"))
		return net_connect(argc - 1, argv + 1, err);
	if (streq(sub, "disconnect"))
		return net_disconnect(argc - 1, argv + 1, err);
	cell_error_set(err, "network: unknown command `%s` (see `cell network --help`)", sub);
	return EXIT_CELL;
}
