/*
 * test_codefmt.c: the text around a one-time code (pwlessd/codefmt.c):
 * masked destinations, templates, SMS prefixes and the allow-list.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codefmt.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct pair {
	const char	*in;
	const char	*out;
};

static void
mask_email(void **state)
{
	static const struct pair t[] = {
		{ "jane@example.com", "j***@e***.com" },
		{ "j@e.co.uk", "j***@e***.uk" },
		{ "x@localhost", "x***@l***" },
		{ "@example.com", "***" },
		{ "jane@", "***" },
		{ "\xc3\xa9lise@\xc3\xa9" "cole.fr",
		    "\xc3\xa9***@\xc3\xa9***.fr" },
		{ "\xe2\x82\xacx@e.org", "\xe2\x82\xac***@e***.org" },
		{ "\xc3x@e.org", "****@e***.org" },
		{ "nobody", "***" },
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		codefmt_mask_email(t[i].in, out, sizeof(out));
		assert_string_equal(out, t[i].out);
	}
}

static void
mask_phone(void **state)
{
	static const struct pair t[] = {
		{ "+41791234567", "+41*******67" },
		{ "+15005550006", "+15*******06" },
		{ "+123456", "***" },
		{ "+12345678", "+12****78" },
	};
	char out[32], small[5];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		codefmt_mask_phone(t[i].in, out, sizeof(out));
		assert_string_equal(out, t[i].out);
	}
	codefmt_mask_phone("+41791234567", small, sizeof(small));
	assert_string_equal(small, "***");
}

static void
prefixes(void **state)
{
	char out[17];

	(void)state;
	codefmt_prefix("+41791234567", out, sizeof(out));
	assert_string_equal(out, "+4179123");
	codefmt_prefix("+4179", out, sizeof(out));
	assert_string_equal(out, "+4179");
	assert_true(codefmt_prefix_allowed("", "+41791234567"));
	assert_true(codefmt_prefix_allowed(" , ", "+41791234567"));
	assert_true(codefmt_prefix_allowed("+41", "+41791234567"));
	assert_true(codefmt_prefix_allowed("+1, +41", "+41791234567"));
	assert_true(codefmt_prefix_allowed("+1,+41", "+41791234567"));
	assert_false(codefmt_prefix_allowed("+1, +49", "+41791234567"));
	assert_false(codefmt_prefix_allowed("+417", "+41691234567"));
}

static void
render(void **state)
{
	struct codefmt_vars v = { "12345678", "host1", "sshd", "", "jane",
	    "5", NULL };
	char out[128], tiny[12];

	(void)state;
	assert_int_equal(codefmt_render("{code} for {service} on {host} by "
	    "{user} from {rhost} ({minutes} min, {tty})", &v, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "12345678 for sshd on host1 by jane from "
	    "this machine (5 min, -)");
	assert_int_equal(codefmt_render("{nope} {code", &v, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "{nope} {code");
	assert_int_equal(codefmt_render("{{code}}", &v, out, sizeof(out)), 0);
	assert_string_equal(out, "{12345678}");
	v.rhost = "192.0.2.7";
	assert_int_equal(codefmt_render("{rhost}", &v, out, sizeof(out)), 0);
	assert_string_equal(out, "192.0.2.7");
	assert_int_equal(codefmt_render("code {code}", &v, tiny,
	    sizeof(tiny)), -1);
	assert_string_equal(tiny, "");
	assert_int_equal(codefmt_render("{code}", &v, tiny, 9), 0);
	assert_string_equal(tiny, "12345678");
	assert_int_equal(codefmt_render("{code}", &v, tiny, 8), -1);
	assert_int_equal(codefmt_render("", &v, tiny, 1), 0);
	assert_string_equal(tiny, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mask_email),
		cmocka_unit_test(mask_phone),
		cmocka_unit_test(prefixes),
		cmocka_unit_test(render),
	};

	return cmocka_run_group_tests_name("codefmt", tests, NULL, NULL);
}
