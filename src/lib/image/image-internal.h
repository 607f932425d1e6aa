/* Inside the image store: digests, blobs, the index of records, layer
 * unpacking. Only src/lib/image/ includes this. */
#ifndef CELL_IMAGE_INTERNAL_H
#define CELL_IMAGE_INTERNAL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "image.h"

struct cell_store {
	char *root;
	int lock_fd;	/* images.lock, held by store_lock(), -1 otherwise */
	int lock_depth;
	int use_fd;	/* gc.lock, held by store_use(), -1 otherwise */
	int use_depth;
};

/* ---- digest.c ---- */

/* Streaming sha256 (OpenSSL EVP). */
struct cell_sha256;
struct cell_sha256 *cell_sha256_new(void);
void cell_sha256_update(struct cell_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" (CELL_DIGEST_LEN + 1 bytes) and frees h. */
void cell_sha256_final(struct cell_sha256 *h, char out[CELL_DIGEST_LEN + 1]);
void cell_sha256_free(struct cell_sha256 *h);
void cell_sha256_data(const void *data, size_t len, char out[CELL_DIGEST_LEN + 1]);

/* "sha256:" + 64 lowercase hex digits. */
bool cell_digest_valid(const char *d);
/* The hex part of a valid digest. */
static inline const char *cell_digest_hex(const char *d) { return d + 7; }
/* chain[n] = sha256(chain[n-1] + " " + diff[n]), chain[0] = diff[0]. */
void cell_chain_id(const char *parent_chain, const char *diff_id, char out[CELL_DIGEST_LEN + 1]);

/* Store a blob read from fd. With expected non-NULL the content must hash to
 * it ("blob `x`: digest mismatch: got `y`"). A blob already present is
 * not rewritten (the data is still read and checked). */
int cell_blob_put_fd(struct cell_store *s, int fd, const char *expected,
		     char ret_digest[CELL_DIGEST_LEN + 1], uint64_t *ret_size, cell_error **err);
int cell_blob_put_data(struct cell_store *s, const void *data, size_t len, const char *expected,
		       char ret_digest[CELL_DIGEST_LEN + 1], cell_error **err);
char *cell_blob_path(const struct cell_store *s, const char *digest);
bool cell_blob_exists(const struct cell_store *s, const char *digest);
/* Read a whole (small) blob, re-checking its digest. */
int cell_blob_read(const struct cell_store *s, const char *digest, char **ret, size_t *ret_len,
		   cell_error **err);

/* A blob written piecewise (a download): hashed as it arrives, renamed to
 * its digest by commit only when it matches expected (if given). free
 * removes the temp file of an uncommitted writer. */
struct cell_blob_writer;
struct cell_blob_writer *cell_blob_writer_new(struct cell_store *s, cell_error **err);
int cell_blob_writer_write(struct cell_blob_writer *w, const void *data, size_t len, cell_error **err);
int cell_blob_writer_commit(struct cell_blob_writer *w, const char *expected, char ret_digest[CELL_DIGEST_LEN + 1],
			    uint64_t *ret_size, cell_error **err);
void cell_blob_writer_free(struct cell_blob_writer *w);

/* ---- unpack.c ---- */

/* Unpack a layer (tar, optionally gzip/zstd/xz/bzip2 compressed) read from fd
 * into dest, an existing empty directory, refusing any entry that would land
 * outside it. ret_diff_id gets the sha256 of the uncompressed tar stream,
 * ret_size the bytes of file data. what names the layer in errors. */
int cell_layer_unpack(int fd, const char *dest, const char *what,
		      char ret_diff_id[CELL_DIGEST_LEN + 1], uint64_t *ret_size, cell_error **err);
/* The same, also writing the uncompressed tar stream to tee_fd. */
int cell_layer_unpack_tee(int fd, const char *dest, const char *what, int tee_fd,
			  char ret_diff_id[CELL_DIGEST_LEN + 1], uint64_t *ret_size, cell_error **err);
/* Media type of a layer from its first bytes: ".tar", "+gzip", "+zstd" ... */
const char *cell_layer_media_type(int fd, bool docker);

/* ---- import.c ---- */

/* The host's architecture as OCI names it ("amd64", "arm64"). */
const char *cell_host_arch(void);

/* ---- config.c ---- */

/* The runtime part of an image config document. */
int cell_image_config_parse(json_object *doc, struct cell_image_config *c, cell_error **err);
void cell_image_config_clear(struct cell_image_config *c);
/* Apply one Dockerfile-style --change line to the "config" object. */
int cell_image_config_change(json_object *cfg, const char *line, cell_error **err);

/* ---- store.c ---- */

/* Two locks, always taken in this order:
 *
 *   gc.lock      shared by every operation that adds or reads data for a long
 *                time (import, pull, push, save, commit), exclusive for the
 *                ones that delete (rm, prune): a blob downloaded but not yet
 *                recorded is never collected, and a pull never blocks another
 *   images.lock  exclusive for the short read-modify-write of images.json,
 *                shared by readers (ls, inspect, resolve): `cell images` or
 *                `cell run` never wait for a pull
 *
 * Both nest within a process. */
int store_use(struct cell_store *s, bool exclusive, cell_error **err);
void store_unuse(struct cell_store *s);
int store_lock(struct cell_store *s, cell_error **err);
void store_unlock(struct cell_store *s);

/* images.json as json-c: {"images":[record...]}. */
int store_index_load(struct cell_store *s, json_object **ret, cell_error **err);
int store_index_save(struct cell_store *s, json_object *index, cell_error **err);

/* One layer of a record being added. */
struct store_layer {
	char blob[CELL_DIGEST_LEN + 1];
	char diff_id[CELL_DIGEST_LEN + 1];
	char chain_id[CELL_DIGEST_LEN + 1];
	char media_type[96];
	uint64_t blob_size;
	uint64_t size;	/* unpacked file bytes */
};

/* Add (or update) the record of an image whose blobs and layers are in the
 * store, and give it name (moved off other images) when name is not NULL.
 * Called with the lock held. */
int store_add_image(struct cell_store *s, const char *id, const char *manifest_digest,
		    const struct store_layer *layers, size_t n_layers, const char *created,
		    const char *name, cell_error **err);

/* Record an image whose layer blobs are in the store (blob, media_type,
 * blob_size filled): unpack what is missing, store config and manifest
 * (exact bytes), name it. Lock held. ret_id gets the config digest. */
int store_commit_image(struct cell_store *s, const char *config_text, size_t config_len, const char *manifest_text,
		       struct store_layer *layers, size_t n_layers, const char *name,
		       char ret_id[CELL_DIGEST_LEN + 1], cell_error **err);

/* Make sure the layer chain_id is unpacked: if layers/<hex> is missing,
 * unpack blob (already in the store) and check its diff id. The lock is held. */
int store_ensure_layer(struct cell_store *s, struct store_layer *l, cell_error **err);

/* Normalised full name for comparisons: "docker.io/library/busybox:latest". */
char *store_name_key(const char *name);

/* Find a record in the index; returns the record (borrowed) or NULL with err. */
json_object *store_find(json_object *index, const char *ref, cell_error **err);

/* After a failed import or pull (gc.lock held shared): remove what no
 * record names if no other operation is running, else leave it to prune. */
void store_gc_failed(struct cell_store *s);

/* A per-store scratch dir under <root>/tmp (caller rm_rf's it). */
char *store_mkdtemp(struct cell_store *s, cell_error **err);

#endif
