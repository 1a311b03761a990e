/*
 * pwless/client.h: libpwless, for local services that accept pwless tokens
 * (say, "Authorization: Bearer pwt_...").  One call asks pwlessd whether a
 * token is valid and whose it is.  Build with
 * `pkg-config --cflags --libs libpwless`.
 */
#ifndef PWLESS_CLIENT_H
#define PWLESS_CLIENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PWL_CLIENT_USER_MAX	255	/* longest user name, in bytes */

/*
 * Results of pwl_token_verify.  0: the token is valid.  Above 0: pwlessd
 * refused it (these are the protocol's status numbers; any other positive
 * value is a refusal too).  Below 0: pwlessd could not be asked; treat as
 * "try again later", never as valid.
 */
#define PWL_TOKEN_OK		0
#define PWL_TOKEN_DENIED	1	/* unknown, revoked, not for service */
#define PWL_TOKEN_EXPIRED	3	/* past its lifetime */
#define PWL_TOKEN_NOT_PERMITTED	5	/* this uid may not check the token */
#define PWL_TOKEN_UNAVAILABLE	10	/* pwlessd cannot use its database */

/* The same values as in pwless/proto.h. */
#ifndef PWL_ERR_NOSOCKET
#define PWL_ERR_NOSOCKET	(-1)	/* socket missing or refused */
#define PWL_ERR_TIMEOUT		(-2)	/* no answer within 10 seconds */
#define PWL_ERR_IO		(-3)	/* read, write or connect failed */
#define PWL_ERR_PROTO		(-4)	/* malformed answer */
#define PWL_ERR_VERSION		(-5)	/* pwlessd speaks another version */
#define PWL_ERR_TOOBIG		(-6)	/* over a limit */
#define PWL_ERR_NOMEM		(-7)
#define PWL_ERR_UNTRUSTED	(-8)	/* socket not served by root/pwless */
#define PWL_ERR_INVAL		(-9)	/* bad argument */
#endif

/*
 * Asks pwlessd whether token is valid, and valid for service unless
 * service is NULL (a token carries the set of services it works for;
 * name yours so tokens meant for others are refused).
 *
 * socket is pwlessd's socket, NULL for /run/pwless/pwlessd.sock.  On 0,
 * user holds the token's user name and *expires (unless expires is NULL)
 * its expiry in Unix time; otherwise user is "" and *expires is 0.
 *
 * The caller must be root, listed in trusted_uids, or a member of
 * [tokens] verify_group in pwlessd.conf; any other uid can check only
 * tokens of its own user.  Blocks for at most 10 seconds.  Keeps no state
 * and no descriptor: safe from several threads at once.
 */
int	pwl_token_verify(const char *socket, const char *token,
	    const char *service, char user[PWL_CLIENT_USER_MAX + 1],
	    uint64_t *expires);

/* A short sentence for any result of pwl_token_verify; never NULL. */
const char *pwl_token_strerror(int result);

#ifdef __cplusplus
}
#endif

#endif /* PWLESS_CLIENT_H */
