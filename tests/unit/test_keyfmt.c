/*
 * test_keyfmt.c: the shape of API keys and session tokens (lib/keyfmt.c):
 * compose and parse, the typo-catching CRC-32, and every way a pasted key
 * can be wrong.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "keyfmt.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define ID	"Ab3dE9gH0j"
#define SECRET	"0123456789ABCDEFGHIJKLMNOPabcdef"

/*
 * Recomputes the CRC of s (PWL_KEY_LEN long) in place, so that a test can
 * show the shape checks refuse a string whose CRC is right.
 */
static void
reseal(char *s)
{
	const size_t body = PWL_KEY_LEN - PWL_CRC_LEN;
	uint32_t v = pwl_crc32(s, body);
	int i;

	for (i = PWL_CRC_LEN - 1; i >= 0; i--) {
		s[body + (size_t)i] = pwl_base62[v % 62];
		v /= 62;
	}
}

/* Parses s, which must be refused, and checks the outputs are cleared. */
static void
refused(const char *s)
{
	char id[PWL_ID_LEN + 1];
	int kind = 12345;

	memset(id, 'Q', sizeof(id));
	if (pwl_secret_parse(s, &kind, id) != -1)
		fail_msg("accepted \"%s\"", s);
	assert_int_equal(kind, PWL_KIND_NONE);
	assert_int_equal(id[0], '\0');
}

static void
make(int kind, char out[PWL_KEY_LEN + 1])
{
	assert_int_equal(pwl_secret_compose(kind, ID, SECRET, out), 0);
}

static void
crc32_vectors(void **state)
{
	static const char fox[] =
	    "The quick brown fox jumps over the lazy dog";

	(void)state;
	assert_int_equal(pwl_crc32("123456789", 9), 0xcbf43926u);
	assert_int_equal(pwl_crc32("", 0), 0);
	assert_int_equal(pwl_crc32("a", 1), 0xe8b7be43u);
	assert_int_equal(pwl_crc32(fox, sizeof(fox) - 1), 0x414fa339u);
}

static void
round_trip_key(void **state)
{
	char s[PWL_KEY_LEN + 1], id[PWL_ID_LEN + 1], copy[PWL_KEY_LEN + 1];
	int kind;

	(void)state;
	make(PWL_KIND_KEY, s);
	assert_int_equal(strlen(s), PWL_KEY_LEN);
	assert_int_equal(strlen(s), 53);
	assert_memory_equal(s, "pwl_" ID "_" SECRET, PWL_KEY_LEN - 6);
	assert_int_equal(pwl_secret_kind(s), PWL_KIND_KEY);
	assert_int_equal(pwl_secret_parse(s, &kind, id), 0);
	assert_int_equal(kind, PWL_KIND_KEY);
	assert_string_equal(id, ID);
	/* the CRC is the documented one: CRC-32 of the rest, in base62 */
	memcpy(copy, s, sizeof(copy));
	reseal(copy);
	assert_string_equal(copy, s);
}

static void
round_trip_token(void **state)
{
	char s[PWL_KEY_LEN + 1], k[PWL_KEY_LEN + 1], id[PWL_ID_LEN + 1];
	int kind;

	(void)state;
	make(PWL_KIND_TOKEN, s);
	make(PWL_KIND_KEY, k);
	assert_int_equal(strlen(s), PWL_KEY_LEN);
	assert_memory_equal(s, "pwt_" ID "_" SECRET, PWL_KEY_LEN - 6);
	assert_int_equal(pwl_secret_kind(s), PWL_KIND_TOKEN);
	assert_int_equal(pwl_secret_parse(s, &kind, id), 0);
	assert_int_equal(kind, PWL_KIND_TOKEN);
	assert_string_equal(id, ID);
	/* the prefix is covered by the CRC */
	assert_memory_not_equal(s + PWL_KEY_LEN - 6, k + PWL_KEY_LEN - 6, 6);
}

