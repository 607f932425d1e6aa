/* `cell system df [-v] [--format json]` and `cell system prune [-a] [-f]
 * [--volumes]`, as Docker's (build cache is always 0: cell has no builder). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "engine/df.h"
#include "engine/engine.h"
#include "engine/volume.h"
#include "image/image.h"
#include "json.h"
#include "net/net.h"
#include "util.h"

/* ---- df ---- */

static const char *str_at(json_object *o, const char *a, const char *b)
{
	json_object *v = json_object_object_get(o, a);
	if (b)
		v = json_object_object_get(v, b);
	return v ? json_object_get_string(v) : "";
}

static char *pct(uint64_t part, uint64_t whole)
{
	char a[32];
	cli_human_size(part, a, sizeof(a));
	if (!whole)
		return xasprintf("%s", a);
	return xasprintf("%s (%d%%)", a, (int)(part * 100 / whole));
}

static void df_row(json_object *rows, const char *type, size_t total, size_t active, uint64_t size,
		   uint64_t reclaimable, bool with_pct)
{
	char sz[32];
	cli_human_size(size, sz, sizeof(sz));
	_cleanup_free_ char *rc = with_pct ? pct(reclaimable, size) : pct(reclaimable, 0);
	json_object *o = json_object_new_object();
	_cleanup_free_ char *t = xasprintf("%zu", total), *a = xasprintf("%zu", active);
	json_object_object_add(o, "Active", json_object_new_string(a));
	json_object_object_add(o, "Reclaimable", json_object_new_string(rc));
	json_object_object_add(o, "Size", json_object_new_string(sz));
	json_object_object_add(o, "TotalCount", json_object_new_string(t));
	json_object_object_add(o, "Type", json_object_new_string(type));
	json_object_array_add(rows, o);
}

static void df_verbose(const struct cell_df *d)
{
	char sz[32];
	printf("Images space usage:\n\n%-30s %-10s %-14s %-10s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "SIZE",
	       "CONTAINERS");
	for (size_t i = 0; i < d->n_images; i++) {
		const struct cell_image *img = d->images[i].img;
		const char *hex = strncmp(img->id, "sha256:", 7) == 0 ? img->id + 7 : img->id;
		cli_human_size(d->images[i].size, sz, sizeof(sz));
		size_t nn = strv_len(img->names);
		for (size_t j = 0; j < (nn ? nn : 1); j++) {
			_cleanup_free_ char *repo = xstrdup(nn ? img->names[j] : "<none>");
			char *colon = strrchr(repo, ':');
			const char *tag = "<none>";
			if (colon && !strchr(colon, '/')) {
				*colon = 0;
				tag = colon + 1;
			}
			printf("%-30s %-10s %-14.12s %-10s %d\n", repo, tag, hex, sz, d->images[i].containers);
		}
	}
	printf("\nContainers space usage:\n\n%-14s %-14s %-14s %-10s %-10s %s\n", "CONTAINER ID", "IMAGE",
	       "LOCAL VOLUMES", "SIZE", "STATUS", "NAMES");
	for (size_t i = 0; i < d->n_ctrs; i++) {
		const struct cell_df_ctr *c = &d->ctrs[i];
		const char *ih = strncmp(c->image, "sha256:", 7) == 0 ? c->image + 7 : c->image;
		cli_human_size(c->size, sz, sizeof(sz));
		printf("%-14.12s %-14.12s %-14d %-10s %-10s %s\n", c->id, ih, c->volumes, sz, c->status, c->name);
	}
	printf("\nLocal Volumes space usage:\n\n%-66s %-6s %s\n", "VOLUME NAME", "LINKS", "SIZE");
	for (size_t k = 0; d->vols[k]; k++) {
		cli_human_size(d->vol_size[k], sz, sizeof(sz));
		printf("%-66s %-6d %s\n", d->vols[k], d->vol_links[k], sz);
	}
	printf("\nBuild cache usage: 0B\n");
}

