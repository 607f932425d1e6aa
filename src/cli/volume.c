/* `cell volume create|ls|inspect|rm|prune`, as Docker's local volumes. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "engine/volume.h"
#include "json.h"
#include "util.h"

static const char usage_text[] =
	"Usage: cell volume COMMAND\n\n"
	"Manage volumes (kept under <root>/volumes/NAME/_data).\n\n"
	"Commands:\n"
	"  create [--label k=v] [NAME]          create a volume (a 64-hex name when none is given)\n"
	"  ls [-q] [--filter dangling=true|false|name=S|label=K[=V]|driver=local] [--format table|json|TEMPLATE]\n"
	"  inspect [--format TEMPLATE] VOLUME...  the records as a JSON array\n"
	"  rm [-f] VOLUME...                    remove volumes no container uses (-f: a missing one is fine)\n"
	"  prune [-f] [-a] [--filter label=K[=V]]  remove unused anonymous volumes (-a: every unused one)\n";

/* Docker's units.HumanSize: decimal units, four significant digits. */
void cli_human_size(uint64_t b, char *buf, size_t len)
{
	static const char *const u[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)b;
	size_t i = 0;
	while (v >= 1000 && i + 1 < ARRAY_SIZE(u)) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, "%.4g%s", v, u[i]);
}

static int open_engine(struct cell_engine **e, cell_error **err)
{
	return cli_engine_open(e, err);
}

/* ---- create ---- */

static int vol_create(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "label", required_argument, NULL, 'l' }, { "driver", required_argument, NULL, 'd' },
		{ "opt", required_argument, NULL, 'o' }, { "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	_cleanup_free_ char **labels = NULL;
	const char *name = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+d:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'l': cli_strv_push(&labels, optarg); break;
		case 'n': name = optarg; break;
		case 'd':
			if (!streq(optarg, "local"))
				return cell_error_set(err, "volume create: driver `%s` is not supported (local only)",
						      optarg), EXIT_CELL;
			break;
		case 'o':
			return cell_error_set(err, "volume create: --opt `%s`: driver options are not supported "
					      "(the local driver keeps a plain directory)", optarg), EXIT_CELL;
		case 'h': printf("Usage: cell volume create [--label k=v] [NAME]\n"); return 0;
		default: return cell_error_set(err, "volume create: bad option (see `cell volume --help`)"), EXIT_CELL;
		}
	}
	if (optind < argc) {
		if (name && !streq(name, argv[optind]))
			return cell_error_set(err, "volume create: two names given: `%s` and `%s`", name,
					      argv[optind]), EXIT_CELL;
		name = argv[optind++];
	}
	if (optind < argc)
		return cell_error_set(err, "volume create: at most one NAME"), EXIT_CELL;
	struct cell_engine *e = NULL;
	json_object *rec = NULL;
	int status = EXIT_CELL;
	if (open_engine(&e, err) == 0 && cell_volume_create(e, name, labels, false, &rec, NULL, err) == 0) {
		printf("%s\n", json_object_get_string(json_object_object_get(rec, "Name")));
		status = 0;
	}
	json_object_put(rec);
	cell_engine_free(e);
	return status;
}

/* ---- ls ---- */

struct filters {
	int dangling;		/* -1 any, 0 used, 1 unused */
	char **names, **labels;
	bool bad_driver;
};

static int filter_add(struct filters *f, const char *s, bool prune, cell_error **err)
{
	const char *eq = strchr(s, '=');
	if (!eq)
		return cell_error_set(err, "invalid --filter `%s`: expected key=value", s);
	size_t k = (size_t)(eq - s);
	const char *v = eq + 1;
	if (!prune && k == 8 && strncmp(s, "dangling", 8) == 0) {
		if (streq(v, "true") || streq(v, "1"))
			f->dangling = 1;
		else if (streq(v, "false") || streq(v, "0"))
			f->dangling = 0;
		else
			return cell_error_set(err, "invalid --filter `%s`: dangling is true or false", s);
	} else if (!prune && k == 4 && strncmp(s, "name", 4) == 0) {
		cli_strv_push(&f->names, v);
	} else if (k == 5 && strncmp(s, "label", 5) == 0) {
		cli_strv_push(&f->labels, v);
	} else if (!prune && k == 6 && strncmp(s, "driver", 6) == 0) {
		if (!streq(v, "local"))
			f->bad_driver = true;
	} else {
		return cell_error_set(err, "invalid --filter `%s`: expected %s", s,
				      prune ? "label=K[=V]" : "dangling=, name=, label= or driver=");
	}
	return 0;
}

