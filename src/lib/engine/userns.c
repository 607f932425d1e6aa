/* --userns and --uidmap/--gidmap: a container in a user namespace of its
 * own, its root an unprivileged id range on the host.
 *
 *   --userns host (default)  no user namespace, as Docker without remapping
 *   --userns auto            65536 ids from a free block of the pool: the
 *                            `containers` entries of /etc/subuid and
 *                            /etc/subgid (podman's), else blocks from 100000
 *                            up that overlap no /etc/subuid or /etc/subgid
 *                            entry of anyone
 *   --uidmap CTR:HOST:N      podman's explicit mappings (--gidmap defaults
 *                            to the uid ones)
 *
 * The mappings are kept in <container dir>/idmap.json, written under
 * <root>/userns.lock after reading every other container's: that file is the
 * allocation, it goes away with the container directory on `rm`, and the
 * image code reads it to mount the layers id-mapped (image/mount.c). */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine-internal.h"
#include "json.h"
#include "util.h"

static int let_search(const char *dir, cell_error **err);

#define AUTO_SIZE 65536u
#define AUTO_FIRST 100000u

static bool remapped(const struct cell_run_request *req)
{
	return (req->userns && streq(req->userns, "auto")) || req->uidmaps || req->gidmaps;
}

static int parse_map(const char *flag, const char *v, struct engine_idmap *m, cell_error **err)
{
	uint64_t f[3];
	_cleanup_free_ char *s = xstrdup(v);
	char *rest = s, *t = NULL;
	for (int i = 0; i < 3; i++)
		if (!(t = strsep(&rest, ":")) || parse_uint64(t, &f[i]) < 0 || f[i] > UINT32_MAX)
			return cell_error_set(err, "invalid %s `%s`: expected CONTAINER_ID:HOST_ID:SIZE", flag, v);
	if (rest)
		return cell_error_set(err, "invalid %s `%s`: expected CONTAINER_ID:HOST_ID:SIZE", flag, v);
	if (!f[2] || f[0] + f[2] > UINT32_MAX || f[1] + f[2] > UINT32_MAX)
		return cell_error_set(err, "invalid %s `%s`: the size must be positive and the range within 32 bits",
				      flag, v);
	*m = (struct engine_idmap){ (uint32_t)f[0], (uint32_t)f[1], (uint32_t)f[2] };
	return 0;
}

static int parse_maps(const char *flag, char **v, struct engine_idmap *m, size_t *n, cell_error **err)
{
	*n = 0;
	for (size_t i = 0; v && v[i]; i++) {
		if (i >= ENGINE_IDMAP_MAX)
			return cell_error_set(err, "too many %s: at most %d", flag, ENGINE_IDMAP_MAX);
		if (parse_map(flag, v[i], &m[i], err) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (m[i].ctr < m[j].ctr + m[j].size && m[j].ctr < m[i].ctr + m[i].size)
				return cell_error_set(err, "invalid %s `%s`: its container ids overlap `%s`", flag, v[i],
						      v[j]);
		(*n)++;
	}
	return 0;
}

int engine_userns_check(const struct cell_run_request *req, const char *network, struct engine_userns *ret,
			cell_error **err)
{
	memset(ret, 0, sizeof(*ret));
	if (req->userns && *req->userns && !streq(req->userns, "host") && !streq(req->userns, "auto"))
		return cell_error_set(err, "invalid --userns `%s`: expected host or auto", req->userns);
	if (req->userns && streq(req->userns, "host") && (req->uidmaps || req->gidmaps))
		return cell_error_set(err, "conflicting options: --userns host and --uidmap/--gidmap");
	if (req->userns && streq(req->userns, "auto") && (req->uidmaps || req->gidmaps))
		return cell_error_set(err, "conflicting options: --userns auto and --uidmap/--gidmap");
	if (!remapped(req))
		return 0;
	if (req->privileged)
		return cell_error_set(err, "conflicting options: --privileged and a user namespace (--userns "
				      "auto, --uidmap): give --userns host");
	if (streq(network, "host") || strncmp(network, "container:", 10) == 0)
		return cell_error_set(err, "conflicting options: --network %s and a user namespace (--userns "
				      "auto, --uidmap): sysfs cannot be mounted for a network namespace the "
				      "container's user namespace does not own", network);
	if (parse_maps("--uidmap", req->uidmaps, ret->uid, &ret->n_uid, err) < 0 ||
	    parse_maps("--gidmap", req->gidmaps, ret->gid, &ret->n_gid, err) < 0)
		return -1;
	if (!ret->n_gid && ret->n_uid) {
		memcpy(ret->gid, ret->uid, sizeof(ret->uid));
		ret->n_gid = ret->n_uid;
	}
	if (!ret->n_uid && ret->n_gid) {
		memcpy(ret->uid, ret->gid, sizeof(ret->gid));
		ret->n_uid = ret->n_gid;
	}
	ret->mode = ret->n_uid ? "private" : "auto";
	return 0;
}

/* ---- the pool ---- */

struct range {
	uint64_t start, size;
};

struct ranges {
	struct range *v;
	size_t n;
};

static void ranges_add(struct ranges *r, uint64_t start, uint64_t size)
{
	r->v = realloc(r->v, (r->n + 1) * sizeof(*r->v));
	r->v[r->n++] = (struct range){ start, size };
}

static bool ranges_overlap(const struct ranges *r, uint64_t start, uint64_t size)
{
	for (size_t i = 0; i < r->n; i++)
		if (start < r->v[i].start + r->v[i].size && r->v[i].start < start + size)
			return true;
	return false;
}

/* /etc/subuid or subgid: `containers` entries into pool, every other
 * user's into taken. The file is optional. */
static void read_subid(const char *path, struct ranges *pool, struct ranges *taken)
{
	_cleanup_free_ char *text = NULL;
	cell_error *x = NULL;
	if (read_file(path, &text, NULL, &x) < 0) {
		cell_error_free(&x);
		return;
	}
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		uint64_t start, size;
		if (!c2 || *l == '#')
			continue;
		*c1 = *c2 = 0;
		if (parse_uint64(c1 + 1, &start) < 0 || parse_uint64(c2 + 1, &size) < 0 || !size)
			continue;
		ranges_add(streq(l, "containers") ? pool : taken, start, size);
	}
}

