/*
 * store.h: every query pwlessd makes, behind one interface.  No SQL lives
 * outside store.c, so a shared backend (PostgreSQL for fleets, DESIGN 11)
 * can stand behind the same calls.  Writes commit before they return.
 */
#ifndef PWLESSD_STORE_H
#define PWLESSD_STORE_H

#include <sys/types.h>

#include <stdint.h>

#include "pwless/proto.h"
#include "keyfmt.h"

/* Results: 0 or positive = an answer, negative = the store failed. */
#define STORE_OK	0
#define STORE_NOTFOUND	1
#define STORE_EXISTS	2
#define STORE_ERR	(-1)	/* I/O, corruption, locked */
#define STORE_FULL	(-2)	/* disk or database full */
#define STORE_READONLY	(-3)

struct store;

struct user_row {
	int64_t		id;
	char		name[PWL_USER_MAX + 1];
	int		disabled;
	char		email[PWL_EMAIL_MAX + 1];
	char		phone[PWL_PHONE_MAX + 1];
	int64_t		created;
	uint32_t	failures;	/* consecutive failed attempts */
	int64_t		locked_until;
	uint32_t	nkeys;		/* usable keys (list and show only) */
};

struct key_row {
	int64_t		id;
	char		key_id[PWL_ID_LEN + 1];
	int64_t		user_id;
	char		user[PWL_USER_MAX + 1];
	int		user_disabled;
	uint8_t		hash[32];
	int		hash_version;
	char		label[PWL_LABEL_MAX + 1];
	char		services[PWL_STR_MAX + 1];	/* "" = any */
	int64_t		created;
	int64_t		expires;
	int64_t		revoked;	/* time, 0 = not revoked */
	char		rotated_to[PWL_ID_LEN + 1];
	int64_t		last_used;
	char		last_service[PWL_SERVICE_MAX + 1];
	char		last_rhost[PWL_RHOST_MAX + 1];
};

typedef int (*store_user_cb)(void *, const struct user_row *);
typedef int (*store_key_cb)(void *, const struct key_row *);

int	store_open(const char *path, struct store **);
void	store_close(struct store *);
const char *store_errmsg(struct store *);
/* Hands the database files to uid/gid before privileges are dropped. */
int	store_chown(struct store *, uid_t, gid_t);

int	store_user_get(struct store *, const char *name, struct user_row *);
int	store_user_add(struct store *, const struct user_row *);
int	store_user_list(struct store *, int64_t now, store_user_cb, void *);
int	store_user_set_disabled(struct store *, const char *, int);
int	store_user_set_contact(struct store *, const char *,
	    const char *email, const char *phone);
int	store_user_remove(struct store *, const char *);
int	store_user_count_keys(struct store *, int64_t user_id, int64_t now,
	    uint32_t *);

int	store_key_get(struct store *, const char *key_id, struct key_row *);
int	store_key_insert(struct store *, const struct key_row *);
int	store_key_list(struct store *, int64_t user_id, store_key_cb, void *);
int	store_key_revoke(struct store *, int64_t user_id, const char *key_id,
	    int64_t now);
int	store_key_revoke_all(struct store *, int64_t user_id, int64_t now,
	    uint32_t *count);
/* Inserts the new key and ends the old one's life at old_expires. */
int	store_key_rotate(struct store *, const struct key_row *old,
	    int64_t old_expires, const struct key_row *new_key);
/* The last-used stamp; never waits for the disk, may be lost in a crash. */
int	store_key_touch(struct store *, int64_t id, int64_t now,
	    const char *service, const char *rhost);

#endif /* PWLESSD_STORE_H */
