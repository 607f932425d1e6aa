/* Pull and push over the OCI distribution API (libcurl).
 *
 *   GET  /v2/<name>/manifests/<ref>    every manifest type in Accept
 *   GET  /v2/<name>/blobs/<digest>     config and layers, verified as they arrive
 *   HEAD /v2/<name>/blobs/<digest>     push: skip what the registry has
 *   POST /v2/<name>/blobs/uploads/     push: start an upload, then
 *   PUT  <location>&digest=<digest>    the blob in one request
 *   PUT  /v2/<name>/manifests/<tag>    push: the manifest last
 *
 * Auth: anonymous first; on 401 the WWW-Authenticate challenge says Basic
 * (credentials from --creds or ~/.docker/config.json) or Bearer (a token from
 * the realm, asked with those credentials when there are any).
 * Credentials are scoped to the registry's host:port: no request to another
 * host (a redirect target, a blob CDN, an upload Location) carries them, a
 * token realm on another host gets only what ~/.docker/config.json holds for
 * that host, and a challenge answered after a redirect is refused.
 * Everything the registry sends is bounded: manifests and token answers in
 * size, blobs by the size the manifest declares (and must match), the whole
 * operation by a deadline and a minimum rate (see registry.h).
 * Plain HTTP only for localhost / 127.0.0.0/8 / ::1 or with insecure set.
 * The whole pull holds the store lock: a prune cannot remove a blob that is
 * downloaded but not yet recorded, and a second pull of the same image waits
 * and then finds every blob present. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <nettle/base64.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dl-curl.h"
#include "image-internal.h"
#include "json.h"
#include "registry.h"
#include "util.h"

#define ACCEPT_MANIFESTS                                                                            \
	"Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " \
	"application/vnd.docker.distribution.manifest.list.v2+json, "                                  \
	"application/vnd.docker.distribution.manifest.v2+json"

struct client {
	CURL *curl;
	const struct cell_registry_opts *o;
	struct cell_ref ref;
	char *base;		/* "https://host/v2/<path>" */
	char *host;		/* "host:port" the credentials belong to */
	char *basic;		/* "user:pass" or NULL */
	char *bearer;		/* token or NULL */
	bool token_req;		/* the request is to a token realm: */
	const char *token_basic;	/* with these credentials (or none) */
	uint64_t deadline;	/* CLOCK_MONOTONIC ms, 0: none */
	uint64_t timeout, min_rate, rate_window;
	const char *scope;	/* "pull" or "pull,push" */
	/* per request */
	long status;
	char *challenge;	/* WWW-Authenticate */
	char *content_type;
	char *location;
	char *docker_digest;
	bool foreign;		/* the answer came from another host (a redirect) */
	char *body;
	size_t body_len;
	size_t body_max;
	const char *body_what;
	struct cell_blob_writer *writer;	/* download into the store */
	uint64_t written;			/* bytes given to writer */
	const char *cur_digest;			/* the blob downloading, for o->bytes */
	uint64_t cur_total;
	cell_error *werr;
	char errbuf[CURL_ERROR_SIZE];
};

static bool is_local(const char *domain)
{
	return strncmp(domain, "localhost", 9) == 0 || strncmp(domain, "127.", 4) == 0 ||
	       strncmp(domain, "[::1]", 5) == 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	uint64_t n;
	return v && parse_uint64(v, &n) == 0 && n > 0 ? n : def;
}

/* "host:port" (lowercase, default port filled in) of an absolute URL, or
 * NULL; with ret_name, the host as docker's config.json keys it (port only
 * when not the scheme's default). */
static char *url_host(const char *url, char **ret_name)
{
	CURLU *u = curl_url();
	char *h = NULL, *port = NULL, *explicit = NULL, *scheme = NULL, *res = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (streq(scheme, "http") || streq(scheme, "https")) &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		for (char *p = h; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		res = xasprintf("%s:%s", h, port);
		if (ret_name)
			*ret_name = curl_url_get(u, CURLUPART_PORT, &explicit, 0) == CURLUE_OK
					    ? xasprintf("%s:%s", h, explicit) : xstrdup(h);
	}
	curl_free(h);
	curl_free(port);
	curl_free(explicit);
	curl_free(scheme);
	if (u)
		curl_url_cleanup(u);
	return res;
}

static bool has_ctl(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
			return true;
	return false;
}

static char *b64decode(const char *in)
{
	size_t n = strlen(in), len = BASE64_DECODE_LENGTH(n);
	struct base64_decode_ctx ctx;
	uint8_t *out = xcalloc(1, len + 1);
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &len, out, n, in) || !base64_decode_final(&ctx)) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return (char *)out;
}

/* user:pass for domain from ~/.docker/config.json (or $DOCKER_CONFIG). */
static char *docker_config_auth(const char *domain)
{
	const char *dir = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");
	_cleanup_free_ char *path = dir ? xasprintf("%s/config.json", dir)
					: xasprintf("%s/.docker/config.json", home ? home : "/root");
	json_object *cfg = NULL, *auths = NULL;
	_cleanup_error_ cell_error *e = NULL;
	char *res = NULL;

	if (access(path, R_OK) < 0 || cj_parse_file(path, &cfg, &e) < 0)
		return NULL;
	if (cj_object(cfg, "auths", "config.json", &auths, &e) > 0) {
		const char *keys[] = { domain, NULL, NULL };
		_cleanup_free_ char *https = xasprintf("https://%s", domain);
		keys[1] = https;
		if (streq(domain, "docker.io"))
			keys[2] = "https://index.docker.io/v1/";
		for (size_t i = 0; i < ARRAY_SIZE(keys) && !res; i++) {
			json_object *ent = NULL;
			const char *a = NULL;
			if (keys[i] && cj_object(auths, keys[i], "auths", &ent, &e) > 0 && ent &&
			    cj_string(ent, "auth", "auth", &a, &e) > 0)
				res = b64decode(a);
		}
	}
	json_object_put(cfg);
	return res;
}

