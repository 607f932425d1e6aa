/* DNS queries read and answers built for cell's resolver: see dnsmsg.h for
 * what is parsed and the bounds. Hand-written because Debian 12's libraries
 * either parse only responses (c-ares 1.18) or bring libssl along (ldns)
 * into a program meant to stay small; tests/fuzz/fuzz_dns.c runs it. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "dnsmsg.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int cell_dns_parse_query(const uint8_t *p, size_t n, struct cell_dns_query *ret)
{
	struct cell_dns_query q;
	size_t off = 12, out = 0, wire = 0;

	if (n < 12 || n > CELL_DNS_MAX_QUERY)
		return -1;
	memset(&q, 0, sizeof(q));
	q.id = get16(p);
	/* QR 0 (a query), opcode 0 (QUERY); one question, no answers; an
	 * EDNS OPT record may follow in the additional section */
	if ((p[2] & 0x80) || ((p[2] >> 3) & 0x0f) != 0)
		return -1;
	if (get16(p + 4) != 1 || get16(p + 6) != 0 || get16(p + 8) != 0 || get16(p + 10) > 1)
		return -1;
	q.rd = p[2] & 0x01;
	for (;;) {
		if (off >= n)
			return -1;
		uint8_t l = p[off++];
		wire += 1u + l;
		if (wire > 255)
			return -1;
		if (l == 0)
			break;
		if (l > 63 || off + l > n)	/* 0xc0 pointers and 0x40/0x80 types land here too */
			return -1;
		if (out)
			q.name[out++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			unsigned char c = p[off + i];
			/* a dot or NUL inside a label would make two names alike */
			if (c == '.' || c == '\0')
				return -1;
			q.name[out++] = (char)tolower(c);
		}
		off += l;
	}
	q.name[out] = '\0';
	if (off + 4 > n)
		return -1;
	q.qtype = get16(p + off);
	q.qclass = get16(p + off + 2);
	q.question_end = off + 4;
	*ret = q;
	return 0;
}

/* A dotted name in wire form at out[0..len); its length, 0 if it does not fit or is bad. */
static size_t put_name(const char *name, uint8_t *out, size_t len)
{
	size_t o = 0;
	const char *s = name;

	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		if (l == 0 || l > 63 || o + 1 + l >= len || o + 1 + l > 254)
			return 0;
		out[o++] = (uint8_t)l;
		memcpy(out + o, s, l);
		o += l;
		s += l;
		if (*s == '.')
			s++;
	}
	if (o + 1 > len)
		return 0;
	out[o++] = 0;
	return o;
}

size_t cell_dns_answer(const uint8_t *p, const struct cell_dns_query *q, int rcode, const struct cell_dns_rr *rr,
		       size_t n_rr, uint8_t *out, size_t len)
{
	size_t qlen = q->question_end - 12, off, count = 0;

	if (len < 12 + qlen)
		return 0;
	memset(out, 0, 12);
	put16(out, q->id);
	/* QR, AA, RD as asked, RA: the resolver forwards what it does not own */
	out[2] = 0x80 | 0x04 | (q->rd ? 0x01 : 0);
	out[3] = 0x80 | (uint8_t)(rcode & 0x0f);
	put16(out + 4, 1);
	memcpy(out + 12, p + 12, qlen);
	off = 12 + qlen;
	for (size_t i = 0; i < n_rr; i++) {
		uint8_t rdata[256];
		size_t rdlen;
		if (rr[i].type == CELL_DNS_TYPE_A)
			memcpy(rdata, rr[i].addr, rdlen = 4);
		else if (rr[i].type == CELL_DNS_TYPE_AAAA)
			memcpy(rdata, rr[i].addr, rdlen = 16);
		else if (rr[i].type == CELL_DNS_TYPE_PTR && rr[i].target)
			rdlen = put_name(rr[i].target, rdata, sizeof(rdata));
		else
			continue;
		if (rdlen == 0)
			continue;
		if (off + 12 + rdlen > len) {
			out[2] |= 0x02;	/* TC: the rest did not fit */
			break;
		}
		put16(out + off, 0xc00c);	/* the name of the question */
		put16(out + off + 2, rr[i].type);
		put16(out + off + 4, CELL_DNS_CLASS_IN);
		/* Docker's embedded DNS says 600 s; containers come and go, so
		 * less: a removed peer's address is not cached for long */
		out[off + 6] = 0, out[off + 7] = 0, out[off + 8] = 0, out[off + 9] = 10;
		put16(out + off + 10, (uint16_t)rdlen);
		memcpy(out + off + 12, rdata, rdlen);
		off += 12 + rdlen;
		count++;
	}
	put16(out + 6, (uint16_t)count);
	return off;
}

static bool streq_tail(const char *s, size_t n, const char *tail)
{
	size_t t = strlen(tail);
	return n >= t && strcmp(s + n - t, tail) == 0;
}

int cell_dns_ptr_addr(const char *name, uint8_t addr[16])
{
	static const char v4[] = ".in-addr.arpa", v6[] = ".ip6.arpa";
	size_t n = strlen(name);

	if (n > sizeof(v4) - 1 && streq_tail(name, n, v4)) {
		unsigned a, b, c, d;
		char tail;
		/* exactly four decimal labels, each 0-255 */
		if (sscanf(name, "%3u.%3u.%3u.%3u%c", &d, &c, &b, &a, &tail) != 5 || tail != '.' || a > 255 ||
		    b > 255 || c > 255 || d > 255 || strlen(name) - (sizeof(v4) - 1) > 15)
			return 0;
		char back[32];
		snprintf(back, sizeof(back), "%u.%u.%u.%u%s", d, c, b, a, v4);
		if (strcmp(back, name) != 0)	/* no leading zeros or signs */
			return 0;
		addr[0] = (uint8_t)a, addr[1] = (uint8_t)b, addr[2] = (uint8_t)c, addr[3] = (uint8_t)d;
		return 4;
	}
	if (n == 64 + sizeof(v6) - 1 && streq_tail(name, n, v6)) {
		memset(addr, 0, 16);
		for (int i = 0; i < 32; i++) {
			char c = name[2 * i];
			int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (v < 0 || name[2 * i + 1] != '.')
				return 0;
			/* the first nibble is the lowest of the last byte */
			addr[15 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
		}
		return 6;
	}
	return 0;
}
