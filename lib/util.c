/*
 * util.c: durations, numbers and bounded copies (util.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

int
pwl_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	unsigned d;

	*out = 0;
	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
pwl_parse_duration(const char *s, uint64_t *out)
{
	char num[24];
	size_t n;
	uint64_t v, mult = 1;

	*out = 0;
	if (s == NULL || (n = strlen(s)) == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': mult = 1; num[--n] = '\0'; break;
	case 'm': mult = 60; num[--n] = '\0'; break;
	case 'h': mult = 3600; num[--n] = '\0'; break;
	case 'd': mult = 86400; num[--n] = '\0'; break;
	default: break;
	}
	/* at most 100 years: far from overflow, and above any sane lifetime */
	if (pwl_parse_uint(num, UINT64_C(3153600000) / mult, &v) != 0)
		return -1;
	*out = v * mult;
	return 0;
}

void
pwl_format_duration(uint64_t s, char *out, size_t sz)
{
	if (s != 0 && s % 86400 == 0)
		snprintf(out, sz, "%llud", (unsigned long long)(s / 86400));
	else if (s != 0 && s % 3600 == 0)
		snprintf(out, sz, "%lluh", (unsigned long long)(s / 3600));
	else if (s != 0 && s % 60 == 0)
		snprintf(out, sz, "%llum", (unsigned long long)(s / 60));
	else
		snprintf(out, sz, "%llus", (unsigned long long)s);
}

size_t
pwl_strlcpy(char *dst, const char *src, size_t sz)
{
	size_t n = strlen(src);

	if (sz > 0) {
		size_t c = n < sz - 1 ? n : sz - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

int
pwl_valid_email(const char *s)
{
	const char *at;
	size_t n = strlen(s);

	if (n < 3 || n > 254 || s[strcspn(s, " \t\r\n<>\"\\,;()[]")] != '\0')
		return 0;
	if ((at = strchr(s, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return 0;
	if (at == s || at[1] == '\0' || strchr(at + 1, '.') == NULL)
		return 0;
	while (*s != '\0') {
		unsigned char c = (unsigned char)*s++;

		if (c < 0x21 || c == 0x7f)
			return 0;
	}
	return 1;
}

int
pwl_valid_phone(const char *s)
{
	size_t n;

	if (s[0] != '+' || s[1] < '1' || s[1] > '9')
		return 0;
	for (n = 1; s[n] != '\0'; n++)
		if (s[n] < '0' || s[n] > '9')
			return 0;
	return n >= 3 && n <= 16;
}

int
pwl_list_has(const char *list, const char *item)
{
	size_t n = strlen(item), len;

	while (n > 0 && *list != '\0') {
		len = strcspn(list, ",");
		if (len == n && strncmp(list, item, n) == 0)
			return 1;
		list += len;
		if (*list == ',')
			list++;
	}
	return 0;
}
