/* Local volumes, as Docker's `local` driver keeps them:
 *
 *   <root>/volumes/<name>/_data         what containers see
 *   <root>/volumes/<name>/volume.json   {"CreatedAt","Driver":"local","Labels",
 *                                        "Mountpoint","Name","Options","Scope":"local"}
 *   <root>/volumes/.lock                flock: shared while a container create
 *                                       picks its volumes and writes its record,
 *                                       exclusive while rm/prune decide that a
 *                                       volume is unused and remove it
 *   <root>/volumes/.tmp-*               a volume being made; renamed into place
 *                                       so two creates of one name cannot both win
 *
 * Which containers use a volume is read from the container records (Mounts
 * entries of Type "volume"): the records are the one owner of the relation,
 * the lock keeps rm from deciding while a create is adding to it.
 *
 * Anonymous volumes (`-v /ctr`, the image's Volumes) get 64 hex digits as a
 * name and the label com.docker.volume.anonymous, as Docker 23+ does: `prune`
 * removes only those unless -a, `rm -v` and `run --rm` remove them. */
#ifndef CELL_ENGINE_VOLUME_H
#define CELL_ENGINE_VOLUME_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "error.h"

#define CELL_VOLUME_ANON_LABEL "com.docker.volume.anonymous"

/* Docker's volume name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
bool cell_volume_name_valid(const char *name);

/* Create a volume (name NULL: 64 random hex digits) with labels "k=v";
 * anonymous adds the anonymous label (volumes a container made for itself;
 * `volume create` without a name makes a named one, as Docker's). An
 * existing volume of that name is fine and returned as it is, as Docker does.
 * ret_rec (may be NULL): the record; ret_created: whether it is new. */
int cell_volume_create(struct cell_engine *e, const char *name, char **labels, bool anonymous,
		       json_object **ret_rec, bool *ret_created, cell_error **err);
/* The record of a volume; "no such volume" (errno ENOENT) when missing. */
int cell_volume_get(struct cell_engine *e, const char *name, json_object **ret, cell_error **err);
/* Every volume name, sorted (strv_free). */
int cell_volume_list(struct cell_engine *e, char ***ret, cell_error **err);
/* Ids of the containers (running or not) whose Mounts use the volume. */
int cell_volume_users(struct cell_engine *e, const char *name, char ***ret, cell_error **err);
/* Remove a volume nobody uses; missing is an error unless force. */
int cell_volume_remove(struct cell_engine *e, const char *name, bool force, cell_error **err);
/* Remove unused volumes: anonymous ones, or all with all; with labels
 * ("KEY" or "KEY=VALUE", may be NULL) only those having each. ret_names:
 * what went (strv_free), ret_bytes: the space given back. */
int cell_volume_prune(struct cell_engine *e, bool all, char **labels, char ***ret_names, uint64_t *ret_bytes,
		      cell_error **err);
/* Does the record's Labels have "KEY" or "KEY=VALUE"? */
bool cell_volume_has_label(json_object *rec, const char *want);
/* Bytes of the files in the volume's _data. */
uint64_t cell_volume_size(struct cell_engine *e, const char *name);
/* Bytes of the regular files under path (not following symlinks); 0 if missing. */
uint64_t cell_dir_size(const char *path);
/* Does the record carry the anonymous label? */
bool cell_volume_is_anonymous(json_object *rec);
/* Names of the anonymous volumes in a container record's Mounts (strv_free). */
char **cell_volume_anonymous_of(struct cell_engine *e, json_object *ctr_rec);

/* ---- for the engine (create.c, lifecycle.c) ---- */

/* Turn the spec's "volume" mounts (from -v NAME:/ctr, -v /ctr, --mount
 * type=volume; source = name or "" for anonymous) and the image's Volumes not
 * covered by another mount into bind mounts of the volumes' _data, creating
 * and populating (from rootfs, unless nocopy) new or empty volumes.
 * ret_mounts: Docker's Mounts entries of the volumes; ret_created: volumes
 * made here (for engine_volumes_undo); ret_lock: the shared lock fd to hold
 * until the container record is written (-1 when no volume is involved). */
int engine_volumes_resolve(struct cell_engine *e, json_object *doc, const char *rootfs, char **image_volumes,
			   json_object **ret_mounts, char ***ret_created, int *ret_lock, cell_error **err);
void engine_volumes_undo(struct cell_engine *e, char **created);
/* Replace the bind entries of a new container record's Mounts that are
 * volumes by the volume entries engine_volumes_resolve() gave. */
void engine_volumes_record(json_object *rec, json_object *vols);
/* After a container is gone: remove its anonymous volumes (those not used
 * by another container). */
void engine_volumes_release_anonymous(struct cell_engine *e, json_object *ctr_rec);

#endif
