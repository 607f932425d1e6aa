/* sha256 digests (GNU Nettle) and the content-addressed blob files.
 *
 * Nettle rather than OpenSSL's EVP: every `cell run` hashes its image's
 * config, and EVP's first digest loads openssl.cnf and the default provider
 * (~1.4 ms), on top of ~1 ms to map libcrypto and clean it up at exit; nettle's
 * sha256 is a plain function of a small library (~0.2 ms in all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-internal.h"
#include "util.h"

struct cell_sha256 {
	struct sha256_ctx ctx;
};

struct cell_sha256 *cell_sha256_new(void)
{
	struct cell_sha256 *h = xcalloc(1, sizeof(*h));
	sha256_init(&h->ctx);
	return h;
}

void cell_sha256_update(struct cell_sha256 *h, const void *data, size_t len)
{
	if (len)
		sha256_update(&h->ctx, len, data);
}

void cell_sha256_free(struct cell_sha256 *h)
{
	free(h);
}

void cell_sha256_final(struct cell_sha256 *h, char out[CELL_DIGEST_LEN + 1])
{
	uint8_t md[SHA256_DIGEST_SIZE];
	sha256_digest(&h->ctx, sizeof(md), md);
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < sizeof(md); i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
	out[CELL_DIGEST_LEN] = '\0';
	cell_sha256_free(h);
}

void cell_sha256_data(const void *data, size_t len, char out[CELL_DIGEST_LEN + 1])
{
	struct cell_sha256 *h = cell_sha256_new();
	cell_sha256_update(h, data, len);
	cell_sha256_final(h, out);
}

bool cell_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != CELL_DIGEST_LEN)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

void cell_chain_id(const char *parent_chain, const char *diff_id, char out[CELL_DIGEST_LEN + 1])
{
	if (!parent_chain) {
		snprintf(out, CELL_DIGEST_LEN + 1, "%s", diff_id);
		return;
	}
	_cleanup_free_ char *s = xasprintf("%s %s", parent_chain, diff_id);
	cell_sha256_data(s, strlen(s), out);
}

char *cell_blob_path(const struct cell_store *s, const char *digest)
{
	return xasprintf("%s/blobs/sha256/%s", s->root, cell_digest_hex(digest));
}

bool cell_blob_exists(const struct cell_store *s, const char *digest)
{
	if (!cell_digest_valid(digest))
		return false;
	_cleanup_free_ char *p = cell_blob_path(s, digest);
	return access(p, F_OK) == 0;
}

/* Copy fd into a temp file beside the blobs while hashing; rename it to its
 * digest only when it matched. */
int cell_blob_put_fd(struct cell_store *s, int fd, const char *expected,
		     char ret_digest[CELL_DIGEST_LEN + 1], uint64_t *ret_size, cell_error **err)
{
	_cleanup_free_ char *tmp = xasprintf("%s/blobs/sha256/.tmp-XXXXXX", s->root);
	_cleanup_close_ int out = mkostemp(tmp, O_CLOEXEC);
	char digest[CELL_DIGEST_LEN + 1];
	static char buf[1 << 17];
	uint64_t size = 0;
	_cleanup_free_ char *final = NULL;
	int r = -1;

	if (expected && !cell_digest_valid(expected))
		return cell_error_set(err, "invalid digest `%s`: expected sha256:<64 hex digits>", expected);
	if (out < 0)
		return cell_error_errno(err, errno, "create blob temp file in `%s/blobs/sha256`", s->root);
	struct cell_sha256 *h = cell_sha256_new();
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cell_error_errno(err, errno, "read blob");
			cell_sha256_free(h);
			goto out;
		}
		if (n == 0)
			break;
		cell_sha256_update(h, buf, (size_t)n);
		size += (uint64_t)n;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				cell_error_errno(err, errno, "write blob temp file `%s`", tmp);
				cell_sha256_free(h);
				goto out;
			}
			off += w;
		}
	}
	cell_sha256_final(h, digest);
	if (expected && !streq(expected, digest)) {
		cell_error_set(err, "blob `%s`: digest mismatch: content hashes to `%s` (corrupt or truncated)",
			       expected, digest);
		goto out;
	}
	fchmod(out, 0644);
	final = cell_blob_path(s, digest);
	if (rename(tmp, final) < 0) {
		cell_error_errno(err, errno, "rename `%s` to `%s`", tmp, final);
		goto out;
	}
	tmp[0] = '\0';
	if (ret_digest)
		memcpy(ret_digest, digest, sizeof(digest));
	if (ret_size)
		*ret_size = size;
	r = 0;
