/* Registry credentials: see auth.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <nettle/base64.h>
#include <pwd.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "json.h"
#include "util.h"

#define AUTH_FILE_MAX (1024 * 1024)

char *cell_auth_path(const char *authfile)
{
	if (authfile && *authfile)
		return xstrdup(authfile);
	const char *env = getenv("REGISTRY_AUTH_FILE");
	if (env && *env)
		return xstrdup(env);
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg)
		return xasprintf("%s/containers/auth.json", xdg);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/root";
	}
	return xasprintf("%s/.docker/config.json", home);
}

char *cell_auth_key(const char *registry)
{
	const char *r = registry && *registry ? registry : "docker.io";
	if (strncmp(r, "https://", 8) == 0)
		r += 8;
	else if (strncmp(r, "http://", 7) == 0)
		r += 7;
	size_t n = strcspn(r, "/");
	if ((n == 9 && strncmp(r, "docker.io", 9) == 0) || (n == 15 && strncmp(r, "index.docker.io", 15) == 0) ||
	    (n == 20 && strncmp(r, "registry-1.docker.io", 20) == 0))
		return xstrdup("https://index.docker.io/v1/");
	return strndup(r, n);
}

static int auth_read(const char *path, json_object **ret, cell_error **err)
{
	if (access(path, F_OK) < 0) {
		*ret = json_object_new_object();
		return 0;
	}
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (read_file(path, &text, &len, err) < 0)
		return cell_error_wrap(err, "read the registry credentials");
	if (len > AUTH_FILE_MAX)
		return cell_error_set(err, "registry credentials `%s`: larger than 1 MiB", path);
	if (cj_parse_string(path, text, ret, err) < 0 || cj_expect_object(*ret, path, err) < 0)
		return cell_error_wrap(err, "registry credentials `%s` (Docker's config.json format expected)", path);
	return 0;
}

static int auth_write(const char *path, json_object *doc, cell_error **err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir_p(dir, 0700, err) < 0)
			return -1;
	}
	const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	return write_file_atomic(path, text, strlen(text), 0600, err);
}

int cell_auth_lookup(const char *authfile, const char *registry, char **ret_user, char **ret_pass,
		     cell_error **err)
{
	*ret_user = *ret_pass = NULL;
	_cleanup_free_ char *path = cell_auth_path(authfile);
	_cleanup_free_ char *key = cell_auth_key(registry);
	json_object *doc = NULL;
	if (auth_read(path, &doc, err) < 0)
		return -1;
	json_object *ent = json_object_object_get(json_object_object_get(doc, "auths"), key);
	const char *b64 = json_object_get_string(json_object_object_get(ent, "auth"));
	if (b64 && *b64) {
		size_t n = strlen(b64), k = BASE64_DECODE_LENGTH(n);
		uint8_t *raw = xcalloc(1, k + 1);
		struct base64_decode_ctx ctx;
		base64_decode_init(&ctx);
		bool ok = base64_decode_update(&ctx, &k, raw, n, b64) && base64_decode_final(&ctx);
		char *colon = ok ? memchr(raw, ':', k) : NULL;
		if (colon) {
			*ret_user = strndup((char *)raw, (size_t)(colon - (char *)raw));
			*ret_pass = strndup(colon + 1, k - (size_t)(colon + 1 - (char *)raw));
		}
		explicit_bzero(raw, k);
		free(raw);
	}
	json_object_put(doc);
	return 0;
}

int cell_auth_save(const char *authfile, const char *registry, const char *user, const char *pass,
		   cell_error **err)
{
	_cleanup_free_ char *path = cell_auth_path(authfile);
	_cleanup_free_ char *key = cell_auth_key(registry);
	json_object *doc = NULL;
	if (auth_read(path, &doc, err) < 0)
		return -1;
	json_object *auths = json_object_object_get(doc, "auths");
	if (!json_object_is_type(auths, json_type_object)) {
		auths = json_object_new_object();
		json_object_object_add(doc, "auths", auths);
	}
	_cleanup_free_ char *plain = xasprintf("%s:%s", user, pass);
	size_t n = strlen(plain);
	char *b64 = xcalloc(1, BASE64_ENCODE_RAW_LENGTH(n) + 1);
	base64_encode_raw(b64, n, (const uint8_t *)plain);
	explicit_bzero(plain, n);
	json_object *ent = json_object_new_object();
	json_object_object_add(ent, "auth", json_object_new_string(b64));
	json_object_object_add(auths, key, ent);
	free(b64);
	int r = auth_write(path, doc, err);
	json_object_put(doc);
	return r;
}

int cell_auth_remove(const char *authfile, const char *registry, bool *ret_found, cell_error **err)
{
	_cleanup_free_ char *path = cell_auth_path(authfile);
	_cleanup_free_ char *key = cell_auth_key(registry);
	json_object *doc = NULL;
	*ret_found = false;
	if (auth_read(path, &doc, err) < 0)
		return -1;
	json_object *auths = json_object_object_get(doc, "auths");
	int r = 0;
	if (json_object_object_get(auths, key)) {
		json_object_object_del(auths, key);
		*ret_found = true;
		r = auth_write(path, doc, err);
	}
	json_object_put(doc);
	return r;
}

int cell_auth_from_header(const char *header, char **ret_creds, cell_error **err)
{
	*ret_creds = NULL;
	if (!header || !*header)
		return 0;
	/* base64url (Go's URLEncoding, padded or not) of a JSON object */
	size_t n = strlen(header);
	if (n > 64 * 1024)
		return cell_error_set(err, "X-Registry-Auth: over 64 KiB");
	_cleanup_free_ char *b64 = xcalloc(1, n + 4);
	for (size_t i = 0; i < n; i++)
		b64[i] = header[i] == '-' ? '+' : header[i] == '_' ? '/' : header[i];
	while (n % 4)
		b64[n++] = '=';
	size_t k = BASE64_DECODE_LENGTH(n);
	uint8_t *raw = xcalloc(1, k + 1);
	struct base64_decode_ctx ctx;
	base64_decode_init(&ctx);
	bool ok = base64_decode_update(&ctx, &k, raw, n, b64) && base64_decode_final(&ctx);
	json_object *o = ok ? json_tokener_parse((char *)raw) : NULL;
	explicit_bzero(raw, k);
	free(raw);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return cell_error_set(err, "X-Registry-Auth: not base64url of a JSON object (as docker sends it)");
	}
	const char *user = json_object_get_string(json_object_object_get(o, "username"));
	const char *pass = json_object_get_string(json_object_object_get(o, "password"));
	const char *token = json_object_get_string(json_object_object_get(o, "identitytoken"));
	int r = 0;
	if (user && *user && pass) {
		if (strchr(user, ':'))
			r = cell_error_set(err, "X-Registry-Auth: a user name with a `:`");
		else
			*ret_creds = xasprintf("%s:%s", user, pass);
	} else if (token && *token) {
		r = cell_error_set(err, "X-Registry-Auth: identity tokens (OAuth refresh tokens) are not supported; "
					"log in with a user name and password");
	}
	/* {} (docker's anonymous header) gives no credentials */
	json_object_put(o);
	return r;
}