static size_t on_header(char *buf, size_t size, size_t n, void *data)
{
	struct client *c = data;
	size_t len = size * n, l = len;
	if (strncmp(buf, "HTTP/", 5) == 0 && len >= 5) {
		/* a new response (after a redirect or a 100): its own headers */
		free(c->challenge), c->challenge = NULL;
		free(c->content_type), c->content_type = NULL;
		free(c->location), c->location = NULL;
		free(c->docker_digest), c->docker_digest = NULL;
		return len;
	}
	while (l > 0 && (buf[l - 1] == '\n' || buf[l - 1] == '\r'))
		l--;
	_cleanup_free_ char *line = strndup(buf, l);
	char *colon = strchr(line, ':');
	if (!colon)
		return len;
	*colon = '\0';
	char *v = colon + 1;
	while (*v == ' ')
		v++;
	if (has_ctl(buf, l)) {
		if (!c->werr)
			cell_error_set(&c->werr, "registry `%s`: header `%.64s` has a control character in its value",
				       c->ref.domain, line);
		return 0;
	}
	char **dst = !strcasecmp(line, "www-authenticate") ? &c->challenge
		   : !strcasecmp(line, "content-type")	    ? &c->content_type
		   : !strcasecmp(line, "location")	    ? &c->location
		   : !strcasecmp(line, "docker-content-digest") ? &c->docker_digest
							    : NULL;
	if (dst) {
		free(*dst);
		*dst = xstrdup(v);
	}
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *data)
{
	struct client *c = data;
	size_t len = size * n;
	long status = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (c->writer && status >= 200 && status < 300) {
		if (c->cur_total && c->written + len > c->cur_total) {
			cell_error_set(&c->werr, "blob `%s`: the registry sent more than the %llu bytes the manifest declares",
				       c->cur_digest ? c->cur_digest : "", (unsigned long long)c->cur_total);
			return 0;
		}
		if (cell_blob_writer_write(c->writer, buf, len, &c->werr) < 0)
			return 0;
		c->written += len;
		return len;
	}
	if (c->body_len + len > c->body_max) {	/* manifests, tokens and errors are small */
		cell_error_set(&c->werr, "%s: the answer is larger than the %zu %s cell accepts", c->body_what,
			       c->body_max >> 20 ? c->body_max >> 20 : c->body_max >> 10, c->body_max >> 20 ? "MiB" : "KiB");
		return 0;
	}
	c->body = realloc(c->body, c->body_len + len + 1);
	memcpy(c->body + c->body_len, buf, len);
	c->body_len += len;
	c->body[c->body_len] = '\0';
	return len;
}

static int on_xfer(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct client *c = data;
	if (c->writer && c->cur_digest && c->o && c->o->bytes)
		c->o->bytes(c->o->progress_data, c->cur_digest, (uint64_t)dlnow,
			    c->cur_total ? c->cur_total : (uint64_t)dltotal);
	return 0;
}

static void reset_response(struct client *c)
{
	free(c->challenge), c->challenge = NULL;
	free(c->content_type), c->content_type = NULL;
	free(c->location), c->location = NULL;
	free(c->docker_digest), c->docker_digest = NULL;
	free(c->body), c->body = NULL;
	c->body_len = 0;
	c->status = 0;
	c->foreign = false;
}

/* ---- what a registry says about auth ---- */

void cell_auth_challenge_clear(struct cell_auth_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

static bool tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* RFC 7235: scheme 1*SP auth-param *( OWS "," OWS auth-param ), an
 * auth-param being token BWS "=" BWS ( token / quoted-string ). */
int cell_auth_challenge_parse(const char *header, struct cell_auth_challenge *ret, cell_error **err)
{
	memset(ret, 0, sizeof(*ret));
	const char *p = header;
	if (has_ctl(header, strlen(header)))
		return cell_error_set(err, "authentication challenge with a control character");
	while (*p == ' ' || *p == '\t')
		p++;
	const char *s = p;
	while (tchar(*p))
		p++;
	if (p == s)
		return cell_error_set(err, "authentication challenge without a scheme");
	ret->scheme = strndup(s, (size_t)(p - s));
	for (char *q = ret->scheme; *q; q++)
		*q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			return 0;
		const char *k = p;
		while (tchar(*p))
			p++;
		size_t klen = (size_t)(p - k);
		while (*p == ' ' || *p == '\t')
			p++;
		if (!klen || *p != '=')
			goto bad;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		_cleanup_free_ char *v = xmalloc(strlen(p) + 1);
		size_t vn = 0;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				v[vn++] = *p;
			}
			if (*p != '"')
				goto bad;
			p++;
		} else {
			while (tchar(*p) || *p == '/' || *p == ':')	/* token68-ish, seen unquoted */
				v[vn++] = *p++;
		}
		v[vn] = '\0';
		char **dst = klen == 5 && !strncasecmp(k, "realm", 5)	 ? &ret->realm
			   : klen == 7 && !strncasecmp(k, "service", 7) ? &ret->service
			   : klen == 5 && !strncasecmp(k, "scope", 5)	 ? &ret->scope
									 : NULL;
		if (dst) {
			if (*dst)
				goto bad;	/* a parameter given twice: which one would a server mean? */
			*dst = TAKE_PTR(v);
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p && *p != ',')
			goto bad;
	}