static int df(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' }, { "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	bool verbose = false;
	const char *format = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+v", opts, NULL)) != -1) {
		switch (c) {
		case 'v': verbose = true; break;
		case 'f': format = optarg; break;
		case 'h': printf("Usage: cell system df [-v] [--format table|json|TEMPLATE]\n"); return 0;
		default: return cell_error_set(err, "system df: bad option"), EXIT_CELL;
		}
	}
	if (format && streq(format, "table"))
		format = NULL;
	struct cell_engine *e = NULL;
	struct cell_df d = { 0 };
	if (cli_engine_open(&e, err) < 0)
		return EXIT_CELL;
	if (cell_df_collect(e, &d, err) < 0) {
		cell_df_free(&d);
		cell_engine_free(e);
		return EXIT_CELL;
	}
	if (verbose && !format) {
		df_verbose(&d);
		cell_df_free(&d);
		cell_engine_free(e);
		return 0;
	}
	json_object *rows = json_object_new_array();
	size_t active = 0;
	uint64_t size = 0, recl = 0;
	for (size_t i = 0; i < d.n_images; i++)
		active += d.images[i].containers > 0;
	for (size_t i = 0; i < d.n_layers; i++) {
		size += d.layers[i].size;
		if (!d.layers[i].active)
			recl += d.layers[i].size;
	}
	df_row(rows, "Images", d.n_images, active, size, recl, true);
	active = 0, size = 0, recl = 0;
	for (size_t i = 0; i < d.n_ctrs; i++) {
		active += d.ctrs[i].running;
		size += d.ctrs[i].size;
		if (!d.ctrs[i].running)
			recl += d.ctrs[i].size;
	}
	df_row(rows, "Containers", d.n_ctrs, active, size, recl, true);
	active = 0, size = 0, recl = 0;
	size_t nv = strv_len(d.vols);
	for (size_t k = 0; k < nv; k++) {
		active += d.vol_links[k] > 0;
		size += d.vol_size[k];
		if (!d.vol_links[k])
			recl += d.vol_size[k];
	}
	df_row(rows, "Local Volumes", nv, active, size, recl, true);
	df_row(rows, "Build Cache", 0, 0, 0, 0, false);
	if (!format)
		printf("%-15s %-9s %-9s %-9s %s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		json_object *o = json_object_array_get_idx(rows, i);
		if (format && streq(format, "json"))
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		else if (format) {
			cli_template(stdout, o, format);
			putchar('\n');
		} else
			printf("%-15s %-9s %-9s %-9s %s\n", str_at(o, "Type", NULL), str_at(o, "TotalCount", NULL),
			       str_at(o, "Active", NULL), str_at(o, "Size", NULL), str_at(o, "Reclaimable", NULL));
	}
	json_object_put(rows);
	cell_df_free(&d);
	cell_engine_free(e);
	return 0;
}

/* ---- prune ---- */

/* Does any container (running or not) name the network in its NetworkMode
 * ("net1,net2") or hold a connection to it? */
static bool network_used(struct cell_engine *e, const char *net)
{
	char **ids = NULL;
	cell_error *x = NULL;
	bool used = false;
	if (cell_ctr_list(e, &ids, &x) < 0) {
		cell_error_free(&x);
		return true;	/* unsure: keep it */
	}
	for (size_t i = 0; ids[i] && !used; i++) {
		json_object *rec = NULL;
		if (cell_ctr_load(e, ids[i], &rec, &x) < 0) {
			cell_error_free(&x);
			continue;
		}
		_cleanup_free_ char *mode = xstrdup(str_at(rec, "HostConfig", "NetworkMode"));
		for (char *save = NULL, *t = strtok_r(mode, ",", &save); t && !used; t = strtok_r(NULL, ",", &save))
			used = streq(t, net);
		json_object *nets = json_object_object_get(json_object_object_get(rec, "NetworkSettings"), "Networks");
		if (nets && json_object_object_get_ex(nets, net, NULL))
			used = true;
		json_object_put(rec);
	}
	strv_free(ids);
	if (!used) {
		struct cell_lease *l = NULL;
		size_t nl = 0;
		if (cell_lease_list(e->root, net, &l, &nl, &x) < 0) {
			cell_error_free(&x);
			return true;
		}
		cell_lease_list_free(l, nl);
		used = nl > 0;
	}
	return used;
}

