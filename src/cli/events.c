/* `cell events`: Docker's event stream read from the engine's journal
 * (<root>/events.log and its rotated .1, see engine/events.h) and followed
 * with inotify, since there is no daemon to ask. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/health.h"
#include "util.h"

#define LINE_MAX_EV (64 * 1024)	/* a longer line is not one we wrote */

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

static const char *attr(json_object *ev, const char *key)
{
	json_object *a = json_object_object_get(json_object_object_get(ev, "Actor"), "Attributes");
	return json_object_get_string(json_object_object_get(a, key));
}

static bool filter_one(json_object *ev, const char *key, const char *val)
{
	const char *type = json_object_get_string(json_object_object_get(ev, "Type"));
	const char *action = json_object_get_string(json_object_object_get(ev, "Action"));
	const char *id = json_object_get_string(json_object_object_get(json_object_object_get(ev, "Actor"), "ID"));
	type = type ? type : "";
	action = action ? action : "";
	id = id ? id : "";
	if (streq(key, "type"))
		return streq(type, val);
	if (streq(key, "event")) {
		/* "health_status: healthy" is matched by health_status too */
		size_t n = strcspn(action, ":");
		return streq(action, val) || (strlen(val) == n && strncmp(action, val, n) == 0);
	}
	if (streq(key, "container")) {
		const char *name = attr(ev, "name");
		return streq(type, "container") &&
		       ((*val && strncmp(id, val, strlen(val)) == 0) || (name && streq(name, val)));
	}
	if (streq(key, "image")) {
		const char *img = streq(type, "image") ? id : attr(ev, "image");
		const char *name = attr(ev, "name");
		return (img && streq(img, val)) || (streq(type, "image") && name && streq(name, val));
	}
	if (streq(key, "network") || streq(key, "volume"))
		return streq(type, key) && (streq(id, val) || (attr(ev, "name") && streq(attr(ev, "name"), val)));
	if (streq(key, "label")) {
		const char *eq = strchr(val, '=');
		_cleanup_free_ char *k = eq ? strndup(val, (size_t)(eq - val)) : xstrdup(val);
		const char *v = attr(ev, k);
		return v && (!eq || streq(v, eq + 1));
	}
	return false;
}

static const char *const filter_keys[] = { "type", "event", "container", "image", "label", "network", "volume" };

static int filters_check(char **filters, cell_error **err)
{
	for (size_t i = 0; filters && filters[i]; i++) {
		const char *eq = strchr(filters[i], '=');
		bool known = false;
		for (size_t k = 0; eq && k < ARRAY_SIZE(filter_keys); k++)
			known |= strlen(filter_keys[k]) == (size_t)(eq - filters[i]) &&
				 strncmp(filters[i], filter_keys[k], (size_t)(eq - filters[i])) == 0;
		if (!known)
			return cell_error_set(err, "invalid --filter `%s`: expected KEY=VALUE with KEY one of type, "
						   "event, container, image, label, network, volume", filters[i]);
	}
	return 0;
}

