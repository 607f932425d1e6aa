/* `cell image ls|inspect|rm|prune|tag|history|import|save|load` and the
 * Docker-familiar top-level aliases (`images`, `rmi`, `load`, `tag`,
 * `save`, `import`, `history`). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine/events.h"
#include "image/image.h"
#include "json.h"
#include "log.h"
#include "util.h"

static void store_freep(struct cell_store **s)
{
	cell_store_free(*s);
}
#define _cleanup_store_ __attribute__((cleanup(store_freep)))

static int open_store(struct cell_store **s, cell_error **err)
{
	return cell_store_open(cell_globals.root, s, err);
}

static bool want_help(int argc, char **argv, const char *usage)
{
	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "--"))
			break;
		if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
			printf("%s", usage);
			return true;
		}
	}
	return false;
}

static int usage_error(cell_error **err, const char *cmd, const char *msg)
{
	return cell_error_set(err, "%s: %s (see `cell %s --help`)", cmd, msg, cmd);
}

/* Docker's HumanSize: decimal units, three significant digits. */
static void human_size(uint64_t n, char *buf, size_t len)
{
	static const char *units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, "%.3g%s", v, units[u]);
}

static time_t parse_time(const char *s)
{
	struct tm tm = { 0 };
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return timegm(&tm);
}

/* Docker's HumanDuration + " ago". */
static void human_since(const char *created, char *buf, size_t len)
{
	time_t t = parse_time(created);
	if (!t) {
		snprintf(buf, len, "N/A");
		return;
	}
	long long d = (long long)(time(NULL) - t);
	long long h = (d + 1800) / 3600;
	if (d < 1)
		snprintf(buf, len, "Less than a second ago");
	else if (d == 1)
		snprintf(buf, len, "1 second ago");
	else if (d < 60)
		snprintf(buf, len, "%lld seconds ago", d);
	else if (d < 3600)
		snprintf(buf, len, d < 120 ? "About a minute ago" : "%lld minutes ago", d / 60);
	else if (h == 1)
		snprintf(buf, len, "About an hour ago");
	else if (h < 48)
		snprintf(buf, len, "%lld hours ago", h);
	else if (h < 24 * 7 * 2)
		snprintf(buf, len, "%lld days ago", h / 24);
	else if (h < 24 * 30 * 2)
		snprintf(buf, len, "%lld weeks ago", h / 24 / 7);
	else if (h < 24 * 365 * 2)
		snprintf(buf, len, "%lld months ago", h / 24 / 30);
	else
		snprintf(buf, len, "%lld years ago", h / 24 / 365);
}

static const char *short_id(const char *id, bool trunc)
{
	static char buf[16];
	if (!trunc)
		return id;
	snprintf(buf, sizeof(buf), "%.12s", strncmp(id, "sha256:", 7) == 0 ? id + 7 : id);
	return buf;
}

/* ---- ls ---- */

static const char ls_usage[] =
	"Usage: cell image ls [OPTIONS] [REFERENCE]\n\nList images.\n\n"
	"Options:\n"
	"  -a, --all             show all images (the default; kept for Docker's sake)\n"
	"  -f, --filter string   dangling=true|false, reference=NAME[:TAG]\n"
	"      --digests         show digests\n"
	"      --format string   table (default) or json\n"
	"      --no-trunc        do not truncate image ids\n"
	"  -q, --quiet           only image ids\n";

struct row {
	char *repo, *tag, *id, *digest, *since, *size;
};

static void split_name(const char *name, char **repo, char **tag)
{
	struct cell_ref r;
	cell_error *e = NULL;
	if (name && cell_ref_parse(name, &r, &e) == 0) {
		*repo = cell_ref_repo(&r);
		*tag = xstrdup(r.tag ? r.tag : "<none>");
		cell_ref_clear(&r);
		return;
	}
	cell_error_free(&e);
	*repo = xstrdup("<none>");
	*tag = xstrdup("<none>");
}

static void print_json_list(struct cell_image_summary *v, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object(), *names = json_object_new_array();
		json_object_object_add(o, "Id", json_object_new_string(v[i].id + 7));
		for (size_t k = 0; v[i].names[k]; k++)
			json_object_array_add(names, json_object_new_string(v[i].names[k]));
		json_object_object_add(o, "Names", names);
		json_object_object_add(o, "Digest", json_object_new_string(v[i].manifest_digest ? v[i].manifest_digest : ""));
		json_object_object_add(o, "Created", json_object_new_int64((int64_t)parse_time(v[i].created)));
		json_object_object_add(o, "CreatedAt", json_object_new_string(v[i].created ? v[i].created : ""));
		json_object_object_add(o, "Size", json_object_new_int64((int64_t)v[i].size));
		json_object_array_add(a, o);
	}
	printf("%s\n", cj_to_string(a, true));
	json_object_put(a);
}

