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

/* Why the database cannot be used any more (store_health.c). */
#define STORE_GOOD	0
#define STORE_BAD_DELETED	1	/* the file was unlinked */
#define STORE_BAD_REPLACED	2	/* another file has its name */
#define STORE_BAD_DAMAGED	3	/* corrupt, or not a database */

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

/* A session or API token (store_tokens.c); revoking one deletes it. */
struct token_row {
	int64_t		id;
	char		token_id[PWL_ID_LEN + 1];
	int64_t		user_id;
	char		user[PWL_USER_MAX + 1];
	int		user_disabled;
	int64_t		key_ref;	/* keys.id it was made from, 0 = none */
	int64_t		key_revoked;	/* that key's revoked time, 0 = live */
	int64_t		key_expires;	/* that key's expiry, 0 = no key */
	uint8_t		hash[32];
	int		hash_version;
	char		kind[16];	/* "session" or "api" */
	char		services[PWL_STR_MAX + 1];	/* "" = any */
	char		service[PWL_SERVICE_MAX + 1];	/* issued to */
	char		rhost[PWL_RHOST_MAX + 1];	/* issued from */
	char		tty[PWL_TTY_MAX + 1];
	int64_t		created;
	int64_t		expires;
};

typedef int (*store_user_cb)(void *, const struct user_row *);
typedef int (*store_key_cb)(void *, const struct key_row *);
typedef int (*store_token_cb)(void *, const struct token_row *);

int	store_open(const char *path, struct store **);
void	store_close(struct store *);
const char *store_errmsg(struct store *);
/*
 * STORE_GOOD, or why the database must not be used: checks the flag
 * SQLite's error log sets and whether the path still names the file
 * opened (one stat).  The first time it finds the file gone, it saves
 * what it has open beside it and logs what to do.
 */
int	store_health(struct store *);
/* Every second or so: the same, plus the file's header. */
void	store_watch(struct store *);
void	store_health_pass(struct store *);
/* The file where a deleted database was saved, "" if none. */
const char *store_rescued(struct store *);
/* Hands the database files to uid/gid before privileges are dropped. */
int	store_chown(struct store *, uid_t, gid_t);

int	store_user_get(struct store *, const char *name, struct user_row *);
int	store_user_add(struct store *, const struct user_row *);
/* Users whose name sorts after `after` ("" = from the start), <= limit. */
int	store_user_list(struct store *, int64_t now, const char *after,
	    uint32_t limit, store_user_cb, void *);
int	store_user_set_disabled(struct store *, const char *, int);
int	store_user_set_contact(struct store *, const char *,
	    const char *email, const char *phone);
int	store_user_remove(struct store *, const char *);
int	store_user_count_keys(struct store *, int64_t user_id, int64_t now,
	    uint32_t *);

int	store_key_get(struct store *, const char *key_id, struct key_row *);
int	store_key_insert(struct store *, const struct key_row *);
/* Live keys and those ended in the last 30 days, newest first, <= 100. */
int	store_key_list(struct store *, int64_t user_id, int64_t now,
	    store_key_cb, void *);
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

/* Tokens: expired rows are deleted by store_token_sweep. */
int	store_token_get(struct store *, const char *token_id,
	    struct token_row *);
int	store_token_insert(struct store *, const struct token_row *);
/* Live tokens of a user. */
int	store_token_count(struct store *, int64_t user_id, int64_t now,
	    uint32_t *);
int	store_token_list(struct store *, int64_t user_id, int64_t now,
	    store_token_cb, void *);
/* Deletes one token of user_id by its public id. */
int	store_token_revoke(struct store *, int64_t user_id,
	    const char *token_id);
/* Deletes one token by row id (session close). */
int	store_token_delete(struct store *, int64_t id);
/* Deletes every token that expired at or before now. */
int	store_token_sweep(struct store *, int64_t now, uint32_t *count);
/* Earliest expiry among the stored tokens; STORE_NOTFOUND if none. */
int	store_token_next_expiry(struct store *, int64_t *);
/* --- one-time codes, outbox and limits (store_codes.c, store_outbox.c,
 * store_limits.c) --------------------------------------------------- */

/* One challenge: pending, then used, expired or burnt (approved later). */
struct chal_row {
	int64_t		id;
	char		cid[PWL_CHALLENGE_MAX + 1];	/* public id */
	char		user[PWL_USER_MAX + 1];		/* maybe unknown */
	uint32_t	uid;		/* caller that started it */
	char		service[PWL_SERVICE_MAX + 1];
	char		rhost[PWL_RHOST_MAX + 1];
	int		channel;	/* enum pwl_channel */
	char		state[16];
	int		decoy;		/* nothing sent; never accepted */
	uint8_t		hash[32];	/* keyed BLAKE2b of cid and code */
	int		hash_version;
	uint32_t	attempts;	/* wrong answers so far */
	int64_t		created;
	int64_t		sent;		/* newest code's send time */
	int64_t		expires;	/* newest code's end */
};

