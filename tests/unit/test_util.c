/*
 * test_util.c: the helpers of lib/util.c as config files and the CLI use
 * them: durations (90s, 15m, 12h, 90d), bounded numbers, strlcpy.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define YEARS_100	UINT64_C(3153600000)	/* the duration cap */

struct dur {
	const char	*s;
	uint64_t	 v;
};

static void
duration_units(void **state)
{
	static const struct dur ok[] = {
		{ "90s", 90 }, { "15m", 900 }, { "12h", 43200 },
		{ "90d", 7776000 }, { "3600", 3600 }, { "0", 0 },
		{ "0s", 0 }, { "0d", 0 }, { "1m", 60 }, { "007", 7 },
		{ "36500d", YEARS_100 }, { "876000h", YEARS_100 },
		{ "52560000m", YEARS_100 }, { "3153600000s", YEARS_100 },
		{ "3153600000", YEARS_100 },
	};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(ok); i++) {
		v = 12345;
		if (pwl_parse_duration(ok[i].s, &v) != 0)
			fail_msg("refused \"%s\"", ok[i].s);
		assert_true(v == ok[i].v);
	}
}

static void
duration_rejects(void **state)
{
	static const char *bad[] = {
		"", "5x", "-1", "m", "s", "d", "h", "1.5h", " 5", "5 ", "+5",
		"5mm", "5ms", "0x10", "1e3", "5M", "5S", "1w", "1y", "5\n",
		"\xd9\xa5",				/* Arabic-Indic five */
		"36501d", "876001h", "52560001m", "3153600001s", "3153600001",
		"18446744073709551615", "18446744073709551616",
		"99999999999999999999999", "999999999999999999999999d",
	};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		v = 12345;
		if (pwl_parse_duration(bad[i], &v) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(v == 0);
	}
	v = 12345;
	assert_int_equal(pwl_parse_duration(NULL, &v), -1);
	assert_true(v == 0);
}

static void
format_duration(void **state)
{
	static const struct dur want[] = {
		{ "0s", 0 }, { "1s", 1 }, { "59s", 59 }, { "1m", 60 },
		{ "61s", 61 }, { "15m", 900 }, { "1h", 3600 },
		{ "12h", 43200 }, { "25h", 90000 }, { "1d", 86400 },
		{ "90d", 7776000 }, { "90061s", 90061 }, { "1441m", 86460 },
		{ "36500d", YEARS_100 },
		{ "18446744073709551615s", UINT64_MAX },
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(want); i++) {
		pwl_format_duration(want[i].v, out, sizeof(out));
		assert_string_equal(out, want[i].s);
	}
	/* a short buffer truncates and stays NUL-terminated */
	memset(out, 'Z', sizeof(out));
	pwl_format_duration(7776000, out, 3);
	assert_string_equal(out, "90");
	assert_int_equal(out[3], 'Z');
	pwl_format_duration(7776000, out, 1);
	assert_string_equal(out, "");
}

/* What is printed reads back as the same number of seconds. */
static void
duration_round_trip(void **state)
{
	static const uint64_t extra[] = {
		YEARS_100, YEARS_100 - 1, 86400 * 365, 3600 * 24 * 7 + 1,
		60 * 59, 86400 * 3650,
	};
	char out[32];
	uint64_t s, v;
	size_t i;

	(void)state;
	for (s = 0; s < 3 * 86400; s += 7) {
		pwl_format_duration(s, out, sizeof(out));
		assert_int_equal(pwl_parse_duration(out, &v), 0);
		assert_true(v == s);
	}
	for (s = 0; s <= YEARS_100; s += 86400 * 97 + 3600) {
		pwl_format_duration(s, out, sizeof(out));
		assert_int_equal(pwl_parse_duration(out, &v), 0);
		assert_true(v == s);
	}
	for (i = 0; i < NELEM(extra); i++) {
		pwl_format_duration(extra[i], out, sizeof(out));
		assert_int_equal(pwl_parse_duration(out, &v), 0);
		assert_true(v == extra[i]);
	}
}

