/* `cell stats [--no-stream] [-a] [--format json|TEMPLATE] [CONTAINER...]`:
 * CPU %, memory, network and block I/O and pids, as Docker shows them.
 *
 * CPU, memory, block I/O and pids come from the cgroups (through the
 * runtime's stats); network I/O from /proc/<init pid>/net/dev, which is the
 * container's own network namespace, every interface but lo (so rx/tx are
 * the container's, no swapping of the host-side veth's counters). The CPU
 * rate needs two samples: a quarter second apart with --no-stream, one
 * second apart while streaming, which redraws until Ctrl-C as Docker does. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "engine/stats.h"
#include "runtime/runtime.h"
#include "util.h"

static uint64_t u64_at(json_object *o, const char *a, const char *b, const char *c)
{
	json_object *v = json_object_object_get(o, a);
	if (b)
		v = json_object_object_get(v, b);
	if (c)
		v = json_object_object_get(v, c);
	return v ? (uint64_t)json_object_get_int64(v) : 0;
}

/* Memory as Docker shows it: binary units. */
static void human(uint64_t b, char *buf, size_t len)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t i = 0;
	while (v >= 1024 && i + 1 < ARRAY_SIZE(u)) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.2f%s" : "%.0f%s", v, u[i]);
}

static uint64_t blkio(json_object *st, const char *op)
{
	json_object *a = json_object_object_get(json_object_object_get(st, "blkio"), "ioServiceBytesRecursive");
	uint64_t sum = 0;
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		const char *o = json_object_get_string(json_object_object_get(e, "op"));
		if (o && strcasecmp(o, op) == 0)
			sum += (uint64_t)json_object_get_int64(json_object_object_get(e, "value"));
	}
	return sum;
}

/* Bytes received and sent by every interface but lo of pid's netns. */
static void net_io(pid_t pid, uint64_t *rx, uint64_t *tx)
{
	json_object *nets = NULL;
	*rx = *tx = 0;
	cell_ctr_netdev(pid, &nets);
	json_object_object_foreach(nets, name, o) {
		(void)name;
		*rx += u64_at(o, "rx_bytes", NULL, NULL);
		*tx += u64_at(o, "tx_bytes", NULL, NULL);
	}
	json_object_put(nets);
}

struct sample {
	char *id, *name;
	json_object *st;	/* NULL: not running */
	uint64_t rx, tx;
	bool seen;
};

struct opts {
	bool all, stream, no_trunc;
	const char *format;	/* NULL: table */
	char **refs;		/* NULL: every container */
};

static void samples_free(struct sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].id);
		free(s[i].name);
		json_object_put(s[i].st);
	}
	free(s);
}

/* One reading of every container asked for. */
static int take(struct cell_engine *e, const struct opts *o, struct sample **ret, size_t *ret_n, cell_error **err)
{
	char **ids = NULL;
	struct sample *s = NULL;
	size_t n = 0;
	if (o->refs) {
		for (size_t i = 0; o->refs[i]; i++) {
			char *id = NULL;
			if (cli_lookup(e, o->refs[i], &id, err) < 0) {
				strv_free(ids);
				return -1;
			}
			size_t k = strv_len(ids);
			ids = realloc(ids, (k + 2) * sizeof(char *));
			ids[k] = id;
			ids[k + 1] = NULL;
		}
	} else if (cell_ctr_list(e, &ids, err) < 0) {
		return -1;
	}
	for (size_t i = 0; ids && ids[i]; i++) {
		json_object *rec = NULL, *st = NULL;
		cell_error *x = NULL;
		if (cell_ctr_load(e, ids[i], &rec, &x) < 0) {
			cell_error_free(&x);
			continue;
		}
		const char *status = cell_ctr_status(rec);
		bool live = streq(status, "running") || streq(status, "paused") || streq(status, "restarting");
		if (live && cell_rt_stats(e->rt_root, ids[i], &st, &x) < 0) {
			cell_error_free(&x);
			live = false;
		}
		if (!live && !o->all && !o->refs) {
			json_object_put(rec);
			continue;
		}
		const char *name = json_object_get_string(json_object_object_get(rec, "Name"));
		s = realloc(s, (n + 1) * sizeof(*s));
		s[n] = (struct sample){ .id = xstrdup(ids[i]), .name = xstrdup(name && *name == '/' ? name + 1 : name),
					.st = st };
		if (live)
			net_io(cell_ctr_pid(rec), &s[n].rx, &s[n].tx);
		n++;
		json_object_put(rec);
	}
	strv_free(ids);
	*ret = s;
	*ret_n = n;
	return 0;
}

