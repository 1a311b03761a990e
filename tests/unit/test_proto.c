/*
 * test_proto.c: the wire codec of lib/proto.c as a peer sees it: frame
 * header, TLV writer and parser, value checks, getters, the redacting
 * debug printer and the printable UTF-8 check.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pwless/proto.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A known secret: must never show up in the debug printer's output. */
#define TEST_KEY	"pwl_AbCdEfGhIj_0123456789abcdefghijABCDEFGHIJ4zXq9R"
#define TEST_CODE	"73194628"
#define TEST_TOKEN	"pwt_ZyXwVuTsRq_SECRETtokenSECRETtokenSECRETtok1a2b3c"

/* Raw TLV header, for bodies the writer would never produce. */
static size_t
put_hdr(uint8_t *b, size_t off, uint16_t tag, uint16_t len)
{
	b[off] = (uint8_t)(tag >> 8);
	b[off + 1] = (uint8_t)tag;
	b[off + 2] = (uint8_t)(len >> 8);
	b[off + 3] = (uint8_t)len;
	return off + 4;
}

static size_t
put_tlv(uint8_t *b, size_t off, uint16_t tag, const void *v, size_t n)
{
	off = put_hdr(b, off, tag, (uint16_t)n);
	if (n > 0)
		memcpy(b + off, v, n);
	return off + n;
}

/* Parses a body holding one TLV with the given value. */
static int
parse_one(uint16_t tag, const void *v, size_t n)
{
	static uint8_t b[4 + PWL_STR_MAX + 16];
	struct pwl_msg m;

	assert_true(n <= sizeof(b) - 4);
	return pwl_msg_parse(b, put_tlv(b, 0, tag, v, n), 0, &m);
}

/* All tags the codec knows, found through pwl_tag_info alone. */
static size_t
known_tags(const struct pwl_tag_info **out, size_t max)
{
	const struct pwl_tag_info *ti;
	size_t n = 0;
	uint32_t t;

	for (t = 0; t <= 0xffff; t++)
		if ((ti = pwl_tag_info((uint16_t)t)) != NULL && n < max)
			out[n++] = ti;
	return n;
}

static void
hdr_round_trip(void **state)
{
	static const uint8_t want[PWL_HDR_LEN] = {
		0x00, 0x00, 0x01, 0x02, 0x01, 0x07, 0x01, 0x01,
		0xde, 0xad, 0xbe, 0xef
	};
	struct pwl_hdr h = { 258, PWL_PROTO_MAJOR, 7, PWL_MSG_AUTH_KEY,
	    0xdeadbeef };
	struct pwl_hdr d;
	uint8_t b[PWL_HDR_LEN];

	(void)state;
	pwl_hdr_encode(&h, b);
	assert_memory_equal(b, want, sizeof(want));
	assert_int_equal(pwl_hdr_decode(b, PWL_REQ_MAX, &d), 0);
	assert_int_equal(d.body_len, 258);
	assert_int_equal(d.major, PWL_PROTO_MAJOR);
	assert_int_equal(d.minor, 7);
	assert_int_equal(d.type, PWL_MSG_AUTH_KEY);
	assert_int_equal(d.req_id, 0xdeadbeef);
}

static void
hdr_rejects_major(void **state)
{
	static const uint8_t majors[] = { 0, 2, 0x81, 0xff };
	struct pwl_hdr h = { 0, 0, 0, PWL_MSG_HELLO, 1 };
	struct pwl_hdr d;
	uint8_t b[PWL_HDR_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(majors); i++) {
		h.major = majors[i];
		pwl_hdr_encode(&h, b);
		assert_int_equal(pwl_hdr_decode(b, PWL_REQ_MAX, &d),
		    PWL_ERR_VERSION);
	}
	/* a wrong major wins over a body that is also too big */
	h.major = 2;
	h.body_len = 0xffffffff;
	pwl_hdr_encode(&h, b);
	assert_int_equal(pwl_hdr_decode(b, PWL_REQ_MAX, &d), PWL_ERR_VERSION);
}

static void
hdr_rejects_toobig(void **state)
{
	struct pwl_hdr h = { 0, PWL_PROTO_MAJOR, 0, PWL_MSG_HELLO, 1 };
	struct pwl_hdr d;
	uint8_t b[PWL_HDR_LEN];

	(void)state;
	h.body_len = PWL_REQ_MAX;
	pwl_hdr_encode(&h, b);
	assert_int_equal(pwl_hdr_decode(b, PWL_REQ_MAX, &d), 0);
	h.body_len = PWL_REQ_MAX + 1;
	pwl_hdr_encode(&h, b);
	assert_int_equal(pwl_hdr_decode(b, PWL_REQ_MAX, &d), PWL_ERR_TOOBIG);
	assert_int_equal(pwl_hdr_decode(b, PWL_RESP_MAX, &d), 0);
	h.body_len = PWL_RESP_MAX + 1;
	pwl_hdr_encode(&h, b);
	assert_int_equal(pwl_hdr_decode(b, PWL_RESP_MAX, &d), PWL_ERR_TOOBIG);
	h.body_len = 0xffffffff;
	pwl_hdr_encode(&h, b);
	assert_int_equal(pwl_hdr_decode(b, PWL_RESP_MAX, &d), PWL_ERR_TOOBIG);
}