static bool name_matches(char **names, const char *filter)
{
	struct cell_ref f;
	cell_error *e = NULL;
	if (cell_ref_parse(filter, &f, &e) < 0) {
		cell_error_free(&e);
		return false;
	}
	bool any_tag = !strchr(strrchr(filter, '/') ? strrchr(filter, '/') : filter, ':');
	bool m = false;
	for (size_t k = 0; names[k] && !m; k++) {
		struct cell_ref r;
		if (cell_ref_parse(names[k], &r, &e) < 0) {
			cell_error_free(&e);
			continue;
		}
		m = streq(r.domain, f.domain) && streq(r.path, f.path) && (any_tag || streq(r.tag ?: "", f.tag ?: ""));
		cell_ref_clear(&r);
	}
	cell_ref_clear(&f);
	return m;
}

static int image_ls(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' }, { "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'J' }, { "no-trunc", no_argument, NULL, 'T' },
		{ "digests", no_argument, NULL, 'd' }, { "filter", required_argument, NULL, 'f' }, { 0 },
	};
	bool quiet = false, trunc = true, json = false, digests = false;
	int dangling = -1;	/* --filter dangling=true|false */
	const char *filter = NULL;
	_cleanup_store_ struct cell_store *s = NULL;
	struct cell_image_summary *v = NULL;
	size_t n = 0;
	int c;

	if (want_help(argc, argv, ls_usage))
		return 0;
	while ((c = getopt_long(argc, argv, "aqf:", opts, NULL)) != -1) {
		switch (c) {
		case 'a': break;
		case 'q': quiet = true; break;
		case 'T': trunc = false; break;
		case 'd': digests = true; break;
		case 'f':
			if (streq(optarg, "dangling=true") || streq(optarg, "dangling=1"))
				dangling = 1;
			else if (streq(optarg, "dangling=false") || streq(optarg, "dangling=0"))
				dangling = 0;
			else if (strncmp(optarg, "reference=", 10) == 0)
				filter = optarg + 10;
			else
				return cell_error_set(err, "image ls: unsupported --filter `%s` (dangling=true|false, "
						      "reference=NAME[:TAG])", optarg);
			break;
		case 'J':
			if (streq(optarg, "json"))
				json = true;
			else if (!streq(optarg, "table"))
				return cell_error_set(err, "image ls: unknown --format `%s` (table or json)", optarg);
			break;
		default: return usage_error(err, "image ls", "bad option");
		}
	}
	if (optind < argc)
		filter = argv[optind];
	if (open_store(&s, err) < 0 || cell_image_list(s, &v, &n, err) < 0)
		return EXIT_CELL;
	if (filter || dangling >= 0) {	/* keep only matching images */
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			bool keep = (!filter || name_matches(v[i].names, filter)) &&
				    (dangling < 0 || (dangling == 1) == (v[i].names[0] == NULL));
			if (keep) {
				v[k++] = v[i];
			} else {
				free(v[i].id);
				strv_free(v[i].names);
				free(v[i].manifest_digest);
				free(v[i].created);
			}
		}
		n = k;
	}
	/* newest first, as Docker */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && parse_time(v[j].created) > parse_time(v[j - 1].created); j--) {
			struct cell_image_summary t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	if (json) {
		print_json_list(v, n);
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", short_id(v[i].id, trunc));
	} else {
		size_t nrows = 0, cap = 1;
		for (size_t i = 0; i < n; i++)
			cap += strv_len(v[i].names) + 1;
		struct row *rows = xcalloc(cap, sizeof(*rows));
		for (size_t i = 0; i < n; i++) {
			size_t nn = strv_len(v[i].names);
			for (size_t k = 0; k < (nn ? nn : 1); k++) {
				struct row *r = &rows[nrows++];
				char buf[64];
				split_name(nn ? v[i].names[k] : NULL, &r->repo, &r->tag);
				r->id = xstrdup(short_id(v[i].id, trunc));
				r->digest = xstrdup(v[i].manifest_digest ? v[i].manifest_digest : "<none>");
				human_since(v[i].created, buf, sizeof(buf));
				r->since = xstrdup(buf);
				human_size(v[i].size, buf, sizeof(buf));
				r->size = xstrdup(buf);
			}
		}
		int w[5] = { 10, 3, 8, 7, 6 };
		for (size_t i = 0; i < nrows; i++) {
			const char *f[5] = { rows[i].repo, rows[i].tag, rows[i].digest, rows[i].id, rows[i].since };
			for (int k = 0; k < 5; k++)
				if ((int)strlen(f[k]) > w[k])
					w[k] = (int)strlen(f[k]);
		}
		if (digests)
			printf("%-*s   %-*s   %-*s   %-*s   %-*s   %s\n", w[0], "REPOSITORY", w[1], "TAG", w[2], "DIGEST",
			       w[3], "IMAGE ID", w[4], "CREATED", "SIZE");
		else
			printf("%-*s   %-*s   %-*s   %-*s   %s\n", w[0], "REPOSITORY", w[1], "TAG", w[3], "IMAGE ID",
			       w[4], "CREATED", "SIZE");
		for (size_t i = 0; i < nrows; i++) {
			struct row *r = &rows[i];
			if (digests)
				printf("%-*s   %-*s   %-*s   %-*s   %-*s   %s\n", w[0], r->repo, w[1], r->tag, w[2],
				       r->digest, w[3], r->id, w[4], r->since, r->size);
			else
				printf("%-*s   %-*s   %-*s   %-*s   %s\n", w[0], r->repo, w[1], r->tag, w[3], r->id,
				       w[4], r->since, r->size);
			free(r->repo), free(r->tag), free(r->id), free(r->digest), free(r->since), free(r->size);
		}
		free(rows);
	}
	cell_image_summary_free(v, n);
	return 0;
}

