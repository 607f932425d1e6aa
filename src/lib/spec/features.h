/* The OCI features document (`cell-runtime features`, runtime-spec
 * features.md): what this runtime implements, and for seccomp and
 * capabilities what this build of libseccomp and this kernel know. */
#ifndef CELL_SPEC_FEATURES_H
#define CELL_SPEC_FEATURES_H

#include <json-c/json.h>

/* A new object the caller puts. */
json_object *cell_features(void);

#endif