/* One value of each kind through the writer, the parser and the getters. */
static void
round_trip_kinds(void **state)
{
	uint8_t b[1024];
	struct pwl_wbuf w;
	struct pwl_msg m;
	char s[300];
	uint64_t u64;
	uint32_t u32;
	uint8_t u8;

	(void)state;
	pwl_w_init(&w, b, sizeof(b));
	pwl_w_status(&w, PWL_ST_RATE_LIMITED);
	pwl_w_str(&w, PWL_T_USER, "j\xc3\xb6rg");
	pwl_w_str(&w, PWL_T_KEY, TEST_KEY);
	pwl_w_str(&w, PWL_T_LABEL, "");
	pwl_w_u8(&w, PWL_T_CHANNEL, PWL_CH_SMS);
	pwl_w_u32(&w, PWL_T_ATTEMPTS_LEFT, 0xfedcba98);
	pwl_w_u64(&w, PWL_T_EXPIRES, UINT64_C(0x0123456789abcdef));
	pwl_w_u64(&w, PWL_T_RETRY_AFTER, UINT64_MAX);
	pwl_w_str(&w, PWL_T_RHOST, NULL);	/* absent: writes nothing */
	assert_int_equal(w.err, 0);

	assert_int_equal(pwl_msg_parse(b, w.len, 1, &m), 0);
	assert_int_equal(m.status, PWL_ST_RATE_LIMITED);
	assert_int_equal(m.n, 7);
	assert_int_equal(pwl_msg_str(&m, PWL_T_USER, s, sizeof(s)), 0);
	assert_string_equal(s, "j\xc3\xb6rg");
	assert_int_equal(pwl_msg_str(&m, PWL_T_KEY, s, sizeof(s)), 0);
	assert_string_equal(s, TEST_KEY);
	assert_int_equal(pwl_msg_str(&m, PWL_T_LABEL, s, sizeof(s)), 0);
	assert_string_equal(s, "");
	assert_int_equal(pwl_msg_u8(&m, PWL_T_CHANNEL, &u8), 0);
	assert_int_equal(u8, PWL_CH_SMS);
	assert_int_equal(pwl_msg_u32(&m, PWL_T_ATTEMPTS_LEFT, &u32), 0);
	assert_int_equal(u32, 0xfedcba98);
	assert_int_equal(pwl_msg_u64(&m, PWL_T_EXPIRES, &u64), 0);
	assert_true(u64 == UINT64_C(0x0123456789abcdef));
	assert_int_equal(pwl_msg_u64(&m, PWL_T_RETRY_AFTER, &u64), 0);
	assert_true(u64 == UINT64_MAX);
	assert_null(pwl_msg_get(&m, PWL_T_RHOST));

	/* the same body read as a request has no status to skip */
	assert_int_equal(pwl_msg_parse(b + 2, w.len - 2, 0, &m), 0);
	assert_int_equal(m.status, 0);
	assert_int_equal(m.n, 7);
}

/* Every tag the codec knows survives a round trip with a valid value. */
static void
round_trip_every_tag(void **state)
{
	const struct pwl_tag_info *ti[256];
	uint8_t b[64];
	struct pwl_wbuf w;
	struct pwl_msg m;
	const struct pwl_tlv *t;
	uint64_t u64;
	uint32_t u32;
	uint8_t u8;
	char s[16];
	size_t i, n;

	(void)state;
	n = known_tags(ti, NELEM(ti));
	assert_true(n >= 41);
	for (i = 0; i < n; i++) {
		pwl_w_init(&w, b, sizeof(b));
		pwl_w_status(&w, PWL_ST_OK);
		switch (ti[i]->kind) {
		case PWL_K_U8:
			pwl_w_u8(&w, ti[i]->tag, 1);
			break;
		case PWL_K_U32:
			pwl_w_u32(&w, ti[i]->tag, 0x80000001u);
			break;
		case PWL_K_U64:
			pwl_w_u64(&w, ti[i]->tag, UINT64_C(1) << 63);
			break;
		case PWL_K_NEST:
			pwl_w_end(&w, pwl_w_begin(&w, ti[i]->tag));
			break;
		default:
			pwl_w_str(&w, ti[i]->tag, "x1");
			break;
		}
		assert_int_equal(w.err, 0);
		assert_int_equal(pwl_msg_parse(b, w.len, 1, &m), 0);
		assert_int_equal(m.n, 1);
		assert_non_null(t = pwl_msg_get(&m, ti[i]->tag));
		switch (ti[i]->kind) {
		case PWL_K_U8:
			assert_int_equal(pwl_msg_u8(&m, ti[i]->tag, &u8), 0);
			assert_int_equal(u8, 1);
			break;
		case PWL_K_U32:
			assert_int_equal(pwl_msg_u32(&m, ti[i]->tag, &u32), 0);
			assert_int_equal(u32, 0x80000001u);
			break;
		case PWL_K_U64:
			assert_int_equal(pwl_msg_u64(&m, ti[i]->tag, &u64), 0);
			assert_true(u64 == UINT64_C(1) << 63);
			break;
		case PWL_K_NEST:
			assert_int_equal(t->len, 0);
			break;
		default:
			assert_int_equal(pwl_msg_str(&m, ti[i]->tag, s,
			    sizeof(s)), 0);
			assert_string_equal(s, "x1");
			break;
		}
		assert_non_null(ti[i]->name);
	}
}