/* ---- inspect ---- */

static const char inspect_usage[] =
	"Usage: cell image inspect [OPTIONS] IMAGE [IMAGE...]\n\nShow details of images as JSON.\n\n"
	"Options:\n"
	"  -f, --format string   print one field: '{{.Id}}', '{{.Config.Cmd}}', '{{json .Config}}'\n";

/* The small subset of Go templates scripts use: {{.A.B}} and {{json .A.B}}. */
static int print_template(json_object *o, const char *tmpl, cell_error **err)
{
	const char *p = tmpl;
	while (*p) {
		const char *open = strstr(p, "{{");
		if (!open) {
			fputs(p, stdout);
			break;
		}
		fwrite(p, 1, (size_t)(open - p), stdout);
		const char *close = strstr(open, "}}");
		if (!close)
			return cell_error_set(err, "template `%s`: unclosed `{{`", tmpl);
		_cleanup_free_ char *expr = strndup(open + 2, (size_t)(close - open - 2));
		char *e = expr;
		while (*e == ' ')
			e++;
		bool json = strncmp(e, "json ", 5) == 0;
		if (json)
			e += 5;
		while (*e == ' ')
			e++;
		char *end = e + strlen(e);
		while (end > e && end[-1] == ' ')
			*--end = '\0';
		if (*e != '.')
			return cell_error_set(err, "template `%s`: only {{.Field}} and {{json .Field}} are supported", tmpl);
		json_object *cur = o;
		for (char *tok = strtok(e + 1, "."); tok && cur; tok = strtok(NULL, "."))
			if (!json_object_object_get_ex(cur, tok, &cur))
				cur = NULL;
		if (json)
			fputs(cur ? json_object_to_json_string_ext(cur, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
				  : "null", stdout);
		else if (!cur)
			fputs("<no value>", stdout);
		else if (json_object_is_type(cur, json_type_array)) {
			fputc('[', stdout);
			for (size_t i = 0; i < json_object_array_length(cur); i++)
				printf("%s%s", i ? " " : "", json_object_get_string(json_object_array_get_idx(cur, i)));
			fputc(']', stdout);
		} else if (json_object_is_type(cur, json_type_object)) {
			fputs("map[", stdout);
			bool first = true;
			json_object_object_foreach(cur, k, val) {
				printf("%s%s:%s", first ? "" : " ", k, val ? json_object_get_string(val) : "");
				first = false;
			}
			fputc(']', stdout);
		} else
			fputs(json_object_get_string(cur), stdout);
		p = close + 2;
	}
	fputc('\n', stdout);
	return 0;
}

static int image_inspect(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { "type", required_argument, NULL, 't' }, { 0 } };
	_cleanup_store_ struct cell_store *s = NULL;
	const char *fmt = NULL;
	int c, rc = 0;

	if (want_help(argc, argv, inspect_usage))
		return 0;
	while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		if (c == 'f')
			fmt = optarg;
		else if (c != 't')
			return usage_error(err, "image inspect", "bad option");
	}
	if (optind >= argc)
		return usage_error(err, "image inspect", "requires at least 1 argument");
	if (open_store(&s, err) < 0)
		return EXIT_CELL;
	json_object *all = json_object_new_array();
	for (int i = optind; i < argc; i++) {
		json_object *o = NULL;
		cell_error *e = NULL;
		int r = cell_image_inspect_json(s, argv[i], &o, &e);
		if (r == 0 && fmt) {
			r = print_template(o, fmt, &e);
			json_object_put(o);
		} else if (r == 0) {
			json_object_array_add(all, o);
		}
		if (r < 0) {
			cell_log_error(&e);
			rc = 1;
		}
	}
	if (!fmt && json_object_array_length(all) == 0)
		printf("[]\n");
	else if (!fmt)
		printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(all);
	return rc;
}

