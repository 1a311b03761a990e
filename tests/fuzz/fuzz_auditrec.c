/*
 * fuzz_auditrec.c: libFuzzer harness for the audit journal's record
 * codec (pwlessd/auditrec.c), which pwlessd runs at start over whatever
 * a crash or an editor left in <database>-audit.  The input is a journal:
 * records are decoded one after another until one is torn or malformed.
 * Each decoded row must hold C strings within their fields, and encode
 * back to exactly the bytes it came from (one encoding per row).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditrec.h"

#define CHECK(c)	do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_str(const char *s, size_t sz)
{
	CHECK(memchr(s, '\0', sz) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[AUDITREC_MAX];
	struct audit_row a;
	size_t off = 0, m;
	ssize_t n;

	while (off < size) {
		n = auditrec_decode(data + off, size - off, &a);
		CHECK(n >= -1 && n <= (ssize_t)(size - off));
		if (n <= 0)
			break;
		CHECK(n <= AUDITREC_MAX);
		check_str(a.event, sizeof(a.event));
		check_str(a.user, sizeof(a.user));
		check_str(a.service, sizeof(a.service));
		check_str(a.rhost, sizeof(a.rhost));
		check_str(a.method, sizeof(a.method));
		check_str(a.result, sizeof(a.result));
		check_str(a.detail, sizeof(a.detail));
		m = auditrec_encode(&a, out);
		CHECK(m == (size_t)n);
		CHECK(memcmp(out, data + off, m) == 0);
		off += (size_t)n;
	}
	return 0;
}
