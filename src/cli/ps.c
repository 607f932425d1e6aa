/* `cell ps`: the containers, their status read from the runtime (not from
 * what a possibly killed CLI last wrote). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "json.h"
#include "util.h"

static time_t parse_time(const char *s)
{
	struct tm tm = { 0 };
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return timegm(&tm);
}

/* Docker's "3 seconds", "About a minute", "2 hours" */
static void human_duration(time_t d, char *buf, size_t len)
{
	if (d < 1)
		snprintf(buf, len, "Less than a second");
	else if (d == 1)
		snprintf(buf, len, "1 second");
	else if (d < 60)
		snprintf(buf, len, "%ld seconds", (long)d);
	else if (d < 120)
		snprintf(buf, len, "About a minute");
	else if (d < 3600)
		snprintf(buf, len, "%ld minutes", (long)(d / 60));
	else if (d < 7200)
		snprintf(buf, len, "About an hour");
	else if (d < 48 * 3600)
		snprintf(buf, len, "%ld hours", (long)(d / 3600));
	else
		snprintf(buf, len, "%ld days", (long)(d / 86400));
}

static const char *str_at(json_object *o, const char *a, const char *b)
{
	json_object *v = json_object_object_get(o, a);
	if (b)
		v = json_object_object_get(v, b);
	return v ? json_object_get_string(v) : "";
}

static char *status_text(json_object *rec)
{
	const char *s = cell_ctr_status(rec);
	json_object *st = json_object_object_get(rec, "State");
	char d[64];
	time_t now = time(NULL);
	if (streq(s, "running") || streq(s, "paused")) {
		human_duration(now - parse_time(str_at(st, "StartedAt", NULL)), d, sizeof(d));
		/* Docker's: "Up 2 minutes (healthy)", "(health: starting)" */
		const char *h = str_at(st, "Health", "Status");
		_cleanup_free_ char *health = !*h ? xstrdup("") : streq(h, "starting") ? xstrdup(" (health: starting)")
											: xasprintf(" (%s)", h);
		return xasprintf("Up %s%s%s", d, streq(s, "paused") ? " (Paused)" : "", health);
	}
	if (streq(s, "exited") || streq(s, "restarting")) {
		human_duration(now - parse_time(str_at(st, "FinishedAt", NULL)), d, sizeof(d));
		int code = json_object_get_int(json_object_object_get(st, "ExitCode"));
		return xasprintf("%s (%d) %s ago", streq(s, "exited") ? "Exited" : "Restarting", code, d);
	}
	return xasprintf("%c%s", s[0] - 32, s + 1);
}

static char *command_text(json_object *rec, bool trunc)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	fputs(str_at(rec, "Path", NULL), f);
	json_object *args = json_object_object_get(rec, "Args");
	for (size_t i = 0; args && i < json_object_array_length(args); i++)
		fprintf(f, " %s", json_object_get_string(json_object_array_get_idx(args, i)));
	fclose(f);
	/* Docker's 20 columns: 19 bytes and an ellipsis (3 bytes: no strcpy
	 * into buf, whose 21 or 22 bytes may not hold it) */
	char *q = trunc && strlen(buf) > 20 ? xasprintf("\"%.19s…\"", buf) : xasprintf("\"%s\"", buf);
	free(buf);
	return q;
}

static char *labels_text(json_object *rec)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	bool first = true;
	json_object *labels = json_object_object_get(json_object_object_get(rec, "Config"), "Labels");
	if (!labels) {
		fclose(f);
		return buf;
	}
	json_object_object_foreach(labels, k, v) {
		fprintf(f, "%s%s=%s", first ? "" : ",", k, json_object_get_string(v));
		first = false;
	}
	fclose(f);
	return buf;
}

static bool label_matches(json_object *rec, const char *want)
{
	json_object *labels = json_object_object_get(json_object_object_get(rec, "Config"), "Labels");
	const char *eq = strchr(want, '=');
	_cleanup_free_ char *k = eq ? strndup(want, (size_t)(eq - want)) : xstrdup(want);
	json_object *v = json_object_object_get(labels, k);
	if (!v)
		return false;
	return !eq || streq(json_object_get_string(v), eq + 1);
}

/* The container's networks in order, "a,b" (Docker's .Networks): the
 * endpoints asked at create, else the network mode of older records. */
static char *networks_text(json_object *rec)
{
	json_object *eps = json_object_object_get(json_object_object_get(rec, "NetworkingConfig"), "EndpointsConfig");
	if (!eps || json_object_object_length(eps) == 0)
		return xstrdup(str_at(rec, "HostConfig", "NetworkMode"));
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	bool first = true;
	json_object_object_foreach(eps, k, v) {
		(void)v;
		fprintf(f, "%s%s", first ? "" : ",", k);
		first = false;
	}
	fclose(f);
	return buf;
}

