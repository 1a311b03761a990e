/*
 * util.h: small helpers shared by pwlessd and the CLI: durations such as
 * 90s, 15m, 12h, 90d, and bounded string copies.
 */
#ifndef PWL_UTIL_H
#define PWL_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parses "90s", "15m", "12h", "90d" or plain seconds; 0 or -1. */
int	pwl_parse_duration(const char *, uint64_t *);
/* Formats seconds the same way, in the largest exact unit. */
void	pwl_format_duration(uint64_t, char *, size_t);
/* Parses a decimal unsigned number that fits max; 0 or -1. */
int	pwl_parse_uint(const char *, uint64_t max, uint64_t *);
/* strlcpy: copies, NUL-terminates, returns strlen(src). */
size_t	pwl_strlcpy(char *, const char *, size_t);

/* 1 when item is one of the names of a comma-separated list. */
int	pwl_list_has(const char *list, const char *item);
/* An address safe to put in mail headers: one @, no CR, LF, <, >, space. */
int	pwl_valid_email(const char *);
/* E.164: '+', a non-zero digit, then up to 14 more digits. */
int	pwl_valid_phone(const char *);

#endif /* PWL_UTIL_H */
