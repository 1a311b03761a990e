/*
 * keyfmt.c: compose and check API keys and tokens (keyfmt.h).  Shared by
 * the PAM module (typo check before IPC), the CLI and pwlessd.
 */
#include "config.h"

#include <string.h>

#include "keyfmt.h"

const char pwl_base62[62] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* CRC-32 (IEEE, reflected), four bits at a time from a 16-entry table. */
uint32_t
pwl_crc32(const void *buf, size_t n)
{
	static const uint32_t t[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
		0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	const uint8_t *p = buf;
	uint32_t crc = 0xffffffffu;
	size_t i;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ t[crc & 0x0f];
		crc = (crc >> 4) ^ t[crc & 0x0f];
	}
	return ~crc;
}

static int
is_b62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z');
}

static void
crc_b62(const char *s, size_t n, char out[PWL_CRC_LEN])
{
	uint32_t v = pwl_crc32(s, n);
	int i;

	for (i = PWL_CRC_LEN - 1; i >= 0; i--) {
		out[i] = pwl_base62[v % 62];
		v /= 62;
	}
}

int
pwl_secret_kind(const char *s)
{
	if (strncmp(s, "pwl_", PWL_PREFIX_LEN) == 0)
		return PWL_KIND_KEY;
	if (strncmp(s, "pwt_", PWL_PREFIX_LEN) == 0)
		return PWL_KIND_TOKEN;
	return PWL_KIND_NONE;
}

int
pwl_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < PWL_ID_LEN; i++)
		if (!is_b62(s[i]))
			return 0;
	return s[PWL_ID_LEN] == '\0';
}

int
pwl_secret_parse(const char *s, int *kind, char id[PWL_ID_LEN + 1])
{
	const size_t body = PWL_KEY_LEN - PWL_CRC_LEN;
	char crc[PWL_CRC_LEN];
	size_t i;
	int k;

	*kind = PWL_KIND_NONE;
	id[0] = '\0';
	if ((k = pwl_secret_kind(s)) == PWL_KIND_NONE)
		return -1;
	if (strnlen(s, PWL_KEY_LEN + 1) != PWL_KEY_LEN)
		return -1;
	if (s[PWL_PREFIX_LEN + PWL_ID_LEN] != '_')
		return -1;
	for (i = PWL_PREFIX_LEN; i < PWL_KEY_LEN; i++)
		if (i != PWL_PREFIX_LEN + PWL_ID_LEN && !is_b62(s[i]))
			return -1;
	crc_b62(s, body, crc);
	if (memcmp(crc, s + body, PWL_CRC_LEN) != 0)
		return -1;
	memcpy(id, s + PWL_PREFIX_LEN, PWL_ID_LEN);
	id[PWL_ID_LEN] = '\0';
	*kind = k;
	return 0;
}

int
pwl_secret_compose(int kind, const char *id, const char *secret,
    char out[PWL_KEY_LEN + 1])
{
	size_t i;
	char *p = out;

	out[0] = '\0';
	if (kind != PWL_KIND_KEY && kind != PWL_KIND_TOKEN)
		return -1;
	if (!pwl_id_valid(id) || strlen(secret) != PWL_SECRET_LEN)
		return -1;
	for (i = 0; i < PWL_SECRET_LEN; i++)
		if (!is_b62(secret[i]))
			return -1;
	memcpy(p, kind == PWL_KIND_KEY ? "pwl_" : "pwt_", PWL_PREFIX_LEN);
	p += PWL_PREFIX_LEN;
	memcpy(p, id, PWL_ID_LEN);
	p += PWL_ID_LEN;
	*p++ = '_';
	memcpy(p, secret, PWL_SECRET_LEN);
	p += PWL_SECRET_LEN;
	crc_b62(out, (size_t)(p - out), p);
	p[PWL_CRC_LEN] = '\0';
	return 0;
}