/* ---- rm, prune, tag ---- */

static const char rm_usage[] =
	"Usage: cell image rm [OPTIONS] IMAGE [IMAGE...]\n\nRemove images (refused while a container uses one).\n\n"
	"Options:\n  -f, --force   remove an image with several names; untag one a container uses\n";

static int image_rm(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	_cleanup_store_ struct cell_store *s = NULL;
	bool force = false;
	int c, rc = 0;

	if (want_help(argc, argv, rm_usage))
		return 0;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else
			return usage_error(err, "image rm", "bad option");
	}
	if (optind >= argc)
		return usage_error(err, "image rm", "requires at least 1 argument");
	if (open_store(&s, err) < 0)
		return EXIT_CELL;
	for (int i = optind; i < argc; i++) {
		_cleanup_strv_ char **untagged = NULL;
		_cleanup_strv_ char **deleted = NULL;
		cell_error *e = NULL;
		int r = cell_image_remove(s, argv[i], force, &untagged, &deleted, &e);
		for (size_t k = 0; untagged && untagged[k]; k++) {
			printf("Untagged: %s\n", untagged[k]);
			json_object *a = json_object_new_object();
			json_object_object_add(a, "name", json_object_new_string(untagged[k]));
			cell_event_at(cell_globals.root, "image", "untag", untagged[k], a);
		}
		for (size_t k = 0; deleted && deleted[k]; k++) {
			printf("Deleted: %s\n", deleted[k]);
			cell_event_at(cell_globals.root, "image", "delete", deleted[k], NULL);
		}
		if (r < 0) {
			cell_log_error(&e);
			rc = EXIT_CELL;
		}
	}
	return rc;
}

static const char prune_usage[] =
	"Usage: cell image prune [OPTIONS]\n\nRemove images without names, and layers and blobs nothing uses.\n\n"
	"Options:\n  -a, --all     remove every image no container uses\n  -f, --force   do not prompt (cell never prompts)\n";

static int image_prune(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { "force", no_argument, NULL, 'f' }, { 0 } };
	_cleanup_store_ struct cell_store *s = NULL;
	_cleanup_strv_ char **deleted = NULL;
	bool all = false;
	uint64_t reclaimed = 0;
	int c;

	if (want_help(argc, argv, prune_usage))
		return 0;
	while ((c = getopt_long(argc, argv, "af", opts, NULL)) != -1) {
		if (c == 'a')
			all = true;
		else if (c != 'f')
			return usage_error(err, "image prune", "bad option");
	}
	if (open_store(&s, err) < 0 || cell_image_prune(s, all, &deleted, &reclaimed, err) < 0)
		return EXIT_CELL;
	if (deleted && deleted[0]) {
		printf("Deleted Images:\n");
		for (size_t k = 0; deleted[k]; k++)
			printf("deleted: %s\n", deleted[k]);
		printf("\n");
	}
	char buf[32];
	human_size(reclaimed, buf, sizeof(buf));
	printf("Total reclaimed space: %s\n", buf);
	return 0;
}