static void
parse_uint_bounds(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(pwl_parse_uint("0", 0xff, &v), 0);
	assert_true(v == 0);
	assert_int_equal(pwl_parse_uint("42", 0xff, &v), 0);
	assert_true(v == 42);
	assert_int_equal(pwl_parse_uint("0042", 0xff, &v), 0);
	assert_true(v == 42);
	assert_int_equal(pwl_parse_uint("255", 255, &v), 0);
	assert_true(v == 255);
	v = 1;
	assert_int_equal(pwl_parse_uint("256", 255, &v), -1);
	assert_true(v == 0);
	assert_int_equal(pwl_parse_uint("2550", 255, &v), -1);
	assert_int_equal(pwl_parse_uint("32", 32, &v), 0);
	assert_int_equal(pwl_parse_uint("33", 32, &v), -1);
	assert_int_equal(pwl_parse_uint("10", 10, &v), 0);
	assert_int_equal(pwl_parse_uint("11", 10, &v), -1);
	assert_int_equal(pwl_parse_uint("4294967294", UINT32_MAX - 1, &v), 0);
	assert_int_equal(pwl_parse_uint("4294967295", UINT32_MAX - 1, &v),
	    -1);
	assert_int_equal(pwl_parse_uint("18446744073709551615", UINT64_MAX,
	    &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(pwl_parse_uint("18446744073709551616", UINT64_MAX,
	    &v), -1);
	assert_int_equal(pwl_parse_uint("99999999999999999999", UINT64_MAX,
	    &v), -1);
}

static void
parse_uint_rejects(void **state)
{
	static const char *bad[] = {
		"", "-1", "+1", " 1", "1 ", "1a", "0x1", "1.0", "1e2", "\n",
	};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		v = 7;
		if (pwl_parse_uint(bad[i], UINT64_MAX, &v) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(v == 0);
	}
	assert_int_equal(pwl_parse_uint(NULL, UINT64_MAX, &v), -1);
}

/* A bound below 9 holds for single digits too ("enabled = 0..1"). */
static void
parse_uint_small_max(void **state)
{
	uint64_t v, max;
	char s[2];
	int d;

	(void)state;
	for (max = 0; max < 10; max++) {
		for (d = 0; d <= 9; d++) {
			s[0] = (char)('0' + d);
			s[1] = '\0';
			v = 99;
			if ((uint64_t)d <= max) {
				assert_int_equal(pwl_parse_uint(s, max, &v),
				    0);
				assert_true(v == (uint64_t)d);
			} else if (pwl_parse_uint(s, max, &v) != -1)
				fail_msg("accepted \"%s\" with max %llu "
				    "(got %llu)", s, (unsigned long long)max,
				    (unsigned long long)v);
		}
	}
}

static void
strlcpy_truncates(void **state)
{
	char b[8];

	(void)state;
	memset(b, 'Z', sizeof(b));
	assert_int_equal(pwl_strlcpy(b, "hello", sizeof(b)), 5);
	assert_string_equal(b, "hello");
	memset(b, 'Z', sizeof(b));
	assert_int_equal(pwl_strlcpy(b, "hello world", 6), 11);
	assert_string_equal(b, "hello");
	assert_int_equal(b[6], 'Z');
	memset(b, 'Z', sizeof(b));
	assert_int_equal(pwl_strlcpy(b, "1234567", sizeof(b)), 7);
	assert_string_equal(b, "1234567");
	assert_int_equal(pwl_strlcpy(b, "12345678", sizeof(b)), 8);
	assert_string_equal(b, "1234567");
	assert_int_equal(pwl_strlcpy(b, "", sizeof(b)), 0);
	assert_string_equal(b, "");
	memset(b, 'Z', sizeof(b));
	assert_int_equal(pwl_strlcpy(b, "abc", 1), 3);
	assert_int_equal(b[0], '\0');
	assert_int_equal(b[1], 'Z');
	assert_int_equal(pwl_strlcpy(b, "abc", 0), 3);
	assert_int_equal(b[1], 'Z');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(duration_units),
		cmocka_unit_test(duration_rejects),
		cmocka_unit_test(format_duration),
		cmocka_unit_test(duration_round_trip),
		cmocka_unit_test(parse_uint_bounds),
		cmocka_unit_test(parse_uint_rejects),
		cmocka_unit_test(parse_uint_small_max),
		cmocka_unit_test(strlcpy_truncates),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