bad:
	cell_auth_challenge_clear(ret);
	return cell_error_set(err, "malformed authentication challenge `%.120s`", header);
}

#define TOKEN_MAX (64u << 10)

int cell_auth_token_parse(const char *body, size_t len, char **ret, cell_error **err)
{
	json_object *o = NULL;
	const char *tok = NULL;
	_cleanup_error_ cell_error *e = NULL;
	*ret = NULL;
	if (memchr(body, '\0', len))
		return cell_error_set(err, "token response: contains a NUL byte (not JSON)");
	_cleanup_free_ char *text = strndup(body, len);
	if (cj_parse_string("token response", text, &o, err) < 0)
		return -1;
	if (cj_string(o, "token", "token response", &tok, &e) <= 0 || !tok || !*tok) {
		cell_error_free(&e);
		tok = NULL;
		cj_string(o, "access_token", "token response", &tok, &e);
	}
	int r = 0;
	if (!tok || !*tok)
		r = cell_error_set(err, "token response without a token");
	else if (strlen(tok) > TOKEN_MAX)
		r = cell_error_set(err, "token response: a token of %zu bytes (more than the %u KiB cell accepts)",
				   strlen(tok), TOKEN_MAX >> 10);
	else
		for (const char *q = tok; *q && r == 0; q++)
			if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
				r = cell_error_set(err, "token response: the token has a control, space or non-ASCII "
							"character (it would go into a header)");
	if (r == 0)
		*ret = xstrdup(tok);
	json_object_put(o);
	return r;
}

static int perform(struct client *c, const char *method, const char *url, struct curl_slist *hdrs, FILE *upload,
		   curl_off_t upload_len, cell_error **err);

/* Answer a Bearer challenge with a token from its realm. */
static int get_token(struct client *c, cell_error **err)
{
	struct cell_auth_challenge ch;
	if (c->foreign)
		return cell_error_set(err, "registry `%s`: a redirect target asks for authentication; cell sends no "
					   "credentials and asks no token after a redirect", c->ref.domain);
	if (cell_auth_challenge_parse(c->challenge, &ch, err) < 0)
		return cell_error_wrap(err, "registry `%s`", c->ref.domain);
	int r = -1;
	_cleanup_free_ char *realm_name = NULL, *other = NULL, *url = NULL, *scope = NULL;
	_cleanup_free_ char *realm_host = ch.realm ? url_host(ch.realm, &realm_name) : NULL;
	if (!ch.realm) {
		cell_error_set(err, "registry `%s`: bearer challenge without a realm", c->ref.domain);
		goto out;
	}
	if (!realm_host) {
		cell_error_set(err, "registry `%s`: bearer realm `%.200s` is not an http(s) URL", c->ref.domain, ch.realm);
		goto out;
	}
	/* the user's credentials for the registry go to a realm on the same
	 * host:port (and Docker Hub's to auth.docker.io); another host gets
	 * what config.json holds for it, else nothing */
	const char *basic = NULL;
	if (streq(realm_host, c->host) ||
	    (streq(c->ref.domain, "docker.io") && streq(realm_host, "auth.docker.io:443")))
		basic = c->basic;
	else
		basic = other = docker_config_auth(realm_name);
	char *esc_service = ch.service ? curl_easy_escape(c->curl, ch.service, 0) : NULL;
	scope = xasprintf("repository:%s:%s", c->ref.path, c->scope);
	char *esc_scope = curl_easy_escape(c->curl, scope, 0);
	url = xasprintf("%s%sservice=%s&scope=%s", ch.realm, strchr(ch.realm, '?') ? "&" : "?",
			esc_service ? esc_service : "", esc_scope);
	curl_free(esc_service);
	curl_free(esc_scope);
	free(c->bearer);
	c->bearer = NULL;
	/* the blob writer stays out of the token request: its answer is no blob */
	struct cell_blob_writer *w = TAKE_PTR(c->writer);
	c->token_req = true;
	c->token_basic = basic;
	r = perform(c, "GET", url, NULL, NULL, 0, err);
	c->token_req = false;
	c->token_basic = NULL;
	c->writer = w;
	if (r < 0)
		goto out;
	r = -1;
	if (c->status != 200) {
		cell_error_set(err, "registry `%s`: token request to `%.200s` answered %ld%s", c->ref.domain, ch.realm,
			       c->status,
			       c->status != 401 ? ""
			       : basic		 ? " (wrong credentials?)"
			       : c->basic	 ? " (the credentials for the registry are not sent to a realm on another "
					   "host: add that host to ~/.docker/config.json)"
					 : " (credentials needed: --creds USER:PASS or ~/.docker/config.json)");
		goto out;
	}
	if (cell_auth_token_parse(c->body ? c->body : "", c->body_len, &c->bearer, err) < 0) {
		cell_error_wrap(err, "registry `%s`: realm `%.200s`", c->ref.domain, ch.realm);
		goto out;
	}
	r = 0;
out:
	cell_auth_challenge_clear(&ch);
	return r;
}

