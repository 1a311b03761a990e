/*
 * tokencheck.c: a local service in miniature.  Links only libpwless and
 * includes only <pwless/client.h>, as a service would: reads a token on
 * stdin, checks it, prints "OK <user> <expires>" or "REFUSED <n> <text>".
 * Usage: tokencheck SOCKET [SERVICE]; exit 0 valid, 1 refused, 2 error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <pwless/client.h>

int
main(int argc, char **argv)
{
	char tok[256], user[PWL_CLIENT_USER_MAX + 1];
	uint64_t expires = 1;
	int r;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: tokencheck SOCKET [SERVICE] < TOKEN\n");
		return 64;
	}
	if (fgets(tok, sizeof(tok), stdin) == NULL)
		tok[0] = '\0';
	tok[strcspn(tok, "\r\n")] = '\0';
	r = pwl_token_verify(argv[1], tok, argc == 3 ? argv[2] : NULL, user,
	    &expires);
	if (r == PWL_TOKEN_OK) {
		printf("OK %s %" PRIu64 "\n", user, expires);
		return 0;
	}
	printf("REFUSED %d %s user=\"%s\" expires=%" PRIu64 "\n", r,
	    pwl_token_strerror(r), user, expires);
	return r > 0 ? 1 : 2;
}