static bool network_matches(json_object *rec, const char *want)
{
	_cleanup_free_ char *nets = networks_text(rec);
	char *save = NULL;
	for (char *t = strtok_r(nets, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (streq(t, want))
			return true;
	return false;
}

static int filter_ok(json_object *rec, char **filters, cell_error **err)
{
	for (size_t i = 0; filters && filters[i]; i++) {
		const char *f = filters[i];
		const char *eq = strchr(f, '=');
		if (!eq)
			return cell_error_set(err, "invalid --filter `%s`: expected key=value", f);
		_cleanup_free_ char *k = strndup(f, (size_t)(eq - f));
		const char *v = eq + 1;
		const char *name = str_at(rec, "Name", NULL);
		if (*name == '/')
			name++;
		if (streq(k, "status")) {
			if (!streq(cell_ctr_status(rec), v))
				return 0;
		} else if (streq(k, "name")) {
			if (!strstr(name, v))
				return 0;
		} else if (streq(k, "id")) {
			if (strncmp(str_at(rec, "Id", NULL), v, strlen(v)) != 0)
				return 0;
		} else if (streq(k, "label")) {
			if (!label_matches(rec, v))
				return 0;
		} else if (streq(k, "exited")) {
			if (!streq(cell_ctr_status(rec), "exited") ||
			    json_object_get_int(json_object_object_get(json_object_object_get(rec, "State"), "ExitCode")) != atoi(v))
				return 0;
		} else if (streq(k, "network")) {
			if (!network_matches(rec, v))
				return 0;
		} else if (streq(k, "health")) {
			/* Docker's values; "none": no healthcheck */
			const char *h = str_at(json_object_object_get(rec, "State"), "Health", "Status");
			if (!streq(v, "starting") && !streq(v, "healthy") && !streq(v, "unhealthy") && !streq(v, "none"))
				return cell_error_set(err, "invalid --filter `%s`: health is starting, healthy, unhealthy "
							   "or none", f);
			if (!streq(*h ? h : "none", v))
				return 0;
		} else if (streq(k, "ancestor")) {
			if (!streq(str_at(rec, "Config", "Image"), v) && !strstr(str_at(rec, "Image", NULL), v))
				return 0;
		} else {
			return cell_error_set(err, "invalid --filter `%s`: unknown key `%s` (status, name, id, label, "
					      "exited, ancestor, network, health)", f, k);
		}
	}
	return 1;
}

/* Docker's "0.0.0.0:8080->80/tcp, ..." */
char *cli_ports_text(json_object *rec);
char *cli_ports_text(json_object *rec)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	json_object *a = json_object_object_get(json_object_object_get(rec, "NetworkSettings"), "Ports");
	const char *s = cell_ctr_status(rec);
	for (size_t i = 0; (streq(s, "running") || streq(s, "paused")) && a && i < json_object_array_length(a); i++) {
		json_object *p = json_object_array_get_idx(a, i);
		fprintf(f, "%s%s:%d->%d/%s", i ? ", " : "", str_at(p, "HostIp", NULL),
			json_object_get_int(json_object_object_get(p, "HostPort")),
			json_object_get_int(json_object_object_get(p, "ContainerPort")), str_at(p, "Type", NULL));
	}
	fclose(f);
	return buf;
}
#define ports_text cli_ports_text

static json_object *row(json_object *rec, bool trunc)
{
	json_object *o = json_object_new_object();
	const char *id = str_at(rec, "Id", NULL);
	const char *name = str_at(rec, "Name", NULL);
	char sid[13];
	snprintf(sid, sizeof(sid), "%.12s", id);
	json_object_object_add(o, "ID", json_object_new_string(trunc ? sid : id));
	json_object_object_add(o, "Image", json_object_new_string(str_at(rec, "Config", "Image")));
	char *cmd = command_text(rec, trunc);
	json_object_object_add(o, "Command", json_object_new_string(cmd));
	free(cmd);
	json_object_object_add(o, "CreatedAt", json_object_new_string(str_at(rec, "Created", NULL)));
	char d[64];
	human_duration(time(NULL) - parse_time(str_at(rec, "Created", NULL)), d, sizeof(d));
	char *ago = *str_at(rec, "Created", NULL) ? xasprintf("%s ago", d) : xstrdup("");
	json_object_object_add(o, "RunningFor", json_object_new_string(ago));
	free(ago);
	char *st = status_text(rec);
	json_object_object_add(o, "Status", json_object_new_string(st));
	free(st);
	json_object_object_add(o, "State", json_object_new_string(cell_ctr_status(rec)));
	char *ports = ports_text(rec);
	json_object_object_add(o, "Ports", json_object_new_string(ports));
	free(ports);
	json_object_object_add(o, "Names", json_object_new_string(*name == '/' ? name + 1 : name));
	char *l = labels_text(rec);
	json_object_object_add(o, "Labels", json_object_new_string(l));
	free(l);
	char *nets = networks_text(rec);
	json_object_object_add(o, "Networks", json_object_new_string(nets));
	free(nets);
	return o;
}

/* Columns in characters, not bytes ("…" is three bytes). */
static int width(const char *s)
{
	int n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void print_table(json_object **rows, size_t n)
{
	static const char *const cols[] = { "ID", "Image", "Command", "RunningFor", "Status", "Ports", "Names" };
	static const char *const heads[] = { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS",
					     "NAMES" };
	size_t w[ARRAY_SIZE(cols)];
	for (size_t c = 0; c < ARRAY_SIZE(cols); c++) {
		w[c] = strlen(heads[c]);
		for (size_t i = 0; i < n; i++) {
			size_t l = (size_t)width(json_object_get_string(json_object_object_get(rows[i], cols[c])));
			if (l > w[c])
				w[c] = l;
		}
	}
	for (size_t c = 0; c < ARRAY_SIZE(cols); c++)
		printf(c + 1 < ARRAY_SIZE(cols) ? "%-*s   " : "%-*s\n", (int)(c + 1 < ARRAY_SIZE(cols) ? w[c] : 0),
		       heads[c]);
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < ARRAY_SIZE(cols); c++) {
			const char *v = json_object_get_string(json_object_object_get(rows[i], cols[c]));
			if (c + 1 < ARRAY_SIZE(cols))
				printf("%s%*s   ", v, (int)w[c] - width(v), "");
			else
				printf("%s\n", v);
		}
}

int cmd_ps(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' }, { "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'F' }, { "filter", required_argument, NULL, 'f' },
		{ "no-trunc", no_argument, NULL, 'N' }, { "last", required_argument, NULL, 'n' },
		{ "latest", no_argument, NULL, 'l' }, { "size", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	bool all = false, quiet = false, trunc = true;
	const char *format = NULL;
	char **filters = NULL;
	long last = -1;
	int c;
	while ((c = getopt_long(argc, argv, "aqf:n:ls", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		case 'F': format = optarg; break;
		case 'f': cli_strv_push(&filters, optarg); break;
		case 'N': trunc = false; break;
		case 'n': last = atol(optarg); all = true; break;
		case 'l': last = 1; all = true; break;
		case 's': break;
		case 'h':
			printf("Usage: cell ps [-a] [-q] [--no-trunc] [--filter K=V] [--format table|json|TEMPLATE]\n");
			free(filters);
			return 0;
		default: free(filters); return cell_error_set(err, "ps: bad option"), EXIT_CELL;
		}
	}
	struct cell_engine *e = NULL;
	char **ids = NULL;
	int status = EXIT_CELL;
	json_object **rows = NULL;
	size_t n = 0;
	if (cli_engine_open(&e, err) < 0 || cell_ctr_list(e, &ids, err) < 0)
		goto out;
	for (size_t i = 0; ids[i] && (last < 0 || (long)n < last); i++) {
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (cell_ctr_load(e, ids[i], &rec, &x) < 0) {
			cell_error_free(&x);
			continue;
		}
		/* a restart policy whose monitor died is applied now */
		if (cell_ctr_revive(e, ids[i]) > 0) {
			json_object_put(rec);
			rec = NULL;
			if (cell_ctr_load(e, ids[i], &rec, &x) < 0) {
				cell_error_free(&x);
				continue;
			}
		}
		const char *s = cell_ctr_status(rec);
		bool shown = all || streq(s, "running") || streq(s, "paused") || streq(s, "restarting");
		int fo = filter_ok(rec, filters, err);
		if (fo < 0) {
			json_object_put(rec);
			goto out;
		}
		if (shown && fo) {
			rows = realloc(rows, (n + 1) * sizeof(*rows));
			rows[n++] = row(rec, trunc);
		}
		json_object_put(rec);
	}
	if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", json_object_get_string(json_object_object_get(rows[i], "ID")));
	} else if (format && streq(format, "json")) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", json_object_to_json_string_ext(rows[i], JSON_C_TO_STRING_PLAIN |
									      JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (format && !streq(format, "table")) {
		for (size_t i = 0; i < n; i++) {
			cli_template(stdout, rows[i], strncmp(format, "table ", 6) == 0 ? format + 6 : format);
			fputc('\n', stdout);
		}
	} else {
		print_table(rows, n);
	}
	status = 0;
out:
	for (size_t i = 0; i < n; i++)
		json_object_put(rows[i]);
	free(rows);
	strv_free(ids);
	free(filters);
	cell_engine_free(e);
	return status;
}
