/* process.capabilities: names ↔ numbers, the five sets as masks, and
 * applying them in the container init.
 *
 * Order in the init (as runc): cell_caps_keep(true) before setresuid so the
 * permitted set survives the uid change, then cell_caps_apply() (or
 * cell_caps_drop_all() when the spec has no capabilities), then
 * cell_caps_keep(false).
 *
 * Capabilities this build knows but the running kernel does not (above
 * /proc/sys/kernel/cap_last_cap) are ignored with a warning, as runc does;
 * a name nobody knows is an error naming the field. */
#ifndef CELL_CAPS_H
#define CELL_CAPS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define CELL_CAP_BIT(c) (UINT64_C(1) << (c))

struct cell_caps {
	uint64_t bounding, effective, inheritable, permitted, ambient;
	uint64_t ignored;	/* named in the spec, unknown to this kernel */
};

/* "CAP_SYS_ADMIN" → 21; case-insensitive; -1 if unknown to this build. */
int cell_cap_from_name(const char *name);
/* 21 → "CAP_SYS_ADMIN"; NULL beyond the table. */
const char *cell_cap_name(int cap);
/* The running kernel's last capability (/proc/sys/kernel/cap_last_cap),
 * or the highest this build knows when that file cannot be read. */
int cell_cap_last_cap(void);
/* The highest capability this build has a name for. */
int cell_cap_last_known(void);

/* Parse process.capabilities (an object with optional arrays bounding,
 * effective, inheritable, permitted, ambient). Errors name the field:
 * "`process.capabilities.bounding[2]`: unknown capability `CAP_FOO`". */
int cell_caps_parse(json_object *caps, struct cell_caps *ret, cell_error **err);
/* `exec --cap NAME...`: names with or without the CAP_ prefix, any case. */
int cell_caps_parse_list(char **names, uint64_t *ret_mask, cell_error **err);

/* In the container init after setresuid/setresgid: drop from the bounding
 * set what is not in c->bounding, set effective/permitted/inheritable
 * exactly, then raise the ambient ones. Capabilities this process does not
 * hold itself cannot be granted; they are left out with a warning. */
int cell_caps_apply(const struct cell_caps *c, cell_error **err);
/* No capabilities at all (a spec without process.capabilities). */
int cell_caps_drop_all(cell_error **err);
/* PR_SET_KEEPCAPS: keep the permitted set across setuid from root. */
int cell_caps_keep(bool keep, cell_error **err);
/* The calling process's current sets (for tests and `exec`). */
int cell_caps_get(struct cell_caps *ret, cell_error **err);

#endif
