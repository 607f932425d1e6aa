/* `cell image import` / `cell load`: OCI image layouts (dir or tar),
 * docker-archives (`docker save`, `podman save`) and plain root filesystem
 * tars, all into the store.
 *
 * An archive that is not a plain rootfs is first unpacked into a scratch dir
 * by the same guarded unpacker as layers (it is as untrusted as they are);
 * then every path the archive's own JSON names (blobs/sha256/x, "Config",
 * "Layers") is opened with openat2(RESOLVE_IN_ROOT) from that dir, so a
 * manifest naming "../../etc/shadow" cannot read outside it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "dl-archive.h"
#include "image-internal.h"
#include "json.h"
#include "util.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

const char *cell_host_arch(void)
{
	static struct utsname u;
	static const struct { const char *k, *g; } map[] = {
		{ "x86_64", "amd64" }, { "aarch64", "arm64" }, { "armv7l", "arm" }, { "i686", "386" },
		{ "ppc64le", "ppc64le" }, { "s390x", "s390x" }, { "riscv64", "riscv64" },
	};
	if (uname(&u) < 0)
		return "amd64";
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (streq(u.machine, map[i].k))
			return map[i].g;
	return u.machine;
}

static int open_in(int dirfd, const char *rel, const char *what, cell_error **err)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd < 0)
		return cell_error_errno(err, errno, "%s: open `%s`", what, rel);
	return fd;
}

static int read_in(int dirfd, const char *rel, const char *what, char **ret, size_t *ret_len, cell_error **err)
{
	_cleanup_close_ int fd = open_in(dirfd, rel, what, err);
	if (fd < 0)
		return -1;
	/* the fd was opened confined; reopen it through /proc to read it all */
	_cleanup_free_ char *p = xasprintf("/proc/self/fd/%d", fd);
	if (read_file(p, ret, ret_len, err) < 0)
		return cell_error_wrap(err, "%s: read `%s`", what, rel);
	return 0;
}

/* Could this entry belong to an OCI layout or a docker-archive? A rootfs
 * tar shows itself at its first entry ("bin/", "etc/passwd"), which spares
 * decompressing it all just to look. */
static bool image_archive_name(const char *n)
{
	static const char *known[] = { "", "oci-layout", "index.json", "manifest.json", "repositories", "blobs", "index.json.lock" };
	size_t hex = 0;
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (streq(n, known[i]) || (streq(known[i], "blobs") && strncmp(n, "blobs/", 6) == 0))
			return true;
	while ((n[hex] >= '0' && n[hex] <= '9') || (n[hex] >= 'a' && n[hex] <= 'f'))
		hex++;
	return hex == 64 && (n[64] == '\0' || n[64] == '/' || streq(n + 64, ".json") || streq(n + 64, ".tar"));
}

/* Scan an archive's names: is it an OCI layout, a docker-archive, or neither? */
enum kind { KIND_ROOTFS, KIND_OCI, KIND_DOCKER };

/* images_only (load): no first-entry shortcut, the whole list of names is
 * read, and what holds manifest.json, index.json or oci-layout is an image
 * archive whatever its other members are called. */
