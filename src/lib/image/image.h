/* The image store: content-addressed blobs, layers unpacked once and shared
 * read-only through overlayfs, image records with names and tags.
 *
 * Layout under the store root (`cell --root`, default /var/lib/cell):
 *
 *   blobs/sha256/<hex>      every blob (manifest, config, layer as given;
 *                           xz and bzip2 rootfs tars kept uncompressed),
 *                           written to a temp file and renamed only once its
 *                           sha256 matched
 *   layers/<chainid-hex>/   one unpacked layer (its diff only, whiteouts as
 *                           overlay expects: 0/0 char devices and
 *                           trusted.overlay.opaque=y); made in
 *                           layers/.tmp-XXXXXX and renamed, so a half-made
 *                           layer never carries a final name
 *   images.json             the image records, rewritten atomically
 *   images.lock             flock()ed around images.json only: shared to
 *                           read, exclusive to change (never held long)
 *   gc.lock                 shared by imports, pulls, pushes, saves and
 *                           commits for their whole run, exclusive for rm and
 *                           prune, so nothing half-imported is collected
 *   tmp/                    scratch space of imports and saves
 *
 * Image ids are config digests ("sha256:<hex>"), as Docker's. A layer is kept
 * while any image record names its chain id; an image is kept (its names only
 * removed by `rm -f`) while a container names it: every
 * <root>/containers/<id>/config.json whose "image", "Image", "ImageID" or
 * "image_id" string is the image id (with or without "sha256:", or a name
 * of the image) counts as a user.
 *
 * The engine's use:
 *
 *     struct cell_image *img = NULL;
 *     if (cell_image_resolve(store, "busybox", &img, err) < 0) ...
 *     // img->layer_dirs: bottom first; img->config: Entrypoint, Cmd, Env ...
 *     char *rootfs;
 *     cell_image_mount_rootfs(store, img, "/var/lib/cell/containers/ID", &rootfs, err);
 *     ...
 *     cell_image_unmount_rootfs("/var/lib/cell/containers/ID", true, err);
 *     cell_image_free(img);
 *
 * Write the container's config.json (naming img->id) before mounting: from
 * then on `cell image rm` and `prune` see the image as used. The overlay
 * mount belongs to the container (its record owns it and unmounts it).
 */
#ifndef CELL_IMAGE_H
#define CELL_IMAGE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CELL_DIGEST_LEN 71	/* "sha256:" + 64 hex */

/* A parsed image reference: [domain/]path[:tag][@digest]. */
struct cell_ref {
	char *domain;	/* "docker.io" when none was given */
	char *path;	/* "library/busybox" for "busybox" */
	char *tag;	/* "latest" when neither tag nor digest was given; NULL with a digest only */
	char *digest;	/* "sha256:<hex>" or NULL */
};

/* Parse as Docker does: "busybox" → docker.io/library/busybox:latest,
 * "localhost:5000/a/b:tag", "x@sha256:<64 hex>". Errors name the reference. */
int cell_ref_parse(const char *s, struct cell_ref *ret, cell_error **err);
void cell_ref_clear(struct cell_ref *r);
/* The short form Docker prints: "busybox:latest", "localhost:5000/a/b:tag"
 * (with "@digest" when there is one). Caller frees. */
char *cell_ref_familiar(const struct cell_ref *r);
/* "repo" part alone, familiar ("busybox", "localhost:5000/a/b"). Caller frees. */
char *cell_ref_repo(const struct cell_ref *r);

/* The image config's runtime part (OCI image-spec "config" object). */
struct cell_image_config {
	char **entrypoint;	/* NULL-terminated; NULL when unset */
	char **cmd;
	char **env;		/* "K=V" */
	char *working_dir;
	char *user;
	char **exposed_ports;	/* "80/tcp" */
	char **volumes;		/* "/data" */
	char **labels;		/* "key=value" */
	char *stop_signal;
};

