/* `cell build`: an image from a Dockerfile (Containerfile) and a context.
 *
 * Each step's result is an image in the store (as Docker's classic builder
 * keeps intermediate images): RUN runs a container on the current image and
 * commits its upper dir through cell_image_commit() (the whiteout code of
 * `cell commit`); COPY/ADD fill a fresh directory that is committed the same
 * way without any container; metadata steps (ENV, CMD, ...) make an image of
 * the same layers with a changed config and an `empty_layer` history entry.
 *
 * The cache lives in <root>/build-cache/<key-hex>: a small file holding the
 * id of the image a step made, key = sha256 of the parent image id, the
 * instruction after expansion, the build args it sees and, for COPY/ADD, the
 * content digest of its sources (names, types, modes, owners, contents, link
 * targets; never mtimes). Each file is written to a temp file and renamed.
 * An entry whose image was removed is a miss.
 */
#ifndef CELL_BUILD_H
#define CELL_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

struct cell_engine;
struct cell_store;

struct cell_build_opts {
	const char *context;		/* a directory, or "-" (a tar or a Dockerfile on stdin) */
	const char *dockerfile;		/* -f: NULL = Dockerfile or Containerfile in the context; "-" stdin */
	char **tags;			/* -t, NULL-terminated or NULL */
	char **build_args;		/* --build-arg K[=V] */
	char **labels;			/* --label K=V */
	char **secrets;			/* --secret id=ID,src=FILE */
	const char *target;		/* --target STAGE */
	const char *network;		/* --network: bridge (NULL), none, host, NET */
	const char *pull;		/* missing (NULL), always, never */
	const char *iidfile;
	const char *format;		/* "oci": Healthcheck, Shell, OnBuild dropped (warned); NULL/"docker": kept */
	bool dockerfile_in_context;	/* -f names a file inside the context (the API's dockerfile=) */
	bool no_cache, quiet;
	FILE *out;			/* progress (stdout; NULL with quiet) */
	/* pull a base image missing from the store (policy "missing" or
	 * "always"); NULL: bases must be in the store */
	int (*pull_fn)(struct cell_engine *e, const char *image, const char *policy, cell_error **err);
};

/* Build; *ret_id the image id "sha256:<hex>" (caller frees). Errors name the
 * Dockerfile and line. *ret_status: 1 for an error in the build (a failed
 * RUN, a bad instruction), as docker build. */
int cell_build(struct cell_engine *e, struct cell_store *s, const struct cell_build_opts *o, char **ret_id,
	       cell_error **err);

/* `cell builder prune`: remove the cache entries (all: also those whose
 * image is named), the unnamed images they kept, the step containers and
 * temp mounts of builds that were killed; *ret_reclaimed bytes. */
int cell_build_cache_prune(struct cell_engine *e, struct cell_store *s, bool all, size_t *ret_entries,
			   uint64_t *ret_reclaimed, cell_error **err);

#endif