static int archive_kind(const char *path, bool images_only, enum kind *ret, cell_error **err)
{
	bool index = false;
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r;

	*ret = KIND_ROOTFS;
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		cell_error_set(err, "open `%s`: %s", path, archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *n = archive_entry_pathname(e);
		while (n && n[0] == '.' && n[1] == '/')
			n += 2;
		if (n && streq(n, ".")) n = "";
		if ((!n || !image_archive_name(n)) && !images_only) {
			*ret = KIND_ROOTFS;
			archive_read_free(a);
			return 0;
		}
		if (n && streq(n, "index.json"))
			index = true;
		if (n && streq(n, "oci-layout")) {
			*ret = KIND_OCI;
			break;
		}
		if (n && streq(n, "manifest.json"))
			*ret = KIND_DOCKER;
	}
	if (*ret == KIND_ROOTFS && index)
		*ret = KIND_OCI;
	if (r != ARCHIVE_EOF && r != ARCHIVE_OK) {
		cell_error_set(err, "`%s`: not a tar archive, or corrupt: %s", path, archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	archive_read_free(a);
	return 0;
}

/* ---- one image, whatever it came from ---- */

struct pending {
	json_object *config;		/* parsed config document */
	char *config_text;		/* exact bytes (their digest is the id) */
	size_t config_len;
	char *manifest_text;		/* exact bytes, or NULL to make one */
	size_t n_layers;
	struct store_layer *layers;
};

static void pending_clear(struct pending *p)
{
	json_object_put(p->config);
	free(p->config_text);
	free(p->manifest_text);
	free(p->layers);
	memset(p, 0, sizeof(*p));
}

/* diff ids from the config, chain ids from them. */
static int take_diff_ids(struct pending *p, cell_error **err)
{
	json_object *rootfs = NULL, *ids = NULL;
	if (cj_object(p->config, "rootfs", "image config", &rootfs, err) < 0 ||
	    (rootfs && cj_array(rootfs, "diff_ids", "image config.rootfs", &ids, err) < 0))
		return -1;
	size_t n = ids ? json_object_array_length(ids) : 0;
	if (n != p->n_layers)
		return cell_error_set(err, "image config lists %zu layers (rootfs.diff_ids), the manifest %zu", n, p->n_layers);
	for (size_t i = 0; i < n; i++) {
		const char *d = json_object_get_string(json_object_array_get_idx(ids, i));
		if (!cell_digest_valid(d))
			return cell_error_set(err, "image config: rootfs.diff_ids[%zu] `%s` is not a sha256 digest", i,
					      d ? d : "");
		snprintf(p->layers[i].diff_id, sizeof(p->layers[i].diff_id), "%s", d);
		cell_chain_id(i ? p->layers[i - 1].chain_id : NULL, d, p->layers[i].chain_id);
	}
	return 0;
}

static char *make_manifest(const struct pending *p, const char *config_digest)
{
	json_object *m = json_object_new_object(), *c = json_object_new_object(), *ls = json_object_new_array();
	json_object_object_add(m, "schemaVersion", json_object_new_int(2));
	json_object_object_add(m, "mediaType", json_object_new_string(MT_OCI_MANIFEST));
	json_object_object_add(c, "mediaType", json_object_new_string(MT_OCI_CONFIG));
	json_object_object_add(c, "digest", json_object_new_string(config_digest));
	json_object_object_add(c, "size", json_object_new_int64((int64_t)p->config_len));
	json_object_object_add(m, "config", c);
	for (size_t i = 0; i < p->n_layers; i++) {
		json_object *l = json_object_new_object();
		json_object_object_add(l, "mediaType", json_object_new_string(p->layers[i].media_type));
		json_object_object_add(l, "digest", json_object_new_string(p->layers[i].blob));
		json_object_object_add(l, "size", json_object_new_int64((int64_t)p->layers[i].blob_size));
		json_object_array_add(ls, l);
	}
	json_object_object_add(m, "layers", ls);
	char *s = xstrdup(cj_to_string(m, false));
	json_object_put(m);
	return s;
}

/* Unpack the missing layers, one thread per CPU: each layer goes to its own
 * temp dir, so they are independent; decompression is the bottleneck. */
struct unpack_job {
	struct cell_store *s;
	struct store_layer *layers;
	size_t n, next;
	pthread_mutex_t mu;
	cell_error *err;	/* the first failure */
};

static void *unpack_worker(void *data)
{
	struct unpack_job *j = data;
	for (;;) {
		pthread_mutex_lock(&j->mu);
		size_t i = j->err ? j->n : j->next++;
		pthread_mutex_unlock(&j->mu);
		if (i >= j->n)
			return NULL;
		cell_error *e = NULL;
		if (store_ensure_layer(j->s, &j->layers[i], &e) < 0) {
			pthread_mutex_lock(&j->mu);
			if (!j->err)
				j->err = TAKE_PTR(e);
			pthread_mutex_unlock(&j->mu);
			cell_error_free(&e);
		}
	}
}

static int ensure_layers(struct cell_store *s, struct store_layer *layers, size_t n, cell_error **err)
{
	struct unpack_job j = { .s = s, .layers = layers, .n = n, .mu = PTHREAD_MUTEX_INITIALIZER };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = n < (size_t)(cpus > 1 ? cpus : 1) ? n : (size_t)(cpus > 1 ? cpus : 1);
	pthread_t t[64];
	size_t started = 0;

	if (nt > ARRAY_SIZE(t))
		nt = ARRAY_SIZE(t);
	for (size_t i = 1; i < nt; i++)	/* this thread is worker 0 */
		if (pthread_create(&t[started], NULL, unpack_worker, &j) == 0)
			started++;
	unpack_worker(&j);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&j.mu);
	if (j.err) {
		*err = j.err;
		return -1;
	}
	return 0;
}

/* Blobs of config and manifest, layers unpacked, the record written. With
 * the store lock held. */
static int commit_image(struct cell_store *s, struct pending *p, const char *name, char ***ids, cell_error **err)
{
	char id[CELL_DIGEST_LEN + 1], mdigest[CELL_DIGEST_LEN + 1];
	const char *created = NULL;
	_cleanup_error_ cell_error *e = NULL;

	if (ensure_layers(s, p->layers, p->n_layers, err) < 0)
		return -1;
	if (cell_blob_put_data(s, p->config_text, p->config_len, NULL, id, err) < 0)
		return -1;
	if (!p->manifest_text)
		p->manifest_text = make_manifest(p, id);
	if (cell_blob_put_data(s, p->manifest_text, strlen(p->manifest_text), NULL, mdigest, err) < 0)
		return -1;
	cj_string(p->config, "created", "config", &created, &e);
	if (store_add_image(s, id, mdigest, p->layers, p->n_layers, created, name, err) < 0)
		return -1;
	size_t n = *ids ? strv_len(*ids) : 0;
	*ids = realloc(*ids, (n + 2) * sizeof(char *));
	if (name) {	/* as stored: the familiar form */
		struct cell_ref ref;
		if (cell_ref_parse(name, &ref, err) < 0)
			return -1;
		_cleanup_free_ char *fam = cell_ref_familiar(&ref);
		cell_ref_clear(&ref);
		(*ids)[n] = xasprintf("%s %s", id, fam);
	} else {
		(*ids)[n] = xstrdup(id);
	}
	(*ids)[n + 1] = NULL;
	return 0;
}

/* JSON has no raw NUL: "<json>\0garbage" hashes as one blob but would parse
 * (and be stored) as its clean prefix, sharing the clean image's id. */
static int no_nul(const char *text, size_t len, const char *what, cell_error **err)
{
	if (memchr(text, '\0', len))
		return cell_error_set(err, "%s: contains a NUL byte (not JSON)", what);
	return 0;
}

int store_commit_image(struct cell_store *s, const char *config_text, size_t config_len, const char *manifest_text,
		       struct store_layer *layers, size_t n_layers, const char *name,
		       char ret_id[CELL_DIGEST_LEN + 1], cell_error **err)
{
	struct pending p = { .n_layers = n_layers };
	char **ids = NULL;
	int r = -1;

	if (no_nul(config_text, config_len, "image config", err) < 0)
		return -1;
	p.config_text = strndup(config_text, config_len);
	p.config_len = config_len;
	p.manifest_text = manifest_text ? xstrdup(manifest_text) : NULL;
	p.layers = xcalloc(n_layers + 1, sizeof(*p.layers));
	memcpy(p.layers, layers, n_layers * sizeof(*layers));
	if (cj_parse_string("image config", p.config_text, &p.config, err) == 0 && take_diff_ids(&p, err) == 0 &&
	    commit_image(s, &p, name, &ids, err) == 0) {
		snprintf(ret_id, CELL_DIGEST_LEN + 1, "%.*s", CELL_DIGEST_LEN, ids[0]);
		memcpy(layers, p.layers, n_layers * sizeof(*layers));
		r = 0;
	}
	strv_free(ids);
	pending_clear(&p);
	return r;
}

static int store_layer_blob(struct cell_store *s, int dirfd, const char *rel, const char *expected, bool docker,
			    struct store_layer *l, cell_error **err)
{
	_cleanup_close_ int fd = open_in(dirfd, rel, "layer", err);
	if (fd < 0)
		return -1;
	const char *mt = cell_layer_media_type(fd, docker);
	if (!l->media_type[0])
		snprintf(l->media_type, sizeof(l->media_type), "%s", mt);
	return cell_blob_put_fd(s, fd, expected, l->blob, &l->blob_size, err);
}

/* ---- OCI image layout ---- */

static int read_blob_in(int dirfd, const char *digest, const char *what, char **ret, size_t *len, cell_error **err)
{
	char got[CELL_DIGEST_LEN + 1];
	if (!cell_digest_valid(digest))
		return cell_error_set(err, "%s: invalid digest `%s`", what, digest ? digest : "");
	_cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", cell_digest_hex(digest));
	if (read_in(dirfd, rel, what, ret, len, err) < 0)
		return -1;
	cell_sha256_data(*ret, *len, got);
	if (!streq(got, digest)) {
		free(*ret);
		return cell_error_set(err, "%s `%s`: digest mismatch: content hashes to `%s`", what, digest, got);
	}
	return 0;
}

static int oci_manifest(struct cell_store *s, int dirfd, const char *digest, const char *name, char ***ids,
			cell_error **err)
{
	struct pending p = { 0 };
	json_object *m = NULL, *cdesc = NULL, *layers = NULL;
	const char *cdigest = NULL;
	size_t len;
	int r = -1;

	if (read_blob_in(dirfd, digest, "manifest", &p.manifest_text, &len, err) < 0)
		return -1;
	if (cj_parse_string(digest, p.manifest_text, &m, err) < 0 || cj_expect_object(m, "manifest", err) < 0 ||
	    cj_object(m, "config", "manifest", &cdesc, err) < 0 || cj_array(m, "layers", "manifest", &layers, err) < 0)
		goto out;
	if (!cdesc || cj_string(cdesc, "digest", "manifest.config", &cdigest, err) <= 0) {
		if (!*err)
			cell_error_set(err, "manifest `%s`: no config descriptor", digest);
		goto out;
	}
	if (read_blob_in(dirfd, cdigest, "config", &p.config_text, &p.config_len, err) < 0 ||
	    no_nul(p.config_text, p.config_len, cdigest, err) < 0 ||
	    cj_parse_string(cdigest, p.config_text, &p.config, err) < 0)
		goto out;
	p.n_layers = layers ? json_object_array_length(layers) : 0;
	p.layers = xcalloc(p.n_layers + 1, sizeof(*p.layers));
	for (size_t i = 0; i < p.n_layers; i++) {
		json_object *d = json_object_array_get_idx(layers, i);
		const char *ld = NULL, *mt = NULL;
		if (cj_string(d, "digest", "manifest.layers[]", &ld, err) <= 0 || !cell_digest_valid(ld)) {
			if (!*err)
				cell_error_set(err, "manifest `%s`: layer %zu has no valid digest", digest, i);
			goto out;
		}
		if (cj_string(d, "mediaType", "manifest.layers[]", &mt, err) > 0)
			snprintf(p.layers[i].media_type, sizeof(p.layers[i].media_type), "%s", mt);
		_cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", cell_digest_hex(ld));
		if (store_layer_blob(s, dirfd, rel, ld, false, &p.layers[i], err) < 0)
			goto out;
	}
	if (take_diff_ids(&p, err) < 0 || commit_image(s, &p, name, ids, err) < 0)
		goto out;
	r = 0;
out:
	json_object_put(m);
	pending_clear(&p);
	if (r < 0)
		cell_error_wrap(err, "manifest `%s`", digest);
	return r;
}

/* Pick from an index: the host's platform, else the only entry. */
static int oci_index(struct cell_store *s, int dirfd, json_object *index, const char *name, bool nested,
		     char ***ids, cell_error **err)
{
	json_object *ms = NULL;
	size_t done = 0;
	if (cj_array(index, "manifests", "index.json", &ms, err) < 0)
		return -1;
	for (size_t i = 0; ms && i < json_object_array_length(ms); i++) {
		json_object *d = json_object_array_get_idx(ms, i), *plat = NULL, *ann = NULL;
		const char *mt = NULL, *dg = NULL, *arch = NULL, *os = NULL, *ref = NULL;
		_cleanup_error_ cell_error *e = NULL;
		cj_string(d, "mediaType", "index.manifests[]", &mt, &e);
		if (cj_string(d, "digest", "index.manifests[]", &dg, err) < 0)
			return -1;
		if (cj_object(d, "platform", "", &plat, &e) > 0) {
			cj_string(plat, "architecture", "", &arch, &e);
			cj_string(plat, "os", "", &os, &e);
			if ((arch && !streq(arch, cell_host_arch())) || (os && !streq(os, "linux")))
				continue;
		}
		if (cj_object(d, "annotations", "", &ann, &e) > 0) {
			/* containerd's full name first, else the OCI one (often a bare tag) */
			if (cj_string(ann, "io.containerd.image.name", "", &ref, &e) <= 0)
				cj_string(ann, "org.opencontainers.image.ref.name", "", &ref, &e);
		}
		const char *use = name;
		_cleanup_free_ char *full = NULL;
		if (!use && ref && strpbrk(ref, "/:")) {
			struct cell_ref pr;
			if (cell_ref_parse(ref, &pr, &e) == 0) {
				full = cell_ref_familiar(&pr);
				cell_ref_clear(&pr);
				use = full;
			}
		}
		if (mt && (streq(mt, MT_OCI_INDEX) || streq(mt, MT_DOCKER_LIST))) {
			_cleanup_free_ char *text = NULL;
			json_object *sub = NULL;
			size_t len;
			if (nested)
				return cell_error_set(err, "index `%s`: indexes nested more than two deep", dg);
			if (read_blob_in(dirfd, dg, "index", &text, &len, err) < 0 ||
			    cj_parse_string(dg, text, &sub, err) < 0)
				return -1;
			int r = oci_index(s, dirfd, sub, use, true, ids, err);
			json_object_put(sub);
			if (r < 0)
				return -1;
		} else if (oci_manifest(s, dirfd, dg, use, ids, err) < 0) {
			return -1;
		}
		done++;
		if (name)
			break;	/* one name, one image */
	}
	if (!done)
		return cell_error_set(err, "no image for linux/%s in the index", cell_host_arch());
	return 0;
}

static int import_oci_dir(struct cell_store *s, int dirfd, const char *name, char ***ids, cell_error **err)
{
	_cleanup_free_ char *text = NULL;
	json_object *index = NULL;
	size_t len;
	if (read_in(dirfd, "index.json", "OCI layout", &text, &len, err) < 0 ||
	    cj_parse_string("index.json", text, &index, err) < 0)
		return -1;
	int r = oci_index(s, dirfd, index, name, false, ids, err);
	json_object_put(index);
	return r;
}

/* ---- docker-archive ---- */

static int docker_one(struct cell_store *s, int dirfd, json_object *ent, const char *name, char ***ids,
		      cell_error **err)
{
	struct pending p = { 0 };
	const char *cfg = NULL;
	json_object *layers = NULL, *tags = NULL;
	int r = -1;

	if (cj_string(ent, "Config", "manifest.json", &cfg, err) <= 0 ||
	    cj_array(ent, "Layers", "manifest.json", &layers, err) < 0 ||
	    cj_array(ent, "RepoTags", "manifest.json", &tags, err) < 0) {
		if (!*err)
			cell_error_set(err, "manifest.json: entry without \"Config\"");
		return -1;
	}
	if (read_in(dirfd, cfg, "docker-archive config", &p.config_text, &p.config_len, err) < 0 ||
	    no_nul(p.config_text, p.config_len, cfg, err) < 0 ||
	    cj_parse_string(cfg, p.config_text, &p.config, err) < 0)
		goto out;
	p.n_layers = layers ? json_object_array_length(layers) : 0;
	p.layers = xcalloc(p.n_layers + 1, sizeof(*p.layers));
	for (size_t i = 0; i < p.n_layers; i++) {
		const char *rel = json_object_get_string(json_object_array_get_idx(layers, i));
		if (!rel || store_layer_blob(s, dirfd, rel, NULL, false, &p.layers[i], err) < 0) {
			if (!*err)
				cell_error_set(err, "manifest.json: layer %zu is not a string", i);
			goto out;
		}
	}
	if (take_diff_ids(&p, err) < 0)
		goto out;
	if (name || !tags || json_object_array_length(tags) == 0) {
		r = commit_image(s, &p, name, ids, err);
	} else {
		r = 0;
		for (size_t i = 0; r == 0 && i < json_object_array_length(tags); i++)
			r = commit_image(s, &p, json_object_get_string(json_object_array_get_idx(tags, i)), ids, err);
	}
out:
	pending_clear(&p);
	return r;
}

static int import_docker_dir(struct cell_store *s, int dirfd, const char *name, char ***ids, cell_error **err)
{
	_cleanup_free_ char *text = NULL;
	json_object *m = NULL;
	size_t len;
	int r = 0;
	if (read_in(dirfd, "manifest.json", "docker-archive", &text, &len, err) < 0 ||
	    cj_parse_string("manifest.json", text, &m, err) < 0)
		return -1;
	if (!json_object_is_type(m, json_type_array) || json_object_array_length(m) == 0) {
		json_object_put(m);
		return cell_error_set(err, "docker-archive: manifest.json: expected a non-empty array");
	}
	for (size_t i = 0; r == 0 && i < json_object_array_length(m); i++) {
		r = docker_one(s, dirfd, json_object_array_get_idx(m, i), name, ids, err);
		if (name)
			break;
	}
	json_object_put(m);
	return r;
}

/* ---- plain root filesystem tar ---- */

static json_object *rootfs_config(const char *diff_id, const char *src, const struct cell_import_opts *o,
				  cell_error **err)
{
	char now[64];
	rfc3339_now(now, sizeof(now));
	json_object *c = json_object_new_object(), *cfg = json_object_new_object();
	json_object_object_add(c, "created", json_object_new_string(now));
	json_object_object_add(c, "architecture", json_object_new_string(cell_host_arch()));
	json_object_object_add(c, "os", json_object_new_string("linux"));
	json_object_object_add(c, "config", cfg);
	for (size_t i = 0; o->changes && o->changes[i]; i++)
		if (cell_image_config_change(cfg, o->changes[i], err) < 0) {
			json_object_put(c);
			return NULL;
		}
	json_object *rootfs = json_object_new_object(), *ids = json_object_new_array();
	json_object_array_add(ids, json_object_new_string(diff_id));
	json_object_object_add(rootfs, "type", json_object_new_string("layers"));
	json_object_object_add(rootfs, "diff_ids", ids);
	json_object_object_add(c, "rootfs", rootfs);
	json_object *hist = json_object_new_array(), *h = json_object_new_object();
	_cleanup_free_ char *by = xasprintf("cell image import %s", src);
	json_object_object_add(h, "created", json_object_new_string(now));
	json_object_object_add(h, "created_by", json_object_new_string(by));
	if (o->message)
		json_object_object_add(h, "comment", json_object_new_string(o->message));
	json_object_array_add(hist, h);
	json_object_object_add(c, "history", hist);
	return c;
}

/* Unpack straight into layers/.tmp-X; keep the blob as given when it is a
 * layer media type (tar, gzip, zstd), else the uncompressed stream. */
static int import_rootfs(struct cell_store *s, const char *path, const struct cell_import_opts *o, char ***ids,
			 cell_error **err)
{
	struct pending p = { .n_layers = 1, .layers = xcalloc(1, sizeof(struct store_layer)) };
	struct store_layer *l = &p.layers[0];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *tmp = xasprintf("%s/layers/.tmp-XXXXXX", s->root);
	_cleanup_free_ char *teep = NULL;
	_cleanup_close_ int tee = -1;
	_cleanup_free_ char *final = NULL;
	int r = -1;

	if (fd < 0) {
		pending_clear(&p);
		return cell_error_errno(err, errno, "open `%s`", path);
	}
	const char *mt = cell_layer_media_type(fd, false);
	/* gzip and zstd layers are kept as given; plain tars, xz and bzip2 are
	 * stored as the uncompressed stream, written while it is unpacked: one
	 * read, one hash (the stream's digest is both diff id and blob digest) */
	bool keep = strncmp(mt, "application/vnd.oci", 19) == 0 && !streq(mt, "application/vnd.oci.image.layer.v1.tar");
	if (!mkdtemp(tmp)) {
		pending_clear(&p);
		return cell_error_errno(err, errno, "create layer temp dir in `%s/layers`", s->root);
	}
	chmod(tmp, 0755);
	if (keep) {
		snprintf(l->media_type, sizeof(l->media_type), "%s", mt);
		if (cell_blob_put_fd(s, fd, NULL, l->blob, &l->blob_size, err) < 0)
			goto out;
		_cleanup_free_ char *bp = cell_blob_path(s, l->blob);
		safe_close(fd);
		fd = open(bp, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			cell_error_errno(err, errno, "open `%s`", bp);
			goto out;
		}
		r = cell_layer_unpack(fd, tmp, path, l->diff_id, &l->size, err);
	} else {
		struct stat st;
		snprintf(l->media_type, sizeof(l->media_type), "application/vnd.oci.image.layer.v1.tar");
		teep = xasprintf("%s/blobs/sha256/.tmp-XXXXXX", s->root);
		tee = mkostemp(teep, O_CLOEXEC);
		if (tee < 0) {
			cell_error_errno(err, errno, "create `%s`", teep);
			goto out;
		}
		r = cell_layer_unpack_tee(fd, tmp, path, tee, l->diff_id, &l->size, err);
		if (r == 0) {
			memcpy(l->blob, l->diff_id, sizeof(l->blob));
			_cleanup_free_ char *bp = cell_blob_path(s, l->blob);
			fchmod(tee, 0644);
			if (fstat(tee, &st) < 0 || rename(teep, bp) < 0)
				r = cell_error_errno(err, errno, "rename `%s` to `%s`", teep, bp);
			else
				l->blob_size = (uint64_t)st.st_size;
		}
	}
	if (r < 0)
		goto out;
	r = -1;
	snprintf(l->chain_id, sizeof(l->chain_id), "%s", l->diff_id);
	final = xasprintf("%s/layers/%s", s->root, cell_digest_hex(l->chain_id));
	if (rename(tmp, final) == 0)
		tmp[0] = '\0';
	else if (errno != EEXIST && errno != ENOTEMPTY) {
		cell_error_errno(err, errno, "rename `%s` to `%s`", tmp, final);
		goto out;
	}
	p.config = rootfs_config(l->diff_id, path, o, err);
	if (!p.config)
		goto out;
	p.config_text = xstrdup(cj_to_string(p.config, false));
	p.config_len = strlen(p.config_text);
	r = commit_image(s, &p, o->name, ids, err);
out:
	if (teep)
		unlink(teep);
	if (tmp[0]) {
		_cleanup_error_ cell_error *e = NULL;
		rm_rf(tmp, &e);
	}
	pending_clear(&p);
	return r;
}

/* ---- entry ---- */

static int import_dir(struct cell_store *s, const char *dir, const char *name, char ***ids, cell_error **err)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cell_error_errno(err, errno, "open `%s`", dir);
	if (faccessat(dfd, "oci-layout", F_OK, 0) == 0 || faccessat(dfd, "index.json", F_OK, 0) == 0)
		return import_oci_dir(s, dfd, name, ids, err);
	if (faccessat(dfd, "manifest.json", F_OK, 0) == 0)
		return import_docker_dir(s, dfd, name, ids, err);
	return cell_error_set(err, "`%s`: neither an OCI image layout (no oci-layout, index.json) nor a "
			      "docker-archive (no manifest.json)", dir);
}

