/* COPY and ADD: the build context, its .dockerignore, source selection,
 * the content digest of the sources for the cache, and the copy into the
 * stage's mounted root.
 *
 * Both sides are hostile. The context: a source path is cleaned lexically
 * and may not leave the context (`../x` is refused); it is resolved with
 * RESOLVE_IN_ROOT, so a symlink in it is followed only inside the context;
 * inside a copied directory symlinks are copied as symlinks and nothing is
 * followed (O_NOFOLLOW on every open). The stage root: the destination is
 * made and opened component by component with RESOLVE_IN_ROOT below the
 * root, files are created with O_EXCL|O_NOFOLLOW; /etc/passwd and /etc/group
 * for --chown are opened inside the root, regular files only, bounded. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "build-internal.h"
#include "image/image-internal.h"
#include "util.h"

#define MAX_ETC_FILE (4u << 20)
#define MAX_IGNORE_FILE (1u << 20)
#define MAX_DEPTH 256

static int openat2_in_root(int root, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC,
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	if (!*path)
		path = ".";
	int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (fd < 0 && errno == EXDEV) {
		/* a mount below (an image's volume dir): allow crossing it */
		how.resolve &= ~(uint64_t)RESOLVE_NO_XDEV;
		fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	}
	return fd;
}

int bread_in_root(int root_fd, const char *path, size_t max, char **ret, size_t *ret_len, cell_error **err)
{
	/* symlinks followed, inside the root only (RESOLVE_IN_ROOT) */
	_cleanup_close_ int fd = openat2_in_root(root_fd, path, O_RDONLY | O_NONBLOCK, 0);
	struct stat st;
	if (fd < 0)
		return cell_error_errno(err, errno, "open `%s` in the image", path);
	if (fstat(fd, &st) < 0)
		return cell_error_errno(err, errno, "stat `%s` in the image", path);
	if (!S_ISREG(st.st_mode))
		return cell_error_set(err, "`%s` in the image is not a regular file (a hostile image?)", path);
	if ((uint64_t)st.st_size > max)
		return cell_error_set(err, "`%s` in the image is over %zu bytes", path, max);
	char *buf = xmalloc((size_t)st.st_size + 1);
	size_t n = 0;
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(buf);
			return cell_error_errno(err, errno, "read `%s` in the image", path);
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = 0;
	*ret = buf;
	if (ret_len)
		*ret_len = n;
	return 0;
}

/* ---- --chown ---- */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int lookup_id(int root_fd, bool group, const char *name, uint32_t *ret, cell_error **err)
{
	const char *file = group ? "etc/group" : "etc/passwd";
	if (all_digits(name)) {
		uint64_t v;
		if (parse_uint64(name, &v) < 0 || v >= UINT32_MAX)
			return cell_error_set(err, "--chown: %s id `%s` out of range", group ? "group" : "user", name);
		*ret = (uint32_t)v;
		return 0;
	}
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (bread_in_root(root_fd, file, MAX_ETC_FILE, &text, &len, err) < 0)
		return cell_error_wrap(err, "--chown: look up %s `%s`", group ? "group" : "user", name);
	FILE *f = fmemopen(text, len ? len : 1, "r");
	if (!f)
		return cell_error_errno(err, errno, "read /%s", file);
	int found = 0;
	if (group) {
		struct group *g;
		while ((g = fgetgrent(f)))
			if (g->gr_name && streq(g->gr_name, name)) {
				*ret = g->gr_gid;
				found = 1;
				break;
			}
	} else {
		struct passwd *p;
		while ((p = fgetpwent(f)))
			if (p->pw_name && streq(p->pw_name, name)) {
				*ret = p->pw_uid;
				found = 1;
				break;
			}
	}
	fclose(f);
	if (!found)
		return cell_error_set(err, "--chown: no %s `%s` in the image's /%s", group ? "group" : "user", name, file);
	return 0;
}

int bresolve_chown(int root_fd, const char *spec, uint32_t *uid, uint32_t *gid, cell_error **err)
{
	_cleanup_free_ char *u = xstrdup(spec);
	char *g = strchr(u, ':');
	if (g)
		*g++ = 0;
	if (!*u)
		return cell_error_set(err, "--chown `%s`: no user", spec);
	if (lookup_id(root_fd, false, u, uid, err) < 0)
		return -1;
	if (!g || !*g) {
		/* Docker: a user alone gives the same number as group */
		*gid = *uid;
		return 0;
	}
	return lookup_id(root_fd, true, g, gid, err);
}

