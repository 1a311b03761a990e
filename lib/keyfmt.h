/*
 * keyfmt.h: the shape of API keys and session tokens,
 * pwl_<id>_<secret><crc> and pwt_<id>_<secret><crc> in base62.
 * The CRC lets callers reject typos before any IPC; it is no security check.
 */
#ifndef PWL_KEYFMT_H
#define PWL_KEYFMT_H

#include <stddef.h>
#include <stdint.h>

#define PWL_ID_LEN	10	/* base62 id: ~59 bits, unique */
#define PWL_SECRET_LEN	32	/* base62 secret: ~190 bits */
#define PWL_CRC_LEN	6	/* base62 CRC-32 of what precedes it */
#define PWL_PREFIX_LEN	4	/* "pwl_" or "pwt_" */
#define PWL_KEY_LEN	(PWL_PREFIX_LEN + PWL_ID_LEN + 1 + PWL_SECRET_LEN + \
			    PWL_CRC_LEN)

enum pwl_secret_kind {
	PWL_KIND_NONE	= 0,
	PWL_KIND_KEY	= 'l',	/* pwl_: API key */
	PWL_KIND_TOKEN	= 't',	/* pwt_: session token */
};

extern const char pwl_base62[62];

uint32_t pwl_crc32(const void *, size_t);

/* Kind a string claims by its prefix alone (no checks). */
int	pwl_secret_kind(const char *);

/*
 * Checks shape, alphabet and CRC.  On success returns 0, sets *kind and
 * copies the id (NUL-terminated) into id; -1 otherwise.
 */
int	pwl_secret_parse(const char *, int *kind, char id[PWL_ID_LEN + 1]);

/* Builds a key or token from an id and a secret of base62 characters. */
int	pwl_secret_compose(int kind, const char *id, const char *secret,
	    char out[PWL_KEY_LEN + 1]);

/* 1 when s is a well-formed id (PWL_ID_LEN base62 characters). */
int	pwl_id_valid(const char *);

#endif /* PWL_KEYFMT_H */