/* User networks no container uses; the default network stays, as Docker's bridge. */
static char **prune_networks(struct cell_engine *e)
{
	char **names = NULL, **gone = xcalloc(1, sizeof(char *));
	size_t n = 0;
	cell_error *x = NULL;
	if (cell_network_list(e->root, &names, &x) < 0) {
		cell_error_free(&x);
		return gone;
	}
	for (size_t i = 0; names[i]; i++) {
		if (streq(names[i], CELL_DEFAULT_NETWORK) || network_used(e, names[i]))
			continue;
		if (cell_network_remove(e->root, names[i], false, &x) < 0) {
			fprintf(stderr, "cell: %s\n", x->msg);
			cell_error_free(&x);
			continue;
		}
		gone = realloc(gone, (n + 2) * sizeof(char *));
		gone[n++] = xstrdup(names[i]);
		gone[n] = NULL;
	}
	strv_free(names);
	return gone;
}

static void print_list(const char *title, char **v)
{
	if (!v || !v[0])
		return;
	printf("%s:\n", title);
	for (size_t i = 0; v[i]; i++)
		printf("%s\n", v[i]);
	printf("\n");
}

static int prune(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' }, { "force", no_argument, NULL, 'f' },
		{ "volumes", no_argument, NULL, 'V' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	bool all = false, force = false, volumes = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+af", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'f': force = true; break;
		case 'V': volumes = true; break;
		case 'h': printf("Usage: cell system prune [-a] [-f] [--volumes]\n"); return 0;
		default: return cell_error_set(err, "system prune: bad option"), EXIT_CELL;
		}
	}
	if (!force) {
		_cleanup_free_ char *w = xasprintf("This will remove:\n  - all stopped containers\n"
						   "  - all networks not used by at least one container\n%s%s"
						   "  - unused build cache (none: cell has no builder)",
						   volumes ? "  - all anonymous volumes not used by at least one container\n" : "",
						   all ? "  - all images without at least one container associated to them\n"
						       : "  - all dangling images\n");
		if (!cli_confirm(w))
			return 0;
	}
	struct cell_engine *e = NULL;
	struct cell_store *s = NULL;
	char **ctrs = NULL, **vols = NULL, **imgs = NULL, **nets = NULL;
	uint64_t bytes = 0, b = 0;
	int status = EXIT_CELL;
	if (cli_engine_open(&e, err) < 0 || cell_ctr_prune(e, &ctrs, &bytes, err) < 0)
		goto out;
	nets = prune_networks(e);
	if (volumes) {
		if (cell_volume_prune(e, false, NULL, &vols, &b, err) < 0)
			goto out;
		bytes += b;
	}
	if (cell_store_open(e->root, &s, err) < 0 || cell_image_prune(s, all, &imgs, &b, err) < 0)
		goto out;
	bytes += b;
	print_list("Deleted Containers", ctrs);
	print_list("Deleted Networks", nets);
	print_list("Deleted Volumes", vols);
	if (imgs && imgs[0]) {
		printf("Deleted Images:\n");
		for (size_t i = 0; imgs[i]; i++)
			printf("deleted: %s\n", imgs[i]);
		printf("\n");
	}
	char hs[32];
	cli_human_size(bytes, hs, sizeof(hs));
	printf("Total reclaimed space: %s\n", hs);
	status = 0;
out:
	strv_free(ctrs);
	strv_free(vols);
	strv_free(imgs);
	strv_free(nets);
	cell_store_free(s);
	cell_engine_free(e);
	return status;
}

int cmd_system(int argc, char **argv, cell_error **err)
{
	static const struct { const char *name; int (*fn)(int, char **, cell_error **); } subs[] = {
		{ "df", df }, { "prune", prune }, { "info", cmd_info }, { "service", cmd_service },
	};
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		fputs("Usage: cell system COMMAND\n\nCommands:\n"
		      "  df [-v] [--format table|json|TEMPLATE]   disk usage of images, containers, volumes\n"
		      "  prune [-a] [-f] [--volumes]              remove stopped containers, unused networks, dangling\n"
		      "                                           (-a: unused) images and, with --volumes, unused\n"
		      "                                           anonymous volumes\n"
		      "  info [--format json]                     as `cell info`\n"
		      "  service [-t SECONDS] [URI]               serve the Docker Engine API (unix:///run/cell/cell.sock)\n", argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_CELL : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (streq(subs[i].name, argv[1]))
			return subs[i].fn(argc - 1, argv + 1, err);
	return cell_error_set(err, "unknown command `system %s` (see `cell system --help`)", argv[1]), EXIT_CELL;
}