/* ---- .dockerignore ---- */

/* Lexical clean as Go's filepath.Clean, relative, no leading "/"; NULL when
 * the path leaves its root through "..". */
static char *clean_rel(const char *p, bool allow_escape)
{
	_cleanup_free_ char *copy = xstrdup(p);
	char **parts = xcalloc(strlen(p) + 2, sizeof(char *));
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (streq(t, "."))
			continue;
		if (streq(t, "..")) {
			if (n == 0) {
				if (!allow_escape) {
					free(parts);
					return NULL;
				}
				continue;
			}
			n--;
			continue;
		}
		parts[n++] = t;
	}
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(parts[i]) + 1;
	char *out = xmalloc(len);
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, "/");
		strcat(out, parts[i]);
	}
	free(parts);
	return out;
}

struct ignore_rx {
	regex_t rx;
	bool exclusion;	/* "!" */
};

/* Docker's pattern (fileutils) as a POSIX extended regex: `**` any number
 * of path elements, `*` and `?` within one, [...] classes, '\' escapes. */
static char *pattern_regex(const char *pat)
{
	size_t cap = strlen(pat) * 8 + 8, n = 0;
	char *out = xmalloc(cap);
	out[n++] = '^';
	for (const char *p = pat; *p; p++) {
		if (p[0] == '*' && p[1] == '*') {
			p++;
			if (p[1] == '/') {
				p++;
				n += (size_t)sprintf(out + n, "(.*/)?");
			} else {
				n += (size_t)sprintf(out + n, ".*");
			}
		} else if (*p == '*') {
			n += (size_t)sprintf(out + n, "[^/]*");
		} else if (*p == '?') {
			n += (size_t)sprintf(out + n, "[^/]");
		} else if (*p == '[') {
			const char *q = strchr(p + 1, ']');
			if (!q) {
				n += (size_t)sprintf(out + n, "\\[");
				continue;
			}
			out[n++] = '[';
			p++;
			if (*p == '!' || *p == '^') {
				out[n++] = '^';
				p++;
			}
			for (; p < q; p++) {
				if (*p == '\\' && p + 1 < q)
					p++;
				out[n++] = *p;
			}
			out[n++] = ']';
		} else if (*p == '\\' && p[1]) {
			p++;
			out[n++] = '\\';
			out[n++] = *p;
		} else if (strchr(".+()|{}^$", *p)) {
			out[n++] = '\\';
			out[n++] = *p;
		} else {
			out[n++] = *p;
		}
	}
	out[n++] = '$';
	out[n] = 0;
	return out;
}

int bcontext_open(struct bcontext *c, const char *dir, const char *dockerfile_name, cell_error **err)
{
	*c = (struct bcontext){ .fd = -1 };
	c->dir = xstrdup(dir);
	c->fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->fd < 0) {
		int r = cell_error_errno(err, errno, "open the build context `%s`", dir);
		bcontext_clear(c);
		return r;
	}
	_cleanup_free_ char *own = xasprintf("%s.dockerignore", dockerfile_name ? dockerfile_name : "Dockerfile");
	const char *names[] = { own, ".dockerignore", ".containerignore" };
	_cleanup_free_ char *text = NULL;
	for (size_t i = 0; i < 3 && !text; i++) {
		_cleanup_error_ cell_error *e = NULL;
		_cleanup_close_ int fd = openat2_in_root(c->fd, names[i], O_PATH, 0);
		if (fd < 0)
			continue;
		if (bread_in_root(c->fd, names[i], MAX_IGNORE_FILE, &text, NULL, err) < 0) {
			bcontext_clear(c);
			return cell_error_wrap(err, "build context");
		}
	}
	if (!text)
		return 0;
	size_t n = 0;
	c->ignore = xcalloc(strlen(text) / 2 + 2, sizeof(char *));
	struct ignore_rx *rx = xcalloc(strlen(text) / 2 + 2, sizeof(*rx));
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = 0;
		if (line[0] == '#')
			continue;
		while (*line == ' ' || *line == '\t')
			line++;
		size_t l = strlen(line);
		while (l && (line[l - 1] == ' ' || line[l - 1] == '\t'))
			line[--l] = 0;
		if (!l)
			continue;
		bool excl = line[0] == '!';
		const char *pat = excl ? line + 1 : line;
		while (*pat == ' ')
			pat++;
		_cleanup_free_ char *clean = clean_rel(pat, true);
		if (!*clean)
			continue;
		_cleanup_free_ char *re = pattern_regex(clean);
		if (regcomp(&rx[n].rx, re, REG_EXTENDED | REG_NOSUB) != 0) {
			for (size_t i = 0; i < n; i++)
				regfree(&rx[i].rx);
			free(rx);
			int r = cell_error_set(err, ".dockerignore: bad pattern `%s`", line);
			bcontext_clear(c);
			return r;
		}
		rx[n].exclusion = excl;
		c->ignore[n++] = xstrdup(line);
	}
	c->rx = rx;
	c->n_rx = n;
	return 0;
}

