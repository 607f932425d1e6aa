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
	/* 0: the environment's CELL_PULL_TIMEOUT (seconds, default 3600) for the
	 * whole pull or push, CELL_PULL_MIN_RATE (bytes/s, default 1024) over
	 * CELL_PULL_RATE_WINDOW (seconds, default 30) */
	uint64_t timeout;
	uint64_t min_rate;
	uint64_t rate_window;
};

/* Most layers a pulled image may have: as many as one overlay mount can stack
 * (its options must fit in a page). */
size_t cell_registry_max_layers(void);

/* Parsers of what a registry answers, exposed for the fuzz target.
 * A challenge ("Bearer realm=\"...\",service=\"...\",scope=\"...\""):
 * *scheme "bearer"/"basic" lowercased, the parameters unescaped (NULL when
 * absent); -1 with err on a malformed one or a control character. */
struct cell_auth_challenge {
	char *scheme;
	char *realm;
	char *service;
	char *scope;
};
int cell_auth_challenge_parse(const char *header, struct cell_auth_challenge *ret, cell_error **err);
void cell_auth_challenge_clear(struct cell_auth_challenge *c);
/* A token response ({"token": ...} or {"access_token": ...}) of len bytes:
 * the token, refused when empty, larger than 64 KiB or with a character
 * that is not printable ASCII (it goes into a header). */
int cell_auth_token_parse(const char *body, size_t len, char **ret, cell_error **err);

/* Pull ref ("busybox", "127.0.0.1:5000/a/b:tag", "x@sha256:...") into the
 * store. ret_id: the image id; ret_digest: the manifest digest (caller frees). */
int cell_image_pull(struct cell_store *s, const char *ref, const struct cell_registry_opts *o,
		    char **ret_id, char **ret_digest, cell_error **err);

/* Push the local image to dest (NULL: its own name); blobs the registry has
 * are skipped. ret_digest: the manifest digest (caller frees). */
int cell_image_push(struct cell_store *s, const char *local, const char *dest, const struct cell_registry_opts *o,
		    char **ret_digest, cell_error **err);

/* Check o->creds against a registry (docker login's check): its /v2/
 * answers 200 with them (a Bearer challenge answered with a token). server:
 * "host[:port]" or a URL ("https://index.docker.io/v1/"). */
int cell_registry_login(const char *server, const struct cell_registry_opts *o, cell_error **err);

#endif