static void
getters_absent_and_wrong_width(void **state)
{
	uint8_t b[64];
	struct pwl_wbuf w;
	struct pwl_msg m;
	char s[8] = "garbage";
	uint64_t u64;
	uint32_t u32;
	uint8_t u8;

	(void)state;
	pwl_w_init(&w, b, sizeof(b));
	pwl_w_u64(&w, PWL_T_EXPIRES, 5);
	pwl_w_u32(&w, PWL_T_COUNT, 5);
	assert_int_equal(pwl_msg_parse(b, w.len, 0, &m), 0);
	assert_int_equal(pwl_msg_str(&m, PWL_T_USER, s, sizeof(s)), -1);
	assert_string_equal(s, "");
	assert_int_equal(pwl_msg_u8(&m, PWL_T_DISABLED, &u8), -1);
	assert_int_equal(pwl_msg_u32(&m, PWL_T_UID, &u32), -1);
	assert_int_equal(pwl_msg_u64(&m, PWL_T_TIME, &u64), -1);
	/* a getter of another width refuses the value */
	assert_int_equal(pwl_msg_u32(&m, PWL_T_EXPIRES, &u32), -1);
	assert_int_equal(pwl_msg_u8(&m, PWL_T_EXPIRES, &u8), -1);
	assert_int_equal(pwl_msg_u64(&m, PWL_T_COUNT, &u64), -1);
}

static void
msg_str_small_buffer(void **state)
{
	uint8_t b[64];
	struct pwl_wbuf w;
	struct pwl_msg m;
	char s[8];

	(void)state;
	pwl_w_init(&w, b, sizeof(b));
	pwl_w_str(&w, PWL_T_USER, "alice");
	assert_int_equal(pwl_msg_parse(b, w.len, 0, &m), 0);

	memset(s, 'Z', sizeof(s));
	assert_int_equal(pwl_msg_str(&m, PWL_T_USER, s, 5), -1);
	assert_int_equal(s[0], '\0');
	assert_int_equal(s[1], 'Z');		/* nothing partial */
	memset(s, 'Z', sizeof(s));
	assert_int_equal(pwl_msg_str(&m, PWL_T_USER, s, 0), -1);
	assert_int_equal(s[0], 'Z');		/* size 0: untouched */
	assert_int_equal(pwl_msg_str(&m, PWL_T_USER, s, 6), 0);
	assert_string_equal(s, "alice");
	assert_int_equal(s[6], 'Z');
}

static void
parse_empty_and_status(void **state)
{
	static const uint8_t st[] = { 0x00, 0x07 };
	struct pwl_msg m;

	(void)state;
	assert_int_equal(pwl_msg_parse(st, 0, 0, &m), 0);
	assert_int_equal(m.n, 0);
	assert_int_equal(pwl_msg_parse(st, 0, 1, &m), PWL_ERR_PROTO);
	assert_int_equal(pwl_msg_parse(st, 1, 1, &m), PWL_ERR_PROTO);
	assert_int_equal(pwl_msg_parse(st, 2, 1, &m), 0);
	assert_int_equal(m.status, PWL_ST_BAD_REQUEST);
	assert_int_equal(m.n, 0);
}

/* 1 to 3 bytes after the last TLV cannot hold a TLV header. */
static void
parse_rejects_truncated_header(void **state)
{
	uint8_t b[64];
	struct pwl_msg m;
	size_t off, k;

	(void)state;
	memset(b, 0, sizeof(b));
	off = put_tlv(b, 0, PWL_T_USER, "bob", 3);
	assert_int_equal(pwl_msg_parse(b, off, 0, &m), 0);
	for (k = 1; k < 4; k++)
		assert_int_equal(pwl_msg_parse(b, off + k, 0, &m),
		    PWL_ERR_PROTO);
	for (k = 1; k < 4; k++)
		assert_int_equal(pwl_msg_parse(b, k, 0, &m), PWL_ERR_PROTO);
}

static void
parse_rejects_overrun(void **state)
{
	uint8_t b[64];
	struct pwl_msg m;
	size_t off;

	(void)state;
	memset(b, 'a', sizeof(b));
	off = put_tlv(b, 0, PWL_T_SERVICE, "sshd", 4);
	put_hdr(b, off, PWL_T_USER, 10);
	/* the value claims 10 bytes; 9, 5 and 0 of them are there */
	assert_int_equal(pwl_msg_parse(b, off + 4 + 9, 0, &m), PWL_ERR_PROTO);
	assert_int_equal(pwl_msg_parse(b, off + 4 + 5, 0, &m), PWL_ERR_PROTO);
	assert_int_equal(pwl_msg_parse(b, off + 4, 0, &m), PWL_ERR_PROTO);
	assert_int_equal(pwl_msg_parse(b, off + 4 + 10, 0, &m), 0);
	/* an unknown tag is skipped, but may not overrun either */
	put_hdr(b, off, 0x0777, 0xffff);
	assert_int_equal(pwl_msg_parse(b, off + 4 + 20, 0, &m), PWL_ERR_PROTO);
	/* nor may an ITEM */
	put_hdr(b, off, PWL_T_ITEM, 21);
	assert_int_equal(pwl_msg_parse(b, off + 4 + 20, 0, &m), PWL_ERR_PROTO);
}