void bcontext_clear(struct bcontext *c)
{
	struct ignore_rx *rx = c->rx;
	for (size_t i = 0; i < c->n_rx; i++)
		regfree(&rx[i].rx);
	free(rx);
	strv_free(c->ignore);
	if (c->fd >= 0)
		close(c->fd);
	free(c->dir);
	*c = (struct bcontext){ .fd = -1 };
}

/* Docker's rule: the last pattern matching the path or one of its parents
 * decides. */
bool bcontext_ignored(const struct bcontext *c, const char *rel)
{
	const struct ignore_rx *rx = c->rx;
	bool ignored = false;
	if (!c->n_rx || !*rel)
		return false;
	_cleanup_free_ char *buf = xstrdup(rel);
	for (size_t i = 0; i < c->n_rx; i++) {
		bool m = false;
		/* the path and each parent */
		for (char *s = buf + strlen(buf);;) {
			char save = *s;
			*s = 0;
			m = regexec(&rx[i].rx, buf, 0, NULL, 0) == 0;
			*s = save;
			if (m)
				break;
			while (s > buf && *--s != '/')
				;
			if (s == buf)
				break;
		}
		if (m)
			ignored = !rx[i].exclusion;
	}
	return ignored;
}

/* Whether an excluded dir may still hold files an exception pattern keeps. */
static bool has_exceptions(const struct bcontext *c)
{
	const struct ignore_rx *rx = c->rx;
	for (size_t i = 0; i < c->n_rx; i++)
		if (rx[i].exclusion)
			return true;
	return false;
}