static json_object *row(const struct sample *a, const struct sample *b, double secs, bool no_trunc)
{
	uint64_t c0 = a ? u64_at(a->st, "cpu", "usage", "total") : 0, c1 = u64_at(b->st, "cpu", "usage", "total");
	double cpu = a && a->st && c1 > c0 && secs > 0 ? (double)(c1 - c0) / 1e9 / secs * 100.0 : 0.0;
	uint64_t mem = u64_at(b->st, "memory", "usage", "usage");
	uint64_t lim = u64_at(b->st, "memory", "usage", "limit");
	if (b->st && (!lim || lim > (1ULL << 60))) {
		long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
		lim = (uint64_t)pages * (uint64_t)psz;
	}
	uint64_t pids = u64_at(b->st, "pids", "current", NULL);
	uint64_t rd = blkio(b->st, "read"), wr = blkio(b->st, "write");
	char m1[32], m2[32], n1[32], n2[32], b1[32], b2[32], s[160], sid[65];
	snprintf(sid, sizeof(sid), no_trunc ? "%s" : "%.12s", b->id);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ID", json_object_new_string(sid));
	json_object_object_add(o, "Container", json_object_new_string(sid));
	json_object_object_add(o, "Name", json_object_new_string(b->name));
	json_object_object_add(o, "CPUPerc", json_object_new_double(cpu));
	json_object_object_add(o, "MemUsage", json_object_new_uint64(mem));
	json_object_object_add(o, "MemLimit", json_object_new_uint64(lim));
	snprintf(s, sizeof(s), "%.2f%%", lim ? (double)mem * 100.0 / (double)lim : 0.0);
	json_object_object_add(o, "MemPerc", json_object_new_string(s));
	json_object_object_add(o, "PIDs", json_object_new_uint64(pids));
	json_object_object_add(o, "NetRx", json_object_new_uint64(b->rx));
	json_object_object_add(o, "NetTx", json_object_new_uint64(b->tx));
	json_object_object_add(o, "BlockRead", json_object_new_uint64(rd));
	json_object_object_add(o, "BlockWrite", json_object_new_uint64(wr));
	/* the columns as text, Docker's units: binary for memory, decimal for I/O */
	human(mem, m1, sizeof(m1));
	human(lim, m2, sizeof(m2));
	snprintf(s, sizeof(s), "%s / %s", m1, m2);
	json_object_object_add(o, "MemUsageText", json_object_new_string(s));
	cli_human_size(b->rx, n1, sizeof(n1));
	cli_human_size(b->tx, n2, sizeof(n2));
	snprintf(s, sizeof(s), "%s / %s", n1, n2);
	json_object_object_add(o, "NetIO", json_object_new_string(s));
	cli_human_size(rd, b1, sizeof(b1));
	cli_human_size(wr, b2, sizeof(b2));
	snprintf(s, sizeof(s), "%s / %s", b1, b2);
	json_object_object_add(o, "BlockIO", json_object_new_string(s));
	snprintf(s, sizeof(s), "%.2f%%", cpu);
	json_object_object_add(o, "CPUPercText", json_object_new_string(s));
	return o;
}

#define G(o, k) json_object_get_string(json_object_object_get(o, k))

static void print_frame(const struct opts *o, struct sample *a, size_t na, struct sample *b, size_t nb, double secs,
			bool clear)
{
	bool table = !o->format;
	if (clear)
		fputs("\033[2J\033[H", stdout);
	if (table)
		printf("%-14s %-24s %-8s %-24s %-8s %-20s %-20s %s\n", "CONTAINER ID", "NAME", "CPU %",
		       "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS");
	for (size_t i = 0; i < nb; i++) {
		const struct sample *prev = NULL;
		for (size_t j = 0; j < na; j++)
			if (streq(a[j].id, b[i].id))
				prev = &a[j];
		json_object *r = row(prev, &b[i], secs, o->no_trunc);
		if (table)
			printf("%-14s %-24s %-8s %-24s %-8s %-20s %-20s %s\n", G(r, "ID"), G(r, "Name"),
			       G(r, "CPUPercText"), G(r, "MemUsageText"), G(r, "MemPerc"), G(r, "NetIO"), G(r, "BlockIO"),
			       G(r, "PIDs"));
		else if (streq(o->format, "json"))
			printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		else {
			cli_template(stdout, r, o->format);
			putchar('\n');
		}
		json_object_put(r);
	}
	fflush(stdout);
}

static volatile sig_atomic_t stop_flag;
static void on_stop(int sig)
{
	stop_flag = 1;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec d = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (!stop_flag && nanosleep(&d, &d) < 0)
		;
}

int cmd_stats(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "no-stream", no_argument, NULL, 'n' }, { "all", no_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'f' }, { "no-trunc", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct opts o = { .stream = true };
	int c;
	while ((c = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
		switch (c) {
		case 'n': o.stream = false; break;
		case 'a': o.all = true; break;
		case 'N': o.no_trunc = true; break;
		case 'f': o.format = streq(optarg, "table") ? NULL : optarg; break;
		case 'h':
			printf("Usage: cell stats [--no-stream] [-a] [--no-trunc] [--format table|json|TEMPLATE] "
			       "[CONTAINER...]\n\n"
			       "Show CPU %%, memory, network and block I/O and pids of running containers (-a: all),\n"
			       "redrawn every second until Ctrl-C, or once with --no-stream.\n");
			return 0;
		default: return cell_error_set(err, "stats: bad option (see `cell stats --help`)"), EXIT_CELL;
		}
	}
	if (optind < argc)
		o.refs = argv + optind;
	struct cell_engine *e = NULL;
	struct sample *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	int status = EXIT_CELL;
	if (cli_engine_open(&e, err) < 0 || take(e, &o, &a, &na, err) < 0)
		goto out;
	double t0 = now_s();
	if (!o.stream) {
		if (na)
			sleep_s(0.25);
		if (take(e, &o, &b, &nb, err) < 0)
			goto out;
		print_frame(&o, a, na, b, nb, now_s() - t0, false);
		status = 0;
		goto out;
	}
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	bool tty = isatty(STDOUT_FILENO) && !o.format;
	while (!stop_flag) {
		sleep_s(1.0);
		if (stop_flag)
			break;
		cell_error *x = NULL;
		if (take(e, &o, &b, &nb, &x) < 0) {
			/* a named container went away: Docker stops too */
			*err = x;
			goto out;
		}
		double t1 = now_s();
		print_frame(&o, a, na, b, nb, t1 - t0, tty);
		samples_free(a, na);
		a = b, na = nb, b = NULL, nb = 0;
		t0 = t1;
	}
	status = 0;
out:
	samples_free(a, na);
	samples_free(b, nb);
	cell_engine_free(e);
	return status;
}
