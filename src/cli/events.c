/* `cell events`: Docker's event stream read from the engine's journal
 * (<root>/events.log and its rotated .1, see engine/events.h) and followed
 * with inotify, since there is no daemon to ask. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/health.h"
#include "util.h"

struct ev_opts {
	int64_t since, until;	/* ns since the epoch; 0: none */
	char **filters;		/* key=value */
	const char *format;
	bool stop;		/* --until passed: done */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Docker's --since/--until: a unix time (with fraction), an RFC 3339 date, or
 * a duration back from now (10m, 1h30m). */
int cli_time_parse(const char *flag, const char *s, int64_t *ret, cell_error **err)
{
	char *end;
	errno = 0;
	double t = strtod(s, &end);
	if (!errno && end != s && !*end) {
		*ret = (int64_t)(t * 1e9);
		return 0;
	}
	struct tm tm = { 0 };
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		rest = strptime(s, "%Y-%m-%d", &tm);
	if (rest) {
		double frac = *rest == '.' ? strtod(rest, (char **)&rest) : 0;
		if (!*rest || streq(rest, "Z")) {
			*ret = (int64_t)timegm(&tm) * 1000000000 + (int64_t)(frac * 1e9);
			return 0;
		}
	}
	int64_t d;
	if (cell_duration_parse(s, &d) == 0 && d >= 0) {
		*ret = now_ns() - d;
		return 0;
	}
	return cell_error_set(err, "invalid %s `%s`: a unix time, an RFC 3339 date (2006-01-02T15:04:05Z) or a "
				   "duration back from now (10m)", flag, s);
}

static int attr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Docker's default line: TIME TYPE ACTION ID (k=v, ...), attributes sorted. */
static void print_default(json_object *ev)
{
	int64_t ns = json_object_get_int64(json_object_object_get(ev, "timeNano"));
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	char when[64];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	json_object *actor = json_object_object_get(ev, "Actor");
	printf("%s.%09lldZ %s %s %s", when, (long long)(ns % 1000000000),
	       json_object_get_string(json_object_object_get(ev, "Type")),
	       json_object_get_string(json_object_object_get(ev, "Action")),
	       json_object_get_string(json_object_object_get(actor, "ID")));
	json_object *a = json_object_object_get(actor, "Attributes");
	size_t n = json_object_is_type(a, json_type_object) ? (size_t)json_object_object_length(a) : 0;
	if (n) {
		char **keys = xcalloc(n + 1, sizeof(char *));
		size_t i = 0;
		json_object_object_foreach(a, k, v) {
			(void)v;
			if (i < n)
				keys[i++] = k;
		}
		qsort(keys, i, sizeof(char *), attr_cmp);
		printf(" (");
		for (size_t j = 0; j < i; j++)
			printf("%s%s=%s", j ? ", " : "", keys[j], json_object_get_string(json_object_object_get(a, keys[j])));
		printf(")");
		free(keys);
	}
	printf("\n");
}

static void print_event(json_object *ev, const char *format)
{
	if (!format)
		print_default(ev);
	else if (streq(format, "{{json .}}") || streq(format, "json"))
		printf("%s\n", json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	else {
		cli_template(stdout, ev, format);
		fputc('\n', stdout);
	}
	fflush(stdout);
}

static int events_run(struct cell_engine *e, struct ev_opts *o, cell_error **err)
{
	struct cell_events_opts eo = { .since = o->since, .until = o->until, .filters = o->filters };
	struct cell_events_reader *r = NULL;
	if (cell_events_open(e, &eo, &r, err) < 0)
		return -1;
	int rc;
	json_object *ev = NULL;
	while ((rc = cell_events_next(r, -1, &ev, err)) == 1) {
		print_event(ev, o->format);
		json_object_put(ev);
	}
	cell_events_close(r);
	return rc < 0 ? -1 : 0;
}

static void events_usage(void)
{
	printf("Usage: cell events [--since TIME] [--until TIME] [--filter K=V]... [--format FORMAT]\n\n"
	       "Show the engine's events as Docker does: container create, start, die (exitCode),\n"
	       "oom, kill, stop, pause, unpause, rename, destroy, health_status; without --until,\n"
	       "follow new ones. They are read from the journal under the engine root (each\n"
	       "command and monitor appends to it; there is no daemon).\n\n"
	       "Options:\n"
	       "      --since TIME     from TIME (unix seconds, RFC 3339, or a duration back: 10m)\n"
	       "      --until TIME     up to TIME, then exit\n"
	       "  -f, --filter K=V     type=, container=, image=, event=, label=K[=V], network=, volume=\n"
	       "                       (one key given twice: either; two keys: both)\n"
	       "      --format FORMAT  '{{json .}}' (Docker's JSON: Type, Action, Actor{ID,Attributes},\n"
	       "                       scope, time, timeNano) or a template such as '{{.Action}}'\n");
}

int cmd_events(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' }, { "until", required_argument, NULL, 'u' },
		{ "filter", required_argument, NULL, 'f' }, { "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct ev_opts o = { 0 };
	int c, rc = EXIT_CELL;
	struct cell_engine *e = NULL;
	while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (cli_time_parse("--since", optarg, &o.since, err) < 0)
				goto out;
			break;
		case 'u':
			if (cli_time_parse("--until", optarg, &o.until, err) < 0)
				goto out;
			break;
		case 'f': cli_strv_push(&o.filters, optarg); break;
		case 'F': o.format = optarg; break;
		case 'h': events_usage(); rc = 0; goto out;
		default: cell_error_set(err, "events: bad option (see `cell events --help`)"); goto out;
		}
	}
	if (optind != argc) {
		cell_error_set(err, "`cell events` accepts no arguments");
		goto out;
	}
	if (cell_events_filters_check(o.filters, "--filter", err) < 0 || cli_engine_open(&e, err) < 0)
		goto out;
	if (events_run(e, &o, err) == 0)
		rc = 0;
out:
	cell_engine_free(e);
	free(o.filters);
	return rc;
}