static void
parse_duplicates(void **state)
{
	uint8_t b[128];
	struct pwl_msg m;
	const uint64_t zero = 0;
	size_t off;

	(void)state;
	off = put_tlv(b, 0, PWL_T_USER, "bob", 3);
	off = put_tlv(b, off, PWL_T_SERVICE, "su", 2);
	off = put_tlv(b, off, PWL_T_USER, "eve", 3);
	assert_int_equal(pwl_msg_parse(b, off, 0, &m), PWL_ERR_PROTO);

	off = put_tlv(b, 0, PWL_T_EXPIRES, &zero, 8);
	off = put_tlv(b, off, PWL_T_EXPIRES, &zero, 8);
	assert_int_equal(pwl_msg_parse(b, off, 0, &m), PWL_ERR_PROTO);

	off = put_tlv(b, 0, PWL_T_CODE, "1", 1);
	off = put_tlv(b, off, PWL_T_CODE, "1", 1);
	assert_int_equal(pwl_msg_parse(b, off, 0, &m), PWL_ERR_PROTO);

	/* ITEM repeats; so may an unknown optional tag, which is dropped */
	off = put_tlv(b, 0, PWL_T_ITEM, NULL, 0);
	off = put_tlv(b, off, 0x0abc, "x", 1);
	off = put_tlv(b, off, PWL_T_ITEM, NULL, 0);
	off = put_tlv(b, off, 0x0abc, "y", 1);
	off = put_tlv(b, off, PWL_T_ITEM, NULL, 0);
	assert_int_equal(pwl_msg_parse(b, off, 0, &m), 0);
	assert_int_equal(m.n, 3);
}

static void
parse_unknown_tags(void **state)
{
	static const uint8_t junk[] = { 0x00, 0x01, 0x1b, 0xff, 0x80 };
	uint8_t b[128];
	struct pwl_msg m;
	char s[16];
	size_t off;

	(void)state;
	/* non-critical: skipped whatever it holds, the rest still parsed */
	off = put_tlv(b, 0, 0x7ffe, junk, sizeof(junk));
	off = put_tlv(b, off, PWL_T_USER, "bob", 3);
	off = put_tlv(b, off, 0x0000, NULL, 0);
	assert_int_equal(pwl_msg_parse(b, off, 0, &m), 0);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.tlv[0].tag, PWL_T_USER);
	assert_int_equal(pwl_msg_str(&m, PWL_T_USER, s, sizeof(s)), 0);
	assert_string_equal(s, "bob");
	assert_null(pwl_msg_get(&m, 0x7ffe));

	/* critical: the whole body is refused, wherever it sits */
	off = put_tlv(b, 0, PWL_T_USER, "bob", 3);
	off = put_tlv(b, off, 0xfffe, "x", 1);
	assert_int_equal(pwl_msg_parse(b, off, 0, &m), PWL_ERR_PROTO);
	off = put_tlv(b, 0, PWL_TAG_CRITICAL, NULL, 0);
	assert_int_equal(pwl_msg_parse(b, off, 0, &m), PWL_ERR_PROTO);
	/* a known tag with the critical bit flipped is another, unknown tag */
	off = put_tlv(b, 0, PWL_T_RHOST | PWL_TAG_CRITICAL, "h", 1);
	assert_int_equal(pwl_msg_parse(b, off, 0, &m), PWL_ERR_PROTO);
}

static void
parse_integer_widths(void **state)
{
	const struct pwl_tag_info *ti[256];
	uint8_t v[16];
	size_t i, n, w, len;

	(void)state;
	memset(v, 0, sizeof(v));
	n = known_tags(ti, NELEM(ti));
	for (i = 0; i < n; i++) {
		switch (ti[i]->kind) {
		case PWL_K_U8: w = 1; break;
		case PWL_K_U32: w = 4; break;
		case PWL_K_U64: w = 8; break;
		default: continue;
		}
		for (len = 0; len <= sizeof(v); len++)
			assert_int_equal(parse_one(ti[i]->tag, v, len),
			    len == w ? 0 : PWL_ERR_PROTO);
	}
}

