/* The API's volume routes, in dockerd's shapes (engine/volume.c). */
#define _GNU_SOURCE
#include "api.h"

const struct api_route api_routes_volumes[] = {
	{ NULL, NULL, NULL },
};