/* One image as the engine needs it. */
struct cell_image {
	char *id;		/* config digest "sha256:<hex>" */
	char *manifest_digest;	/* "sha256:<hex>" */
	char **names;		/* "busybox:latest", may be empty */
	size_t n_layers;
	char **layer_dirs;	/* absolute paths, bottom layer first (NULL-terminated) */
	char **chain_ids;	/* "sha256:<hex>", bottom first (NULL-terminated) */
	uint64_t *layer_sizes;	/* unpacked bytes of each layer, bottom first */
	char *architecture, *os, *created;
	struct cell_image_config config;
	json_object *config_json;	/* the whole config document */
};

struct cell_store;

/* Open (and create, with mode 0700 dirs) the store under root. */
int cell_store_open(const char *root, struct cell_store **ret, cell_error **err);
void cell_store_free(struct cell_store *s);
const char *cell_store_root(const struct cell_store *s);

/* Find an image by name ("busybox", "busybox:latest", "docker.io/library/busybox"),
 * by name@manifest-digest, by id ("sha256:<hex>") or by a unique id prefix
 * (at least 3 hex digits). Errors: "no such image: `x`", "ambiguous id prefix". */
int cell_image_resolve(struct cell_store *s, const char *ref, struct cell_image **ret, cell_error **err);
void cell_image_free(struct cell_image *img);

/* Mount the image's root for a container:
 *   <container_dir>/upper, <container_dir>/work  (created, owned by the container)
 *   <container_dir>/rootfs                       overlay of the image layers + upper
 * ret_rootfs gets "<container_dir>/rootfs" (caller frees). The layer paths are
 * given to the kernel relative to <root>/layers (the mount is made with that
 * as working directory) so about 60 layers fit in the one-page option limit.
 * An image with no layers gets an empty lower dir <container_dir>/empty. */
int cell_image_mount_rootfs(struct cell_store *s, const struct cell_image *img,
			    const char *container_dir, char **ret_rootfs, cell_error **err);
/* The same for a container whose directory goes with its mount (run --rm):
 * the overlay is `volatile` (Linux 5.10+; podman does the same for --rm), so
 * neither the container's fsync()s nor the unmount sync the whole file
 * system of the upper dir (2-8 ms of every `run --rm` here, more on a busy
 * disk). Such an upper dir cannot be mounted again (the kernel leaves
 * work/incompat/volatile to refuse it): never use it for a container that
 * may be unmounted and kept. A plain mount on kernels without the option. */
int cell_image_mount_rootfs_volatile(struct cell_store *s, const struct cell_image *img,
				     const char *container_dir, char **ret_rootfs, cell_error **err);
/* Unmount <container_dir>/rootfs (lazily if busy; not mounted is fine) and,
 * with remove, delete rootfs, upper, work and empty. */
int cell_image_unmount_rootfs(const char *container_dir, bool remove, cell_error **err);

/* ---- what the `cell image` commands use ---- */

/* Names a container (under <root>/containers) that uses image id, or NULL. */
char *cell_store_image_user(struct cell_store *s, const char *id);

/* Overrides applied to a rootfs import: Docker's --change lines
 * ("CMD [\"sh\"]", "ENV A=b", "WORKDIR /x", "EXPOSE 80", "ENTRYPOINT ...",
 * "USER u", "LABEL k=v", "VOLUME /v", "STOPSIGNAL x"). */
struct cell_import_opts {
	const char *name;		/* "busybox:latest" or NULL */
	char **changes;			/* NULL-terminated or NULL */
	const char *message;		/* history comment or NULL */
	bool images_only;		/* load: an image archive, never a root filesystem tar */
};

/* Import a file or directory: OCI layout (dir or tar), docker-archive, or a
 * plain root filesystem tar (.tar, .gz, .xz, .zst, .bz2). Tagged with
 * opts->name when given, else with the names the archive carries.
 * ret_ids gets one line per image and name imported (NULL-terminated, caller
 * frees): "sha256:<hex>" or "sha256:<hex> NAME" when it was given NAME. */
int cell_image_import(struct cell_store *s, const char *path, const struct cell_import_opts *opts,
		      char ***ret_ids, cell_error **err);