static int perform(struct client *c, const char *method, const char *url, struct curl_slist *hdrs, FILE *upload,
		   curl_off_t upload_len, cell_error **err)
{
	CURL *h = c->curl;
	struct curl_slist *all = NULL;
	_cleanup_free_ char *auth = NULL;
	_cleanup_free_ char *host = url_host(url, NULL);
	bool ours = host && c->host && streq(host, c->host);
	uint64_t left = 0;

	if (c->deadline) {
		uint64_t now = now_ms();
		if (now >= c->deadline)
			return cell_error_set(err, "%s `%s`: gave up after %llu s (the deadline of CELL_PULL_TIMEOUT)", method,
					      url, (unsigned long long)c->timeout);
		left = c->deadline - now;
	}
	reset_response(c);
	c->body_max = c->token_req ? (1u << 20) : (64u << 20);
	c->body_what = c->token_req ? "token response" : "manifest or error";
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cell/" CELL_VERSION);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)c->min_rate);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)c->rate_window);
	if (left)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
	if (c->writer && c->o && c->o->bytes) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
	if (c->o && c->o->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (streq(method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (streq(method, "PUT") || streq(method, "POST"))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (upload) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READDATA, upload);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, upload_len);
	} else if (streq(method, "POST") || streq(method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	for (struct curl_slist *l = hdrs; l; l = l->next)
		all = curl_slist_append(all, l->data);
	/* curl itself drops both on a redirect to another host:port */
	const char *basic = c->token_req ? c->token_basic : ours && !c->bearer ? c->basic : NULL;
	if (!c->token_req && ours && c->bearer) {
		auth = xasprintf("Authorization: Bearer %s", c->bearer);
		all = curl_slist_append(all, auth);
	} else if (basic) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERPWD, basic);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, all);
	c->errbuf[0] = '\0';
	CURLcode rc = curl_easy_perform(h);
	curl_slist_free_all(all);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
	char *eff = NULL;
	if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff) {
		_cleanup_free_ char *eh = url_host(eff, NULL);
		c->foreign = !eh || !host || !streq(eh, host);
	}
	if (c->werr) {
		*err = TAKE_PTR(c->werr);
		return -1;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT && c->deadline && now_ms() >= c->deadline)
		return cell_error_set(err, "%s `%s`: gave up after %llu s (the deadline of CELL_PULL_TIMEOUT)", method, url,
				      (unsigned long long)c->timeout);
	if (rc == CURLE_OPERATION_TIMEDOUT && strstr(c->errbuf, "too slow"))
		return cell_error_set(err, "%s `%s`: the transfer ran below %llu bytes/s for %llu s (CELL_PULL_MIN_RATE, "
				      "CELL_PULL_RATE_WINDOW)", method, url, (unsigned long long)c->min_rate,
				      (unsigned long long)c->rate_window);
	if (rc != CURLE_OK)
		return cell_error_set(err, "%s `%s`: %s", method, url, c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
	return 0;
}

/* A request to the registry API, answering one auth challenge. */
static int api(struct client *c, const char *method, const char *url, struct curl_slist *hdrs, const char *file,
	       cell_error **err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		_cleanup_fclose_ FILE *f = NULL;
		curl_off_t len = 0;
		if (file) {
			struct stat st;
			f = fopen(file, "re");
			if (!f || fstat(fileno(f), &st) < 0)
				return cell_error_errno(err, errno, "open `%s`", file);
			len = st.st_size;
		}
		if (perform(c, method, url, hdrs, f, len, err) < 0)
			return -1;
		if (c->status != 401 || attempt > 0 || !c->challenge)
			return 0;
		if (strncasecmp(c->challenge, "Bearer", 6) == 0) {
			if (get_token(c, err) < 0)
				return -1;
		} else if (strncasecmp(c->challenge, "Basic", 5) == 0) {
			if (!c->basic)
				return cell_error_set(err, "registry `%s` wants a user name and password (use --creds USER:PASS "
							   "or ~/.docker/config.json)", c->ref.domain);
			return 0;	/* basic was already sent: wrong credentials */
		} else {
			return 0;
		}
	}
	return 0;
}

static int http_error(struct client *c, const char *what, cell_error **err)
{
	const char *msg = "";
	json_object *o = NULL, *errs = NULL;
	_cleanup_error_ cell_error *e = NULL;
	_cleanup_free_ char *detail = NULL;
	if (c->body && cj_parse_string("error", c->body, &o, &e) == 0 && cj_array(o, "errors", "", &errs, &e) > 0 &&
	    json_object_array_length(errs) > 0) {
		const char *m = NULL, *code = NULL;
		json_object *first = json_object_array_get_idx(errs, 0);
		cj_string(first, "code", "", &code, &e);
		cj_string(first, "message", "", &m, &e);
		detail = xasprintf(": %s%s%s", code ? code : "", code && m ? ": " : "", m ? m : "");
		msg = detail;
	}
	json_object_put(o);
	const char *hint = c->status == 401 ? " (authentication required or refused)"
			 : c->status == 404 ? " (no such repository, tag or blob)"
			 : c->status == 403 ? " (access denied)" : "";
	return cell_error_set(err, "%s: registry `%s` answered HTTP %ld%s%s", what, c->ref.domain, c->status, msg, hint);
}

