/* Healthchecks: see health.h. A check is one exec into the container, in a
 * child of ours (the exec joins the container's pid namespace for its own
 * children), its output on a pipe of which the last HEALTH_OUTPUT_MAX bytes
 * are kept; at the timeout the exec'd process (its pid from the runtime's
 * --pid-file) and our child are killed and the check counts as failed, as
 * Docker's "Health check exceeded timeout". */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine-internal.h"
#include "events.h"
#include "health.h"
#include "json.h"
#include "runtime/runtime.h"
#include "util.h"

/* ---- flags ---- */

int cell_duration_parse(const char *s, int64_t *ret_ns)
{
	static const struct { const char *unit; double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "µs", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	const char *p = s;
	bool neg = false;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (streq(p, "0")) {
		*ret_ns = 0;
		return 0;
	}
	if (!*p)
		return -1;
	double total = 0;
	while (*p) {
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -1;
		char *end;
		errno = 0;
		double v = strtod(p, &end);
		if (errno || end == p)
			return -1;
		p = end;
		size_t best = 0, best_len = 0;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			size_t l = strlen(units[i].unit);
			if (strncmp(p, units[i].unit, l) == 0 && l > best_len)
				best = i, best_len = l;
		}
		/* "1m" against "1ms": the longest unit that matches */
		if (!best_len)
			return -1;
		total += v * units[best].ns;
		p += best_len;
	}
	if (total > 9.2e18)
		return -1;
	*ret_ns = (int64_t)(neg ? -total : total);
	return 0;
}

static int flag_duration(json_object *hc, const char *key, const char *flag, const char *val, cell_error **err)
{
	if (!val)
		return 0;
	int64_t ns;
	if (cell_duration_parse(val, &ns) < 0)
		return cell_error_set(err, "invalid argument \"%s\" for \"%s\" flag: time: invalid duration \"%s\" "
					   "(expected a duration such as 30s, 1m30s, 500ms)", val, flag, val);
	if (ns < 0)
		return cell_error_set(err, "%s cannot be negative", flag);
	json_object_object_add(hc, key, json_object_new_int64(ns));
	return 0;
}

static int64_t hc_int(json_object *hc, const char *key)
{
	return json_object_get_int64(json_object_object_get(hc, key));
}

static const char *hc_test0(json_object *hc)
{
	json_object *t = json_object_object_get(hc, "Test");
	if (!json_object_is_type(t, json_type_array) || json_object_array_length(t) == 0)
		return NULL;
	return json_object_get_string(json_object_array_get_idx(t, 0));
}