/* One message to deliver; body and code are secrets. */
struct outbox_row {
	int64_t		id;
	int64_t		challenge;	/* challenges.id, 0 if none */
	char		user[PWL_USER_MAX + 1];
	int		channel;
	char		dest[PWL_EMAIL_MAX + 1];
	char		subject[PWL_STR_MAX + 1];
	char		body[PWL_BODY_MAX + 1];
	char		code[PWL_CODE_MAX + 1];
	char		msgid[PWL_MSGID_MAX + 1];
	int64_t		created;
	int64_t		expires;	/* dropped, not sent, after this */
	uint32_t	tries;
	int64_t		next_try;
	int		decoy;		/* a decoy's look-alike: stored dropped,
					   without body or code, never sent */
};

/* One send (or decoy send) for the limits. */
struct send_row {
	const char	*user;
	int		 channel;
	const char	*dest;		/* NULL for decoys */
	const char	*prefix;	/* SMS: number without last 4 digits */
	int64_t		 time;
	int		 decoy;
};

struct send_stats {
	int64_t		last_user;	/* newest send to this user */
	uint32_t	n_user;		/* in the last hour */
	int64_t		first_user;	/* oldest of those */
	uint32_t	n_dest;
	int64_t		first_dest;
	uint32_t	n_prefix;
	int64_t		first_prefix;
	uint32_t	n_sms_day;	/* real SMS in the last day */
	int64_t		first_sms_day;
};

typedef int (*store_outbox_cb)(void *, const struct outbox_row *);

/* A handler's read-decide-write step as one BEGIN IMMEDIATE transaction. */
int	store_begin(struct store *);
int	store_commit(struct store *);
void	store_rollback(struct store *);
/* Nesting (store.c): inner begins are savepoints. */
int	store_in_tx(const struct store *);
int	store_tx_lost(struct store *);
/* A loop pass's group commit (store.c, used by audit.c). */
int	store_begin_group(struct store *);
int	store_commit_group(struct store *);
void	store_end_group(struct store *);
void	store_sync_pending(struct store *);
/* Rows changed since the connection opened: did a pass write anything? */
int64_t	store_changes(struct store *);
/* Syncs the WAL now if any commit is not on disk yet; 0 or STORE_ERR. */
int	store_sync_now(struct store *);
/* Commits that need not wait for the disk (see store.c), on or off. */
void	store_lazy(struct store *, int);

int	store_chal_get(struct store *, const char *cid, struct chal_row *);
/* The pending, unexpired challenge with want's user, uid, service, rhost. */
int	store_chal_pending(struct store *, const struct chal_row *want,
	    int64_t now, struct chal_row *);
int	store_chal_insert(struct store *, struct chal_row *);
int	store_chal_renew(struct store *, const struct chal_row *);
int	store_chal_set(struct store *, int64_t id, const char *state,
	    uint32_t attempts);
int	store_chal_prune(struct store *, int64_t before);

int	store_outbox_insert(struct store *, struct outbox_row *);
int	store_outbox_due(struct store *, int64_t now, uint32_t limit,
	    store_outbox_cb, void *);
int	store_outbox_retry(struct store *, int64_t id, uint32_t tries,
	    int64_t next_try, const char *error);
int	store_outbox_finish(struct store *, int64_t id, const char *state,
	    uint32_t tries, int64_t now, const char *error);
int	store_outbox_drop_challenge(struct store *, int64_t challenge,
	    int64_t now, uint32_t *);
int	store_outbox_expire(struct store *, int64_t now, uint32_t *);
int	store_outbox_prune(struct store *, int64_t before);
/* A row's state (queued, sent, dead, dropped), tries and last error. */
int	store_outbox_state(struct store *, int64_t id, char state[16],
	    uint32_t *tries, char error[PWL_STR_MAX + 1]);
void	store_checkpoint(struct store *);

int	store_send_add(struct store *, const struct send_row *);
int	store_send_stats(struct store *, const struct send_row *, int64_t now,
	    struct send_stats *);
int	store_unknown_get(struct store *, const char *, uint32_t *failures,
	    int64_t *locked_until);
int	store_unknown_set(struct store *, const char *, uint32_t failures,
	    int64_t locked_until, int64_t now);
