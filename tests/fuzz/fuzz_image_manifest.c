/* Fuzz target: the JSON an image archive carries — an OCI index, a manifest,
 * an image config, a docker-archive manifest.json — each in turn replaced by
 * the input inside an otherwise valid layout, then imported into a scratch
 * store. Nothing may crash, leak or write outside the store. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image-internal.h"
#include "util.h"

static char top[] = "/tmp/cell-fuzz-manifest.XXXXXX";

static void cleanup(void)
{
	cell_error *e = NULL;
	if (rm_rf(top, &e) < 0)
		cell_error_free(&e);
}

static void put(const char *dir, const char *name, const void *data, size_t len)
{
	cell_error *e = NULL;
	char *p = xasprintf("%s/%s", dir, name);
	if (write_file_atomic(p, data, len, 0644, &e) < 0)
		abort();
	free(p);
}

/* blobs/sha256/<digest of data>; returns the digest */
static void put_blob(const char *dir, const void *data, size_t len, char out[CELL_DIGEST_LEN + 1])
{
	cell_sha256_data(data, len, out);
	char *name = xasprintf("blobs/sha256/%s", out + 7);
	put(dir, name, data, len);
	free(name);
}

static void try_import(struct cell_store *s, const char *dir)
{
	char **ids = NULL;
	cell_error *e = NULL;
	if (cell_image_import(s, dir, NULL, &ids, &e) == 0)
		strv_free(ids);
	cell_error_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cell_store *s;
	static char *oci, *dock;
	cell_error *e = NULL;
	char d[CELL_DIGEST_LEN + 1], cfg[CELL_DIGEST_LEN + 1];

	if (!s) {
		if (!mkdtemp(top))
			abort();
		atexit(cleanup);
		char *root = xasprintf("%s/store", top);
		oci = xasprintf("%s/oci", top);
		dock = xasprintf("%s/docker", top);
		char *blobs = xasprintf("%s/blobs/sha256", oci);
		if (cell_store_open(root, &s, &e) < 0 || mkdir_p(blobs, 0755, &e) < 0 || mkdir_p(dock, 0755, &e) < 0)
			abort();
		free(root);
		free(blobs);
		put(oci, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	}

	/* 1: the input as index.json */
	put(oci, "index.json", data, size);
	try_import(s, oci);

	/* 2: the input as the manifest an index points to */
	put_blob(oci, data, size, d);
	char *index = xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
				"\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu}]}", d, size);
	put(oci, "index.json", index, strlen(index));
	try_import(s, oci);
	free(index);

	/* 3: the input as the config a manifest points to (no layers) */
	put_blob(oci, data, size, cfg);
	char *m = xasprintf("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
			    "\"digest\":\"%s\",\"size\":%zu},\"layers\":[]}", cfg, size);
	put_blob(oci, m, strlen(m), d);
	index = xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
			  "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu}]}", d, strlen(m));
	put(oci, "index.json", index, strlen(index));
	try_import(s, oci);
	free(index);
	free(m);

	/* 4: the input as a docker-archive's manifest.json */
	put(dock, "manifest.json", data, size);
	try_import(s, dock);
	return 0;
}
