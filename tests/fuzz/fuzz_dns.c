/* Fuzz target: cell-dns's packet code (src/lib/net/dnsmsg.c) on any
 * datagram a container sends: the query parser, then an answer built for
 * what parsed (with A, AAAA and PTR records, in a buffer exactly 512
 * bytes), then the reverse-name parser on the name. Each must stay in its
 * bounds; an answer always fits its buffer and repeats the question. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cell_dns_query q;
	uint8_t out[CELL_DNS_MAX_ANSWER], addr[16];
	struct cell_dns_rr rr[40];

	if (cell_dns_parse_query(data, size, &q) < 0)
		return 0;
	if (q.question_end > size || q.question_end < 12 + 5 || strlen(q.name) > 253)
		abort();
	for (size_t i = 0; i < 40; i++) {
		memset(&rr[i], 0, sizeof(rr[i]));
		rr[i].type = i % 3 == 0 ? CELL_DNS_TYPE_A : i % 3 == 1 ? CELL_DNS_TYPE_AAAA : CELL_DNS_TYPE_PTR;
		memset(rr[i].addr, (int)i, 16);
		rr[i].target = q.name;	/* as long a name as the query had */
	}
	size_t l = cell_dns_answer(data, &q, CELL_DNS_NOERROR, rr, 40, out, sizeof(out));
	if (l > sizeof(out) || (l && memcmp(out + 12, data + 12, q.question_end - 12) != 0))
		abort();
	int fam = cell_dns_ptr_addr(q.name, addr);
	if (fam != 0 && fam != 4 && fam != 6)
		abort();
	return 0;
}