/* Each string field takes its cap and refuses one byte more. */
static void
parse_string_caps(void **state)
{
	const struct pwl_tag_info *ti[256];
	char v[PWL_STR_MAX + 2];
	size_t i, n, checked = 0;

	(void)state;
	memset(v, 'a', sizeof(v));
	n = known_tags(ti, NELEM(ti));
	for (i = 0; i < n; i++) {
		if (ti[i]->kind != PWL_K_PRINT && ti[i]->kind != PWL_K_STR &&
		    ti[i]->kind != PWL_K_SECRET)
			continue;
		assert_true(ti[i]->max <= PWL_STR_MAX);
		assert_int_equal(parse_one(ti[i]->tag, v, ti[i]->max), 0);
		assert_int_equal(parse_one(ti[i]->tag, v, ti[i]->max + 1u),
		    PWL_ERR_PROTO);
		checked++;
	}
	assert_true(checked >= 22);
	/* the caps DESIGN.md promises */
	assert_int_equal(parse_one(PWL_T_USER, v, 255), 0);
	assert_int_equal(parse_one(PWL_T_USER, v, 256), PWL_ERR_PROTO);
	assert_int_equal(parse_one(PWL_T_SERVICE, v, 65), PWL_ERR_PROTO);
	assert_int_equal(parse_one(PWL_T_TTY, v, 65), PWL_ERR_PROTO);
	assert_int_equal(parse_one(PWL_T_RHOST, v, 256), PWL_ERR_PROTO);
	assert_int_equal(parse_one(PWL_T_KEY, v, 128), 0);
	assert_int_equal(parse_one(PWL_T_KEY, v, 129), PWL_ERR_PROTO);
	assert_int_equal(parse_one(PWL_T_TOKEN, v, 129), PWL_ERR_PROTO);
	assert_int_equal(parse_one(PWL_T_CODE, v, 12), 0);
	assert_int_equal(parse_one(PWL_T_CODE, v, 13), PWL_ERR_PROTO);
	assert_int_equal(parse_one(PWL_T_LABEL, v, 65), PWL_ERR_PROTO);
	assert_int_equal(parse_one(PWL_T_EMAIL, v, 254), 0);
	assert_int_equal(parse_one(PWL_T_EMAIL, v, 255), PWL_ERR_PROTO);
	assert_int_equal(parse_one(PWL_T_PHONE, v, 16), 0);
	assert_int_equal(parse_one(PWL_T_PHONE, v, 17), PWL_ERR_PROTO);
}

struct sample {
	const char	*s;
	size_t		 n;
};
#define S(x)	{ x, sizeof(x) - 1 }

/* Control bytes and bad UTF-8: refused by pwl_printable. */
static const struct sample bad_text[] = {
	S("\x01"), S("a\tb"), S("line\n"), S("\r"), S("\x1b[2J"),
	S("a\x7f"), S("nul\0inside"), S("\0"),
	S("\xc2\x85"),			/* U+0085 NEL, C1 */
	S("\xc2\x80"), S("\xc2\x9f"),	/* C1 range ends */
	S("\xff"), S("\xfe"), S("\x80"), S("a\xbf"),	/* not a lead */
	S("\xc3"), S("\xe6\x97"), S("\xf0\x9f\x98"),	/* cut short */
	S("\xc3\x28"), S("\xe6\x97\x41"),		/* bad continuation */
	S("\xc0\xaf"), S("\xc1\xbf"),			/* overlong 2 */
	S("\xe0\x80\xaf"), S("\xe0\x9f\xbf"),		/* overlong 3 */
	S("\xf0\x80\x80\xaf"), S("\xf0\x8f\xbf\xbf"),	/* overlong 4 */
	S("\xc0\x80"),					/* overlong NUL */
	S("\xed\xa0\x80"), S("\xed\xbf\xbf"),		/* surrogates */
	S("\xf4\x90\x80\x80"), S("\xf7\xbf\xbf\xbf"),	/* > U+10FFFF */
	S("\xf8\x88\x80\x80\x80"), S("\xfc\x84\x80\x80\x80\x80"),
};

static const struct sample good_text[] = {
	S(""), S("alice"), S("host.example.org"), S("a b~!\"#{}"),
	S("Ren\xc3\xa9"),				/* é */
	S("\xe6\x97\xa5\xe6\x9c\xac"),			/* 日本 */
	S("\xf0\x9f\x98\x80"),				/* emoji */
	S("\xc2\xa0"), S("\xc2\xa9"),			/* just past C1 */
	S("\xed\x9f\xbf"), S("\xee\x80\x80"),		/* around surrogates */
	S("\xef\xbf\xbd"), S("\xf4\x8f\xbf\xbf"),	/* U+FFFD, U+10FFFF */
	S("\xdf\xbf"), S("\xe0\xa0\x80"), S("\xf0\x90\x80\x80"),
};

static void
printable_check(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad_text); i++)
		if (pwl_printable(bad_text[i].s, bad_text[i].n))
			fail_msg("accepted bad_text[%zu]", i);
	for (i = 0; i < NELEM(good_text); i++)
		if (!pwl_printable(good_text[i].s, good_text[i].n))
			fail_msg("refused good_text[%zu]", i);
	/* only the first n bytes count */
	assert_true(pwl_printable("ab\x01", 2));
	assert_true(pwl_printable("\xe6\x97\xa5\xe6", 3));
	assert_false(pwl_printable("\xe6\x97\xa5\xe6", 4));
}