enum cell_save_format { CELL_SAVE_OCI_ARCHIVE, CELL_SAVE_DOCKER_ARCHIVE };
/* Write images (names or ids) to a tar file at out ("-" = stdout). */
int cell_image_save(struct cell_store *s, char **refs, const char *out, enum cell_save_format fmt,
		    cell_error **err);

/* A container's overlay upper dir as a new layer on top of base_ref: overlay
 * whiteouts (0/0 char devices, trusted.overlay.opaque) become OCI `.wh.`
 * entries; the base config is kept with the changes applied and a history
 * entry added. ret_id: the new image id (caller frees). The engine's
 * `cell commit CONTAINER` calls this with the container's upper dir. */
/* A container's id mappings (<container dir>/idmap.json, written by `run
 * --userns auto|--uidmap`): what it writes lands on disk as host ids. */
struct cell_id_shift {
	size_t n_uid, n_gid;		/* 0: no user namespace of its own, ids as on disk */
	struct cell_id_range {
		uint32_t ctr, host, size;
	} uid[8], gid[8];
};
/* Read <container_dir>/idmap.json; a missing file gives n_uid = n_gid = 0. */
int cell_id_shift_read(const char *container_dir, struct cell_id_shift *ret, cell_error **err);
/* host id → container id, container id → host id (identity without
 * mappings); UINT32_MAX when the id is outside the mappings. */
uint32_t cell_id_to_ctr(const struct cell_id_shift *s, bool gid, uint32_t host_id);
uint32_t cell_id_to_host(const struct cell_id_shift *s, bool gid, uint32_t ctr_id);

struct cell_commit_opts {
	const char *name;		/* "repo:tag" or NULL */
	char **changes;			/* --change lines, NULL-terminated, or NULL */
	const char *message;		/* history comment */
	const char *author;
	const char *created_by;		/* history "created_by", default "cell commit" */
	/* the upper dir's host ids become these container ids in the layer (NULL:
	 * as they are); an id outside the mappings fails the commit */
	const struct cell_id_shift *ids;
};
int cell_image_commit(struct cell_store *s, const char *base_ref, const char *upper_dir,
		      const struct cell_commit_opts *opts, char **ret_id, cell_error **err);

/* Add name to the image. The name moves off any other image holding it. */
int cell_image_tag(struct cell_store *s, const char *ref, const char *name, cell_error **err);

/* Remove a name or a whole image. ref as for resolve. Removing by name
 * removes that name, and the image too when it was its last name. Removing by
 * id needs force when the image has several names. An image a container
 * uses is refused; with force its names go and the record stays.
 * ret_untagged / ret_deleted list what happened, as `docker rmi` prints it. */
int cell_image_remove(struct cell_store *s, const char *ref, bool force,
		      char ***ret_untagged, char ***ret_deleted, cell_error **err);
/* Remove images without names (all unused images with all) and layers,
 * blobs and temp dirs nothing refers to. ret_deleted lists removed image ids. */
int cell_image_prune(struct cell_store *s, bool all, char ***ret_deleted, uint64_t *ret_reclaimed,
		     cell_error **err);
/* The same among the images of ids `only` (NULL: every image), as the API's
 * prune with filters (until, label) chooses them; the rules still hold (no
 * image a container uses, named ones only with all) under the store's lock. */
int cell_image_prune_only(struct cell_store *s, bool all, char **only, char ***ret_deleted,
			  uint64_t *ret_reclaimed, cell_error **err);

/* The store's records, for ls and inspect. */
struct cell_image_summary {
	char *id;
	char **names;
	char *manifest_digest;
	char *created;		/* RFC 3339 from the config */
	uint64_t size;		/* unpacked bytes of all layers */
};
int cell_image_list(struct cell_store *s, struct cell_image_summary **ret, size_t *ret_n, cell_error **err);
void cell_image_summary_free(struct cell_image_summary *v, size_t n);

/* Docker-like inspect document for one image (caller puts). */
int cell_image_inspect_json(struct cell_store *s, const char *ref, json_object **ret, cell_error **err);

#endif