static bool matches(struct cell_engine *e, const struct filters *f, json_object *rec, const char *name)
{
	if (f->bad_driver)
		return false;
	bool any = !f->names;
	for (size_t i = 0; f->names && f->names[i]; i++)
		if (strstr(name, f->names[i]))
			any = true;
	if (!any)
		return false;
	for (size_t i = 0; f->labels && f->labels[i]; i++)
		if (!cell_volume_has_label(rec, f->labels[i]))
			return false;
	if (f->dangling >= 0) {
		_cleanup_strv_ char **users = NULL;
		cell_error *x = NULL;
		if (cell_volume_users(e, name, &users, &x) < 0) {
			cell_error_free(&x);
			return false;
		}
		if ((users[0] == NULL) != (f->dangling == 1))
			return false;
	}
	return true;
}

static char *labels_text(json_object *labels)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	bool first = true;
	json_object_object_foreach(labels, k, v) {
		fprintf(f, "%s%s=%s", first ? "" : ",", k, json_object_get_string(v));
		first = false;
	}
	fclose(f);
	return buf;
}

static int vol_ls(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' }, { "filter", required_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct filters f = { .dangling = -1 };
	const char *format = "table";
	bool quiet = false;
	int c, status = EXIT_CELL;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+qf:", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quiet = true; break;
		case 'f':
			if (filter_add(&f, optarg, false, err) < 0)
				goto out;
			break;
		case 'F': format = optarg; break;
		case 'h':
			printf("Usage: cell volume ls [-q] [--filter dangling=true|false|name=S|label=K[=V]] "
			       "[--format table|json|TEMPLATE]\n");
			status = 0;
			goto out;
		default: cell_error_set(err, "volume ls: bad option (see `cell volume --help`)"); goto out;
		}
	}
	if (optind < argc) {
		cell_error_set(err, "volume ls: unexpected argument `%s`", argv[optind]);
		goto out;
	}
	struct cell_engine *e = NULL;
	_cleanup_strv_ char **names = NULL;
	if (open_engine(&e, err) < 0 || cell_volume_list(e, &names, err) < 0) {
		cell_engine_free(e);
		goto out;
	}
	bool table = streq(format, "table"), json = streq(format, "json");
	if (table && !quiet)
		printf("%-15s %s\n", "DRIVER", "VOLUME NAME");
	for (size_t i = 0; names[i]; i++) {
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (cell_volume_get(e, names[i], &rec, &x) < 0) {
			cell_error_free(&x);	/* removed meanwhile */
			continue;
		}
		if (!matches(e, &f, rec, names[i])) {
			json_object_put(rec);
			continue;
		}
		if (quiet) {
			printf("%s\n", names[i]);
		} else if (table) {
			printf("%-15s %s\n", "local", names[i]);
		} else {
			/* Docker's `volume ls --format` fields */
			_cleanup_free_ char *lt = labels_text(json_object_object_get(rec, "Labels"));
			json_object *o = json_object_new_object();
			json_object_object_add(o, "Driver", json_object_new_string("local"));
			json_object_object_add(o, "Labels", json_object_new_string(lt));
			json_object_object_add(o, "Mountpoint", json_object_get(json_object_object_get(rec, "Mountpoint")));
			json_object_object_add(o, "Name", json_object_new_string(names[i]));
			json_object_object_add(o, "Scope", json_object_new_string("local"));
			if (json)
				printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
									       JSON_C_TO_STRING_NOSLASHESCAPE));
			else {
				cli_template(stdout, o, format);
				putchar('\n');
			}
			json_object_put(o);
		}
		json_object_put(rec);
	}
	cell_engine_free(e);
	status = 0;
out:
	free(f.names);
	free(f.labels);
	return status;
}

/* ---- inspect ---- */