/* Printable fields refuse what pwl_printable refuses, in every tag. */
static void
parse_printable_fields(void **state)
{
	const struct pwl_tag_info *ti[256];
	char v[PWL_STR_MAX];
	size_t i, j, n, checked = 0;

	(void)state;
	n = known_tags(ti, NELEM(ti));
	for (i = 0; i < n; i++) {
		if (ti[i]->kind != PWL_K_PRINT)
			continue;
		checked++;
		for (j = 0; j < NELEM(bad_text); j++) {
			/* embedded in text, so the cap is not the reason */
			v[0] = 'u';
			memcpy(v + 1, bad_text[j].s, bad_text[j].n);
			v[bad_text[j].n + 1] = 'x';
			if (parse_one(ti[i]->tag, v, bad_text[j].n + 2) !=
			    PWL_ERR_PROTO)
				fail_msg("%s took bad_text[%zu]", ti[i]->name,
				    j);
		}
		for (j = 0; j < NELEM(good_text); j++)
			if (good_text[j].n <= ti[i]->max &&
			    parse_one(ti[i]->tag, good_text[j].s,
			    good_text[j].n) != 0)
				fail_msg("%s refused good_text[%zu]",
				    ti[i]->name, j);
	}
	assert_true(checked >= 19);
}

static void
parse_secret_bytes(void **state)
{
	static const uint16_t secret_tags[] = {
		PWL_T_KEY, PWL_T_CODE, PWL_T_TOKEN
	};
	static const struct sample bad[] = {
		S("a b"), S(" "), S("ab\t"), S("a\0b"), S("\x7f"),
		S("\x80"), S("R\xc3\xa9"), S("x\n"), S("\xff"),
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < NELEM(secret_tags); i++) {
		for (j = 0; j < NELEM(bad); j++)
			if (parse_one(secret_tags[i], bad[j].s, bad[j].n) !=
			    PWL_ERR_PROTO)
				fail_msg("tag %#x took bad[%zu]",
				    (unsigned)secret_tags[i], j);
		assert_int_equal(parse_one(secret_tags[i], "!~0aZ_", 6), 0);
	}
	assert_int_equal(parse_one(PWL_T_KEY, TEST_KEY, strlen(TEST_KEY)), 0);
	assert_int_equal(parse_one(PWL_T_CODE, TEST_CODE, 8), 0);
}

static void
parse_tlv_limit(void **state)
{
	uint8_t b[(PWL_MSG_MAX_TLVS + 1) * 4];
	struct pwl_msg m;
	size_t i, off = 0;

	(void)state;
	for (i = 0; i < PWL_MSG_MAX_TLVS + 1; i++)
		off = put_tlv(b, off, PWL_T_ITEM, NULL, 0);
	assert_int_equal(pwl_msg_parse(b, off - 4, 0, &m), 0);
	assert_int_equal(m.n, PWL_MSG_MAX_TLVS);
	/* one more is refused, never stored past the array */
	assert_true(pwl_msg_parse(b, off, 0, &m) < 0);
	assert_true(m.n <= PWL_MSG_MAX_TLVS);
}

static void
writer_full(void **state)
{
	uint8_t b[32];
	struct pwl_wbuf w;
	size_t cap;

	(void)state;
	/* exactly full is fine */
	memset(b, 0xaa, sizeof(b));
	pwl_w_init(&w, b, 9);
	pwl_w_str(&w, PWL_T_USER, "alice");
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, 9);
	assert_int_equal(b[9], 0xaa);

	/* one byte short: TOOBIG, nothing past cap, and the error sticks */
	for (cap = 0; cap < 9; cap++) {
		memset(b, 0xaa, sizeof(b));
		pwl_w_init(&w, b, cap);
		pwl_w_str(&w, PWL_T_USER, "alice");
		assert_int_equal(w.err, PWL_ERR_TOOBIG);
		assert_true(w.len <= cap);
		assert_int_equal(b[cap], 0xaa);
		pwl_w_status(&w, 0);
		pwl_w_u8(&w, PWL_T_DISABLED, 1);
		pwl_w_end(&w, pwl_w_begin(&w, PWL_T_ITEM));
		assert_int_equal(w.err, PWL_ERR_TOOBIG);
		assert_true(w.len <= cap);
		assert_int_equal(b[cap], 0xaa);
	}

	/* the first of several writes that does not fit */
	memset(b, 0xaa, sizeof(b));
	pwl_w_init(&w, b, 20);
	pwl_w_status(&w, PWL_ST_OK);
	pwl_w_u64(&w, PWL_T_EXPIRES, 1);
	assert_int_equal(w.err, 0);
	pwl_w_u64(&w, PWL_T_CREATED, 2);
	assert_int_equal(w.err, PWL_ERR_TOOBIG);
	pwl_w_u8(&w, PWL_T_DISABLED, 1);	/* would fit, still refused */
	assert_int_equal(w.len, 14);
	assert_int_equal(b[14], 0xaa);
	assert_int_equal(b[20], 0xaa);
}

static void
writer_value_too_long(void **state)
{
	static uint8_t big[0x10000];
	static uint8_t b[0x10000 + 16];
	struct pwl_wbuf w;

	(void)state;
	pwl_w_init(&w, b, sizeof(b));
	pwl_w_bytes(&w, 0x0777, big, 0x10000);
	assert_int_equal(w.err, PWL_ERR_TOOBIG);
	assert_int_equal(w.len, 0);
	pwl_w_init(&w, b, sizeof(b));
	pwl_w_bytes(&w, 0x0777, big, 0xffff);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, 0xffff + 4);
}