static int image_tag(int argc, char **argv, cell_error **err)
{
	_cleanup_store_ struct cell_store *s = NULL;
	if (want_help(argc, argv, "Usage: cell image tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\n"
				  "Give an image another name.\n"))
		return 0;
	if (argc != 3)
		return usage_error(err, "image tag", "requires exactly 2 arguments");
	if (open_store(&s, err) < 0 || cell_image_tag(s, argv[1], argv[2], err) < 0)
		return EXIT_CELL;
	struct cell_image *img = NULL;
	cell_error *x = NULL;
	if (cell_image_resolve(s, argv[2], &img, &x) == 0) {
		json_object *a = json_object_new_object();
		json_object_object_add(a, "name", json_object_new_string(argv[2]));
		cell_event_at(cell_globals.root, "image", "tag", img->id, a);
	}
	cell_error_free(&x);
	cell_image_free(img);
	return 0;
}

/* ---- history ---- */

static int image_history(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = { { "no-trunc", no_argument, NULL, 'T' }, { "quiet", no_argument, NULL, 'q' },
					      { "format", required_argument, NULL, 'F' }, { 0 } };
	_cleanup_store_ struct cell_store *s = NULL;
	struct cell_image *img = NULL;
	bool trunc = true, quiet = false, json = false;
	int c;

	if (want_help(argc, argv, "Usage: cell image history [OPTIONS] IMAGE\n\nShow how an image was made.\n\n"
				  "Options:\n      --no-trunc       do not truncate\n  -q, --quiet          only ids\n"
				  "      --format json    one JSON object per line, as Docker's\n"))
		return 0;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		if (c == 'T')
			trunc = false;
		else if (c == 'q')
			quiet = true;
		else if (c == 'F' && (streq(optarg, "json") || streq(optarg, "table")))
			json = streq(optarg, "json");
		else
			return usage_error(err, "image history", c == 'F' ? "--format: table or json" : "bad option");
	}
	if (optind + 1 != argc)
		return usage_error(err, "image history", "requires exactly 1 argument");
	if (open_store(&s, err) < 0 || cell_image_resolve(s, argv[optind], &img, err) < 0)
		return EXIT_CELL;
	json_object *hist = NULL;
	cell_error *e = NULL;
	cj_array(img->config_json, "history", "config", &hist, &e);
	cell_error_free(&e);
	size_t n = hist ? json_object_array_length(hist) : 0;
	/* non-empty history entries match the layers, bottom first; newest first on screen */
	size_t layer = img->n_layers;
	char *(*rows)[5] = xcalloc(n + 1, sizeof(*rows));
	int w[5] = { 5, 7, 10, 4, 7 };
	for (size_t k = 0; k < n; k++) {
		size_t i = n - 1 - k;
		json_object *h = json_object_array_get_idx(hist, i);
		const char *created = NULL, *by = "", *comment = "";
		bool empty = false;
		cj_string(h, "created", "", &created, &e);
		cj_string(h, "created_by", "", &by, &e);
		cj_string(h, "comment", "", &comment, &e);
		cj_bool(h, "empty_layer", "", &empty, &e);
		cell_error_free(&e);
		char since[64], size[32] = "0B";
		if (!empty && layer > 0)
			human_size(img->layer_sizes[--layer], size, sizeof(size));
		human_since(created, since, sizeof(since));
		rows[k][0] = xstrdup(k == 0 ? short_id(img->id, trunc) : "<missing>");
		rows[k][1] = xstrdup(since);
		rows[k][2] = trunc && strlen(by) > 45 ? xasprintf("%.42s...", by) : xstrdup(by);
		rows[k][3] = xstrdup(size);
		rows[k][4] = xstrdup(comment);
		if (json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "Comment", json_object_new_string(comment));
			json_object_object_add(o, "CreatedAt", json_object_new_string(created ? created : ""));
			json_object_object_add(o, "CreatedBy", json_object_new_string(by));
			json_object_object_add(o, "CreatedSince", json_object_new_string(since));
			json_object_object_add(o, "ID", json_object_new_string(rows[k][0]));
			json_object_object_add(o, "Size", json_object_new_string(size));
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		}
		for (int f = 0; f < 5; f++)
			if ((int)strlen(rows[k][f]) > w[f])
				w[f] = (int)strlen(rows[k][f]);
	}
	if (!quiet && !json)
		printf("%-*s   %-*s   %-*s   %-*s   %s\n", w[0], "IMAGE", w[1], "CREATED", w[2], "CREATED BY", w[3], "SIZE",
		       "COMMENT");
	for (size_t k = 0; k < n; k++) {
		if (json)
			;	/* printed as they were made */
		else if (quiet)
			printf("%s\n", rows[k][0]);
		else
			printf("%-*s   %-*s   %-*s   %-*s   %s\n", w[0], rows[k][0], w[1], rows[k][1], w[2], rows[k][2],
			       w[3], rows[k][3], rows[k][4]);
		for (int f = 0; f < 5; f++)
			free(rows[k][f]);
	}
	free(rows);
	cell_image_free(img);
	return 0;
}

