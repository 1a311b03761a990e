/*
 * transport.h: the client side of one pwlessd request: connect with a
 * deadline, check who listens, send one frame, read one reply.  Used by the
 * PAM module, the CLI and libpwless; no allocation, no signals, no globals.
 */
#ifndef PWL_TRANSPORT_H
#define PWL_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "pwless/proto.h"

#define PWL_CONNECT_MS	2000	/* connect deadline */
#define PWL_DEFAULT_MS	10000	/* whole request */

struct pwl_reply {
	struct pwl_msg	msg;		/* parsed body; views into buf */
	size_t		len;		/* body bytes in buf */
	uint8_t		buf[PWL_RESP_MAX];
};

/*
 * Sends one request of type with body req[0..reqlen) to the daemon on
 * path and waits for its reply, all within timeout_ms.  The reply must
 * carry the same type and req_id.  Never resends once a byte went out.
 * Returns 0 (rep->msg.status holds the daemon's status) or PWL_ERR_*.
 */
int	pwl_transact(const char *path, int timeout_ms, uint16_t type,
	    const uint8_t *req, size_t reqlen, struct pwl_reply *rep);

/* Wipes a reply (it may hold a key or token). */
void	pwl_reply_clear(struct pwl_reply *);

#endif /* PWL_TRANSPORT_H */
