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

/* ---- a container's own hosts file ----
 *
 * It lists the container itself and its --add-host lines, as Docker's
 * does: peers are found by DNS (the network's cell-dns), so a start or a
 * removal rewrites no other container's file (that was O(peers) files,
 * each listing every lease: O(peers^2) for a network filled one by one). */

static char *hosts_text(const struct cell_network *net, const char *hostname, const char *ip, char **aliases,
			char **add_hosts, cell_error **err)
{
	char *s = NULL, a[64];
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	cell_error *e = NULL;

	fprintf(f, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	if (ip && hostname && *hostname) {
		/* its own name, with its aliases on the same line */
		char names[1024];
		size_t used = (size_t)snprintf(names, sizeof(names), "%s", hostname);
		struct cell_prefix p4, p6;
		for (char **it = aliases; it && *it && used < sizeof(names); it++)
			if (!streq(*it, hostname))
				used += (size_t)snprintf(names + used, sizeof(names) - used, " %s", *it);
		fprintf(f, "%s\t%s\n", ip, names);
		/* on a dual-stack network its IPv6 line too */
		if (net && net->subnet6.family && cell_prefix_parse(ip, &p4, &e) == 0 && p4.family == AF_INET) {
			cell_network_ip6(net, &p4, &p6);
			fprintf(f, "%s\t%s\n", cell_prefix_str(&p6, false, a, sizeof(a)), names);
		}
		cell_error_free(&e);
	}
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

/* The hosts file a lease carries, rewritten in place (bind mounts see it).
 * A file that is gone is no error: its container is stopping. */
int net_write_hosts(const struct cell_network *net, const struct cell_lease *l, cell_error **err)
{
	char ip[64];
	cell_error *e = NULL;

	if (!l->hosts_path || !*l->hosts_path)
		return 0;
	cell_prefix_str(&l->ip, false, ip, sizeof(ip));
	_cleanup_free_ char *text = hosts_text(net, l->hostname, ip, l->aliases, l->add_hosts, err);
	if (!text)
		return -1;
	if (rewrite_file(l->hosts_path, text, &e) < 0) {
		if (cell_error_code(e) == ENOENT) {
			cell_error_free(&e);
			return 0;
		}
		*err = e;
		return -1;
	}
	return 0;
}

/* ---- /etc/hosts and /etc/resolv.conf ---- */

char *cell_net_hosts(const char *root, const char *network, const char *container_id,
		     const char *hostname, const char *ip, char **add_hosts, cell_error **err)
{
	_cleanup_cell_network_ struct cell_network *net = NULL;
	struct cell_lease *all = NULL;
	char **aliases = NULL;
	size_t n = 0;
	cell_error *e = NULL;

	if (root && network) {
		/* read only: never create cell0 as a side effect (nor take the lock) */
		_cleanup_free_ char *path = xasprintf("%s/networks/%s.json", root, network);
		if (access(path, F_OK) == 0 && cell_network_load(root, network, &net, &e) < 0)
			cell_error_free(&e);
		/* its aliases, from its lease on that network */
		if (container_id && cell_lease_list(root, network, &all, &n, &e) < 0)
			cell_error_free(&e);
		for (size_t i = 0; i < n && !aliases; i++)
			if (streq(all[i].container, container_id))
				aliases = all[i].aliases;
	}
	char *s = hosts_text(net, hostname, ip, aliases, add_hosts, err);
	cell_lease_list_free(all, n);
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
