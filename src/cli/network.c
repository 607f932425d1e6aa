/* `cell network create|ls|inspect|rm|prune|diagram`. Networks live in
 * <root>/networks (see src/lib/net/ipam.c); this file only parses flags and
 * prints. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "json.h"
#include "net/net.h"
#include "util.h"

static const char network_usage[] =
	"Usage: cell network COMMAND\n\n"
	"Manage bridge networks.\n\n"
	"Commands:\n"
	"  create [--subnet CIDR] [--gateway IP] [--ip-range CIDR] [--internal]\n"
	"         [--ipv6 [--subnet IPV6-CIDR] [--gateway IPV6]] NAME\n"
	"  ls [--format table|json] [-q] [--no-trunc]\n"
	"  inspect NAME...\n"
	"  rm [-f] NAME...\n"
	"  prune             remove leases of dead containers, then unused networks\n"
	"  diagram [--format mermaid|dot]   the live topology, as the seeds draw it\n";

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
		{ "driver", required_argument, NULL, 'd' }, { "ipv6", no_argument, NULL, '6' }, { 0 },
	};
	struct cell_network_opts o = { 0 };
	_cleanup_cell_network_ struct cell_network *n = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (c) {
		/* as Docker: --subnet and --gateway once per address family */
		case 's': if (strchr(optarg, ':')) o.subnet6 = optarg, o.ipv6 = true; else o.subnet = optarg; break;
		case 'g': if (strchr(optarg, ':')) o.gateway6 = optarg; else o.gateway = optarg; break;
		case '6': o.ipv6 = true; break;
		case 'r': o.ip_range = optarg; break;
		case 'i': o.internal = true; break;
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
	json_object *arr = json_object_new_array();
	int r = 0;

	if (argc < 2) {
		json_object_put(arr);
		cell_error_set(err, "network inspect: expected NAME...");
		return EXIT_CELL;
	}
	for (int i = 1; i < argc; i++) {
		_cleanup_cell_network_ struct cell_network *n = NULL;
		if (cell_network_load(cell_globals.root, argv[i], &n, err) < 0) {
			r = EXIT_CELL;
			break;
		}
		json_object_array_add(arr, cell_network_json(cell_globals.root, n));
	}
	if (r == 0)
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
		if (cell_network_remove(cell_globals.root, argv[i], force, err) < 0)
			return EXIT_CELL;
		printf("%s\n", argv[i]);
	}
	return r;
}

static int net_prune(int argc, char **argv, cell_error **err)
{
	_cleanup_strv_ char **names = NULL;
	int dead = cell_net_prune_leases(cell_globals.root, err);
	bool header = false;

	if (dead < 0)
		return EXIT_CELL;
	if (dead > 0)
		printf("Released %d lease%s of containers that are gone\n", dead, dead > 1 ? "s" : "");
	if (cell_network_list(cell_globals.root, &names, err) < 0)
		return EXIT_CELL;
	for (char **it = names; *it; it++) {
		struct cell_lease *l = NULL;
		size_t nl = 0;
		if (streq(*it, CELL_DEFAULT_NETWORK))
			continue;	/* the default network stays, as Docker's bridge does */
		if (cell_lease_list(cell_globals.root, *it, &l, &nl, err) < 0)
			return EXIT_CELL;
		cell_lease_list_free(l, nl);
		if (nl)
			continue;
		if (cell_network_remove(cell_globals.root, *it, false, err) < 0)
			return EXIT_CELL;
		if (!header)
			printf("Deleted Networks:\n");
		header = true;
		printf("%s\n", *it);
	}
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
	for (char **it = names; *it; it++) {
		_cleanup_cell_network_ struct cell_network *n = NULL;
		struct cell_lease *l = NULL;
		size_t nl_ = 0;
		char br[96], v[96], gw[64], sub[64];
		if (cell_network_load(cell_globals.root, *it, &n, err) < 0 ||
		    cell_lease_list(cell_globals.root, n->name, &l, &nl_, err) < 0)
			goto fail;
		ident(br, sizeof(br), "br_", n->bridge);
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
	cell_error_set(err, "network: unknown command `%s` (see `cell network --help`)", sub);
	return EXIT_CELL;
}