static int client_init(struct client *c, const char *ref, const struct cell_registry_opts *o, const char *scope,
		       cell_error **err)
{
	memset(c, 0, sizeof(*c));
	if (cell_ref_parse(ref, &c->ref, err) < 0)
		return -1;
	c->o = o;
	c->scope = scope;
	const char *host = streq(c->ref.domain, "docker.io") ? "registry-1.docker.io" : c->ref.domain;
	bool http = (o && o->insecure) || is_local(c->ref.domain);
	c->base = xasprintf("%s://%s/v2/%s", http ? "http" : "https", host, c->ref.path);
	c->host = url_host(c->base, NULL);
	if (!c->host)
		return cell_error_set(err, "registry `%s`: not a host name", c->ref.domain);
	c->basic = o && o->creds ? xstrdup(o->creds) : docker_config_auth(c->ref.domain);
	c->timeout = o && o->timeout ? o->timeout : env_u64("CELL_PULL_TIMEOUT", 3600);
	c->min_rate = o && o->min_rate ? o->min_rate : env_u64("CELL_PULL_MIN_RATE", 1024);
	c->rate_window = o && o->rate_window ? o->rate_window : env_u64("CELL_PULL_RATE_WINDOW", 30);
	c->deadline = now_ms() + c->timeout * 1000;
	c->curl = curl_easy_init();
	if (!c->curl)
		return cell_error_set(err, "curl_easy_init failed");
	return 0;
}

static void client_clear(struct client *c)
{
	reset_response(c);
	if (c->curl)
		curl_easy_cleanup(c->curl);
	cell_ref_clear(&c->ref);
	free(c->base);
	free(c->host);
	free(c->basic);
	free(c->bearer);
	cell_error_free(&c->werr);
}

static void progress(const struct cell_registry_opts *o, const char *digest, const char *status)
{
	if (o && o->progress)
		o->progress(o->progress_data, digest, status);
}

/* ---- pull ---- */

static bool is_index(const char *mt)
{
	return mt && (strstr(mt, "image.index") || strstr(mt, "manifest.list"));
}

static int get_manifest(struct client *c, const char *reference, char **ret, char **ret_mt, cell_error **err)
{
	_cleanup_free_ char *url = xasprintf("%s/manifests/%s", c->base, reference);
	struct curl_slist *h = curl_slist_append(NULL, ACCEPT_MANIFESTS);
	int r = api(c, "GET", url, h, NULL, err);
	curl_slist_free_all(h);
	if (r < 0)
		return -1;
	if (c->status != 200)
		return http_error(c, reference, err);
	char got[CELL_DIGEST_LEN + 1];
	if (c->body && memchr(c->body, '\0', c->body_len))
		return cell_error_set(err, "manifest `%s`: contains a NUL byte (not JSON)", reference);
	cell_sha256_data(c->body ? c->body : "", c->body_len, got);
	if (cell_digest_valid(reference) && !streq(got, reference))
		return cell_error_set(err, "manifest `%s`: digest mismatch: content hashes to `%s`", reference, got);
	if (c->docker_digest && cell_digest_valid(c->docker_digest) && !streq(got, c->docker_digest))
		return cell_error_set(err, "manifest `%s`: the registry says its digest is `%s`, the content hashes to `%s`",
				      reference, c->docker_digest, got);
	*ret = c->body ? TAKE_PTR(c->body) : xstrdup("");
	c->body_len = 0;
	json_object *o = NULL;
	const char *mt = NULL;
	_cleanup_error_ cell_error *e = NULL;
	if (cj_parse_string(reference, *ret, &o, &e) == 0)
		cj_string(o, "mediaType", "", &mt, &e);
	*ret_mt = xstrdup(mt ? mt : c->content_type ? c->content_type : "");
	json_object_put(o);
	return 0;
}

static int select_platform(const char *index_text, const char *platform, char **ret_digest, cell_error **err)
{
	json_object *o = NULL, *ms = NULL;
	_cleanup_free_ char *want = xstrdup(platform ? platform : "");
	char *want_os = "linux", *want_arch = (char *)cell_host_arch(), *want_var = NULL;
	if (*want) {
		want_os = want;
		char *s = strchr(want, '/');
		if (s) {
			*s++ = '\0';
			want_arch = s;
			char *v = strchr(s, '/');
			if (v) {
				*v++ = '\0';
				want_var = v;
			}
		}
	}
	if (cj_parse_string("index", index_text, &o, err) < 0 || cj_array(o, "manifests", "index", &ms, err) < 0) {
		json_object_put(o);
		return -1;
	}
	for (size_t i = 0; ms && i < json_object_array_length(ms); i++) {
		json_object *d = json_object_array_get_idx(ms, i), *p = NULL;
		const char *os = NULL, *arch = NULL, *var = NULL, *dg = NULL;
		_cleanup_error_ cell_error *e = NULL;
		if (cj_object(d, "platform", "", &p, &e) <= 0)
			continue;
		cj_string(p, "os", "", &os, &e);
		cj_string(p, "architecture", "", &arch, &e);
		cj_string(p, "variant", "", &var, &e);
		cj_string(d, "digest", "", &dg, &e);
		if (os && arch && dg && streq(os, want_os) && streq(arch, want_arch) &&
		    (!want_var || (var && streq(var, want_var)))) {
			*ret_digest = xstrdup(dg);
			json_object_put(o);
			return 0;
		}
	}
	json_object_put(o);
	return cell_error_set(err, "no image for platform %s/%s%s%s in the index", want_os, want_arch,
			      want_var ? "/" : "", want_var ? want_var : "");
}