/* ---- source selection ---- */

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Append to *v (n, cap). */
static void push(char ***v, size_t *n, char *s)
{
	*v = realloc(*v, (*n + 2) * sizeof(char *));
	if (!*v)
		abort();
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* Expand a glob pattern (already clean, relative) under root. */
static int glob_walk(int root, const char *prefix, char **comps, size_t i, size_t n, char ***out, size_t *nout)
{
	if (i == n) {
		push(out, nout, xstrdup(prefix));
		return 0;
	}
	if (!has_glob(comps[i])) {
		_cleanup_free_ char *p = *prefix ? xasprintf("%s/%s", prefix, comps[i]) : xstrdup(comps[i]);
		return glob_walk(root, p, comps, i + 1, n, out, nout);
	}
	int fd = openat2_in_root(root, prefix, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return 0;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	struct dirent *de;
	char **names = NULL;
	size_t nn = 0;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && fnmatch(comps[i], de->d_name, 0) == 0)
			push(&names, &nn, xstrdup(de->d_name));
	closedir(d);
	for (size_t k = 0; k < nn; k++) {
		_cleanup_free_ char *p = *prefix ? xasprintf("%s/%s", prefix, names[k]) : xstrdup(names[k]);
		glob_walk(root, p, comps, i + 1, n, out, nout);
	}
	strv_free(names);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sources of c as clean relative paths, existing and not ignored. */
static int select_sources(const struct bcontext *ctx, int root, const struct bcopy *c, char ***ret, cell_error **err)
{
	char **out = NULL;
	size_t n = 0;
	for (size_t i = 0; c->srcs[i]; i++) {
		const char *s = c->srcs[i];
		if (strstr(s, "://"))
			return strv_free(out),
			       cell_error_set(err, "ADD `%s`: remote URLs are not supported by this build (no network "
						   "access from cell build; download the file into the context)", s);
		_cleanup_free_ char *clean = clean_rel(s, false);
		if (!clean) {
			strv_free(out);
			return cell_error_set(err, "`%s` is outside the build context", s);
		}
		size_t before = n;
		if (has_glob(clean)) {
			_cleanup_free_ char *copy = xstrdup(clean);
			char *comps[MAX_DEPTH];
			size_t nc = 0;
			for (char *save = NULL, *t = strtok_r(copy, "/", &save); t && nc < MAX_DEPTH;
			     t = strtok_r(NULL, "/", &save))
				comps[nc++] = t;
			char **found = NULL;
			size_t nf = 0;
			glob_walk(root, "", comps, 0, nc, &found, &nf);
			if (nf)
				qsort(found, nf, sizeof(char *), cmp_str);
			for (size_t k = 0; k < nf; k++) {
				if (ctx && bcontext_ignored(ctx, found[k]))
					free(found[k]);
				else
					push(&out, &n, found[k]);
			}
			free(found);
		} else {
			struct stat st;
			_cleanup_close_ int fd = openat2_in_root(root, clean, O_PATH, 0);
			if (fd >= 0 && fstat(fd, &st) == 0 && !(ctx && bcontext_ignored(ctx, clean)))
				push(&out, &n, xstrdup(clean));
		}
		if (n == before) {
			strv_free(out);
			return cell_error_set(err, "`%s`: no such file or directory in the %s%s", s,
					      ctx ? "build context" : "source image",
					      ctx && ctx->n_rx ? " (or excluded by .dockerignore)" : "");
		}
	}
	*ret = out ? out : xcalloc(1, sizeof(char *));
	return 0;
}

/* ---- walking a source: the digest and the copy share it ---- */

struct walker {
	const struct bcontext *ctx;	/* NULL: --from, no ignore file */
	bool from;
	/* digest */
	struct cell_sha256 *h;
	/* copy */
	const struct bcopy *c;
	bool chown;
	uint32_t uid, gid;
	mode_t chmod;
	bool has_chmod;
	bool add;
	int depth;
};

static void hash_str(struct cell_sha256 *h, const char *s)
{
	cell_sha256_update(h, s, strlen(s) + 1);
}

static int hash_file(struct cell_sha256 *h, int fd, cell_error **err)
{
	char buf[1 << 16];
	struct cell_sha256 *fh = cell_sha256_new();
	char d[CELL_DIGEST_LEN + 1];
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			cell_sha256_free(fh);
			return cell_error_errno(err, errno, "read a source file");
		}
		if (k == 0)
			break;
		cell_sha256_update(fh, buf, (size_t)k);
	}
	cell_sha256_final(fh, d);
	hash_str(h, d);
	return 0;
}

/* Open name in dfd without following a symlink; "" reopens dfd itself (an
 * O_PATH fd of a resolved top-level source). */
static int reopen(int dfd, const char *name, int flags)
{
	if (*name)
		return openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ char *p = xasprintf("/proc/self/fd/%d", dfd);
	return open(p, flags | O_CLOEXEC);
}