/* Many ids and secrets, including the alphabet's ends. */
static void
round_trip_many(void **state)
{
	char id[PWL_ID_LEN + 1], sec[PWL_SECRET_LEN + 1];
	char s[PWL_KEY_LEN + 1], got[PWL_ID_LEN + 1];
	size_t i, j;
	int kind;

	(void)state;
	for (i = 0; i < 200; i++) {
		for (j = 0; j < PWL_ID_LEN; j++)
			id[j] = pwl_base62[(i * 7 + j * 13) % 62];
		id[PWL_ID_LEN] = '\0';
		for (j = 0; j < PWL_SECRET_LEN; j++)
			sec[j] = pwl_base62[(i * 31 + j * 5 + i * j) % 62];
		sec[PWL_SECRET_LEN] = '\0';
		kind = i % 2 ? PWL_KIND_KEY : PWL_KIND_TOKEN;
		assert_int_equal(pwl_secret_compose(kind, id, sec, s), 0);
		assert_int_equal(pwl_secret_parse(s, &kind, got), 0);
		assert_int_equal(kind, i % 2 ? PWL_KIND_KEY : PWL_KIND_TOKEN);
		assert_string_equal(got, id);
	}
}

static void
compose_rejects(void **state)
{
	static const char *bad_ids[] = {
		"", "Ab3dE9gH0", "Ab3dE9gH0jk", "Ab3dE9gH0_", "Ab3dE9gH0-",
		"Ab3d 9gH0j", "\xc3\xa9" "b3dE9gH0",
	};
	static const char *bad_secrets[] = {
		"", "0123456789ABCDEFGHIJKLMNOPabcde",
		"0123456789ABCDEFGHIJKLMNOPabcdefg",
		"0123456789ABCDEFGHIJKLMNOPabcde_",
		"0123456789ABCDEFGHIJKLMNOPabcde=",
		"+123456789ABCDEFGHIJKLMNOPabcdef",
	};
	char s[PWL_KEY_LEN + 1];
	size_t i;

	(void)state;
	memset(s, 'Q', sizeof(s));
	assert_int_equal(pwl_secret_compose(PWL_KIND_NONE, ID, SECRET, s), -1);
	assert_int_equal(s[0], '\0');
	assert_int_equal(pwl_secret_compose('x', ID, SECRET, s), -1);
	for (i = 0; i < NELEM(bad_ids); i++) {
		memset(s, 'Q', sizeof(s));
		assert_int_equal(pwl_secret_compose(PWL_KIND_KEY, bad_ids[i],
		    SECRET, s), -1);
		assert_int_equal(s[0], '\0');
	}
	for (i = 0; i < NELEM(bad_secrets); i++) {
		memset(s, 'Q', sizeof(s));
		assert_int_equal(pwl_secret_compose(PWL_KIND_TOKEN, ID,
		    bad_secrets[i], s), -1);
		assert_int_equal(s[0], '\0');
	}
}

/* A typo anywhere, to any other byte, is caught. */
static void
single_change_refused(void **state)
{
	static const int kinds[] = { PWL_KIND_KEY, PWL_KIND_TOKEN };
	char good[PWL_KEY_LEN + 1], s[PWL_KEY_LEN + 1];
	size_t i, k, tried = 0;
	int c;

	(void)state;
	for (k = 0; k < NELEM(kinds); k++) {
		make(kinds[k], good);
		for (i = 0; i < PWL_KEY_LEN; i++) {
			for (c = 1; c < 256; c++) {
				if (c == (unsigned char)good[i])
					continue;
				memcpy(s, good, sizeof(s));
				s[i] = (char)c;
				refused(s);
				tried++;
			}
		}
	}
	assert_int_equal(tried, 2 * PWL_KEY_LEN * 254);
}

static void
length_refused(void **state)
{
	char good[PWL_KEY_LEN + 1], s[PWL_KEY_LEN + 8];
	size_t n;

	(void)state;
	make(PWL_KIND_KEY, good);
	for (n = 0; n < PWL_KEY_LEN; n++) {
		memcpy(s, good, n);
		s[n] = '\0';
		refused(s);
	}
	/* a character more, a newline from a paste, a character dropped */
	snprintf(s, sizeof(s), "%sA", good);
	refused(s);
	snprintf(s, sizeof(s), "%s\n", good);
	refused(s);
	snprintf(s, sizeof(s), " %s", good);
	refused(s);
	memcpy(s, good, 20);
	memcpy(s + 20, good + 21, sizeof(good) - 21);
	refused(s);
}

