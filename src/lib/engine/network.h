/* A container's networks after its creation (network.c): `network connect`
 * and `disconnect` for the command line and the Docker API alike. */
#ifndef CELL_ENGINE_NETWORK_H
#define CELL_ENGINE_NETWORK_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "error.h"
#include "net/net.h"

struct cell_connect_opts {
	const char *ip;			/* the address on that network, NULL: the next free one */
	char **aliases;			/* more names on that network, may be NULL */
	const struct cell_port *ports;	/* published through that network (a running container) */
	size_t n_ports;
	/* a container that is not running: its record says it joins at its
	 * next start (dockerd's behaviour); false: refused (`cell network
	 * connect`, where the namespace must exist) */
	bool stopped_ok;
};

/* Join the container `ref` (name, id or id prefix) to `network` (name, id
 * or id prefix): a running one at once (its next free ethN), and its record
 * keeps the network for the next start. EEXIST when it is connected already. */
int cell_ctr_network_connect(struct cell_engine *e, const char *network, const char *ref,
			     const struct cell_connect_opts *o, cell_error **err);
/* Take it off that network only (its interface, lease, published ports;
 * its resolv.conf follows to a network it keeps) and out of its record.
 * ENOENT when it is not connected to it. */
int cell_ctr_network_disconnect(struct cell_engine *e, const char *network, const char *ref, cell_error **err);

#endif
