/* Fuzz target: layer unpacking, the image store's security boundary. Any
 * bytes (tar, compressed or not) are unpacked into a fresh temp dir, which is
 * then removed; the fuzzer's sanitizers catch memory errors, and a check
 * after each run catches anything written beside the temp dir. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/image-internal.h"
#include "util.h"

static char parent[] = "/tmp/cell-fuzz-unpack.XXXXXX";

static void remove_parent(void)
{
	rmdir(parent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool made;
	char diff[CELL_DIGEST_LEN + 1];
	cell_error *err = NULL;

	if (!made && !mkdtemp(parent))
		abort();
	if (!made)
		atexit(remove_parent);
	made = true;
	int fd = memfd_create("layer", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	char *dest = xasprintf("%s/layer", parent);
	if (mkdir_p(dest, 0755, &err) < 0)
		abort();
	cell_layer_unpack(fd, dest, "fuzz", diff, NULL, &err);
	cell_error_free(&err);
	close(fd);
	if (rm_rf(dest, &err) < 0)
		cell_error_free(&err);
	free(dest);
	/* the parent must hold nothing but what we removed */
	DIR *d = opendir(parent);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			abort();	/* something was written outside the layer dir */
	if (d)
		closedir(d);
	return 0;
}
