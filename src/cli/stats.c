/* `cell stats [--no-stream] [CONTAINER...]`: CPU %, memory, pids and block
 * I/O from the cgroups (two samples for the CPU rate). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
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

struct sample {
	char *id, *name;
	json_object *a, *b;
	double secs;
};

int cmd_stats(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "no-stream", no_argument, NULL, 'n' }, { "all", no_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'f' }, { "no-trunc", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
		switch (c) {
		case 'n': case 'a': case 'N': break;
		case 'f': json = streq(optarg, "json"); break;
		case 'h': printf("Usage: cell stats --no-stream [--format json] [CONTAINER...]\n"); return 0;
		default: return cell_error_set(err, "stats: bad option"), EXIT_CELL;
		}
	}
	struct cell_engine *e = NULL;
	char **ids = NULL;
	int status = EXIT_CELL;
	struct sample *s = NULL;
	size_t n = 0;
	if (cli_engine_open(&e, err) < 0)
		goto out;
	if (optind < argc) {
		for (int i = optind; i < argc; i++) {
			char *id = NULL;
			if (cli_lookup(e, argv[i], &id, err) < 0)
				goto out;
			cli_strv_push(&ids, id);
		}
	} else if (cell_ctr_list(e, &ids, err) < 0) {
		goto out;
	}
	for (size_t i = 0; ids && ids[i]; i++) {
		json_object *rec = NULL, *st = NULL;
		cell_error *x = NULL;
		if (cell_ctr_load(e, ids[i], &rec, &x) < 0 || cell_rt_stats(e->rt_root, ids[i], &st, &x) < 0) {
			if (optind < argc && x) {
				*err = x;
				json_object_put(rec);
				goto out;
			}
			cell_error_free(&x);
			json_object_put(rec);
			continue;
		}
		const char *name = json_object_get_string(json_object_object_get(rec, "Name"));
		s = realloc(s, (n + 1) * sizeof(*s));
		s[n] = (struct sample){ .id = ids[i], .name = xstrdup(name && *name == '/' ? name + 1 : name), .a = st };
		n++;
		json_object_put(rec);
	}
	struct timespec t0, t1, d = { 0, 250 * 1000 * 1000 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (n)
		nanosleep(&d, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (!json)
		printf("%-14s %-28s %-8s %-22s %-8s %-20s %s\n", "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT",
		       "MEM %", "BLOCK I/O", "PIDS");
	for (size_t i = 0; i < n; i++) {
		cell_error *x = NULL;
		if (cell_rt_stats(e->rt_root, s[i].id, &s[i].b, &x) < 0) {
			cell_error_free(&x);
			s[i].b = json_object_get(s[i].a);
		}
		uint64_t c0 = u64_at(s[i].a, "cpu", "usage", "total"), c1 = u64_at(s[i].b, "cpu", "usage", "total");
		double cpu = c1 > c0 ? (double)(c1 - c0) / 1e9 / secs * 100.0 : 0.0;
		uint64_t mem = u64_at(s[i].b, "memory", "usage", "usage");
		uint64_t lim = u64_at(s[i].b, "memory", "usage", "limit");
		if (!lim || lim > (1ULL << 60)) {
			long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
			lim = (uint64_t)pages * (uint64_t)psz;
		}
		uint64_t pids = u64_at(s[i].b, "pids", "current", NULL);
		uint64_t rd = blkio(s[i].b, "read"), wr = blkio(s[i].b, "write");
		(void)ncpu;
		if (json) {
			json_object *o = json_object_new_object();
			char sid[13];
			snprintf(sid, sizeof(sid), "%.12s", s[i].id);
			json_object_object_add(o, "ID", json_object_new_string(sid));
			json_object_object_add(o, "Name", json_object_new_string(s[i].name));
			json_object_object_add(o, "CPUPerc", json_object_new_double(cpu));
			json_object_object_add(o, "MemUsage", json_object_new_uint64(mem));
			json_object_object_add(o, "MemLimit", json_object_new_uint64(lim));
			json_object_object_add(o, "PIDs", json_object_new_uint64(pids));
			json_object_object_add(o, "BlockRead", json_object_new_uint64(rd));
			json_object_object_add(o, "BlockWrite", json_object_new_uint64(wr));
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
			continue;
		}
		char m1[32], m2[32], b1[32], b2[32], mu[72], bio[72];
		human(mem, m1, sizeof(m1));
		human(lim, m2, sizeof(m2));
		human(rd, b1, sizeof(b1));
		human(wr, b2, sizeof(b2));
		snprintf(mu, sizeof(mu), "%s / %s", m1, m2);
		snprintf(bio, sizeof(bio), "%s / %s", b1, b2);
		printf("%-14.12s %-28s %-8s %-22s %-8s %-20s %llu\n", s[i].id, s[i].name,
		       (snprintf(m1, sizeof(m1), "%.2f%%", cpu), m1), mu,
		       (snprintf(m2, sizeof(m2), "%.2f%%", lim ? (double)mem * 100.0 / (double)lim : 0.0), m2), bio,
		       (unsigned long long)pids);
	}
	status = 0;
out:
	for (size_t i = 0; i < n; i++) {
		free(s[i].name);
		json_object_put(s[i].a);
		json_object_put(s[i].b);
	}
	free(s);
	strv_free(ids);
	cell_engine_free(e);
	return status;
}