/* Shape errors are refused even when the CRC matches them. */
static void
shape_refused_with_valid_crc(void **state)
{
	static const char *prefixes[] = {
		"pwx_", "PWL_", "pwl-", "pwt-", "xwl_", "ppl_", "pw__",
	};
	static const char outside[] = "-_+/=.~ !:";
	char good[PWL_KEY_LEN + 1], s[PWL_KEY_LEN + 1], id[PWL_ID_LEN + 1];
	const size_t sep = PWL_PREFIX_LEN + PWL_ID_LEN;
	size_t i, j;
	int kind;

	(void)state;
	make(PWL_KIND_KEY, good);
	for (i = 0; i < NELEM(prefixes); i++) {
		memcpy(s, good, sizeof(s));
		memcpy(s, prefixes[i], PWL_PREFIX_LEN);
		reseal(s);
		refused(s);
	}
	/* the separator, replaced by base62 or other characters */
	for (j = 0; j < sizeof(outside) - 1; j++) {
		if (outside[j] == '_')
			continue;
		memcpy(s, good, sizeof(s));
		s[sep] = outside[j];
		reseal(s);
		refused(s);
	}
	memcpy(s, good, sizeof(s));
	s[sep] = 'a';
	reseal(s);
	refused(s);
	/* outside the alphabet in the id or the secret */
	for (i = PWL_PREFIX_LEN; i < PWL_KEY_LEN - PWL_CRC_LEN; i++) {
		if (i == sep)
			continue;
		for (j = 0; j < sizeof(outside) - 1; j++) {
			memcpy(s, good, sizeof(s));
			s[i] = outside[j];
			reseal(s);
			refused(s);
		}
		memcpy(s, good, sizeof(s));
		s[i] = '\xc3';
		reseal(s);
		refused(s);
	}
	/* and a resealed valid change is, of course, accepted */
	memcpy(s, good, sizeof(s));
	s[PWL_PREFIX_LEN + PWL_ID_LEN + 1] = 'z';
	reseal(s);
	assert_int_equal(pwl_secret_parse(s, &kind, id), 0);
	assert_int_equal(kind, PWL_KIND_KEY);
}

static void
kind_by_prefix(void **state)
{
	(void)state;
	assert_int_equal(pwl_secret_kind("pwl_"), PWL_KIND_KEY);
	assert_int_equal(pwl_secret_kind("pwl_anything"), PWL_KIND_KEY);
	assert_int_equal(pwl_secret_kind("pwt_x"), PWL_KIND_TOKEN);
	assert_int_equal(pwl_secret_kind("pwl"), PWL_KIND_NONE);
	assert_int_equal(pwl_secret_kind(""), PWL_KIND_NONE);
	assert_int_equal(pwl_secret_kind("PWL_x"), PWL_KIND_NONE);
	assert_int_equal(pwl_secret_kind("pwx_x"), PWL_KIND_NONE);
	assert_int_equal(pwl_secret_kind("12345678"), PWL_KIND_NONE);
}

static void
id_valid(void **state)
{
	static const char *bad[] = {
		"", "A", "012345678", "01234567890", "0123456789 ",
		"01234_6789", "0123-56789", "0123456789\n",
		"\xc3\xa9" "3456789", "012345678\x7f",
	};
	size_t i;

	(void)state;
	assert_true(pwl_id_valid("0123456789"));
	assert_true(pwl_id_valid("zZaA09yYbB"));
	assert_true(pwl_id_valid(ID));
	for (i = 0; i < NELEM(bad); i++)
		if (pwl_id_valid(bad[i]))
			fail_msg("accepted id bad[%zu]", i);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc32_vectors),
		cmocka_unit_test(round_trip_key),
		cmocka_unit_test(round_trip_token),
		cmocka_unit_test(round_trip_many),
		cmocka_unit_test(compose_rejects),
		cmocka_unit_test(single_change_refused),
		cmocka_unit_test(length_refused),
		cmocka_unit_test(shape_refused_with_valid_crc),
		cmocka_unit_test(kind_by_prefix),
		cmocka_unit_test(id_valid),
	};

	return cmocka_run_group_tests_name("keyfmt", tests, NULL, NULL);
}
