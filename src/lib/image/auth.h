/* Registry credentials (auth.c) in Docker's config.json format,
 * {"auths": {"SERVER": {"auth": base64("user:password")}}}, in the file podman
 * and docker read: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/
 * auth.json when XDG_RUNTIME_DIR is set, else ~/.docker/config.json. Other
 * keys of the file (credsStore, HttpHeaders ...) are kept as they are.
 * Credential helpers (credsStore/credHelpers) are not run yet: an entry
 * kept only in a helper is not found. */
#ifndef CELL_IMAGE_AUTH_H
#define CELL_IMAGE_AUTH_H

#include "error.h"

/* The file; authfile (--authfile) wins when given. Caller frees. */
char *cell_auth_path(const char *authfile);
/* The key of a registry: docker.io, index.docker.io and registry-1.docker.io
 * are Docker's "https://index.docker.io/v1/"; others host[:port] with any
 * scheme and trailing / removed. Caller frees. */
char *cell_auth_key(const char *registry);
/* Credentials of a registry host as in an image reference (docker.io,
 * localhost:5000). 0 and the user and password (caller frees) when found;
 * 0 with both NULL when there are none; -1 when the file is unreadable. */
int cell_auth_lookup(const char *authfile, const char *registry, char **ret_user, char **ret_pass,
		     cell_error **err);
int cell_auth_save(const char *authfile, const char *registry, const char *user, const char *pass,
		   cell_error **err);
/* *ret_found: whether there was an entry to remove. */
int cell_auth_remove(const char *authfile, const char *registry, bool *ret_found, cell_error **err);

/* The Docker API's X-Registry-Auth header (base64url JSON: username,
 * password, serveraddress) → "user:pass" (caller frees; NULL for an empty
 * or anonymous header). */
int cell_auth_from_header(const char *header, char **ret_creds, cell_error **err);

#endif
