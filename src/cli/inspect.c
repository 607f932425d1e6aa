/* `cell inspect`: the records as a JSON array, like docker's, or one line per
 * container through --format's small Go-template subset: `{{.A.B}}`,
 * `{{json .A}}`, `{{index .A "key"}}`, literal text and `\n`. */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "engine/engine.h"
#include "json.h"
#include "util.h"

static json_object *lookup_path(json_object *o, const char *path, size_t len)
{
	/* ".A.B.C" */
	const char *p = path, *end = path + len;
	if (p < end && *p == '.')
		p++;
	while (p < end && o) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
		if (n == 0)
			break;
		char key[256];
		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		o = json_object_object_get(o, key);
		p += n + (dot ? 1 : 0);
	}
	return o;
}

static void print_value(FILE *f, json_object *v, bool as_json)
{
	if (as_json) {
		fputs(v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
			: "null", f);
		return;
	}
	if (!v) {
		fputs("<no value>", f);
		return;
	}
	switch (json_object_get_type(v)) {
	case json_type_string: fputs(json_object_get_string(v), f); break;
	case json_type_array:
		fputc('[', f);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			if (i)
				fputc(' ', f);
			print_value(f, json_object_array_get_idx(v, i), false);
		}
		fputc(']', f);
		break;
	case json_type_object: {
		fputs("map[", f);
		bool first = true;
		json_object_object_foreach(v, k, val) {
			fprintf(f, "%s%s:", first ? "" : " ", k);
			print_value(f, val, false);
			first = false;
		}
		fputc(']', f);
		break;
	}
	default: fputs(json_object_to_json_string(v), f); break;
	}
}

void cli_template(FILE *f, json_object *o, const char *tmpl)
{
	for (const char *p = tmpl; *p;) {
		if (p[0] == '\\' && p[1] == 'n') {
			fputc('\n', f);
			p += 2;
			continue;
		}
		if (p[0] == '\\' && p[1] == 't') {
			fputc('\t', f);
			p += 2;
			continue;
		}
		if (strncmp(p, "{{", 2) != 0) {
			fputc(*p++, f);
			continue;
		}
		const char *end = strstr(p, "}}");
		if (!end) {
			fputs(p, f);
			return;
		}
		const char *a = p + 2, *b = end;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		bool as_json = false;
		if (b - a > 5 && strncmp(a, "json ", 5) == 0) {
			as_json = true;
			a += 5;
		}
		if (b - a > 6 && strncmp(a, "index ", 6) == 0) {
			a += 6;
			const char *sp = memchr(a, ' ', (size_t)(b - a));
			json_object *base = lookup_path(o, a, sp ? (size_t)(sp - a) : (size_t)(b - a));
			json_object *v = NULL;
			if (sp) {
				const char *k = sp + 1;
				while (k < b && (*k == ' ' || *k == '"'))
					k++;
				const char *ke = b;
				while (ke > k && ke[-1] == '"')
					ke--;
				char key[256];
				snprintf(key, sizeof(key), "%.*s", (int)(ke - k), k);
				v = json_object_object_get(base, key);
			}
			print_value(f, v, as_json);
		} else {
			print_value(f, lookup_path(o, a, (size_t)(b - a)), as_json);
		}
		p = end + 2;
	}
}

int cmd_inspect(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' }, { "type", required_argument, NULL, 'T' },
		{ "size", no_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *format = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "f:s", opts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'T': case 's': break;
		case 'h': printf("Usage: cell inspect [-f FORMAT] CONTAINER...\n"); return 0;
		default: return cell_error_set(err, "inspect: bad option"), EXIT_CELL;
		}
	}
	if (optind >= argc)
		return cell_error_set(err, "`cell inspect` requires at least 1 argument"), EXIT_CELL;
	struct cell_engine *e = NULL;
	if (cli_engine_open(&e, err) < 0)
		return EXIT_CELL;
	json_object *all = json_object_new_array();
	int status = 0;
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *id = NULL;
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (cli_lookup(e, argv[i], &id, &x) < 0 || cell_ctr_load(e, id, &rec, &x) < 0) {
			fprintf(stderr, "cell: %s\n", x->msg);
			cell_error_free(&x);
			status = EXIT_CELL;
			continue;
		}
		if (format) {
			cli_template(stdout, rec, format);
			fputc('\n', stdout);
			json_object_put(rec);
		} else {
			json_object_array_add(all, rec);
		}
	}
	if (!format)
		printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(all);
	cell_engine_free(e);
	return status;
}
