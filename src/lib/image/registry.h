/* Pull and push images over the OCI distribution API. */
#ifndef CELL_IMAGE_REGISTRY_H
#define CELL_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "image.h"

struct cell_registry_opts {
	bool insecure;		/* plain HTTP and no TLS verification (always HTTP for localhost/127.x) */
	const char *creds;	/* "user:pass", else ~/.docker/config.json, else anonymous */
	const char *platform;	/* "os/arch[/variant]" picked from an index; default linux/<host> */
	/* called per blob: "Already exists", "Downloading", "Download complete",
	 * "Pull complete", "Pushing", "Pushed", "Layer already exists" */
	void (*progress)(void *data, const char *digest, const char *status);
	/* called while a blob downloads (total 0 when unknown), for progress bars */
	void (*bytes)(void *data, const char *digest, uint64_t done, uint64_t total);
	void *progress_data;
};

/* Pull ref ("busybox", "127.0.0.1:5000/a/b:tag", "x@sha256:...") into the
 * store. ret_id: the image id; ret_digest: the manifest digest (caller frees). */
int cell_image_pull(struct cell_store *s, const char *ref, const struct cell_registry_opts *o,
		    char **ret_id, char **ret_digest, cell_error **err);

/* Push the local image to dest (NULL: its own name); blobs the registry has
 * are skipped. ret_digest: the manifest digest (caller frees). */
int cell_image_push(struct cell_store *s, const char *local, const char *dest, const struct cell_registry_opts *o,
		    char **ret_digest, cell_error **err);

#endif
