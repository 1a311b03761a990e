/*
 * fuzz_proto.c: libFuzzer harness for the wire codec (lib/proto.c): frame
 * header, body parse with and without status, getters, the debug printer,
 * nested ITEMs, pwl_printable against a reference, writer round trips.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pwless/proto.h"

#define MAX_DEPTH	8		/* ITEMs inside ITEMs we follow */
#define FMT_BIG		65536		/* holds any formatted body */

#define CHECK(c)	do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char fmt_big[FMT_BIG];
static char fmt_want[FMT_BIG];

/*
 * Reference for pwl_printable: well-formed UTF-8 after Unicode table 3-7,
 * without C0, DEL or C1 controls.  Written by ranges, not by decoding.
 */
static int
ref_printable(const uint8_t *p, size_t n)
{
	size_t i = 0, k, len;
	uint8_t lo, hi;

	while (i < n) {
		lo = 0x80;
		hi = 0xbf;
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			i++;
			continue;
		} else if (p[i] == 0xc2) {
			len = 2;
			lo = 0xa0;	/* C2 80..9F are C1 controls */
		} else if (p[i] >= 0xc3 && p[i] <= 0xdf)
			len = 2;
		else if (p[i] == 0xe0) {
			len = 3;
			lo = 0xa0;
		} else if (p[i] >= 0xe1 && p[i] <= 0xef && p[i] != 0xed)
			len = 3;
		else if (p[i] == 0xed) {
			len = 3;
			hi = 0x9f;
		} else if (p[i] == 0xf0) {
			len = 4;
			lo = 0x90;
		} else if (p[i] >= 0xf1 && p[i] <= 0xf3)
			len = 4;
		else if (p[i] == 0xf4) {
			len = 4;
			hi = 0x8f;
		} else
			return 0;
		if (n - i < len || p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k < len; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return 0;
		i += len;
	}
	return 1;
}

static void
check_hdr(const uint8_t *data)
{
	struct pwl_hdr h;
	uint8_t again[PWL_HDR_LEN];
	int r;

	r = pwl_hdr_decode(data, PWL_REQ_MAX, &h);
	if (h.major != PWL_PROTO_MAJOR)
		CHECK(r == PWL_ERR_VERSION);
	else if (h.body_len > PWL_REQ_MAX)
		CHECK(r == PWL_ERR_TOOBIG);
	else
		CHECK(r == 0);
	pwl_hdr_encode(&h, again);
	CHECK(memcmp(again, data, PWL_HDR_LEN) == 0);
}

/* The parser's promises about one TLV, and the getters on it. */
static void
check_tlv(const struct pwl_msg *m, size_t i, const uint8_t *b, size_t len)
{
	static char big[0x10000 + 1];
	const struct pwl_tlv *t = &m->tlv[i];
	const struct pwl_tag_info *ti;
	char small[8];
	uint64_t u64;
	uint32_t u32;
	uint8_t u8;
	size_t j;
	int r;

	CHECK((ti = pwl_tag_info(t->tag)) != NULL);
	CHECK(t->val >= b && (size_t)(t->val - b) + t->len <= len);
	CHECK(t->len <= ti->max);
	for (j = 0; j < i; j++)
		CHECK(ti->kind == PWL_K_NEST || m->tlv[j].tag != t->tag);
	switch (ti->kind) {
	case PWL_K_PRINT:
		CHECK(ref_printable(t->val, t->len));
		break;
	case PWL_K_SECRET:
		for (j = 0; j < t->len; j++)
			CHECK(t->val[j] > 0x20 && t->val[j] < 0x7f);
		break;
	case PWL_K_U8:
		CHECK(t->len == 1);
		break;
	case PWL_K_U32:
		CHECK(t->len == 4);
		break;
	case PWL_K_U64:
		CHECK(t->len == 8);
		break;
	}

	/* getters see the first TLV of this tag */
	if (pwl_msg_get(m, t->tag) != t)
		return;
	r = pwl_msg_str(m, t->tag, small, sizeof(small));
	CHECK(r == (t->len < sizeof(small) ? 0 : -1));
	CHECK(r != 0 || memcmp(small, t->val, t->len) == 0);
	CHECK(r != 0 || small[t->len] == '\0');
	CHECK(r == 0 || small[0] == '\0');
	CHECK(pwl_msg_str(m, t->tag, big, sizeof(big)) == 0);
	CHECK(memcmp(big, t->val, t->len) == 0 && big[t->len] == '\0');
	CHECK((pwl_msg_u8(m, t->tag, &u8) == 0) == (t->len == 1));
	CHECK((pwl_msg_u32(m, t->tag, &u32) == 0) == (t->len == 4));
	CHECK((pwl_msg_u64(m, t->tag, &u64) == 0) == (t->len == 8));
}

/*
 * The printer: NUL-terminated at any size, a short buffer holds a prefix
 * of the full line, and secrets come out as <redacted len=N> only.
 */