int engine_health_config(const struct cell_run_request *req, json_object *image_cfg, json_object **ret,
			 const char **ret_action, cell_error **err)
{
	*ret = NULL;
	const char *action = req->health_on_failure ? req->health_on_failure : "none";
	if (!streq(action, "none") && !streq(action, "kill") && !streq(action, "restart") && !streq(action, "stop"))
		return cell_error_set(err, "invalid --health-on-failure `%s`: expected none, kill, restart or stop",
				      action);
	*ret_action = action;
	bool any = req->health_cmd || req->health_interval || req->health_timeout || req->health_retries ||
		   req->health_start_period || req->health_start_interval;
	if (req->no_healthcheck) {
		if (any)
			return cell_error_set(err, "--no-healthcheck conflicts with --health-* options");
		json_object *hc = json_object_new_object();
		json_object *t = json_object_new_array();
		json_object_array_add(t, json_object_new_string("NONE"));
		json_object_object_add(hc, "Test", t);
		*ret = hc;
		return 0;
	}
	json_object *img = image_cfg ? json_object_object_get(image_cfg, "Healthcheck") : NULL;
	json_object *hc = NULL;
	if (json_object_is_type(img, json_type_object))
		json_object_deep_copy(img, &hc, NULL);
	else if (!any)
		return 0;
	else
		hc = json_object_new_object();
	if (req->health_cmd) {
		json_object *t = json_object_new_array();
		json_object_array_add(t, json_object_new_string("CMD-SHELL"));
		json_object_array_add(t, json_object_new_string(req->health_cmd));
		json_object_object_add(hc, "Test", t);
	}
	int r = flag_duration(hc, "Interval", "--health-interval", req->health_interval, err);
	if (r == 0)
		r = flag_duration(hc, "Timeout", "--health-timeout", req->health_timeout, err);
	if (r == 0)
		r = flag_duration(hc, "StartPeriod", "--health-start-period", req->health_start_period, err);
	if (r == 0)
		r = flag_duration(hc, "StartInterval", "--health-start-interval", req->health_start_interval, err);
	if (r == 0 && req->health_retries) {
		int64_t n;
		if (parse_int64(req->health_retries, &n) < 0 || n > 1000000)
			r = cell_error_set(err, "invalid argument \"%s\" for \"--health-retries\" flag: expected an "
						"integer", req->health_retries);
		else if (n < 0)
			r = cell_error_set(err, "--health-retries cannot be negative");
		else
			json_object_object_add(hc, "Retries", json_object_new_int64(n));
	}
	/* the daemon's own checks, on the merged result */
	static const char *const keys[] = { "Interval", "Timeout", "StartPeriod", "StartInterval" };
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(keys); i++) {
		int64_t v = hc_int(hc, keys[i]);
		if (v != 0 && v < 1000000)
			r = cell_error_set(err, "%s in Healthcheck cannot be less than 1ms", keys[i]);
	}
	const char *t0 = hc_test0(hc);
	if (r == 0 && t0 && !streq(t0, "NONE") && !streq(t0, "CMD") && !streq(t0, "CMD-SHELL"))
		r = cell_error_set(err, "unknown Healthcheck type `%s` (the image's HEALTHCHECK: CMD, CMD-SHELL or NONE)",
				   t0);
	if (r == 0 && t0 && !streq(t0, "NONE") &&
	    json_object_array_length(json_object_object_get(hc, "Test")) < 2)
		r = cell_error_set(err, "Healthcheck `%s` without a command", t0);
	if (r < 0) {
		json_object_put(hc);
		return -1;
	}
	if (!t0 && !any) {
		json_object_put(hc);
		return 0;
	}
	if (!t0)
		return json_object_put(hc), cell_error_set(err, "--health-interval and friends need a check: "
								 "--health-cmd CMD (the image has no HEALTHCHECK)");
	*ret = hc;
	return 0;
}

static bool hc_active(json_object *hc)
{
	const char *t0 = hc_test0(hc);
	return t0 && !streq(t0, "NONE");
}

static int64_t or_default(int64_t v, int64_t d)
{
	return v > 0 ? v : d;
}

void engine_health_timing(json_object *rec, int64_t *ret_interval, int64_t *ret_start_period,
			  int64_t *ret_start_interval)
{
	json_object *hc = json_object_object_get(json_object_object_get(rec, "Config"), "Healthcheck");
	*ret_interval = *ret_start_period = *ret_start_interval = 0;
	if (!hc_active(hc))
		return;
	*ret_interval = or_default(hc_int(hc, "Interval"), HEALTH_INTERVAL_DEFAULT) / 1000000;
	*ret_start_period = hc_int(hc, "StartPeriod") / 1000000;
	*ret_start_interval = or_default(hc_int(hc, "StartInterval"), HEALTH_START_INTERVAL_DEFAULT) / 1000000;
	if (*ret_interval <= 0)
		*ret_interval = 1;
	if (*ret_start_interval <= 0)
		*ret_start_interval = 1;
}

/* ---- the state file ---- */

static const char *started_at(json_object *rec)
{
	const char *s = json_object_get_string(json_object_object_get(json_object_object_get(rec, "State"),
								      "StartedAt"));
	return s ? s : "";
}