/* host ranges of every other container's idmap.json */
static void read_used(struct cell_engine *e, const char *self, struct ranges *used)
{
	DIR *d = opendir(e->ctr_root);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || streq(de->d_name, self))
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s/idmap.json", e->ctr_root, de->d_name);
		json_object *o = NULL;
		cell_error *x = NULL;
		if (access(p, F_OK) < 0)
			continue;
		if (cj_parse_file(p, &o, &x) < 0) {
			cell_error_free(&x);
			continue;
		}
		static const char *const keys[] = { "uidMappings", "gidMappings" };
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
			json_object *a = json_object_object_get(o, keys[k]);
			for (size_t i = 0; i < json_object_array_length(a); i++) {
				json_object *m = json_object_array_get_idx(a, i);
				ranges_add(used, (uint64_t)json_object_get_int64(json_object_object_get(m, "hostID")),
					   (uint64_t)json_object_get_int64(json_object_object_get(m, "size")));
			}
		}
		json_object_put(o);
	}
	if (d)
		closedir(d);
}

static int pick_auto(struct cell_engine *e, const char *id, struct engine_userns *u, cell_error **err)
{
	struct ranges pool = { 0 }, taken = { 0 }, used = { 0 };
	read_subid("/etc/subuid", &pool, &taken);
	read_subid("/etc/subgid", &pool, &taken);
	read_used(e, id, &used);
	bool own_pool = pool.n > 0;
	if (!own_pool)
		ranges_add(&pool, AUTO_FIRST, (uint64_t)UINT32_MAX - AUTO_FIRST);
	int r = -1;
	for (size_t i = 0; i < pool.n && r < 0; i++) {
		for (uint64_t b = pool.v[i].start; b + AUTO_SIZE <= pool.v[i].start + pool.v[i].size; b += AUTO_SIZE) {
			if (ranges_overlap(&used, b, AUTO_SIZE) || (!own_pool && ranges_overlap(&taken, b, AUTO_SIZE)))
				continue;
			u->uid[0] = u->gid[0] = (struct engine_idmap){ 0, (uint32_t)b, AUTO_SIZE };
			u->n_uid = u->n_gid = 1;
			r = 0;
			break;
		}
	}
	if (r < 0)
		cell_error_set(err, "--userns auto: no free block of %u ids left in %s", AUTO_SIZE,
			       own_pool ? "the `containers` entries of /etc/subuid and /etc/subgid" : "the id space");
	free(pool.v);
	free(taken.v);
	free(used.v);
	return r;
}

