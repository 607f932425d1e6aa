/* A container's /etc/hosts and /etc/resolv.conf, and the hosts files of a
 * network's containers kept current as containers come and go. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipam.h"
#include "net.h"
#include "util.h"

/* ---- hosts files kept current ---- */

/* The leases of `network`, then those of every other network (a network
 * may be listed by its leases alone, without a file: keep it first). */
static int leases_around(const char *root, const char *network, struct cell_lease **ret, size_t *ret_n,
			 cell_error **err)
{
	struct cell_lease *all = NULL, *others = NULL;
	size_t n = 0, no = 0;
	if (cell_lease_list(root, network, &all, &n, err) < 0)
		return -1;
	if (cell_lease_list(root, NULL, &others, &no, err) < 0) {
		cell_lease_list_free(all, n);
		return -1;
	}
	if (no) {
		all = realloc(all, (n + no) * sizeof(*all));
		if (!all)
			abort();
	}
	for (size_t k = 0; k < no; k++) {
		if (streq(others[k].network, network))
			cell_lease_free(&others[k]);
		else
			all[n++] = others[k];
	}
	free(others);
	*ret = all;
	*ret_n = n;
	return 0;
}

/* Every container on the network gets its hosts file rewritten: the one
 * its lease carries (a container on several networks has one file, on the
 * lease of one of them, listing the peers of all). Lock held. A container
 * whose file is gone is skipped: it is stopping. */