/* Hash entry name (rel path) open as fd with stat st, recursing into dirs. */
static int hash_entry(struct walker *w, int dfd, const char *name, const char *rel, cell_error **err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) < 0)
		return cell_error_errno(err, errno, "stat `%s`", rel);
	char meta[128];
	snprintf(meta, sizeof(meta), "%o %u %u %lld", st.st_mode, w->from ? st.st_uid : 0, w->from ? st.st_gid : 0,
		 S_ISREG(st.st_mode) ? (long long)st.st_size : 0LL);
	hash_str(w->h, rel);
	hash_str(w->h, meta);
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int fd = reopen(dfd, name, O_RDONLY);
		if (fd < 0)
			return cell_error_errno(err, errno, "open `%s`", rel);
		return hash_file(w->h, fd, err);
	}
	if (S_ISLNK(st.st_mode)) {
		char t[4096];
		ssize_t k = readlinkat(dfd, name, t, sizeof(t) - 1);
		if (k < 0)
			return cell_error_errno(err, errno, "readlink `%s`", rel);
		t[k] = 0;
		hash_str(w->h, t);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (w->depth > MAX_DEPTH)
		return cell_error_set(err, "`%s`: directories nested over %d deep", rel, MAX_DEPTH);
	int fd = reopen(dfd, name, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return cell_error_errno(err, errno, "open `%s`", rel);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return cell_error_errno(err, errno, "open `%s`", rel);
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			push(&names, &n, xstrdup(de->d_name));
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	int r = 0;
	w->depth++;
	for (size_t i = 0; i < n && r == 0; i++) {
		_cleanup_free_ char *sub = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		if (w->ctx && bcontext_ignored(w->ctx, sub)) {
			/* an excluded dir is still walked when a `!` pattern may
			 * keep something in it, as the copy does */
			struct stat st2;
			if (!has_exceptions(w->ctx) || fstatat(dirfd(d), names[i], &st2, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st2.st_mode))
				continue;
		}
		r = hash_entry(w, dirfd(d), names[i], sub, err);
	}
	w->depth--;
	strv_free(names);
	closedir(d);
	return r;
}

/* Split a clean rel path into its parent's fd (in root) and base name. */
static int open_parent(int root, const char *rel, int *ret_fd, const char **ret_name)
{
	const char *slash = strrchr(rel, '/');
	if (!slash) {
		*ret_fd = openat2_in_root(root, ".", O_PATH | O_DIRECTORY, 0);
		*ret_name = rel;
	} else {
		_cleanup_free_ char *parent = strndup(rel, (size_t)(slash - rel));
		*ret_fd = openat2_in_root(root, parent, O_PATH | O_DIRECTORY, 0);
		*ret_name = slash + 1;
	}
	return *ret_fd < 0 ? -1 : 0;
}

int bcopy_digest(const struct bcontext *ctx, int from_fd, const struct bcopy *c, char ret[72], cell_error **err)
{
	int root = from_fd >= 0 ? from_fd : ctx->fd;
	_cleanup_strv_ char **srcs = NULL;
	if (select_sources(from_fd >= 0 ? NULL : ctx, root, c, &srcs, err) < 0)
		return -1;
	struct walker w = { .ctx = from_fd >= 0 ? NULL : ctx, .from = from_fd >= 0, .h = cell_sha256_new() };
	int r = 0;
	for (size_t i = 0; srcs[i] && r == 0; i++) {
		/* the top-level source is resolved (symlinks followed inside the root) */
		_cleanup_close_ int fd = openat2_in_root(root, srcs[i], O_PATH, 0);
		if (fd < 0) {
			r = cell_error_errno(err, errno, "open `%s`", srcs[i]);
			break;
		}
		hash_str(w.h, srcs[i]);
		/* the resolved object through its O_PATH fd */
		r = hash_entry(&w, fd, "", srcs[i], err);
	}
	if (r < 0) {
		cell_sha256_free(w.h);
		return -1;
	}
	cell_sha256_final(w.h, ret);
	return 0;
}

/* ---- the copy ---- */

/* Open (making what is missing, 0755 root) the directory path in root. */
static int mkdir_in_root_depth(int root, const char *path, uid_t uid, gid_t gid, bool own, int depth,
			       cell_error **err)
{
	_cleanup_free_ char *clean = clean_rel(path, true);
	int fd = openat2_in_root(root, clean, O_RDONLY | O_DIRECTORY, 0);
	if (fd >= 0 || errno != ENOENT) {
		if (fd < 0)
			return cell_error_errno(err, errno, "open `/%s` in the image", clean);
		return fd;
	}
	if (depth > 40)
		return cell_error_errno(err, ELOOP, "make `/%s` in the image", clean);
	/* make each missing component below an existing parent */
	char *p = clean;
	for (;;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = 0;
		int cfd = openat2_in_root(root, clean, O_RDONLY | O_DIRECTORY, 0);
		if (cfd < 0 && errno == ENOENT) {
			int pfd;
			const char *name;
			if (open_parent(root, clean, &pfd, &name) < 0)
				return cell_error_errno(err, errno, "open the parent of `/%s` in the image", clean);
			if (mkdirat(pfd, name, 0755) < 0) {
				int e = errno;
				char t[4096];
				ssize_t k = e == EEXIST ? readlinkat(pfd, name, t, sizeof(t) - 1) : -1;
				if (k >= 0) {
					/* a dangling symlink: make its target, inside the root */
					t[k] = 0;
					const char *rest = slash ? slash + 1 : "";
					size_t plen = (size_t)(name - clean);
					_cleanup_free_ char *np = t[0] == '/' ? xasprintf("%s/%s", t, rest)
									      : xasprintf("%.*s%s/%s", (int)plen, clean, t, rest);
					close(pfd);
					return mkdir_in_root_depth(root, np, uid, gid, own, depth + 1, err);
				}
				close(pfd);
				return cell_error_errno(err, e, "make `/%s` in the image", clean);
			}
			if (own)
				fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
			close(pfd);
			cfd = openat2_in_root(root, clean, O_RDONLY | O_DIRECTORY, 0);
		}
		if (cfd < 0)
			return cell_error_errno(err, errno, "open `/%s` in the image", clean);
		if (!slash)
			return cfd;
		close(cfd);
		*slash = '/';
		p = slash + 1;
	}
}

static int mkdir_in_root(int root, const char *path, uid_t uid, gid_t gid, bool own, cell_error **err)
{
	return mkdir_in_root_depth(root, path, uid, gid, own, 0, err);
}

char *bpath_in_root(int root_fd, const char *rel, cell_error **err)
{
	_cleanup_free_ char *clean = clean_rel(rel, true);
	_cleanup_close_ int fd = openat2_in_root(root_fd, clean, O_PATH, 0);
	if (fd < 0) {
		cell_error_errno(err, errno, "`%s`", rel);
		return NULL;
	}
	_cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", fd);
	char buf[4096];
	ssize_t k = readlink(proc, buf, sizeof(buf) - 1);
	if (k < 0) {
		cell_error_errno(err, errno, "resolve `%s`", rel);
		return NULL;
	}
	buf[k] = 0;
	if (strchr(buf, ',')) {
		cell_error_set(err, "`%s`: a path with a comma cannot be mounted", buf);
		return NULL;
	}
	return xstrdup(buf);
}

int bmkdir_in_root(int root_fd, const char *path, const char *owner, cell_error **err)
{
	uint32_t uid = 0, gid = 0;
	if (owner && *owner && bresolve_chown(root_fd, owner, &uid, &gid, err) < 0)
		return -1;
	return mkdir_in_root(root_fd, path, uid, gid, owner && *owner, err);
}

static void set_meta(struct walker *w, int dfd, const char *name, const struct stat *st)
{
	uid_t uid = w->chown ? w->uid : (w->from ? st->st_uid : 0);
	gid_t gid = w->chown ? w->gid : (w->from ? st->st_gid : 0);
	fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
	if (!S_ISLNK(st->st_mode)) {
		mode_t mode = w->has_chmod ? w->chmod : (st->st_mode & 07777);
		fchmodat(dfd, name, mode, 0);
	}
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* Make room for name in dfd: a non-directory in the way is removed; an
 * existing directory is kept when want_dir. */
static int clear_target(int dfd, const char *name, bool want_dir, cell_error **err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : cell_error_errno(err, errno, "stat `%s`", name);
	if (S_ISDIR(st.st_mode)) {
		if (want_dir)
			return 1;
		if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
			return cell_error_errno(err, errno, "replace directory `%s` by a file", name);
		return 0;
	}
	if (unlinkat(dfd, name, 0) < 0)
		return cell_error_errno(err, errno, "replace `%s`", name);
	return 0;
}

static int copy_data(int in, int out, const char *what, cell_error **err)
{
	for (;;) {
		ssize_t k = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (k < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
			break;
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return cell_error_errno(err, errno, "copy `%s`", what);
		if (k == 0)
			return 0;
	}
	char buf[1 << 16];
	for (;;) {
		ssize_t k = read(in, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return cell_error_errno(err, errno, "read `%s`", what);
		if (k == 0)
			return 0;
		for (ssize_t o = 0; o < k;) {
			ssize_t wr = write(out, buf + o, (size_t)(k - o));
			if (wr < 0 && errno == EINTR)
				continue;
			if (wr < 0)
				return cell_error_errno(err, errno, "write `%s`", what);
			o += wr;
		}
	}
}

static bool looks_like_archive(int fd)
{
	unsigned char b[512];
	ssize_t k = pread(fd, b, sizeof(b), 0);
	if (k < 6)
		return false;
	if ((b[0] == 0x1f && b[1] == 0x8b) || !memcmp(b, "BZh", 3) || !memcmp(b, "\xfd" "7zXZ\0", 6) ||
	    !memcmp(b, "\x28\xb5\x2f\xfd", 4))
		return true;
	return k == 512 && !memcmp(b + 257, "ustar", 5);
}

static int copy_entry(struct walker *w, int sdfd, const char *sname, const char *rel, int ddfd, const char *dname,
		      struct bmount *m, cell_error **err);

/* Copy the content of the directory open as sfd into ddfd. */
static int copy_dir_content(struct walker *w, int sfd, const char *rel, int ddfd, struct bmount *m, cell_error **err)
{
	int fd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cell_error_errno(err, errno, "open `%s`", rel);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return cell_error_errno(err, errno, "open `%s`", rel);
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			push(&names, &n, xstrdup(de->d_name));
	int r = 0;
	if (w->depth++ > MAX_DEPTH)
		r = cell_error_set(err, "`%s`: directories nested over %d deep", rel, MAX_DEPTH);
	for (size_t i = 0; i < n && r == 0; i++) {
		_cleanup_free_ char *sub = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		if (w->ctx && bcontext_ignored(w->ctx, sub)) {
			struct stat st;
			if (!has_exceptions(w->ctx) || fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode))
				continue;
		}
		r = copy_entry(w, dirfd(d), names[i], sub, ddfd, names[i], m, err);
	}
	w->depth--;
	strv_free(names);
	closedir(d);
	return r;
}

static int copy_entry(struct walker *w, int sdfd, const char *sname, const char *rel, int ddfd, const char *dname,
		      struct bmount *m, cell_error **err)
{
	struct stat st;
	if (fstatat(sdfd, sname, &st, AT_SYMLINK_NOFOLLOW | (*sname ? 0 : AT_EMPTY_PATH)) < 0)
		return cell_error_errno(err, errno, "stat `%s`", rel);
	if (S_ISDIR(st.st_mode)) {
		int rc = clear_target(ddfd, dname, true, err);
		if (rc < 0)
			return -1;
		if (rc == 0 && mkdirat(ddfd, dname, 0755) < 0)
			return cell_error_errno(err, errno, "make directory `%s`", dname);
		_cleanup_close_ int dfd = openat(ddfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int sfd = reopen(sdfd, sname, O_RDONLY | O_DIRECTORY);
		if (dfd < 0 || sfd < 0)
			return cell_error_errno(err, errno, "open directory `%s`", rel);
		if (copy_dir_content(w, sfd, rel, dfd, m, err) < 0)
			return -1;
		set_meta(w, ddfd, dname, &st);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int in = reopen(sdfd, sname, O_RDONLY | O_NONBLOCK);
		if (in < 0)
			return cell_error_errno(err, errno, "open `%s`", rel);
		if (w->add && w->depth == 0 && looks_like_archive(in)) {
			/* ADD of a local tar: unpacked (cell_layer_unpack refuses any
			 * entry landing outside) into a temp dir, then copied over
			 * with its owners */
			_cleanup_free_ char *tmp = xasprintf("%s/add-XXXXXX", m->dir);
			if (!mkdtemp(tmp))
				return cell_error_errno(err, errno, "make a temp dir for `%s`", rel);
			char diff[CELL_DIGEST_LEN + 1];
			uint64_t size;
			_cleanup_error_ cell_error *e2 = NULL;
			int r = cell_layer_unpack(in, tmp, rel, diff, &size, err);
			if (r == 0) {
				_cleanup_close_ int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				struct walker w2 = *w;
				w2.ctx = NULL;
				w2.from = true;
				w2.add = false;
				w2.depth = 1;
				r = tfd < 0 ? cell_error_errno(err, errno, "open `%s`", tmp)
					    : copy_dir_content(&w2, tfd, "", ddfd, m, err);
				/* the unpacked tar's content lands in the destination dir itself */
			}
			rm_rf(tmp, &e2);
			return r < 0 ? cell_error_wrap(err, "ADD `%s`", rel) : 0;
		}
		if (clear_target(ddfd, dname, false, err) < 0)
			return -1;
		_cleanup_close_ int out = openat(ddfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0)
			return cell_error_errno(err, errno, "create `%s`", dname);
		if (copy_data(in, out, rel, err) < 0)
			return -1;
		set_meta(w, ddfd, dname, &st);
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		char t[4096];
		ssize_t k = readlinkat(sdfd, sname, t, sizeof(t) - 1);
		if (k < 0)
			return cell_error_errno(err, errno, "readlink `%s`", rel);
		t[k] = 0;
		if (clear_target(ddfd, dname, false, err) < 0)
			return -1;
		if (symlinkat(t, ddfd, dname) < 0)
			return cell_error_errno(err, errno, "make symlink `%s`", dname);
		set_meta(w, ddfd, dname, &st);
		return 0;
	}
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode)) {
		if (S_ISSOCK(st.st_mode))
			return 0;	/* as Docker: sockets are not copied */
		if (clear_target(ddfd, dname, false, err) < 0)
			return -1;
		if (mknodat(ddfd, dname, st.st_mode, st.st_rdev) < 0)
			return cell_error_errno(err, errno, "make node `%s`", dname);
		set_meta(w, ddfd, dname, &st);
	}
	return 0;
}

int bcopy_run(const struct bcontext *ctx, int from_fd, const struct bcopy *c, struct bmount *m, cell_error **err)
{
	int root = from_fd >= 0 ? from_fd : ctx->fd;
	_cleanup_strv_ char **srcs = NULL;
	struct walker w = { .ctx = from_fd >= 0 ? NULL : ctx, .from = from_fd >= 0, .c = c, .add = c->add };

	if (c->chown) {
		if (bresolve_chown(m->root_fd, c->chown, &w.uid, &w.gid, err) < 0)
			return -1;
		w.chown = true;
	}
	if (c->chmod) {
		char *end;
		unsigned long v = strtoul(c->chmod, &end, 8);
		if (!*c->chmod || *end || v > 07777)
			return cell_error_set(err, "--chmod `%s`: expected an octal mode such as 755", c->chmod);
		w.chmod = (mode_t)v;
		w.has_chmod = true;
	}
	if (select_sources(w.ctx, root, c, &srcs, err) < 0)
		return -1;
	size_t n = strv_len(srcs);
	bool dest_dir = c->dest_is_dir || n > 1;
	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int sfd = openat2_in_root(root, srcs[i], O_PATH, 0);
		struct stat st;
		if (sfd < 0 || fstat(sfd, &st) < 0)
			return cell_error_errno(err, errno, "open `%s`", srcs[i]);
		const char *base = strrchr(srcs[i], '/') ? strrchr(srcs[i], '/') + 1 : srcs[i];
		_cleanup_free_ char *dest = NULL;
		if (c->parents) {
			/* the source's path kept below dest: a file lands in
			 * dest/its/dir/, a directory's content in dest/its/dir/name/ */
			const char *slash = strrchr(srcs[i], '/');
			_cleanup_free_ char *pdir = S_ISDIR(st.st_mode) ? xstrdup(srcs[i])
					: slash ? strndup(srcs[i], (size_t)(slash - srcs[i])) : xstrdup("");
			dest = xasprintf("%s/%s", c->dest, pdir);
			dest_dir = true;
		} else {
			dest = xstrdup(c->dest);
		}
		if (S_ISDIR(st.st_mode)) {
			/* a directory is copied as its content */
			_cleanup_close_ int dfd = mkdir_in_root(m->root_fd, dest, w.uid, w.gid, w.chown, err);
			if (dfd < 0)
				return -1;
			_cleanup_close_ int dirfd2 = openat2_in_root(root, srcs[i], O_RDONLY | O_DIRECTORY, 0);
			if (dirfd2 < 0)
				return cell_error_errno(err, errno, "open `%s`", srcs[i]);
			if (copy_dir_content(&w, dirfd2, srcs[i], dfd, m, err) < 0)
				return -1;
			continue;
		}
		/* a file: into dest/ when dest is a directory (or exists as one) */
		_cleanup_close_ int existing = openat2_in_root(m->root_fd, dest, O_RDONLY | O_DIRECTORY, 0);
		_cleanup_free_ char *dir = NULL, *name = NULL;
		_cleanup_close_ int probe = c->add ? reopen(sfd, "", O_RDONLY | O_NONBLOCK) : -1;
		if (dest_dir || existing >= 0 || (probe >= 0 && looks_like_archive(probe))) {
			dir = xstrdup(dest);
			name = xstrdup(base);
		} else {
			_cleanup_free_ char *clean = clean_rel(dest, true);
			const char *slash = strrchr(clean, '/');
			dir = slash ? strndup(clean, (size_t)(slash - clean)) : xstrdup("");
			name = xstrdup(slash ? slash + 1 : clean);
			if (!*name)
				return cell_error_set(err, "COPY destination `%s` names no file", c->dest);
		}
		_cleanup_close_ int dfd = mkdir_in_root(m->root_fd, dir, w.uid, w.gid, w.chown, err);
		if (dfd < 0)
			return -1;
		if (copy_entry(&w, sfd, "", srcs[i], dfd, name, m, err) < 0)
			return -1;
	}
	return 0;
}
