/*
 * auditrec.c: one audit row as a record of the audit journal
 * (audit_journal.c): u32 length of what follows, then id, time and
 * caller uid (u64 each), seven strings (u16 length, bytes: event, user,
 * service, rhost, method, result, detail), prev_hash and hash, all
 * big-endian.  The decoder takes any bytes: a file left by a crash, or
 * edited, must not take pwlessd down (tests/fuzz/fuzz_auditrec.c).
 */
#include "config.h"

#include <string.h>

#include "auditrec.h"

static void
put_u64(uint8_t **p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--)
		*(*p)++ = (uint8_t)(v >> (8 * i));
}

static void
put_str(uint8_t **p, const char *s)
{
	size_t n = strlen(s);

	*(*p)++ = (uint8_t)(n >> 8);
	*(*p)++ = (uint8_t)n;
	memcpy(*p, s, n);
	*p += n;
}

/* Encodes a into out (AUDITREC_MAX bytes); returns its length. */
size_t
auditrec_encode(const struct audit_row *a, uint8_t *out)
{
	uint8_t *p = out + 4;
	uint32_t n;

	put_u64(&p, (uint64_t)a->id);
	put_u64(&p, (uint64_t)a->time);
	put_u64(&p, (uint64_t)a->caller_uid);
	put_str(&p, a->event);
	put_str(&p, a->user);
	put_str(&p, a->service);
	put_str(&p, a->rhost);
	put_str(&p, a->method);
	put_str(&p, a->result);
	put_str(&p, a->detail);
	memcpy(p, a->prev_hash, AUDITREC_HASH);
	p += AUDITREC_HASH;
	memcpy(p, a->hash, AUDITREC_HASH);
	p += AUDITREC_HASH;
	n = (uint32_t)(p - out - 4);
	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	return (size_t)(p - out);
}

struct rd {
	const uint8_t	*p;
	size_t		 left;
	int		 bad;
};

static uint64_t
get_u64(struct rd *r)
{
	uint64_t v = 0;
	int i;

	if (r->left < 8) {
		r->bad = 1;
		return 0;
	}
	for (i = 0; i < 8; i++)
		v = v << 8 | r->p[i];
	r->p += 8;
	r->left -= 8;
	return v;
}

static void
get_str(struct rd *r, char *out, size_t sz)
{
	size_t n;

	if (r->left < 2 || (n = (size_t)r->p[0] << 8 | r->p[1]) >= sz ||
	    r->left - 2 < n || memchr(r->p + 2, '\0', n) != NULL) {
		r->bad = 1;
		return;
	}
	memcpy(out, r->p + 2, n);
	out[n] = '\0';
	r->p += 2 + n;
	r->left -= 2 + n;
}

/*
 * Decodes the record at p (n bytes there): its length, or 0 when it is
 * not all there, -1 when it is malformed.
 */
ssize_t
auditrec_decode(const uint8_t *p, size_t n, struct audit_row *a)
{
	struct rd r;
	size_t len;

	if (n < 4)
		return 0;
	len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    p[3];
	if (len > AUDITREC_MAX - 4)
		return -1;
	if (n - 4 < len)
		return 0;
	memset(a, 0, sizeof(*a));
	r.p = p + 4;
	r.left = len;
	r.bad = 0;
	a->id = (int64_t)get_u64(&r);
	a->time = (int64_t)get_u64(&r);
	a->caller_uid = (int64_t)get_u64(&r);
	get_str(&r, a->event, sizeof(a->event));
	get_str(&r, a->user, sizeof(a->user));
	get_str(&r, a->service, sizeof(a->service));
	get_str(&r, a->rhost, sizeof(a->rhost));
	get_str(&r, a->method, sizeof(a->method));
	get_str(&r, a->result, sizeof(a->result));
	get_str(&r, a->detail, sizeof(a->detail));
	if (r.bad || r.left != 2 * AUDITREC_HASH)
		return -1;
	memcpy(a->prev_hash, r.p, AUDITREC_HASH);
	memcpy(a->hash, r.p + AUDITREC_HASH, AUDITREC_HASH);
	return (ssize_t)(4 + len);
}