out:
	if (tmp[0])
		unlink(tmp);
	return r;
}

int cell_blob_put_data(struct cell_store *s, const void *data, size_t len, const char *expected,
		       char ret_digest[CELL_DIGEST_LEN + 1], cell_error **err)
{
	char digest[CELL_DIGEST_LEN + 1];

	cell_sha256_data(data, len, digest);
	if (expected && !streq(expected, digest))
		return cell_error_set(err, "blob `%s`: digest mismatch: content hashes to `%s` (corrupt or truncated)",
				      expected, digest);
	_cleanup_free_ char *final = cell_blob_path(s, digest);
	if (access(final, F_OK) != 0 && write_file_atomic(final, data, len, 0644, err) < 0)
		return -1;
	if (ret_digest)
		memcpy(ret_digest, digest, sizeof(digest));
	return 0;
}

int cell_blob_read(const struct cell_store *s, const char *digest, char **ret, size_t *ret_len,
		   cell_error **err)
{
	char got[CELL_DIGEST_LEN + 1];
	char *data = NULL;
	size_t len = 0;

	if (!cell_digest_valid(digest))
		return cell_error_set(err, "invalid digest `%s`", digest);
	_cleanup_free_ char *p = cell_blob_path(s, digest);
	if (read_file(p, &data, &len, err) < 0)
		return cell_error_wrap(err, "blob `%s`", digest);
	cell_sha256_data(data, len, got);
	if (!streq(got, digest)) {
		free(data);
		return cell_error_set(err, "blob `%s` in the store hashes to `%s`: the store is corrupt",
				      digest, got);
	}
	*ret = data;
	if (ret_len)
		*ret_len = len;
	return 0;
}

/* ---- a blob arriving piecewise (downloads) ---- */

struct cell_blob_writer {
	struct cell_store *s;
	char *tmp;
	int fd;
	struct cell_sha256 *h;
	uint64_t size;
};

struct cell_blob_writer *cell_blob_writer_new(struct cell_store *s, cell_error **err)
{
	struct cell_blob_writer *w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->tmp = xasprintf("%s/blobs/sha256/.tmp-XXXXXX", s->root);
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		cell_error_errno(err, errno, "create blob temp file in `%s/blobs/sha256`", s->root);
		free(w->tmp);
		free(w);
		return NULL;
	}
	w->h = cell_sha256_new();
	return w;
}

int cell_blob_writer_write(struct cell_blob_writer *w, const void *data, size_t len, cell_error **err)
{
	const char *p = data;
	cell_sha256_update(w->h, data, len);
	w->size += len;
	while (len > 0) {
		ssize_t n = write(w->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cell_error_errno(err, errno, "write blob temp file `%s`", w->tmp);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cell_blob_writer_commit(struct cell_blob_writer *w, const char *expected, char ret_digest[CELL_DIGEST_LEN + 1],
			    uint64_t *ret_size, cell_error **err)
{
	char digest[CELL_DIGEST_LEN + 1];
	cell_sha256_final(w->h, digest);
	w->h = NULL;
	if (expected && !streq(expected, digest))
		return cell_error_set(err, "blob `%s`: digest mismatch: content hashes to `%s` (corrupt or truncated)",
				      expected, digest);
	fchmod(w->fd, 0644);
	_cleanup_free_ char *final = cell_blob_path(w->s, digest);
	if (rename(w->tmp, final) < 0)
		return cell_error_errno(err, errno, "rename `%s` to `%s`", w->tmp, final);
	w->tmp[0] = '\0';
	if (ret_digest)
		memcpy(ret_digest, digest, sizeof(digest));
	if (ret_size)
		*ret_size = w->size;
	return 0;
}

void cell_blob_writer_free(struct cell_blob_writer *w)
{
	if (!w)
		return;
	if (w->tmp[0])
		unlink(w->tmp);
	safe_close(w->fd);
	cell_sha256_free(w->h);
	free(w->tmp);
	free(w);
}
