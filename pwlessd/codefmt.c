/*
 * codefmt.c: the text around a one-time code: masked destinations
 * (j***@e***.com, +41******67), message templates with {code} {host}
 * {service} {rhost} {user} {minutes}, and SMS number prefixes.  Pure
 * functions, no daemon state, so unit tests link this file alone.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "codefmt.h"
#include "util.h"

/* The first character of s (a whole UTF-8 sequence), or "*". */
static void
first_char(const char *s, char out[5])
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 :
	    (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	size_t i;

	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			n = 0;
	if (n == 0 || p[0] < 0x21)
		n = 0;
	memcpy(out, n > 0 ? s : "*", n > 0 ? n : 1);
	out[n > 0 ? n : 1] = '\0';
}

/* "jane@example.com" -> "j***@e***.com"; a bad address gives "***". */
void
codefmt_mask_email(const char *addr, char *out, size_t sz)
{
	const char *at = strchr(addr, '@'), *dot;
	char a[5], b[5];

	if (at == NULL || at == addr || at[1] == '\0') {
		snprintf(out, sz, "***");
		return;
	}
	first_char(addr, a);
	first_char(at + 1, b);
	dot = strrchr(at + 1, '.');
	snprintf(out, sz, "%s***@%s***%s", a, b,
	    dot != NULL && dot > at + 1 ? dot : "");
}

/* "+41791234567" -> "+41*******67": country code kept, last 2 shown. */
void
codefmt_mask_phone(const char *phone, char *out, size_t sz)
{
	size_t n = strlen(phone), i, o = 0;

	if (n < 8 || sz < n + 1) {
		snprintf(out, sz, "***");
		return;
	}
	for (i = 0; i < n; i++)
		out[o++] = i < 3 || i >= n - 2 ? phone[i] : '*';
	out[o] = '\0';
}

/* The number without its last four digits, for per-prefix limits. */
void
codefmt_prefix(const char *phone, char *out, size_t sz)
{
	size_t n = strlen(phone);

	if (n <= 5) {
		pwl_strlcpy(out, phone, sz);
		return;
	}
	snprintf(out, sz, "%.*s", (int)(n - 4), phone);
}

/* 1 when phone starts with one of the comma-separated prefixes ("" = any). */
int
codefmt_prefix_allowed(const char *list, const char *phone)
{
	const char *p = list;
	size_t n;

	p += strspn(p, ", ");
	if (*p == '\0')
		return 1;
	while (*p != '\0') {
		n = strcspn(p, ", ");
		if (n > 0 && strncmp(phone, p, n) == 0)
			return 1;
		p += n;
		p += strspn(p, ", ");
	}
	return 0;
}

static const char *
var_value(const struct codefmt_vars *v, const char *name, size_t n)
{
	static const char *const names[] = {
		"code", "host", "service", "rhost", "user", "minutes", "tty",
	};
	const char *vals[] = {
		v->code, v->host, v->service,
		v->rhost != NULL && v->rhost[0] != '\0' ? v->rhost :
		    "this machine",
		v->user, v->minutes,
		v->tty != NULL && v->tty[0] != '\0' ? v->tty : "-",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncmp(names[i], name, n) == 0)
			return vals[i] != NULL ? vals[i] : "";
	return NULL;
}

/*
 * Fills tmpl's placeholders into out.  Unknown {words} stay as they are.
 * Returns 0, or -1 when out is too small (out is then empty).
 */
int
codefmt_render(const char *tmpl, const struct codefmt_vars *v, char *out,
    size_t sz)
{
	const char *p = tmpl, *end, *val;
	size_t o = 0, n;

	if (sz == 0)
		return -1;
	while (*p != '\0') {
		val = NULL;
		if (*p == '{' && (end = strchr(p + 1, '}')) != NULL)
			val = var_value(v, p + 1, (size_t)(end - p - 1));
		if (val != NULL) {
			n = strlen(val);
			if (n >= sz - o)
				goto toolong;
			memcpy(out + o, val, n);
			o += n;
			p = end + 1;
		} else {
			if (o + 1 >= sz)
				goto toolong;
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return 0;
 toolong:
	memset(out, 0, sz);
	return -1;
}