static int vol_inspect(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *format = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'h': printf("Usage: cell volume inspect [--format TEMPLATE|json] VOLUME...\n"); return 0;
		default: return cell_error_set(err, "volume inspect: bad option"), EXIT_CELL;
		}
	}
	if (optind >= argc)
		return cell_error_set(err, "volume inspect: give at least one VOLUME"), EXIT_CELL;
	struct cell_engine *e = NULL;
	if (open_engine(&e, err) < 0)
		return EXIT_CELL;
	json_object *all = json_object_new_array();
	int status = 0;
	for (int i = optind; i < argc; i++) {
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (cell_volume_get(e, argv[i], &rec, &x) < 0) {
			fprintf(stderr, "cell: %s\n", x->msg);
			cell_error_free(&x);
			status = 1;
			continue;
		}
		if (format && !streq(format, "json")) {
			cli_template(stdout, rec, format);
			putchar('\n');
		}
		json_object_array_add(all, rec);
	}
	if (!format || streq(format, "json"))
		printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(all);
	cell_engine_free(e);
	return status;
}

/* ---- rm ---- */

static int vol_rm(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	bool force = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'h': printf("Usage: cell volume rm [-f] VOLUME...\n"); return 0;
		default: return cell_error_set(err, "volume rm: bad option"), EXIT_CELL;
		}
	}
	if (optind >= argc)
		return cell_error_set(err, "volume rm: give at least one VOLUME"), EXIT_CELL;
	struct cell_engine *e = NULL;
	if (open_engine(&e, err) < 0)
		return EXIT_CELL;
	int status = 0;
	for (int i = optind; i < argc; i++) {
		cell_error *x = NULL;
		if (cell_volume_remove(e, argv[i], force, &x) < 0) {
			/* Docker: each failure on its line, the others still go, exit 1 */
			fprintf(stderr, "cell: %s\n", x->msg);
			cell_error_free(&x);
			status = 1;
			continue;
		}
		printf("%s\n", argv[i]);
	}
	cell_engine_free(e);
	return status;
}

/* ---- prune ---- */

bool cli_confirm(const char *warning)
{
	fprintf(stderr, "WARNING! %s\nAre you sure you want to continue? [y/N] ", warning);
	char line[16] = "";
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

static int vol_prune(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' }, { "all", no_argument, NULL, 'a' },
		{ "filter", required_argument, NULL, 'F' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	bool force = false, all = false;
	struct filters f = { .dangling = -1 };
	int c, status = EXIT_CELL;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+fa", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'a': all = true; break;
		case 'F':
			if (filter_add(&f, optarg, true, err) < 0)
				goto out;
			break;
		case 'h': printf("Usage: cell volume prune [-f] [-a] [--filter label=K[=V]]\n"); status = 0; goto out;
		default: cell_error_set(err, "volume prune: bad option"); goto out;
		}
	}
	if (!force && !cli_confirm(all ? "This will remove all local volumes not used by at least one container."
				       : "This will remove anonymous local volumes not used by at least one container.")) {
		status = 0;
		goto out;
	}
	struct cell_engine *e = NULL;
	_cleanup_strv_ char **gone = NULL;
	uint64_t bytes = 0;
	if (open_engine(&e, err) < 0)
		goto out;
	if (cell_volume_prune(e, all, f.labels, &gone, &bytes, err) < 0) {
		cell_engine_free(e);
		goto out;
	}
	cell_engine_free(e);
	if (gone[0])
		printf("Deleted Volumes:\n");
	for (size_t i = 0; gone[i]; i++)
		printf("%s\n", gone[i]);
	char hs[32];
	cli_human_size(bytes, hs, sizeof(hs));
	printf("%sTotal reclaimed space: %s\n", gone[0] ? "\n" : "", hs);
	status = 0;
out:
	free(f.names);
	free(f.labels);
	return status;
}

int cmd_volume(int argc, char **argv, cell_error **err)
{
	static const struct { const char *name; int (*fn)(int, char **, cell_error **); } subs[] = {
		{ "create", vol_create }, { "ls", vol_ls }, { "list", vol_ls }, { "inspect", vol_inspect },
		{ "rm", vol_rm }, { "remove", vol_rm }, { "prune", vol_prune },
	};
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_CELL : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (streq(subs[i].name, argv[1]))
			return subs[i].fn(argc - 1, argv + 1, err);
	return cell_error_set(err, "unknown command `volume %s` (see `cell volume --help`)", argv[1]), EXIT_CELL;
}