/* ---- import, load, save ---- */

static const char import_usage[] =
	"Usage: cell image import [OPTIONS] FILE|DIR|- [REPOSITORY[:TAG]]\n\n"
	"Import an OCI image layout (dir or tar), a docker-archive, or a root filesystem\n"
	"tar (.tar, .tar.gz, .tar.xz, .tar.zst) as an image.\n\n"
	"Options:\n"
	"  -c, --change list    apply a Dockerfile instruction to a rootfs import\n"
	"                       (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)\n"
	"  -m, --message string history comment of a rootfs import\n"
	"  -q, --quiet          print nothing but the ids\n";

static void strv_add(char ***v, const char *s)
{
	size_t n = *v ? strv_len(*v) : 0;
	*v = realloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

/* "-": stdin into a temp file first (archives are read more than once). */
static char *stdin_to_file(cell_error **err)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	char *path = xasprintf("%s/cell-load-XXXXXX", dir);
	int fd = mkstemp(path);
	char buf[1 << 16];
	ssize_t n;
	if (fd < 0) {
		cell_error_errno(err, errno, "create `%s`", path);
		free(path);
		return NULL;
	}
	while ((n = read(0, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && write(fd, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	if (n < 0) {
		cell_error_errno(err, errno, "copy stdin to `%s`", path);
		close(fd);
		unlink(path);
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

static int do_import(const char *cmd, const char *path, struct cell_import_opts *o, bool load_style,
		     bool quiet, cell_error **err)
{
	if (streq(path, "-")) {
		if (isatty(0))
			return cell_error_set(err, "%s: refusing to read an archive from a terminal (give a file or a redirect)", cmd),
			       EXIT_CELL;
		_cleanup_free_ char *tmp = stdin_to_file(err);
		if (!tmp)
			return EXIT_CELL;
		int r = do_import(cmd, tmp, o, load_style, quiet, err);
		unlink(tmp);
		return r;
	}
	_cleanup_store_ struct cell_store *s = NULL;
	_cleanup_strv_ char **ids = NULL;
	if (open_store(&s, err) < 0 || cell_image_import(s, path, o, &ids, err) < 0)
		return EXIT_CELL;
	for (size_t i = 0; ids && ids[i]; i++) {
		char *name = strchr(ids[i], ' ');
		if (name)
			*name++ = '\0';
		if (!load_style || quiet) {
			if (!i || !streq(ids[i], ids[i - 1]))
				printf("%s\n", ids[i]);
		} else if (name) {
			printf("Loaded image: %s\n", name);
		} else {
			printf("Loaded image ID: %s\n", ids[i]);
		}
	}
	return 0;
}

static int image_import(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "change", required_argument, NULL, 'c' }, { "message", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' }, { "platform", required_argument, NULL, 'P' }, { 0 },
	};
	_cleanup_strv_ char **changes = NULL;
	struct cell_import_opts o = { 0 };
	bool quiet = false;
	int c;

	if (want_help(argc, argv, import_usage))
		return 0;
	while ((c = getopt_long(argc, argv, "c:m:q", opts, NULL)) != -1) {
		switch (c) {
		case 'c': strv_add(&changes, optarg); break;
		case 'm': o.message = optarg; break;
		case 'q': quiet = true; break;
		case 'P': break;
		default: return usage_error(err, "image import", "bad option");
		}
	}
	if (optind >= argc || argc - optind > 2)
		return usage_error(err, "image import", "requires FILE|DIR and an optional REPOSITORY[:TAG]");
	o.changes = changes;
	o.name = optind + 1 < argc ? argv[optind + 1] : NULL;
	return do_import("image import", argv[optind], &o, o.name == NULL, quiet, err);
}

static int image_load(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = { { "input", required_argument, NULL, 'i' }, { "quiet", no_argument, NULL, 'q' }, { 0 } };
	struct cell_import_opts o = { 0 };
	const char *in = NULL;
	bool quiet = false;
	int c;

	if (want_help(argc, argv, "Usage: cell load [OPTIONS] [FILE]\n\nLoad images from a docker-archive or an OCI "
				  "archive (or layout dir), stdin by default.\n\nOptions:\n  -i, --input string   the archive\n"
				  "  -q, --quiet          print only the ids\n"))
		return 0;
	while ((c = getopt_long(argc, argv, "i:q", opts, NULL)) != -1) {
		if (c == 'i')
			in = optarg;
		else if (c == 'q')
			quiet = true;
		else
			return usage_error(err, "load", "bad option");
	}
	if (!in && optind < argc)
		in = argv[optind++];
	if (!in)
		in = "-";
	o.images_only = true;
	return do_import("load", in, &o, true, quiet, err);
}

static int image_save(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = { { "output", required_argument, NULL, 'o' }, { "format", required_argument, NULL, 'F' }, { 0 } };
	_cleanup_store_ struct cell_store *s = NULL;
	const char *out = "-";
	enum cell_save_format fmt = CELL_SAVE_DOCKER_ARCHIVE;
	int c;

	if (want_help(argc, argv, "Usage: cell image save [OPTIONS] IMAGE [IMAGE...]\n\nSave images to a tar archive "
				  "(stdout by default).\n\nOptions:\n  -o, --output string   write to a file\n"
				  "      --format string   docker-archive (default) or oci-archive\n"))
		return 0;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'F' && streq(optarg, "oci-archive"))
			fmt = CELL_SAVE_OCI_ARCHIVE;
		else if (c == 'F' && streq(optarg, "docker-archive"))
			fmt = CELL_SAVE_DOCKER_ARCHIVE;
		else if (c == 'F')
			return cell_error_set(err, "image save: unknown --format `%s` (oci-archive or docker-archive)", optarg);
		else
			return usage_error(err, "image save", "bad option");
	}
	if (optind >= argc)
		return usage_error(err, "image save", "requires at least 1 argument");
	if (streq(out, "-") && isatty(1))
		return cell_error_set(err, "image save: refusing to write an archive to a terminal (use -o FILE or a redirect)");
	if (open_store(&s, err) < 0 || cell_image_save(s, argv + optind, out, fmt, err) < 0)
		return EXIT_CELL;
	return 0;
}

/* ---- mount, unmount: an image's root as a container would see it ---- */

static int image_mount(int argc, char **argv, cell_error **err)
{
	_cleanup_store_ struct cell_store *s = NULL;
	struct cell_image *img = NULL;
	_cleanup_free_ char *rootfs = NULL;
	if (want_help(argc, argv, "Usage: cell image mount IMAGE DIR\n\nMount the image's layers with a writable "
				  "layer of DIR/upper at DIR/rootfs (what a container gets); print DIR/rootfs.\n"))
		return 0;
	if (argc != 3)
		return usage_error(err, "image mount", "requires IMAGE and DIR");
	if (open_store(&s, err) < 0 || cell_image_resolve(s, argv[1], &img, err) < 0)
		return EXIT_CELL;
	int r = cell_image_mount_rootfs(s, img, argv[2], &rootfs, err);
	cell_image_free(img);
	if (r < 0)
		return EXIT_CELL;
	printf("%s\n", rootfs);
	return 0;
}

static int image_unmount(int argc, char **argv, cell_error **err)
{
	if (want_help(argc, argv, "Usage: cell image unmount [--rm] DIR\n\nUnmount DIR/rootfs made by `cell image "
				  "mount`; with --rm remove DIR's rootfs, upper and work dirs.\n"))
		return 0;
	bool rm = argc == 3 && streq(argv[1], "--rm");
	if (argc != 2 + rm)
		return usage_error(err, "image unmount", "requires DIR");
	return cell_image_unmount_rootfs(argv[argc - 1], rm, err) < 0 ? EXIT_CELL : 0;
}

static const char commit_usage[] =
	"Usage: cell image commit [OPTIONS] IMAGE DIR [REPOSITORY[:TAG]]\n\n"
	"Make a new image from IMAGE plus the changes in DIR/upper (a dir given to\n"
	"`cell image mount`) or in DIR itself (an overlay upper dir).\n\n"
	"Options:\n"
	"  -a, --author string    author\n"
	"  -c, --change list      apply a Dockerfile instruction (CMD, ENV, ...)\n"
	"  -m, --message string   history comment\n";

static int image_commit(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "author", required_argument, NULL, 'a' }, { "change", required_argument, NULL, 'c' },
		{ "message", required_argument, NULL, 'm' }, { 0 },
	};
	_cleanup_store_ struct cell_store *s = NULL;
	_cleanup_strv_ char **changes = NULL;
	_cleanup_free_ char *id = NULL;
	struct cell_commit_opts o = { 0 };
	int c;

	if (want_help(argc, argv, commit_usage))
		return 0;
	while ((c = getopt_long(argc, argv, "a:c:m:", opts, NULL)) != -1) {
		switch (c) {
		case 'a': o.author = optarg; break;
		case 'c': strv_add(&changes, optarg); break;
		case 'm': o.message = optarg; break;
		default: return usage_error(err, "image commit", "bad option");
		}
	}
	if (argc - optind < 2 || argc - optind > 3)
		return usage_error(err, "image commit", "requires IMAGE, DIR and an optional REPOSITORY[:TAG]");
	o.changes = changes;
	o.name = argc - optind == 3 ? argv[optind + 2] : NULL;
	_cleanup_free_ char *upper = xasprintf("%s/upper", argv[optind + 1]);
	if (access(upper, F_OK) < 0) {
		free(upper);
		upper = xstrdup(argv[optind + 1]);
	}
	if (open_store(&s, err) < 0 || cell_image_commit(s, argv[optind], upper, &o, &id, err) < 0)
		return EXIT_CELL;
	printf("%s\n", id);
	return 0;
}

/* ---- dispatch ---- */

static const struct cell_cmd image_cmds[] = {
	{ "ls", image_ls, 0, "List images" },
	{ "list", image_ls, 0, NULL },
	{ "inspect", image_inspect, 0, "Show details of images" },
	{ "rm", image_rm, 0, "Remove images" },
	{ "prune", image_prune, 0, "Remove unused images, layers and blobs" },
	{ "tag", image_tag, 0, "Give an image another name" },
	{ "history", image_history, 0, "Show how an image was made" },
	{ "import", image_import, 0, "Import an OCI layout, docker-archive or rootfs tar" },
	{ "load", image_load, 0, "Load images from an archive" },
	{ "save", image_save, 0, "Save images to an archive" },
	{ "commit", image_commit, 0, "Make an image from a container's changes" },
	{ "mount", image_mount, 0, "Mount an image's root with a writable layer" },
	{ "unmount", image_unmount, 0, "Unmount what `image mount` mounted" },
	{ "umount", image_unmount, 0, NULL },
	{ "build", cmd_build, 0, "Build an image from a Dockerfile or Containerfile" },
};

int cmd_image(int argc, char **argv, cell_error **err)
{
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		FILE *f = argc < 2 ? stderr : stdout;
		fprintf(f, "Usage: cell image COMMAND\n\nManage images.\n\nCommands:\n");
		for (size_t i = 0; i < ARRAY_SIZE(image_cmds); i++)
			if (image_cmds[i].summary)
				fprintf(f, "  %-10s %s\n", image_cmds[i].name, image_cmds[i].summary);
		return argc < 2 ? EXIT_CELL : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(image_cmds); i++) {
		if (!streq(image_cmds[i].name, argv[1]))
			continue;
		if (geteuid() != 0)
			return cell_error_set(err, "`image %s` needs root (the image store `%s` belongs to root)",
					      argv[1], cell_globals.root);
		optind = 0;
		int r = image_cmds[i].fn(argc - 1, argv + 1, err);
		return *err && r == 0 ? EXIT_CELL : r;
	}
	return cell_error_set(err, "unknown command `image %s` (see `cell image --help`)", argv[1]);
}

/* Docker's top-level spellings. */
int cmd_images(int argc, char **argv, cell_error **err)
{
	char *v[argc + 2];
	v[0] = "image";
	v[1] = "ls";
	for (int i = 1; i < argc; i++)
		v[i + 1] = argv[i];
	v[argc + 1] = NULL;
	return cmd_image(argc + 1, v, err);
}

int cmd_rmi(int argc, char **argv, cell_error **err)
{
	argv[0] = "rm";
	char *v[argc + 2];
	v[0] = "image";
	for (int i = 0; i < argc; i++)
		v[i + 1] = argv[i];
	v[argc + 1] = NULL;
	return cmd_image(argc + 1, v, err);
}

int cmd_load(int argc, char **argv, cell_error **err)
{
	char *v[argc + 2];
	v[0] = "image";
	for (int i = 0; i < argc; i++)
		v[i + 1] = argv[i];
	v[argc + 1] = NULL;
	return cmd_image(argc + 1, v, err);
}