size_t cell_registry_max_layers(void)
{
	/* mount.c: "lowerdir=" + 65 bytes a layer, plus upperdir and workdir */
	long page = sysconf(_SC_PAGESIZE);
	return (size_t)((page > 0 ? page : 4096) - 1024) / (CELL_DIGEST_LEN - 7 + 1);
}

static bool in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (streq(s, *list))
			return true;
	return false;
}

static const char *const manifest_types[] = { "application/vnd.oci.image.manifest.v1+json",
					      "application/vnd.docker.distribution.manifest.v2+json", NULL };
static const char *const config_types[] = { "application/vnd.oci.image.config.v1+json",
					    "application/vnd.docker.container.image.v1+json", NULL };
static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.docker.image.rootfs.diff.tar.zstd", NULL
};

/* Refuse what is not a runnable image, before a byte of it is fetched. */
static int check_image_manifest(json_object *m, const char *mt, json_object *cd, json_object *layers, cell_error **err)
{
	const char *art = NULL, *cmt = NULL;
	int64_t sv = 0, csize = 0;
	_cleanup_error_ cell_error *e = NULL;
	if (cj_int64(m, "schemaVersion", "manifest", &sv, &e) > 0 && sv == 1)
		return cell_error_set(err, "a schema 1 manifest (not supported: push the image again with a current client)");
	(void)mt;	/* the Content-Type may be generic: the document's own mediaType counts */
	const char *jmt = NULL;
	if (cj_string(m, "mediaType", "manifest", &jmt, &e) > 0 && jmt && is_index(jmt))
		return cell_error_set(err, "an index where an image manifest was expected (nested indexes are not supported)");
	if (jmt && !in_list(jmt, manifest_types))
		return cell_error_set(err, "manifest of media type `%.100s`: not an image manifest", jmt);
	if (cj_string(m, "artifactType", "manifest", &art, &e) > 0 && art)
		return cell_error_set(err, "an artifact of type `%.100s`, not an image", art);
	if (!cd)
		return cell_error_set(err, "manifest without a config");
	if (cj_string(cd, "mediaType", "manifest.config", &cmt, &e) > 0 && !in_list(cmt, config_types))
		return cell_error_set(err, "config of media type `%.100s`: not an image (an artifact?)", cmt);
	if (cj_int64(cd, "size", "manifest.config", &csize, &e) <= 0 || csize <= 0)
		return cell_error_set(err, "manifest: the config has no size");
	if (csize > (64 << 20))
		return cell_error_set(err, "manifest: a config of %lld bytes (more than the 64 MiB cell accepts)",
				      (long long)csize);
	size_t n = layers ? json_object_array_length(layers) : 0;
	if (n == 0)
		return cell_error_set(err, "an image without layers (an artifact? nothing to run)");
	if (n > cell_registry_max_layers())
		return cell_error_set(err, "an image of %zu layers (more than the %zu one overlay mount can stack)", n,
				      cell_registry_max_layers());
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(layers, i);
		const char *lmt = NULL;
		int64_t size = 0;
		if (cj_string(d, "mediaType", "manifest.layers[]", &lmt, &e) > 0 && lmt && !in_list(lmt, layer_types))
			return cell_error_set(err, "layer %zu of media type `%.100s`: not an image layer%s", i, lmt,
					      strstr(lmt, "foreign") || strstr(lmt, "nondistributable")
						      ? " cell can fetch (foreign, non-distributable)" : "");
		if (cj_int64(d, "size", "manifest.layers[]", &size, &e) <= 0 || size <= 0)
			return cell_error_set(err, "manifest: layer %zu has no size", i);
	}
	return 0;
}

static int fetch_blob(struct client *c, struct cell_store *s, const char *digest, uint64_t total, uint64_t *ret_size,
		      cell_error **err)
{
	if (cell_blob_exists(s, digest)) {
		if (ret_size) {
			_cleanup_free_ char *p = cell_blob_path(s, digest);
			struct stat st;
			*ret_size = stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
		}
		progress(c->o, digest, "Already exists");
		return 0;
	}
	_cleanup_free_ char *url = xasprintf("%s/blobs/%s", c->base, digest);
	c->writer = cell_blob_writer_new(s, err);
	if (!c->writer)
		return -1;
	progress(c->o, digest, "Downloading");
	c->cur_digest = digest;
	c->cur_total = total;
	c->written = 0;
	int r = api(c, "GET", url, NULL, NULL, err);
	c->cur_digest = NULL;
	if (r == 0 && c->status != 200)
		r = http_error(c, digest, err);
	if (r == 0 && c->written != total)
		r = cell_error_set(err, "blob `%s`: the registry sent %llu bytes, the manifest declares %llu", digest,
				   (unsigned long long)c->written, (unsigned long long)total);
	if (r == 0)
		r = cell_blob_writer_commit(c->writer, digest, NULL, ret_size, err);
	cell_blob_writer_free(c->writer);
	c->writer = NULL;
	if (r == 0)
		progress(c->o, digest, "Download complete");
	return r;
}

