/*
 * fuzz_keyfmt.c: libFuzzer harness for the key and token shape
 * (lib/keyfmt.c).  Checks pwl_secret_parse and pwl_id_valid against a
 * reference written here from the spec, and compose/parse round trips.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyfmt.h"

#define CHECK(c)	do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

#define BUF_MAX		256		/* longest string we try */
#define BODY_LEN	(PWL_KEY_LEN - PWL_CRC_LEN)
#define SEP_AT		(PWL_PREFIX_LEN + PWL_ID_LEN)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
ref_b62(char c)
{
	return memchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz", c, 62) != NULL && c != '\0';
}

/* CRC-32 (IEEE, reflected) by table, unlike the bitwise one in keyfmt.c. */
static uint32_t
ref_crc32(const char *s, size_t n)
{
	static uint32_t tab[256];
	uint32_t c;
	size_t i;
	int k;

	if (tab[1] == 0) {
		for (i = 0; i < 256; i++) {
			c = (uint32_t)i;
			for (k = 0; k < 8; k++)
				c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
			tab[i] = c;
		}
	}
	c = 0xffffffffu;
	for (i = 0; i < n; i++)
		c = tab[(c ^ (uint8_t)s[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* The spec: pw[lt]_ + 10 base62 + '_' + 32 base62 + 6 base62 of CRC. */
static int
ref_parse(const char *s, int *kind)
{
	char want[PWL_CRC_LEN];
	uint32_t v;
	size_t i;
	int k;

	*kind = PWL_KIND_NONE;
	if (strlen(s) != PWL_KEY_LEN || memcmp(s, "pw", 2) != 0 ||
	    (s[2] != 'l' && s[2] != 't') || s[3] != '_' || s[SEP_AT] != '_')
		return -1;
	for (i = PWL_PREFIX_LEN; i < PWL_KEY_LEN; i++)
		if (i != SEP_AT && !ref_b62(s[i]))
			return -1;
	v = ref_crc32(s, BODY_LEN);
	for (k = PWL_CRC_LEN - 1; k >= 0; k--) {
		want[k] = pwl_base62[v % 62];
		v /= 62;
	}
	if (memcmp(want, s + BODY_LEN, PWL_CRC_LEN) != 0)
		return -1;
	*kind = s[2];
	return 0;
}

static int
ref_id_valid(const char *s)
{
	size_t i;

	if (strlen(s) != PWL_ID_LEN)
		return 0;
	for (i = 0; i < PWL_ID_LEN; i++)
		if (!ref_b62(s[i]))
			return 0;
	return 1;
}

/* One string through parse, kind and id_valid. */
static void
check_string(const char *s, size_t flip)
{
	char id[PWL_ID_LEN + 1], out[PWL_KEY_LEN + 1], bad[PWL_KEY_LEN + 1];
	char secret[PWL_SECRET_LEN + 1];
	int kind, rkind, r, rr;

	memset(id, 'X', sizeof(id));
	r = pwl_secret_parse(s, &kind, id);
	rr = ref_parse(s, &rkind);
	CHECK(r == rr && kind == rkind);
	CHECK(pwl_id_valid(s) == ref_id_valid(s));
	CHECK(strncmp(s, "pwl_", 4) == 0 ? pwl_secret_kind(s) == PWL_KIND_KEY :
	    strncmp(s, "pwt_", 4) == 0 ? pwl_secret_kind(s) == PWL_KIND_TOKEN :
	    pwl_secret_kind(s) == PWL_KIND_NONE);
	if (r != 0) {
		CHECK(id[0] == '\0' && kind == PWL_KIND_NONE);
		return;
	}
	/* accepted: exact length, id from its place, parts compose to it */
	CHECK(strlen(s) == PWL_KEY_LEN && pwl_secret_kind(s) == kind);
	CHECK(strlen(id) == PWL_ID_LEN && pwl_id_valid(id));
	CHECK(memcmp(id, s + PWL_PREFIX_LEN, PWL_ID_LEN) == 0);
	memcpy(secret, s + SEP_AT + 1, PWL_SECRET_LEN);
	secret[PWL_SECRET_LEN] = '\0';
	CHECK(pwl_secret_compose(kind, id, secret, out) == 0);
	CHECK(strcmp(out, s) == 0);

	/* any one character changed is caught */
	memcpy(bad, s, sizeof(bad));
	flip %= PWL_KEY_LEN;
	bad[flip] = bad[flip] == 'z' ? 'y' : bad[flip] == '_' ? 'a' : 'z';
	CHECK(pwl_secret_parse(bad, &kind, id) != 0);
}

/* Parts taken from the input: compose works exactly when they are valid. */
static void
check_compose(const uint8_t *data, size_t size)
{
	char id[BUF_MAX], secret[BUF_MAX], out[PWL_KEY_LEN + 1], pid[16];
	size_t idlen, seclen, i;
	int kind, k, r, ok;

	if (size < 3)
		return;
	kind = (data[0] & 3) == 0 ? 'l' : (data[0] & 3) == 1 ? 't' : data[1];
	idlen = data[2] % 16;
	data += 3;
	size -= 3;
	if (idlen > size)
		idlen = size;
	memcpy(id, data, idlen);
	id[idlen] = '\0';
	seclen = size - idlen < 40 ? size - idlen : 40;
	memcpy(secret, data + idlen, seclen);
	secret[seclen] = '\0';

	ok = (kind == 'l' || kind == 't') && ref_id_valid(id) &&
	    strlen(secret) == PWL_SECRET_LEN;
	for (i = 0; ok && i < PWL_SECRET_LEN; i++)
		ok = ref_b62(secret[i]);
	memset(out, 'X', sizeof(out));
	r = pwl_secret_compose(kind, id, secret, out);
	CHECK((r == 0) == ok);
	if (r != 0) {
		CHECK(out[0] == '\0');
		return;
	}
	CHECK(strlen(out) == PWL_KEY_LEN);
	CHECK(ref_parse(out, &k) == 0 && k == kind);
	CHECK(pwl_secret_parse(out, &k, pid) == 0 && k == kind);
	CHECK(strcmp(pid, id) == 0);
	CHECK(memcmp(out + SEP_AT + 1, secret, PWL_SECRET_LEN) == 0);
	check_string(out, data[0]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[BUF_MAX + 1];
	size_t n = size < BUF_MAX ? size : BUF_MAX;

	memcpy(s, data, n);
	s[n] = '\0';
	check_string(s, size);
	check_compose(data, size);
	return 0;
}
