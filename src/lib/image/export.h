/* A directory tree written as a tar archive with libarchive (export.c):
 * symlinks kept as symlinks, never followed, one file system only (what is
 * mounted below is left out), names relative to the directory. */
#ifndef CELL_IMAGE_EXPORT_H
#define CELL_IMAGE_EXPORT_H

#include "error.h"

int cell_dir_export_tar(const char *dir, int out_fd, cell_error **err);

#endif