static void
check_format(uint16_t type, const struct pwl_msg *m)
{
	static const size_t sizes[] = { 0, 1, 2, 5, 13, 40, 200 };
	static struct pwl_msg sec;
	const struct pwl_tag_info *ti;
	char small[256];
	size_t i, len, off, n;

	pwl_msg_format(type, m, fmt_big, sizeof(fmt_big));
	len = strnlen(fmt_big, sizeof(fmt_big));
	CHECK(len < sizeof(fmt_big) - 1);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(small, 'Z', sizeof(small));
		pwl_msg_format(type, m, small, sizes[i]);
		CHECK(small[sizes[i]] == 'Z');
		if (sizes[i] == 0)
			continue;
		n = strnlen(small, sizes[i]);
		CHECK(n < sizes[i]);
		CHECK(n == (len < sizes[i] - 1 ? len : sizes[i] - 1));
		CHECK(memcmp(small, fmt_big, n) == 0);
	}

	/* the secrets alone must print exactly as redactions */
	sec.n = 0;
	off = (size_t)snprintf(fmt_want, sizeof(fmt_want), "%s",
	    pwl_type_name(type));
	for (i = 0; i < m->n; i++) {
		ti = pwl_tag_info(m->tlv[i].tag);
		if (ti == NULL || ti->kind != PWL_K_SECRET)
			continue;
		sec.tlv[sec.n++] = m->tlv[i];
		off += (size_t)snprintf(fmt_want + off, sizeof(fmt_want) - off,
		    " %s=<redacted len=%u>", ti->name,
		    (unsigned)m->tlv[i].len);
	}
	pwl_msg_format(type, &sec, fmt_big, sizeof(fmt_big));
	CHECK(strcmp(fmt_big, fmt_want) == 0);
}

/* Writes m again, exactly sized, and once one byte short. */
static void
check_reencode(const struct pwl_msg *m, int has_status)
{
	struct pwl_wbuf w;
	struct pwl_msg again;
	uint8_t *b;
	size_t i, need = has_status ? 2 : 0, cap;
	int pass;

	for (i = 0; i < m->n; i++)
		need += 4 + (size_t)m->tlv[i].len;
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && need == 0)
			break;
		cap = need - (size_t)pass;
		/* exact size, so ASan sees any write past cap */
		if ((b = malloc(cap > 0 ? cap : 1)) == NULL)
			abort();
		pwl_w_init(&w, b, cap);
		if (has_status)
			pwl_w_status(&w, m->status);
		for (i = 0; i < m->n; i++)
			pwl_w_bytes(&w, m->tlv[i].tag, m->tlv[i].val,
			    m->tlv[i].len);
		CHECK(w.len <= cap);
		if (pass == 1) {
			CHECK(w.err == PWL_ERR_TOOBIG);
			free(b);
			continue;
		}
		CHECK(w.err == 0 && w.len == need);
		CHECK(pwl_msg_parse(b, w.len, has_status, &again) == 0);
		CHECK(again.status == m->status && again.n == m->n);
		for (i = 0; i < m->n; i++) {
			CHECK(again.tlv[i].tag == m->tlv[i].tag);
			CHECK(again.tlv[i].len == m->tlv[i].len);
			CHECK(memcmp(again.tlv[i].val, m->tlv[i].val,
			    m->tlv[i].len) == 0);
		}
		free(b);
	}
}

static void
walk(uint16_t type, const uint8_t *b, size_t len, int has_status, int depth)
{
	struct pwl_msg m;
	size_t i;
	int r;

	r = pwl_msg_parse(b, len, has_status, &m);
	CHECK(r == 0 || r == PWL_ERR_PROTO || r == PWL_ERR_TOOBIG);
	CHECK(m.n <= PWL_MSG_MAX_TLVS);
	if (r != 0)
		return;
	CHECK(!has_status || m.status == ((b[0] << 8) | b[1]));
	for (i = 0; i < m.n; i++)
		check_tlv(&m, i, b, len);
	check_format(type, &m);
	check_reencode(&m, has_status);
	if (depth >= MAX_DEPTH)
		return;
	for (i = 0; i < m.n; i++)
		if (m.tlv[i].tag == PWL_T_ITEM)
			walk(type, m.tlv[i].val, m.tlv[i].len, 0, depth + 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *body = data;
	size_t len = size;
	uint16_t type = 0;

	if (size >= PWL_HDR_LEN) {
		check_hdr(data);
		type = (uint16_t)((data[6] << 8) | data[7]);
		body = data + PWL_HDR_LEN;
		len = size - PWL_HDR_LEN;
	}
	CHECK(pwl_printable((const char *)body, len) ==
	    ref_printable(body, len));
	walk(type, body, len, 0, 0);
	walk(type, body, len, 1, 0);
	return 0;
}
