/*
 * client.c: libpwless (pwless/client.h).  Checks a token with one
 * TOKEN_VERIFY request over the transport the PAM module uses; exports
 * only what client.h declares (libpwless.map).
 */
#include "config.h"

#include <string.h>

#include "pwless/client.h"
#include "pwless/proto.h"
#include "keyfmt.h"
#include "transport.h"
#include "util.h"

/* client.h repeats these; keep them equal. */
_Static_assert(PWL_TOKEN_DENIED == PWL_ST_DENIED &&
    PWL_TOKEN_EXPIRED == PWL_ST_EXPIRED &&
    PWL_TOKEN_NOT_PERMITTED == PWL_ST_NOT_PERMITTED &&
    PWL_TOKEN_UNAVAILABLE == PWL_ST_UNAVAILABLE &&
    PWL_CLIENT_USER_MAX == PWL_USER_MAX, "client.h and proto.h differ");

static int
field_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	return n > 0 && n <= max && pwl_printable(s, n);
}

/* Reads USER and EXPIRES of an OK reply into the caller's buffers. */
static int
take_answer(const struct pwl_msg *m, char *user, uint64_t *expires)
{
	uint64_t e;

	if (pwl_msg_str(m, PWL_T_USER, user, PWL_USER_MAX + 1) != 0 ||
	    user[0] == '\0' || pwl_msg_u64(m, PWL_T_EXPIRES, &e) != 0) {
		user[0] = '\0';
		return PWL_ERR_PROTO;
	}
	if (expires != NULL)
		*expires = e;
	return 0;
}

int
pwl_token_verify(const char *socket, const char *token, const char *service,
    char user[PWL_CLIENT_USER_MAX + 1], uint64_t *expires)
{
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	char id[PWL_ID_LEN + 1];
	int kind, r;

	if (user != NULL)
		user[0] = '\0';
	if (expires != NULL)
		*expires = 0;
	if (user == NULL || token == NULL || (service != NULL &&
	    !field_ok(service, PWL_SERVICE_MAX)))
		return PWL_ERR_INVAL;
	if (strnlen(token, PWL_SECRET_MAX + 1) > PWL_SECRET_MAX ||
	    pwl_secret_parse(token, &kind, id) != 0 || kind != PWL_KIND_TOKEN)
		return PWL_TOKEN_DENIED;	/* not even shaped like one */
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_SERVICE, service);
	pwl_w_str(&w, PWL_T_TOKEN, token);
	r = w.err != 0 ? w.err : pwl_transact(socket != NULL ? socket :
	    PWL_DEFAULT_SOCKET, PWL_DEFAULT_MS, PWL_MSG_TOKEN_VERIFY, req,
	    w.len, &rep);
	explicit_bzero(req, sizeof(req));
	if (r == 0)
		r = rep.msg.status != PWL_ST_OK ? (int)rep.msg.status :
		    take_answer(&rep.msg, user, expires);
	pwl_reply_clear(&rep);
	return r;
}

const char *
pwl_token_strerror(int result)
{
	switch (result) {
	case PWL_TOKEN_OK:
		return "the token is valid";
	case PWL_TOKEN_DENIED:
		return "the token is not valid: unknown, revoked, or not for "
		    "this service";
	case PWL_TOKEN_EXPIRED:
		return "the token has expired";
	case PWL_TOKEN_NOT_PERMITTED:
		return "this program may not check that token; run it as "
		    "root or put its user in [tokens] verify_group";
	case PWL_TOKEN_UNAVAILABLE:
		return "pwlessd cannot use its database right now";
	}
	if (result < 0)
		return pwl_strerror(result);
	return "pwlessd refused the request";
}