static int pull_manifest(struct client *c, struct cell_store *s, const char *mtext, const char *mt, const char *name,
			 char ret_id[CELL_DIGEST_LEN + 1], cell_error **err)
{
	json_object *m = NULL, *cd = NULL, *layers = NULL;
	const char *cdigest = NULL;
	_cleanup_free_ char *ctext = NULL;
	size_t clen = 0;
	int64_t csize = 0;
	struct store_layer *ls = NULL;
	size_t n = 0;
	int r = -1;
	_cleanup_error_ cell_error *ce = NULL;

	if (cj_parse_string("manifest", mtext, &m, err) < 0 || cj_object(m, "config", "manifest", &cd, err) < 0 ||
	    cj_array(m, "layers", "manifest", &layers, err) < 0 || check_image_manifest(m, mt, cd, layers, err) < 0)
		goto out;
	cj_int64(cd, "size", "manifest.config", &csize, &ce);
	if (!cd || cj_string(cd, "digest", "manifest.config", &cdigest, err) <= 0 || !cell_digest_valid(cdigest)) {
		if (!*err)
			cell_error_set(err, "manifest without a valid config digest (schema 1 manifests are not supported)");
		goto out;
	}
	if (fetch_blob(c, s, cdigest, (uint64_t)csize, NULL, err) < 0 || cell_blob_read(s, cdigest, &ctext, &clen, err) < 0)
		goto out;
	n = layers ? json_object_array_length(layers) : 0;
	ls = xcalloc(n + 1, sizeof(*ls));
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(layers, i);
		const char *dg = NULL, *lmt = NULL;
		int64_t total = 0;
		_cleanup_error_ cell_error *e = NULL;
		if (cj_string(d, "digest", "manifest.layers[]", &dg, err) <= 0 || !cell_digest_valid(dg)) {
			if (!*err)
				cell_error_set(err, "manifest: layer %zu without a valid digest", i);
			goto out;
		}
		cj_int64(d, "size", "manifest.layers[]", &total, &e);
		if (cj_string(d, "mediaType", "manifest.layers[]", &lmt, err) > 0)
			snprintf(ls[i].media_type, sizeof(ls[i].media_type), "%s", lmt);
		snprintf(ls[i].blob, sizeof(ls[i].blob), "%s", dg);
		if (fetch_blob(c, s, dg, total > 0 ? (uint64_t)total : 0, &ls[i].blob_size, err) < 0)
			goto out;
	}
	r = store_commit_image(s, ctext, clen, mtext, ls, n, name, ret_id, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		progress(c->o, ls[i].blob, "Pull complete");
out:
	free(ls);
	json_object_put(m);
	return r;
}

int cell_image_pull(struct cell_store *s, const char *ref, const struct cell_registry_opts *o,
		    char **ret_id, char **ret_digest, cell_error **err)
{
	struct client c;
	_cleanup_free_ char *mtext = NULL;
	_cleanup_free_ char *mt = NULL;
	_cleanup_free_ char *digest = NULL;
	_cleanup_free_ char *name = NULL;
	char id[CELL_DIGEST_LEN + 1], mdigest[CELL_DIGEST_LEN + 1];
	int r = -1;

	if (cell_dl_curl(err) < 0)
		return cell_error_wrap(err, "pull `%s`", ref);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (client_init(&c, ref, o, "pull", err) < 0) {
		client_clear(&c);
		return cell_error_wrap(err, "pull `%s`", ref);
	}
	if (c.ref.tag)
		name = cell_ref_familiar(&(struct cell_ref){ c.ref.domain, c.ref.path, c.ref.tag, NULL });
	if (store_use(s, false, err) < 0)
		goto out;
	if (get_manifest(&c, c.ref.digest ? c.ref.digest : c.ref.tag, &mtext, &mt, err) < 0)
		goto unlock;
	cell_sha256_data(mtext, strlen(mtext), mdigest);
	if (is_index(mt)) {
		free(mt), mt = NULL;
		_cleanup_free_ char *index = TAKE_PTR(mtext);
		if (select_platform(index, o ? o->platform : NULL, &digest, err) < 0 ||
		    get_manifest(&c, digest, &mtext, &mt, err) < 0)
			goto unlock;
		if (is_index(mt)) {
			cell_error_set(err, "the index names another index `%s` for its platform (nested indexes are not "
					    "supported)", digest);
			goto unlock;
		}
		snprintf(mdigest, sizeof(mdigest), "%s", digest);
	}
	r = pull_manifest(&c, s, mtext, mt, name, id, err);
	if (r < 0) {
		store_gc_failed(s);	/* a failed pull leaves no blob behind */
	}
unlock:
	store_unuse(s);
out:
	client_clear(&c);
	if (r < 0)
		return cell_error_wrap(err, "pull `%s`", ref);
	if (ret_id)
		*ret_id = xstrdup(id);
	if (ret_digest)
		*ret_digest = xstrdup(mdigest);
	return 0;
}

/* ---- push ---- */

static int push_blob(struct client *c, struct cell_store *s, const char *digest, cell_error **err)
{
	_cleanup_free_ char *url = xasprintf("%s/blobs/%s", c->base, digest);
	if (api(c, "HEAD", url, NULL, NULL, err) < 0)
		return -1;
	if (c->status == 200) {
		progress(c->o, digest, "Layer already exists");
		return 0;
	}
	_cleanup_free_ char *start = xasprintf("%s/blobs/uploads/", c->base);
	if (api(c, "POST", start, NULL, NULL, err) < 0)
		return -1;
	if (c->status != 202 || !c->location)
		return http_error(c, "start upload", err);
	/* Location may be relative to the registry */
	_cleanup_free_ char *loc = NULL;
	if (c->location[0] == '/') {
		const char *p = strstr(c->base, "/v2/");
		loc = xasprintf("%.*s%s", (int)(p - c->base), c->base, c->location);
	} else {
		loc = xstrdup(c->location);
	}
	_cleanup_free_ char *put = xasprintf("%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", digest);
	_cleanup_free_ char *file = cell_blob_path(s, digest);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	progress(c->o, digest, "Pushing");
	int r = api(c, "PUT", put, h, file, err);
	curl_slist_free_all(h);
	if (r < 0)
		return -1;
	if (c->status != 201)
		return http_error(c, digest, err);
	progress(c->o, digest, "Pushed");
	return 0;
}

