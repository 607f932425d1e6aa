/* Fuzz target: the networking values users type (`--subnet`, `--gateway`,
 * `--ip`, `-p`, `--mac-address`, `--add-host`), each through its parser,
 * then through what the parsed value feeds (prefix arithmetic, formatting). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	cell_error *err = NULL;
	struct cell_prefix p, n;
	struct cell_port port;
	uint8_t mac[6];
	char buf[80];

	memcpy(text, data, size);
	text[size] = '\0';
	if (cell_prefix_parse(text, &p, &err) == 0) {
		cell_prefix_network(&p, &n);
		cell_prefix_str(&n, true, buf, sizeof(buf));
		(void)cell_prefix_contains(&n, &p);
		(void)cell_prefix_overlaps(&n, &p);
		if (p.family == AF_INET)
			cell_prefix_set_v4(&n, cell_prefix_v4(&p), p.len);
	}
	cell_error_free(&err);
	if (cell_port_parse(text, &port, &err) == 0 && port.port == 0)
		abort();	/* a parsed port is never 0 */
	cell_error_free(&err);
	if (cell_mac_parse(text, mac) == 0)
		cell_mac_str(mac, buf);
	{
		char *hosts[] = { text, NULL };
		free(cell_net_hosts(NULL, NULL, NULL, "h", "10.0.0.2", hosts, &err));
		cell_error_free(&err);
	}
	free(text);
	return 0;
}