static json_object *maps_json(const struct engine_idmap *m, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "containerID", json_object_new_int64(m[i].ctr));
		json_object_object_add(o, "hostID", json_object_new_int64(m[i].host));
		json_object_object_add(o, "size", json_object_new_int64(m[i].size));
		json_object_array_add(a, o);
	}
	return a;
}

int engine_userns_allocate(struct cell_engine *e, const char *id, const char *cdir, struct engine_userns *u,
			   cell_error **err)
{
	if (!u->mode)
		return 0;
	_cleanup_free_ char *lock = xasprintf("%s/userns.lock", e->root);
	_cleanup_free_ char *path = xasprintf("%s/idmap.json", cdir);
	_cleanup_close_ int lfd = lock_file(lock, true, err);
	if (lfd < 0)
		return -1;
	if (streq(u->mode, "auto") && pick_auto(e, id, u, err) < 0)
		return -1;
	/* the container's root resolves its root file system's path from here */
	if (let_search(e->root, err) < 0 || let_search(e->ctr_root, err) < 0)
		return -1;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "uidMappings", maps_json(u->uid, u->n_uid));
	json_object_object_add(o, "gidMappings", maps_json(u->gid, u->n_gid));
	const char *text = cj_to_string(o, false);
	int r = write_file_atomic(path, text, strlen(text), 0600, err);
	json_object_put(o);
	return r;
}

/* o+x on dir: the container's root (an unprivileged host uid) resolves
 * paths through it; search, not read, as Docker's userns-remap makes
 * /var/lib/docker 0711 and its volumes 0701 */
static int let_search(const char *dir, cell_error **err)
{
	struct stat st;
	if (stat(dir, &st) == 0 && !(st.st_mode & S_IXOTH) && chmod(dir, (st.st_mode & 07777) | S_IXOTH) < 0)
		return cell_error_errno(err, errno, "let user namespaces search `%s` (chmod o+x)", dir);
	return 0;
}

int engine_userns_volumes(struct cell_engine *e, char **created, const struct engine_userns *u, cell_error **err)
{
	_cleanup_free_ char *vols = xasprintf("%s/volumes", e->root);
	if (let_search(vols, err) < 0)
		return -1;
	uint32_t uid = engine_userns_host(u->uid, u->n_uid, 0), gid = engine_userns_host(u->gid, u->n_gid, 0);
	if (uid == UINT32_MAX || gid == UINT32_MAX)
		return 0;
	for (size_t i = 0; created && created[i]; i++) {
		_cleanup_free_ char *data = xasprintf("%s/%s/_data", vols, created[i]);
		struct stat st;
		/* content copied from the image already has the mapped owners */
		if (stat(data, &st) == 0 && st.st_uid == 0 && st.st_gid == 0 && chown(data, uid, gid) < 0)
			return cell_error_errno(err, errno, "chown volume `%s` to the container's root (%u:%u)", data,
						uid, gid);
	}
	return 0;
}

uint32_t engine_userns_host(const struct engine_idmap *m, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (id >= m[i].ctr && id - m[i].ctr < m[i].size)
			return m[i].host + (id - m[i].ctr);
	return UINT32_MAX;
}

void engine_userns_apply(json_object *doc, const struct engine_userns *u)
{
	if (!u->mode)
		return;
	json_object *l = json_object_object_get(doc, "linux");
	json_object *ns = json_object_new_object();
	json_object_object_add(ns, "type", json_object_new_string("user"));
	json_object_array_add(json_object_object_get(l, "namespaces"), ns);
	json_object_object_add(l, "uidMappings", maps_json(u->uid, u->n_uid));
	json_object_object_add(l, "gidMappings", maps_json(u->gid, u->n_gid));
}

json_object *engine_userns_record(const struct engine_userns *u)
{
	json_object *o = json_object_new_object();
	static const char *const keys[] = { "UidMap", "GidMap" };
	for (int k = 0; k < 2; k++) {
		const struct engine_idmap *m = k ? u->gid : u->uid;
		size_t n = k ? u->n_gid : u->n_uid;
		json_object *a = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *s = xasprintf("%u:%u:%u", m[i].ctr, m[i].host, m[i].size);
			json_object_array_add(a, json_object_new_string(s));
		}
		json_object_object_add(o, keys[k], a);
	}
	return o;
}
