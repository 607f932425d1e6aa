/* What the engine's root holds, for `cell system df` and the API's
 * /system/df (df.c): images with their unpacked layers (each layer counted
 * once, active when a container uses an image holding it), containers
 * with their writable layers, volumes with their sizes and links. */
#ifndef CELL_ENGINE_DF_H
#define CELL_ENGINE_DF_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

struct cell_image;

struct cell_df_layer {
	const char *chain;	/* borrowed from the image */
	uint64_t size;
	bool active;
	int images;		/* how many images hold it */
};

struct cell_df_image {
	struct cell_image *img;
	int containers;
	uint64_t size;		/* its layers' bytes */
	uint64_t shared;	/* of which in layers another image holds too */
};

struct cell_df_ctr {
	char *id, *name, *image, *status;
	uint64_t size;		/* the writable layer */
	int volumes;
	bool running;
	json_object *rec;	/* the record */
};

struct cell_df {
	struct cell_df_image *images;
	size_t n_images;
	struct cell_df_layer *layers;
	size_t n_layers;
	struct cell_df_ctr *ctrs;
	size_t n_ctrs;
	char **vols;
	uint64_t *vol_size;
	int *vol_links;
};

int cell_df_collect(struct cell_engine *e, struct cell_df *d, cell_error **err);
void cell_df_free(struct cell_df *d);

/* `container prune` with a choice: every stopped container (exited,
 * created, dead) for which want(rec, data) is true (want NULL: all) is
 * removed; one that fails is warned about and skipped. *ret_ids: the
 * removed (strv_free), *ret_bytes: what their writable layers held. */
int cell_ctr_prune_if(struct cell_engine *e, bool (*want)(json_object *rec, void *data), void *data,
		      char ***ret_ids, uint64_t *ret_bytes, cell_error **err);

#endif