static void
writer_nested_items(void **state)
{
	uint8_t b[256];
	struct pwl_wbuf w;
	struct pwl_msg m, item, inner;
	size_t outer, mark;
	uint64_t u64;
	char s[32];

	(void)state;
	pwl_w_init(&w, b, sizeof(b));
	pwl_w_status(&w, PWL_ST_OK);
	outer = pwl_w_begin(&w, PWL_T_ITEM);
	pwl_w_str(&w, PWL_T_KEY_ID, "AbCdEfGhIj");
	pwl_w_u64(&w, PWL_T_EXPIRES, 1700000000);
	mark = pwl_w_begin(&w, PWL_T_ITEM);
	pwl_w_str(&w, PWL_T_STATE, "rotated");
	pwl_w_end(&w, mark);
	pwl_w_end(&w, outer);
	pwl_w_end(&w, pwl_w_begin(&w, PWL_T_ITEM));	/* empty item */
	pwl_w_str(&w, PWL_T_MESSAGE, "done");
	assert_int_equal(w.err, 0);

	assert_int_equal(pwl_msg_parse(b, w.len, 1, &m), 0);
	assert_int_equal(m.n, 3);
	assert_int_equal(m.tlv[0].tag, PWL_T_ITEM);
	assert_int_equal(m.tlv[1].tag, PWL_T_ITEM);
	assert_int_equal(m.tlv[1].len, 0);
	assert_int_equal(m.tlv[2].tag, PWL_T_MESSAGE);

	assert_int_equal(pwl_msg_parse(m.tlv[0].val, m.tlv[0].len, 0, &item),
	    0);
	assert_int_equal(item.n, 3);
	assert_int_equal(pwl_msg_str(&item, PWL_T_KEY_ID, s, sizeof(s)), 0);
	assert_string_equal(s, "AbCdEfGhIj");
	assert_int_equal(pwl_msg_u64(&item, PWL_T_EXPIRES, &u64), 0);
	assert_true(u64 == 1700000000);
	assert_int_equal(item.tlv[2].tag, PWL_T_ITEM);
	assert_int_equal(pwl_msg_parse(item.tlv[2].val, item.tlv[2].len, 0,
	    &inner), 0);
	assert_int_equal(pwl_msg_str(&inner, PWL_T_STATE, s, sizeof(s)), 0);
	assert_string_equal(s, "rotated");
	/* an item's contents are checked when the item is parsed */
	assert_int_equal(pwl_msg_parse(m.tlv[0].val, m.tlv[0].len - 1, 0,
	    &item), PWL_ERR_PROTO);
}

static void
writer_nested_too_long(void **state)
{
	static uint8_t big[0xff00];
	static uint8_t b[0x20000];
	struct pwl_wbuf w;
	size_t mark;

	(void)state;
	pwl_w_init(&w, b, sizeof(b));
	mark = pwl_w_begin(&w, PWL_T_ITEM);
	pwl_w_bytes(&w, 0x0777, big, sizeof(big));
	pwl_w_bytes(&w, 0x0777, big, 0xf7);	/* body is 0xffff: fits */
	pwl_w_end(&w, mark);
	assert_int_equal(w.err, 0);
	assert_int_equal(b[2], 0xff);
	assert_int_equal(b[3], 0xff);

	pwl_w_init(&w, b, sizeof(b));
	mark = pwl_w_begin(&w, PWL_T_ITEM);
	pwl_w_bytes(&w, 0x0777, big, sizeof(big));
	pwl_w_bytes(&w, 0x0777, big, 0xf8);	/* 0x10000: does not */
	pwl_w_end(&w, mark);
	assert_int_equal(w.err, PWL_ERR_TOOBIG);
}

/* A request carrying all three secrets, parsed and formatted. */
static void
secret_msg(uint8_t *b, size_t cap, struct pwl_msg *m)
{
	struct pwl_wbuf w;
	size_t mark;

	pwl_w_init(&w, b, cap);
	pwl_w_str(&w, PWL_T_USER, "alice");
	pwl_w_str(&w, PWL_T_KEY, TEST_KEY);
	pwl_w_str(&w, PWL_T_CODE, TEST_CODE);
	pwl_w_str(&w, PWL_T_TOKEN, TEST_TOKEN);
	pwl_w_u64(&w, PWL_T_TTL, 3600);
	mark = pwl_w_begin(&w, PWL_T_ITEM);
	pwl_w_str(&w, PWL_T_KEY, TEST_KEY);
	pwl_w_str(&w, PWL_T_LABEL, "laptop");
	pwl_w_end(&w, mark);
	assert_int_equal(w.err, 0);
	assert_int_equal(pwl_msg_parse(b, w.len, 0, m), 0);
}

static void
format_redacts_secrets(void **state)
{
	uint8_t b[512];
	struct pwl_msg m;
	char out[1024];

	(void)state;
	secret_msg(b, sizeof(b), &m);
	pwl_msg_format(PWL_MSG_AUTH_KEY, &m, out, sizeof(out));
	assert_string_equal(out, "AUTH_KEY user=\"alice\" "
	    "key=<redacted len=51> code=<redacted len=8> "
	    "token=<redacted len=52> ttl=3600 item={2 fields}");
	assert_null(strstr(out, TEST_KEY));
	assert_null(strstr(out, TEST_CODE));
	assert_null(strstr(out, TEST_TOKEN));
	assert_null(strstr(out, "0123456789abcdef"));	/* key's secret */
	assert_null(strstr(out, "SECRETtoken"));
}

