/* DNS messages as cell's resolver (src/dns) needs them: a query's header
 * and its one question read from an untrusted datagram, and an answer built
 * from the records a network's leases give. Nothing else of RFC 1035 is
 * parsed: a query the resolver does not answer itself is relayed as bytes.
 *
 * Bounds: a query is at most CELL_DNS_MAX_QUERY bytes, a name at most 255
 * bytes on the wire (RFC 1035 2.3.4) with labels of at most 63, and no
 * compression pointer in a question (a query has nothing earlier to point
 * at); an answer never exceeds the buffer it is built in (512 bytes:
 * records are dropped and TC set beyond it). */
#ifndef CELL_DNSMSG_H
#define CELL_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CELL_DNS_MAX_QUERY 1232	/* the EDNS payload size DNS Flag Day 2020 settled on */
#define CELL_DNS_MAX_ANSWER 512
#define CELL_DNS_TYPE_A 1
#define CELL_DNS_TYPE_PTR 12
#define CELL_DNS_TYPE_AAAA 28
#define CELL_DNS_CLASS_IN 1
#define CELL_DNS_NOERROR 0
#define CELL_DNS_FORMERR 1
#define CELL_DNS_SERVFAIL 2
#define CELL_DNS_NXDOMAIN 3
#define CELL_DNS_REFUSED 5

struct cell_dns_query {
	uint16_t id;
	bool rd;		/* recursion desired */
	char name[256];		/* dotted, lower case, no trailing dot; "" for the root */
	uint16_t qtype, qclass;
	size_t question_end;	/* offset just past the question in the datagram */
};

/* 0, or -1 when the datagram is no query cell answers (a response, another
 * opcode, not exactly one question, a malformed or oversized name). */
int cell_dns_parse_query(const uint8_t *p, size_t n, struct cell_dns_query *ret);

struct cell_dns_rr {
	uint16_t type;		/* A, AAAA or PTR */
	uint8_t addr[16];	/* A: 4 bytes, AAAA: 16 */
	const char *target;	/* PTR: dotted name */
};

/* An answer to query q (the question copied from the datagram p) with
 * rcode and the records; returns its length (<= len, len >= 12 + the
 * question), or 0 when it cannot be built. */
size_t cell_dns_answer(const uint8_t *p, const struct cell_dns_query *q, int rcode, const struct cell_dns_rr *rr,
		       size_t n_rr, uint8_t *out, size_t len);

/* The address a reverse name asks for: "4.3.2.1.in-addr.arpa" gives family
 * 4 and 1.2.3.4, a full ip6.arpa name family 6; 0 when it is neither. */
int cell_dns_ptr_addr(const char *name, uint8_t addr[16]);

#endif
