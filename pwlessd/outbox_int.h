/*
 * outbox_int.h: what outbox.c (queue, dispatch, results) and
 * sender_proc.c (the sender child's life) share inside pwlessd.
 */
#ifndef PWLESSD_OUTBOX_INT_H
#define PWLESSD_OUTBOX_INT_H

#include <sys/types.h>

#include <stdint.h>

#include "pwless/proto.h"

#define MAX_FLIGHT	64	/* [outbox] concurrency cap */
#define TEMPLATE_MAX	3072	/* [email] template file */

/* A row handed to the sender and not yet reported on. */
struct flight {
	int64_t		id;
	char		idstr[24];
	uint32_t	tries;		/* before this one */
	int		channel;
	int64_t		started;
	char		user[PWL_USER_MAX + 1];
	char		msgid[PWL_MSGID_MAX + 1];
};

/* One outcome reported by the sender. */
struct result {
	int64_t		id;
	uint16_t	status;		/* OK, UNAVAILABLE or permanent */
	char		error[PWL_STR_MAX + 1];
};

struct outbox {
	pid_t		pid;		/* sender child, -1 if none */
	pid_t		reap;		/* a dead sender not yet waited for */
	int		fd;		/* our end of the socketpair */
	int		stale;		/* config reloaded: respawn when idle */
	int		woken;		/* rows queued: dispatch this pass */
	int		scrubbed;	/* bodies removed: checkpoint the WAL */
	int64_t		respawn_at;
	int64_t		respawn_delay;
	int64_t		next_due;
	int64_t		next_expire;
	int64_t		next_house;
	int		nfl;
	struct flight	fl[MAX_FLIGHT];
	char		host[64];	/* {host} and Message-ID domain */
	char		tmpl[TEMPLATE_MAX];	/* email body template */
};

struct daemon;

/* outbox.c */
void	outbox_results(struct daemon *, const struct result *, int);
void	outbox_lost(struct daemon *, const char *why);

/* sender_proc.c */
void	sender_check(struct daemon *, int64_t now);
void	sender_stop(struct daemon *, int wait);

#endif /* PWLESSD_OUTBOX_INT_H */