static int import_locked(struct cell_store *s, const char *path, const struct cell_import_opts *o, char ***ids,
			 cell_error **err)
{
	struct stat st;
	enum kind kind;

	if (stat(path, &st) < 0)
		return cell_error_errno(err, errno, "stat `%s`", path);
	if (S_ISDIR(st.st_mode))
		return import_dir(s, path, o->name, ids, err);
	if (archive_kind(path, o->images_only, &kind, err) < 0)
		return -1;
	if (kind == KIND_ROOTFS && o->images_only)	/* as docker load: never a root filesystem */
		return cell_error_set(err, "`%s`: not an image archive (no manifest.json, index.json or oci-layout in "
				      "it; `cell import` makes an image of a root filesystem tar)", path);
	if (kind == KIND_ROOTFS)
		return import_rootfs(s, path, o, ids, err);
	if (o->changes && o->changes[0])
		return cell_error_set(err, "--change applies to root filesystem tars only, `%s` is an image archive", path);
	/* an image archive: unpack it guarded, then read it as a dir */
	_cleanup_free_ char *tmp = store_mkdtemp(s, err);
	if (!tmp)
		return -1;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char ignored[CELL_DIGEST_LEN + 1];
	int r;
	if (fd < 0)
		r = cell_error_errno(err, errno, "open `%s`", path);
	else
		r = cell_layer_unpack(fd, tmp, path, ignored, NULL, err);
	if (r == 0)
		r = import_dir(s, tmp, o->name, ids, err);
	_cleanup_error_ cell_error *e = NULL;
	rm_rf(tmp, &e);
	return r;
}

int cell_image_import(struct cell_store *s, const char *path, const struct cell_import_opts *opts,
		      char ***ret_ids, cell_error **err)
{
	struct cell_import_opts none = { 0 };
	const struct cell_import_opts *o = opts ? opts : &none;
	char **ids = NULL;

	if (cell_dl_archive(err) < 0)
		return cell_error_wrap(err, "import `%s`", path);
	if (o->name) {
		struct cell_ref r;
		if (cell_ref_parse(o->name, &r, err) < 0)
			return -1;
		cell_ref_clear(&r);
	}
	if (store_use(s, false, err) < 0)
		return -1;
	int r = import_locked(s, path, o, &ids, err);
	if (r < 0) {	/* nothing of a failed import stays: its blobs go too */
		store_gc_failed(s);
	}
	store_unuse(s);
	if (r < 0) {
		strv_free(ids);
		return cell_error_wrap(err, "import `%s`", path);
	}
	*ret_ids = ids;
	return 0;
}