/* health.json, or a fresh "starting" state when missing or of another run. */
static json_object *health_read(struct cell_engine *e, const char *id, json_object *rec)
{
	_cleanup_free_ char *p = xasprintf("%s/%s/" HEALTH_FILE, e->ctr_root, id);
	json_object *h = NULL;
	cell_error *x = NULL;
	if (access(p, F_OK) == 0 && cj_parse_file(p, &h, &x) < 0)
		cell_error_free(&x);
	const char *run = json_object_get_string(json_object_object_get(h, "StartedAt"));
	if (json_object_is_type(h, json_type_object) && run && streq(run, started_at(rec)))
		return h;
	json_object *log = json_object_object_get(h, "Log");
	json_object *n = json_object_new_object();
	json_object_object_add(n, "Status", json_object_new_string("starting"));
	json_object_object_add(n, "FailingStreak", json_object_new_int(0));
	/* a new run starts over, but the log of the last checks stays */
	json_object_object_add(n, "Log", json_object_is_type(log, json_type_array) ? json_object_get(log)
										   : json_object_new_array());
	json_object_object_add(n, "StartedAt", json_object_new_string(started_at(rec)));
	json_object_put(h);
	return n;
}

void engine_health_merge(struct cell_engine *e, const char *id, json_object *rec)
{
	json_object *hc = json_object_object_get(json_object_object_get(rec, "Config"), "Healthcheck");
	json_object *st = json_object_object_get(rec, "State");
	if (!hc_active(hc) || !st)
		return;
	json_object *h = health_read(e, id, rec);
	json_object_object_del(h, "StartedAt");
	json_object_object_add(st, "Health", h);
}

/* ---- one check ---- */

struct check_result {
	char start[64], end[64];
	int code;
	char out[2 * HEALTH_OUTPUT_MAX];
	size_t len;
};