int	store_user_set_budget(struct store *, const char *, uint32_t failures,
	    int64_t locked_until);
int	store_limits_prune(struct store *, int64_t now, int64_t idle);

/* --- audit trail, notices, contact changes (store_audit.c,
 * store_contacts.c) ------------------------------------------------- */

#define AUDIT_DETAIL_MAX	PWL_STR_MAX
#define AUDIT_WORD_MAX		63	/* event, method, result */

/* One audit row; hash = keyed BLAKE2b(prev_hash, the row's fields). */
struct audit_row {
	int64_t		id;		/* 1, 2, ...: never reused */
	int64_t		time;
	char		event[AUDIT_WORD_MAX + 1];
	char		user[PWL_USER_MAX + 1];
	int64_t		caller_uid;
	char		service[PWL_SERVICE_MAX + 1];
	char		rhost[PWL_RHOST_MAX + 1];
	char		method[AUDIT_WORD_MAX + 1];
	char		result[AUDIT_WORD_MAX + 1];
	char		detail[AUDIT_DETAIL_MAX + 1];	/* k=v k=v */
	uint8_t		prev_hash[32];
	uint8_t		hash[32];
	int		oversize;	/* a field longer than pwlessd writes */
};

/* Where the chain starts after pruning: the last pruned row. */
struct audit_anchor {
	int64_t		id;
	uint8_t		hash[32];
	int64_t		time;		/* when it was pruned */
	uint8_t		mac[32];	/* keyed hash of the three above */
};

/* A pending (or ended) change of a user's email or phone. */
struct contact_row {
	int64_t		id;
	char		cid[PWL_CHALLENGE_MAX + 1];	/* in the codes' hash */
	int64_t		user_id;
	uint32_t	uid;		/* caller that asked */
	char		kind[8];	/* "email" or "phone" */
	char		new_value[PWL_EMAIL_MAX + 1];
	char		old_kind[8];	/* "" when no second code went */
	char		old_value[PWL_EMAIL_MAX + 1];
	char		state[16];
	uint8_t		new_hash[32];
	uint8_t		old_hash[32];
	int		has_old_hash;
	int		hash_version;
	int		new_ok;		/* new address confirmed */
	int		old_ok;		/* 1 confirmed, 2 waived by an admin */
	uint32_t	attempts;	/* wrong codes so far */
	char		service[PWL_SERVICE_MAX + 1];	/* of the fresh login */
	char		rhost[PWL_RHOST_MAX + 1];
	int64_t		created;
	int64_t		expires;
	int64_t		done;		/* when it ended */
};

typedef int (*store_audit_cb)(void *, const struct audit_row *);

int	store_audit_insert(struct store *, const struct audit_row *);
/* The same, or nothing when a row with its id is there already. */
int	store_audit_import(struct store *, const struct audit_row *);
/* Which rows are user's (ids ascending): for the rows of an import. */
int	store_audit_user_ids(struct store *, const char *user,
	    const int64_t *ids, size_t n);
/* The newest row's id and hash; STORE_NOTFOUND when the table is empty. */
int	store_audit_head(struct store *, int64_t *id, uint8_t hash[32]);
int	store_audit_hash_of(struct store *, int64_t id, uint8_t hash[32]);
int	store_audit_page(struct store *, const char *user, int64_t after,
	    int64_t since, uint32_t limit, store_audit_cb, void *);
int	store_audit_bounds(struct store *, int64_t since, int64_t *first_new,
	    int64_t *first);
int	store_audit_delete(struct store *, int64_t upto);
int	store_audit_anchor_get(struct store *, struct audit_anchor *);
int	store_audit_anchor_set(struct store *, const struct audit_anchor *);
int	store_notice_stats(struct store *, const char *user, const char *kind,
	    int64_t since, uint32_t *count, int64_t *last_kind);
int	store_notice_add(struct store *, const char *user, const char *kind,
	    int64_t now);
int	store_notice_prune(struct store *, int64_t before);
int	store_key_rhost(struct store *, int64_t key_ref, const char *rhost,
	    int64_t now);

int	store_contact_insert(struct store *, struct contact_row *);
int	store_contact_pending(struct store *, int64_t user_id,
	    struct contact_row *);
int	store_contact_set(struct store *, const struct contact_row *);
int	store_contact_cancel(struct store *, int64_t user_id, int64_t now);
int	store_contact_applied(struct store *, int64_t user_id,
	    const char *kind, const char *value, int64_t *when);
int	store_contact_prune(struct store *, int64_t before);
int	store_user_clear_contact(struct store *, int64_t user_id, int phone);

#endif /* PWLESSD_STORE_H */