static int put_manifest(struct client *c, struct cell_store *s, json_object *m, const char *mtext, cell_error **err)
{
	const char *mt = NULL;
	_cleanup_error_ cell_error *e = NULL;
	cj_string(m, "mediaType", "manifest", &mt, &e);
	_cleanup_free_ char *ct = xasprintf("Content-Type: %s", mt ? mt : "application/vnd.oci.image.manifest.v1+json");
	_cleanup_free_ char *url = xasprintf("%s/manifests/%s", c->base, c->ref.tag);
	_cleanup_free_ char *tmp = xasprintf("%s/tmp/manifest-XXXXXX", cell_store_root(s));
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 || write(fd, mtext, strlen(mtext)) != (ssize_t)strlen(mtext)) {
		int r = cell_error_errno(err, errno, "write `%s`", tmp);
		safe_close(fd);
		unlink(tmp);
		return r;
	}
	close(fd);
	struct curl_slist *h = curl_slist_append(NULL, ct);
	int r = api(c, "PUT", url, h, tmp, err);
	curl_slist_free_all(h);
	unlink(tmp);
	if (r == 0 && c->status != 201)
		r = http_error(c, "manifest", err);
	return r;
}

int cell_image_push(struct cell_store *s, const char *local, const char *dest, const struct cell_registry_opts *o,
		    char **ret_digest, cell_error **err)
{
	struct cell_image *img = NULL;
	struct client c = { 0 };
	_cleanup_free_ char *mtext = NULL;
	json_object *m = NULL, *layers = NULL;
	char mdigest[CELL_DIGEST_LEN + 1];
	int r = -1;

	if (cell_dl_curl(err) < 0)
		return cell_error_wrap(err, "push `%s`", local);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (cell_image_resolve(s, local, &img, err) < 0)
		return -1;
	if (client_init(&c, dest ? dest : local, o, "pull,push", err) < 0)
		goto out;
	if (!c.ref.tag) {
		cell_error_set(err, "push needs a tag, not only a digest");
		goto out;
	}
	if (store_use(s, false, err) < 0)
		goto out;
	if (cell_blob_read(s, img->manifest_digest, &mtext, NULL, err) < 0 ||
	    cj_parse_string("manifest", mtext, &m, err) < 0 || cj_array(m, "layers", "manifest", &layers, err) < 0)
		goto unlock;
	for (size_t i = 0; layers && i < json_object_array_length(layers); i++) {
		const char *dg = NULL;
		if (cj_string(json_object_array_get_idx(layers, i), "digest", "manifest.layers[]", &dg, err) <= 0 ||
		    !cell_digest_valid(dg)) {
			if (!*err)
				cell_error_set(err, "manifest: layer %zu without a digest", i);
			goto unlock;
		}
		if (push_blob(&c, s, dg, err) < 0)
			goto unlock;
	}
	if (push_blob(&c, s, img->id, err) < 0)
		goto unlock;
	r = put_manifest(&c, s, m, mtext, err);
	cell_sha256_data(mtext, strlen(mtext), mdigest);
	if (r == 0 && ret_digest)
		*ret_digest = xstrdup(mdigest);
unlock:
	store_unuse(s);
out:
	json_object_put(m);
	client_clear(&c);
	cell_image_free(img);
	if (r < 0)
		return cell_error_wrap(err, "push `%s`", dest ? dest : local);
	return 0;
}

int cell_registry_login(const char *server, const struct cell_registry_opts *o, cell_error **err)
{
	/* "https://index.docker.io/v1/", "http://127.0.0.1:5000/", "host:port" */
	const char *h = server && *server ? server : "docker.io";
	if (strncmp(h, "https://", 8) == 0)
		h += 8;
	else if (strncmp(h, "http://", 7) == 0)
		h += 7;
	_cleanup_free_ char *host = strndup(h, strcspn(h, "/"));
	if (!*host || streq(host, "index.docker.io") || streq(host, "registry-1.docker.io"))
		free(host), host = xstrdup("docker.io");
	if (strchr(host, '@') || has_ctl(host, strlen(host)))
		return cell_error_set(err, "login: `%.200s` is not a registry host", server);
	if (cell_dl_curl(err) < 0)
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* a repository path only to give a token request a scope */
	_cleanup_free_ char *ref = xasprintf("%s/library/login-check", host);
	struct client c;
	_cleanup_free_ char *url = NULL;
	int r = -1;
	if (client_init(&c, ref, o, "pull", err) < 0)
		goto out;
	url = xstrdup(c.base);
	char *v2 = strstr(url, "/v2/");
	if (v2)
		v2[4] = 0;
	if (api(&c, "GET", url, NULL, NULL, err) < 0)
		goto out;
	if (c.status == 401)
		cell_error_set(err, "login to `%s`: unauthorized: wrong user name or password", host);
	else if (c.status != 200)
		http_error(&c, "login", err);
	else
		r = 0;
out:
	client_clear(&c);
	return r;
}
