/* Inside the builder (src/lib/build): the pieces builder.c puts together. */
#ifndef CELL_BUILD_INTERNAL_H
#define CELL_BUILD_INTERNAL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "build.h"
#include "error.h"

struct cell_engine;
struct cell_store;
struct cell_image;

/* ---- imgops.c: images without a new layer ---- */

/* Change an image config's "config" object cfg (Env, Cmd, Healthcheck, ...)
 * or the document doc itself (author). */
typedef int (*bimg_edit_fn)(json_object *doc, json_object *cfg, void *data, cell_error **err);
/* An image of no layers and an empty config (FROM scratch). */
int bimg_scratch(struct cell_store *s, char **ret_id, cell_error **err);
/* base_id's layers with its config changed by edit; with history a history
 * entry {created_by, empty_layer: true} is added. */
int bimg_meta(struct cell_store *s, const char *base_id, bimg_edit_fn edit, void *data, const char *created_by,
	      bool history, char **ret_id, cell_error **err);

/* ---- step.c: one RUN ---- */
struct bstep_run {
	const char *image;		/* the image so far (id) */
	char **argv;			/* the process, the shell already applied */
	char **env;			/* K=V added to the image's Env (build args) */
	const char *network;		/* none, host, bridge, NET; NULL: bridge */
	char **mounts;			/* --mount values for the container (engine syntax) or NULL */
	const char *created_by;		/* history entry */
	const char *command;		/* the command as a failure names it */
	/* called with the upper dir and mounts before the commit (drops the
	 * mount points the mounts made) */
	void (*before_commit)(const char *upper, char **mounts);
	FILE *out;			/* where a failure's note goes (NULL: none) */
};
/* Run the step in a container on r->image; its changes become a new image
 * (*ret_id; no new layer when the step changed nothing). A non-zero exit
 * fails with "... returned a non-zero code: N" and *ret_status = N. The
 * container is removed in every case. */
int bstep_run(struct cell_engine *e, struct cell_store *s, const struct bstep_run *r, int *ret_status,
	      char **ret_id, cell_error **err);

/* Remove the containers of steps whose build is gone (killed -9). */
int bstep_remove_orphans(struct cell_engine *e, size_t *ret_n, cell_error **err);

/* A directory's content as a layer on top of image (its upper dir, as
 * commit takes it); changed nothing → *ret_id = a meta image. */
int bstep_commit_dir(struct cell_store *s, const char *image, const char *dir, const char *created_by,
		     char **ret_id, cell_error **err);

/* An image's root file system mounted (read-write overlay, volatile) for
 * the builder itself: COPY writes into it, --chown names are read from it,
 * COPY --from reads from it. */
struct bmount {
	char *dir;		/* <root>/build-tmp/XXXXXX: rootfs, upper, work */
	char *rootfs;
	char *upper;
	int root_fd;		/* O_PATH of rootfs */
	int lock_fd;		/* flock of dir while in use: `builder prune` removes
				 * only unlocked leftovers (of builds killed mid-way) */
};
int bmount_open(struct cell_store *s, const char *image, struct bmount *m, cell_error **err);
/* Unmount; the upper dir stays until bmount_clear. */
int bmount_unmount(struct bmount *m, cell_error **err);
void bmount_clear(struct bmount *m);

/* ---- context.c: COPY and ADD ---- */

/* The build context: a directory and its ignore patterns. */
struct bcontext {
	char *dir;
	int fd;			/* O_PATH|O_DIRECTORY of dir */
	char **ignore;		/* .dockerignore patterns, as written (trimmed, comments dropped) */
	void *rx;		/* compiled patterns */
	size_t n_rx;
};
int bcontext_open(struct bcontext *c, const char *dir, const char *dockerfile_name, cell_error **err);
void bcontext_clear(struct bcontext *c);
/* Whether a context-relative path ("a/b") is excluded by .dockerignore. */
bool bcontext_ignored(const struct bcontext *c, const char *rel);

/* One COPY/ADD, sources already expanded. */
struct bcopy {
	char **srcs;			/* context-relative patterns (or paths in the --from root) */
	const char *dest;		/* absolute in the stage (workdir applied) */
	const char *chown;		/* "user[:group]" or NULL */
	const char *chmod;		/* octal or NULL */
	bool add;			/* ADD: local tars unpacked */
	bool parents;			/* --parents */
	bool dest_is_dir;		/* dest ends in '/' or there are several sources */
};
/* The content digest of what c would copy from ctx (from_fd >= 0: from that
 * root instead, no ignore file), for the cache key. */
int bcopy_digest(const struct bcontext *ctx, int from_fd, const struct bcopy *c, char ret[72], cell_error **err);
/* Copy into the mounted stage root m. */
int bcopy_run(const struct bcontext *ctx, int from_fd, const struct bcopy *c, struct bmount *m, cell_error **err);

/* Open the directory path of the root, making what is missing (0755,
 * owned by owner "user[:group]" as --chown resolves it, when not NULL). */
int bmkdir_in_root(int root_fd, const char *path, const char *owner, cell_error **err);
/* The host path of rel resolved inside root (symlinks followed inside it
 * only), for a bind mount's source. NULL with err. */
char *bpath_in_root(int root_fd, const char *rel, cell_error **err);
/* Open path inside root (RESOLVE_IN_ROOT), a regular file of at most max
 * bytes, and read it all. */
int bread_in_root(int root_fd, const char *path, size_t max, char **ret, size_t *ret_len, cell_error **err);
/* "user[:group]" resolved in the stage root's /etc/passwd and /etc/group. */
int bresolve_chown(int root_fd, const char *spec, uint32_t *uid, uint32_t *gid, cell_error **err);

/* ---- cache.c ---- */
/* Look up key (a "sha256:<hex>"): the image id it made, if that image is still
 * in the store. */
char *bcache_get(struct cell_store *s, const char *key);
int bcache_put(struct cell_store *s, const char *key, const char *image_id, cell_error **err);

#endif