int net_refresh_hosts(const char *root, const char *network, cell_error **err)
{
	struct cell_lease *all = NULL;
	size_t n = 0;
	int r = 0;

	if (leases_around(root, network, &all, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && r == 0; i++) {
		char ip[64];
		_cleanup_free_ char *text = NULL;
		cell_error *e = NULL;
		if (!all[i].hosts_path || !*all[i].hosts_path)
			continue;
		bool on = false;
		for (size_t j = 0; j < n && !on; j++)
			on = streq(all[j].container, all[i].container) && streq(all[j].network, network);
		if (!on)
			continue;
		cell_prefix_str(&all[i].ip, false, ip, sizeof(ip));
		text = cell_net_hosts(root, all[i].network, all[i].container, all[i].hostname, ip, all[i].add_hosts,
				      err);
		if (!text) {
			r = -1;
			break;
		}
		if (rewrite_file(all[i].hosts_path, text, &e) < 0) {
			if (cell_error_code(e) == ENOENT) {
				cell_error_free(&e);
				continue;
			}
			*err = e;
			r = -1;
		}
	}
	cell_lease_list_free(all, n);
	return r;
}

/* ---- /etc/hosts and /etc/resolv.conf ---- */

char *cell_net_hosts(const char *root, const char *network, const char *container_id,
		     const char *hostname, const char *ip, char **add_hosts, cell_error **err)
{
	char *s = NULL, a[64];
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	struct cell_lease *all = NULL;
	size_t n = 0;
	struct cell_network *net = NULL;
	cell_error *e = NULL;

	fprintf(f, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	/* every network's leases: the peers are those of each network the
	 * container is on, not only of this one */
	if (root && network && leases_around(root, network, &all, &n, err) < 0) {
		fclose(f);
		free(s);
		return NULL;
	}
	/* on a dual-stack network every name gets its IPv6 line too */
	if (root && network) {
		/* read only: never create cell0 as a side effect (nor take the lock) */
		_cleanup_free_ char *path = xasprintf("%s/networks/%s.json", root, network);
		if (access(path, F_OK) == 0 && cell_network_load(root, network, &net, &e) < 0)
			cell_error_free(&e);
	}
	if (ip && hostname && *hostname) {
		/* its own name, with its aliases on the same line */
		char names[1024];
		size_t used = snprintf(names, sizeof(names), "%s", hostname);
		struct cell_prefix p4, p6;
		for (size_t i = 0; i < n; i++)
			if (container_id && streq(all[i].container, container_id) && streq(all[i].network, network))
				for (char **it = all[i].aliases; it && *it && used < sizeof(names); it++)
					used += snprintf(names + used, sizeof(names) - used, " %s", *it);
		fprintf(f, "%s\t%s\n", ip, names);
		if (net && net->subnet6.family && cell_prefix_parse(ip, &p4, &e) == 0 && p4.family == AF_INET) {
			cell_network_ip6(net, &p4, &p6);
			fprintf(f, "%s\t%s\n", cell_prefix_str(&p6, false, a, sizeof(a)), names);
		}
		cell_error_free(&e);
	}
	for (size_t i = 0; i < n; i++) {
		const struct cell_lease *l = &all[i];
		char names[1024] = "";
		size_t used = 0;
		if (container_id && streq(l->container, container_id))
			continue;
		/* a peer: on this network, or on another the container is on too */
		bool shared = streq(l->network, network);
		for (size_t j = 0; j < n && !shared && container_id; j++)
			shared = streq(all[j].container, container_id) && streq(all[j].network, l->network);
		if (!shared)
			continue;
		if (*l->hostname)
			used += snprintf(names + used, sizeof(names) - used, "%s", l->hostname);
		for (char **it = l->aliases; it && *it && used < sizeof(names); it++)
			used += snprintf(names + used, sizeof(names) - used, "%s%s", used ? " " : "", *it);
		if (!used)
			continue;
		fprintf(f, "%s\t%s\n", cell_prefix_str(&l->ip, false, a, sizeof(a)), names);
		/* its IPv6 line comes from its own network's subnet */
		struct cell_network *ln = NULL;
		if (!streq(l->network, network)) {
			_cleanup_free_ char *path = xasprintf("%s/networks/%s.json", root, l->network);
			if (access(path, F_OK) == 0 && cell_network_load(root, l->network, &ln, &e) < 0)
				cell_error_free(&e);
		}
		const struct cell_network *pn = streq(l->network, network) ? net : ln;
		if (pn && pn->subnet6.family) {
			struct cell_prefix p6;
			cell_network_ip6(pn, &l->ip, &p6);
			fprintf(f, "%s\t%s\n", cell_prefix_str(&p6, false, a, sizeof(a)), names);
		}
		cell_network_free(ln);
	}
	cell_lease_list_free(all, n);
	cell_network_free(net);
	for (char **it = add_hosts; it && *it; it++) {
		/* NAME:IP, where IP may itself hold colons (IPv6): split at the first */
		const char *colon = strchr(*it, ':');
		if (!colon || colon == *it || !colon[1]) {
			fclose(f);
			free(s);
			cell_error_set(err, "--add-host `%s`: expected NAME:IP", *it);
			return NULL;
		}
		fprintf(f, "%s\t%.*s\n", colon + 1, (int)(colon - *it), *it);
	}
	fclose(f);
	return s;
}

char *cell_net_resolv(const char *host_resolv_path, char **dns, char **search, cell_error **err)
{
	return cell_net_resolv_opts(host_resolv_path, dns, search, NULL, err);
}

char *cell_net_resolv_opts(const char *host_resolv_path, char **dns, char **search, char **options,
			   cell_error **err)
{
	_cleanup_free_ char *host = NULL;
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	bool have_search = search && *search;

	cell_error *e = NULL;
	if (read_file(host_resolv_path ? host_resolv_path : "/etc/resolv.conf", &host, NULL, &e) < 0) {
		cell_error_free(&e);
		host = xstrdup("");
	}
	if (have_search) {
		fprintf(f, "search");
		for (char **it = search; *it; it++)
			fprintf(f, " %s", *it);
		fprintf(f, "\n");
	}
	for (char **it = dns; it && *it; it++)
		fprintf(f, "nameserver %s\n", *it);
	{
		char *save = NULL;
		for (char *line = strtok_r(host, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char ns[128];
			if (sscanf(line, " nameserver %127s", ns) == 1) {
				/* a resolver on the host's loopback is not reachable from the netns */
				if (dns && *dns)
					continue;
				if (strncmp(ns, "127.", 4) == 0 || streq(ns, "::1"))
					continue;
				fprintf(f, "nameserver %s\n", ns);
			} else if (strncmp(line, "search", 6) == 0 || strncmp(line, "domain", 6) == 0) {
				if (!have_search)
					fprintf(f, "%s\n", line);
			} else if (strncmp(line, "options", 7) == 0) {
				if (!(options && *options))
					fprintf(f, "%s\n", line);
			}
		}
	}
	if (options && *options) {
		fprintf(f, "options");
		for (char **it = options; *it; it++)
			fprintf(f, " %s", *it);
		fprintf(f, "\n");
	}
	fclose(f);
	(void)err;
	return s;
}