static void out_add(struct check_result *c, const char *buf, size_t n)
{
	if (n >= HEALTH_OUTPUT_MAX) {
		/* only the tail is kept: a check that prints megabytes costs 4 KiB */
		memcpy(c->out, buf + n - HEALTH_OUTPUT_MAX, HEALTH_OUTPUT_MAX);
		c->len = HEALTH_OUTPUT_MAX;
		return;
	}
	if (c->len + n > sizeof(c->out)) {
		size_t drop = c->len + n - HEALTH_OUTPUT_MAX;
		memmove(c->out, c->out + drop, c->len - drop);
		c->len -= drop;
	}
	memcpy(c->out + c->len, buf, n);
	c->len += n;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void exec_child(struct cell_engine *e, const char *id, char **args, const char *pid_file, int out)
{
	/* a process group of its own, which the exec'd process and whatever it
	 * starts join: a timeout kills them all, not only the shell */
	setsid();
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	dup2(null, 0);
	dup2(out, 1);
	dup2(out, 2);
	struct cell_exec_opts o = { .args = args, .pid_file = pid_file };
	int status = 0;
	cell_error *x = NULL;
	if (cell_rt_exec(e->rt_root, id, &o, &status, &x) < 0) {
		dprintf(2, "%s\n", x->msg);
		_exit(cell_ctr_exit_code(x));
	}
	_exit(status & 0xff);
}

static void kill_pid_file(const char *path)
{
	_cleanup_free_ char *text = NULL;
	cell_error *x = NULL;
	int64_t pid;
	if (read_file(path, &text, NULL, &x) < 0) {
		cell_error_free(&x);
		return;
	}
	text[strcspn(text, "\n")] = 0;
	if (parse_int64(text, &pid) == 0 && pid > 1)
		kill((pid_t)pid, SIGKILL);
}

static int run_check(struct cell_engine *e, const char *id, char **args, int64_t timeout_ns,
		     struct check_result *c, cell_error **err)
{
	_cleanup_free_ char *pid_file = xasprintf("%s/%s/health.%d.pid", e->ctr_root, id, (int)getpid());
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return cell_error_errno(err, errno, "healthcheck of `%.12s`: create a pipe", id);
	rfc3339_now(c->start, sizeof(c->start));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return cell_error_errno(err, errno, "healthcheck of `%.12s`: fork", id);
	}
	if (pid == 0) {
		close(p[0]);
		exec_child(e, id, args, pid_file, p[1]);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	/* the child's exit ends the check (its processes may keep the pipe
	 * open): a pidfd wakes the poll for it */
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int64_t deadline = mono_ms() + timeout_ns / 1000000;
	int fd = p[0], ws = 0;
	bool timed_out = false;
	char buf[4096];
	for (;;) {
		int64_t left = deadline - mono_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd pf[2] = { { .fd = fd, .events = POLLIN }, { .fd = pfd, .events = POLLIN } };
		int cap = pfd >= 0 ? (left > 1000000 ? 1000000 : (int)left) : (left < 50 ? (int)left : 50);
		poll(pf, 2, cap);
		for (;;) {
			ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
			if (n > 0) {
				out_add(c, buf, (size_t)n);
				continue;
			}
			if (n == 0)
				fd = safe_close(fd);
			break;
		}
		if (waitpid(pid, &ws, WNOHANG) == pid) {
			ssize_t n;
			while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
				out_add(c, buf, (size_t)n);
			pid = 0;
			break;
		}
	}
	safe_close(pfd);
	safe_close(fd);
	if (timed_out) {
		kill_pid_file(pid_file);
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
		c->code = -1;
		c->len = (size_t)snprintf(c->out, sizeof(c->out), "Health check exceeded timeout (%" PRId64 "ms)",
					  timeout_ns / 1000000);
	} else {
		c->code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	}
	unlink(pid_file);
	rfc3339_now(c->end, sizeof(c->end));
	return 0;
}

/* ---- the verdict ---- */

static int64_t since_ns(const char *rfc3339)
{
	struct tm tm = { 0 };
	const char *rest = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return INT64_MAX;
	double frac = *rest == '.' ? strtod(rest, NULL) : 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double t = (double)timegm(&tm) + frac;
	return (int64_t)(((double)now.tv_sec + now.tv_nsec / 1e9 - t) * 1e9);
}

/* The status as a string of static storage ("starting" for anything else). */
static const char *status_static(const char *s)
{
	if (s && streq(s, "healthy"))
		return "healthy";
	if (s && streq(s, "unhealthy"))
		return "unhealthy";
	return "starting";
}

/* Under the container's lock: fold the result into health.json. Returns the
 * new status; *ret_changed when it differs from the old one. */
static const char *health_record(struct cell_engine *e, const char *id, json_object *rec, json_object *hc,
				 const struct check_result *c, bool *ret_changed)
{
	_cleanup_close_ int lock = -1;
	cell_error *x = NULL;
	lock = engine_lock(e, id, &x);
	cell_error_free(&x);
	json_object *h = health_read(e, id, rec);
	const char *old = status_static(json_object_get_string(json_object_object_get(h, "Status")));
	const char *now = old;
	int streak = json_object_get_int(json_object_object_get(h, "FailingStreak"));
	if (c->code == 0) {
		streak = 0;
		now = "healthy";
	} else {
		/* failures in the start period do not count until a check passed */
		bool count = !(streq(old, "starting") && since_ns(started_at(rec)) < hc_int(hc, "StartPeriod"));
		if (count) {
			streak++;
			if (streak >= or_default(hc_int(hc, "Retries"), HEALTH_RETRIES_DEFAULT))
				now = "unhealthy";
		}
	}
	json_object *entry = json_object_new_object();
	json_object_object_add(entry, "Start", json_object_new_string(c->start));
	json_object_object_add(entry, "End", json_object_new_string(c->end));
	json_object_object_add(entry, "ExitCode", json_object_new_int(c->code));
	size_t skip = c->len > HEALTH_OUTPUT_MAX ? c->len - HEALTH_OUTPUT_MAX : 0;
	json_object_object_add(entry, "Output", json_object_new_string_len(c->out + skip, (int)(c->len - skip)));
	json_object *log = json_object_object_get(h, "Log");
	json_object *nlog = json_object_new_array();
	size_t n = json_object_array_length(log);
	for (size_t i = n >= HEALTH_LOG_MAX ? n - HEALTH_LOG_MAX + 1 : 0; i < n; i++)
		json_object_array_add(nlog, json_object_get(json_object_array_get_idx(log, i)));
	json_object_array_add(nlog, entry);
	json_object_object_add(h, "Log", nlog);
	json_object_object_add(h, "Status", json_object_new_string(now));
	json_object_object_add(h, "FailingStreak", json_object_new_int(streak));
	_cleanup_free_ char *p = xasprintf("%s/%s/" HEALTH_FILE, e->ctr_root, id);
	const char *text = cj_to_string(h, false);
	if (write_file_atomic(p, text, strlen(text), 0600, &x) < 0)
		cell_error_free(&x);
	json_object_put(h);
	*ret_changed = !streq(old, now);
	return status_static(now);
}

static void on_failure(struct cell_engine *e, const char *id, const char *action)
{
	cell_error *x = NULL;
	int r = 0;
	if (streq(action, "kill")) {
		r = cell_ctr_kill(e, id, SIGKILL, &x);
	} else if (streq(action, "stop")) {
		r = cell_ctr_stop(e, id, -1, &x);
	} else if (streq(action, "restart")) {
		/* the monitor's `exited` step finds the flag and restarts the
		 * container whatever its restart policy says, as podman does */
		_cleanup_free_ char *flag = xasprintf("%s/%s/" HEALTH_RESTART_FILE, e->ctr_root, id);
		int fd = open(flag, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		r = cell_ctr_kill(e, id, SIGKILL, &x);
	}
	if (r < 0)
		cell_error_free(&x);
}

int cell_health_run(struct cell_engine *e, const char *id, const char **ret_status, bool *ret_passed,
		    cell_error **err)
{
	json_object *rec = NULL;
	if (cell_ctr_load(e, id, &rec, err) < 0)
		return -1;
	json_object *cfg = json_object_object_get(rec, "Config");
	json_object *hc = json_object_object_get(cfg, "Healthcheck");
	int r = -1;
	char **args = NULL;
	if (!hc_active(hc)) {
		cell_error_set(err, "container `%.12s` has no healthcheck (run it with --health-cmd, or from an "
				    "image with a HEALTHCHECK)", id);
		goto out;
	}
	if (!streq(cell_ctr_status(rec), "running")) {
		cell_error_set(err, "container `%.12s` is %s: a healthcheck needs it running", id,
			       cell_ctr_status(rec));
		goto out;
	}
	json_object *test = json_object_object_get(hc, "Test");
	size_t n = json_object_array_length(test);
	args = xcalloc(n + 3, sizeof(char *));
	size_t k = 0;
	if (streq(hc_test0(hc), "CMD-SHELL")) {
		args[k++] = xstrdup("/bin/sh");
		args[k++] = xstrdup("-c");
	}
	for (size_t i = 1; i < n; i++)
		args[k++] = xstrdup(json_object_get_string(json_object_array_get_idx(test, i)));
	struct check_result *c = xcalloc(1, sizeof(*c));
	if (run_check(e, id, args, or_default(hc_int(hc, "Timeout"), HEALTH_TIMEOUT_DEFAULT), c, err) < 0) {
		free(c);
		goto out;
	}
	bool changed = false, passed = c->code == 0;
	const char *status = health_record(e, id, rec, hc, c, &changed);
	free(c);
	if (changed) {
		_cleanup_free_ char *action = xasprintf("health_status: %s", status);
		cell_event_ctr(e, action, id, rec, NULL);
	}
	const char *act = json_object_get_string(json_object_object_get(cfg, "HealthcheckOnFailureAction"));
	if (streq(status, "unhealthy") && act && !streq(act, "none"))
		on_failure(e, id, act);
	*ret_status = status;
	*ret_passed = passed;
	r = 0;
out:
	strv_free(args);
	json_object_put(rec);
	return r;
}

bool engine_health_take_restart(struct cell_engine *e, const char *id)
{
	_cleanup_free_ char *flag = xasprintf("%s/%s/" HEALTH_RESTART_FILE, e->ctr_root, id);
	return unlink(flag) == 0;
}