/* Docker's rule: filters of one key are or'ed, different keys and'ed. */
static bool filters_match(json_object *ev, char **filters)
{
	for (size_t k = 0; k < ARRAY_SIZE(filter_keys); k++) {
		bool seen = false, ok = false;
		size_t kl = strlen(filter_keys[k]);
		for (size_t i = 0; filters && filters[i]; i++) {
			if (strncmp(filters[i], filter_keys[k], kl) != 0 || filters[i][kl] != '=')
				continue;
			seen = true;
			ok |= filter_one(ev, filter_keys[k], filters[i] + kl + 1);
		}
		if (seen && !ok)
			return false;
	}
	return true;
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

/* One journal line: false once --until is passed. */
static bool handle_line(const char *line, struct ev_opts *o)
{
	json_object *ev = json_tokener_parse(line);
	if (!json_object_is_type(ev, json_type_object)) {
		json_object_put(ev);
		return true;
	}
	int64_t t = json_object_get_int64(json_object_object_get(ev, "timeNano"));
	bool more = true;
	if (o->until && t > o->until)
		more = false;
	else if ((!o->since || t >= o->since) && filters_match(ev, o->filters)) {
		if (!o->format)
			print_default(ev);
		else if (streq(o->format, "{{json .}}") || streq(o->format, "json"))
			printf("%s\n", line);
		else {
			cli_template(stdout, ev, o->format);
			fputc('\n', stdout);
		}
		fflush(stdout);
	}
	json_object_put(ev);
	return more;
}

struct reader {
	int fd;
	char buf[LINE_MAX_EV];
	size_t len;
};

/* Every whole line that can be read now; false once --until is passed. */
static bool read_lines(struct reader *r, struct ev_opts *o)
{
	for (;;) {
		ssize_t n = read(r->fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return true;
		r->len += (size_t)n;
		size_t start = 0;
		for (size_t i = 0; i < r->len; i++) {
			if (r->buf[i] != '\n')
				continue;
			r->buf[i] = 0;
			if (!handle_line(r->buf + start, o))
				return false;
			start = i + 1;
		}
		if (start == 0 && r->len == sizeof(r->buf) - 1)
			start = r->len;	/* not ours: dropped */
		memmove(r->buf, r->buf + start, r->len - start);
		r->len -= start;
	}
}

static int events_run(struct cell_engine *e, struct ev_opts *o, cell_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/" EVENTS_FILE, e->root);
	_cleanup_free_ char *old = xasprintf("%s/" EVENTS_OLD, e->root);
	/* watch first, so that nothing written between the reads and the
	 * watch is missed */
	_cleanup_close_ int in = -1;
	if (!o->until || o->until > now_ns()) {
		in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (in < 0 || inotify_add_watch(in, e->root, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0)
			return cell_error_errno(err, errno, "events: watch `%s` with inotify (fs.inotify.max_user_"
							    "watches reached?)", e->root);
	}
	struct reader *r = xcalloc(1, sizeof(*r));
	r->fd = -1;
	bool more = true;
	/* the past: only with --since or --until, as Docker */
	if (o->since || o->until) {
		r->fd = open(old, O_RDONLY | O_CLOEXEC);
		if (r->fd >= 0) {
			more = read_lines(r, o);
			r->fd = safe_close(r->fd);
			r->len = 0;
		}
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd >= 0) {
		if (o->since || o->until)
			more = more && read_lines(r, o);
		else
			lseek(r->fd, 0, SEEK_END);
	}
	while (more && in >= 0) {
		int64_t left = o->until ? (o->until - now_ns()) / 1000000 : -1;
		if (o->until && left <= 0)
			break;
		struct pollfd p = { .fd = in, .events = POLLIN };
		int pr = poll(&p, 1, left > 0 && left < 1000000 ? (int)left + 1 : (o->until ? 1000000 : -1));
		if (pr < 0 && errno != EINTR) {
			free(r);
			return cell_error_errno(err, errno, "events: wait for new events");
		}
		char ibuf[4096];
		while (read(in, ibuf, sizeof(ibuf)) > 0)
			;
		if (r->fd >= 0)
			more = read_lines(r, o);
		/* rotated (or first created): the rest of the old one, then the new */
		struct stat a, b;
		if (more && stat(path, &a) == 0 && (r->fd < 0 || (fstat(r->fd, &b) == 0 && a.st_ino != b.st_ino))) {
			if (r->fd >= 0)
				more = read_lines(r, o);
			safe_close(r->fd);
			r->len = 0;
			r->fd = open(path, O_RDONLY | O_CLOEXEC);
			if (r->fd >= 0 && more)
				more = read_lines(r, o);
		}
	}
	safe_close(r->fd);
	free(r);
	return 0;
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
	if (filters_check(o.filters, err) < 0 || cli_engine_open(&e, err) < 0)
		goto out;
	if (events_run(e, &o, err) == 0)
		rc = 0;
out:
	cell_engine_free(e);
	free(o.filters);
	return rc;
}