/* Any size: NUL-terminated, within bounds, a prefix of the full line. */
static void
format_small_buffers(void **state)
{
	uint8_t b[512];
	struct pwl_msg m;
	char full[1024], out[1024];
	size_t len, sz;

	(void)state;
	secret_msg(b, sizeof(b), &m);
	pwl_msg_format(PWL_MSG_TOKEN_VERIFY, &m, full, sizeof(full));
	len = strlen(full);
	assert_true(len > 40);
	for (sz = 0; sz <= len + 2; sz++) {
		memset(out, 'Z', sizeof(out));
		pwl_msg_format(PWL_MSG_TOKEN_VERIFY, &m, out, sz);
		assert_int_equal(out[sz], 'Z');
		if (sz == 0)
			continue;
		assert_true(memchr(out, '\0', sz) != NULL);
		assert_int_equal(strlen(out), sz - 1 < len ? sz - 1 : len);
		assert_memory_equal(out, full, strlen(out));
		assert_null(strstr(out, TEST_CODE));
	}
}

static void
format_values(void **state)
{
	uint8_t b[128];
	struct pwl_wbuf w;
	struct pwl_msg m;
	char out[256];

	(void)state;
	pwl_w_init(&w, b, sizeof(b));
	pwl_w_status(&w, PWL_ST_DENIED);
	pwl_w_u8(&w, PWL_T_DISABLED, 1);
	pwl_w_u32(&w, PWL_T_UID, 4294967295u);
	pwl_w_u64(&w, PWL_T_EXPIRES, UINT64_MAX);
	pwl_w_bytes(&w, PWL_T_ITEM, "\x80\x01", 2);	/* bad contents */
	pwl_w_str(&w, PWL_T_RHOST, "\xe6\x97\xa5");
	assert_int_equal(w.err, 0);
	assert_int_equal(pwl_msg_parse(b, w.len, 1, &m), 0);
	pwl_msg_format(0x7777, &m, out, sizeof(out));
	assert_string_equal(out, "UNKNOWN_TYPE disabled=1 uid=4294967295 "
	    "expires=18446744073709551615 item={malformed} "
	    "rhost=\"\xe6\x97\xa5\"");
	m.n = 0;
	pwl_msg_format(PWL_MSG_HELLO, &m, out, sizeof(out));
	assert_string_equal(out, "HELLO");
}

static void
names_and_errors(void **state)
{
	static const int errs[] = {
		PWL_ERR_NOSOCKET, PWL_ERR_TIMEOUT, PWL_ERR_IO, PWL_ERR_PROTO,
		PWL_ERR_VERSION, PWL_ERR_TOOBIG, PWL_ERR_NOMEM,
		PWL_ERR_UNTRUSTED, PWL_ERR_INVAL,
	};
	uint16_t st;
	size_t i;

	(void)state;
	assert_string_equal(pwl_status_name(PWL_ST_OK), "OK");
	assert_string_equal(pwl_status_name(PWL_ST_LIMIT), "LIMIT");
	for (st = 0; st < PWL_ST__MAX; st++)
		assert_string_not_equal(pwl_status_name(st),
		    "UNKNOWN_STATUS");
	assert_string_equal(pwl_status_name(PWL_ST__MAX), "UNKNOWN_STATUS");
	assert_string_equal(pwl_status_name(0xffff), "UNKNOWN_STATUS");
	assert_string_equal(pwl_type_name(PWL_MSG_ADMIN_AUDIT),
	    "ADMIN_AUDIT");
	assert_string_equal(pwl_type_name(0), "UNKNOWN_TYPE");
	for (i = 0; i < NELEM(errs); i++)
		assert_string_not_equal(pwl_strerror(errs[i]),
		    "unknown error");
	assert_string_equal(pwl_strerror(0), "success");
	assert_string_equal(pwl_strerror(-100), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hdr_round_trip),
		cmocka_unit_test(hdr_rejects_major),
		cmocka_unit_test(hdr_rejects_toobig),
		cmocka_unit_test(round_trip_kinds),
		cmocka_unit_test(round_trip_every_tag),
		cmocka_unit_test(getters_absent_and_wrong_width),
		cmocka_unit_test(msg_str_small_buffer),
		cmocka_unit_test(parse_empty_and_status),
		cmocka_unit_test(parse_rejects_truncated_header),
		cmocka_unit_test(parse_rejects_overrun),
		cmocka_unit_test(parse_duplicates),
		cmocka_unit_test(parse_unknown_tags),
		cmocka_unit_test(parse_integer_widths),
		cmocka_unit_test(parse_string_caps),
		cmocka_unit_test(printable_check),
		cmocka_unit_test(parse_printable_fields),
		cmocka_unit_test(parse_secret_bytes),
		cmocka_unit_test(parse_tlv_limit),
		cmocka_unit_test(writer_full),
		cmocka_unit_test(writer_value_too_long),
		cmocka_unit_test(writer_nested_items),
		cmocka_unit_test(writer_nested_too_long),
		cmocka_unit_test(format_redacts_secrets),
		cmocka_unit_test(format_small_buffers),
		cmocka_unit_test(format_values),
		cmocka_unit_test(names_and_errors),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
