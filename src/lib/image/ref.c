/* Image references as Docker parses them (distribution/reference):
 *   [domain[:port]/]path[:tag][@sha256:<hex>]
 * A first component is a domain when it holds '.' or ':' or is "localhost";
 * otherwise the domain is docker.io and a one-component path gets
 * "library/" in front. */
#define _GNU_SOURCE
#include <ctype.h>
#include <string.h>

#include "image-internal.h"
#include "util.h"

void cell_ref_clear(struct cell_ref *r)
{
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

static bool alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]+ ( ( [._] | __ | -+ ) [a-z0-9]+ )* */
static bool valid_component(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !alnum_lower(s[0]) || !alnum_lower(s[n - 1]))
		return false;
	while (i < n) {
		if (alnum_lower(s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && !alnum_lower(s[j]))
			j++;
		size_t sep = j - i;
		if (s[i] == '.' || (s[i] == '_' && sep == 1)) {
			if (sep != 1)
				return false;
		} else if (s[i] == '_') {
			if (sep != 2 || s[i + 1] != '_')
				return false;
		} else {
			for (size_t k = i; k < j; k++)
				if (s[k] != '-')
					return false;
		}
		i = j;
	}
	return true;
}

static bool valid_domain(const char *s)
{
	const char *colon = strrchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	if (colon) {
		if (!colon[1])
			return false;
		for (const char *p = colon + 1; *p; p++)
			if (!isdigit((unsigned char)*p))
				return false;
	}
	return true;
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		bool w = isalnum((unsigned char)c) || c == '_';
		if (!w && (i == 0 || (c != '.' && c != '-')))
			return false;
	}
	return true;
}

int cell_ref_parse(const char *s, struct cell_ref *ret, cell_error **err)
{
	struct cell_ref r = { 0 };
	_cleanup_free_ char *name = NULL;

	if (!s || !*s)
		return cell_error_set(err, "invalid reference format: empty image name");
	name = xstrdup(s);
	char *at = strchr(name, '@');
	if (at) {
		*at = '\0';
		if (!cell_digest_valid(at + 1)) {
			cell_error_set(err, "invalid reference format: `%s`: digest must be sha256:<64 lowercase hex digits>", s);
			goto fail;
		}
		r.digest = xstrdup(at + 1);
	}
	char *slash = strrchr(name, '/');
	char *colon = strrchr(name, ':');
	if (colon && (!slash || colon > slash)) {
		*colon = '\0';
		if (!valid_tag(colon + 1)) {
			cell_error_set(err, "invalid reference format: `%s`: invalid tag `%s`", s, colon + 1);
			goto fail;
		}
		r.tag = xstrdup(colon + 1);
	}
	if (strlen(name) > 255) {
		cell_error_set(err, "invalid reference format: `%s`: repository name longer than 255 characters", s);
		goto fail;
	}
	char *first_slash = strchr(name, '/');
	const char *path = name;
	if (first_slash) {
		*first_slash = '\0';
		if (strchr(name, '.') || strchr(name, ':') || streq(name, "localhost")) {
			if (!valid_domain(name)) {
				cell_error_set(err, "invalid reference format: `%s`: invalid registry `%s`", s, name);
				goto fail;
			}
			r.domain = xstrdup(name);
			path = first_slash + 1;
		} else {
			*first_slash = '/';
		}
	}
	if (!r.domain || streq(r.domain, "index.docker.io")) {
		free(r.domain);
		r.domain = xstrdup("docker.io");
	}
	/* validate each path component */
	for (const char *p = path;;) {
		const char *e = strchrnul(p, '/');
		if (!valid_component(p, (size_t)(e - p))) {
			bool upper = false;
			for (const char *q = p; q < e; q++)
				upper |= isupper((unsigned char)*q);
			cell_error_set(err, "invalid reference format: `%s`%s", s,
				       upper ? ": repository name must be lowercase" : "");
			goto fail;
		}
		if (!*e)
			break;
		p = e + 1;
	}
	if (streq(r.domain, "docker.io") && !strchr(path, '/'))
		r.path = xasprintf("library/%s", path);
	else
		r.path = xstrdup(path);
	if (!r.tag && !r.digest)
		r.tag = xstrdup("latest");
	*ret = r;
	return 0;
fail:
	cell_ref_clear(&r);
	return -1;
}

char *cell_ref_repo(const struct cell_ref *r)
{
	if (streq(r->domain, "docker.io")) {
		if (strncmp(r->path, "library/", 8) == 0 && !strchr(r->path + 8, '/'))
			return xstrdup(r->path + 8);
		return xstrdup(r->path);
	}
	return xasprintf("%s/%s", r->domain, r->path);
}

char *cell_ref_familiar(const struct cell_ref *r)
{
	_cleanup_free_ char *repo = cell_ref_repo(r);
	return xasprintf("%s%s%s%s%s", repo, r->tag ? ":" : "", r->tag ? r->tag : "",
			 r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *store_name_key(const char *name)
{
	struct cell_ref r;
	_cleanup_error_ cell_error *e = NULL;
	if (cell_ref_parse(name, &r, &e) < 0)
		return NULL;
	char *k = xasprintf("%s/%s%s%s%s%s", r.domain, r.path, r.tag ? ":" : "", r.tag ? r.tag : "",
			    r.digest ? "@" : "", r.digest ? r.digest : "");
	cell_ref_clear(&r);
	return k;
}
