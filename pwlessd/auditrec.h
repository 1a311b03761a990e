/*
 * auditrec.h: the audit journal's record codec (auditrec.c).
 */
#ifndef PWLESSD_AUDITREC_H
#define PWLESSD_AUDITREC_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define AUDITREC_MAX	2048	/* larger than any record */
#define AUDITREC_HASH	32

/* Encodes a into out (AUDITREC_MAX bytes); returns the record's length. */
size_t	auditrec_encode(const struct audit_row *a, uint8_t *out);
/*
 * Decodes the record at p (n bytes there) into a: its length, 0 when it
 * is not all there yet, -1 when it is malformed.
 */
ssize_t	auditrec_decode(const uint8_t *p, size_t n, struct audit_row *a);

#endif /* PWLESSD_AUDITREC_H */
