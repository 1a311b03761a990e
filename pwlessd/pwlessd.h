/*
 * pwlessd.h: the daemon's shared types and the prototypes of its files,
 * grouped by file.  Where a request is handled: dispatch.c's table names
 * the handler and who may call it; handlers live in keys.c and users.c.
 */
#ifndef PWLESSD_H
#define PWLESSD_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "keyfmt.h"
#include "pwless/proto.h"

#define MASTER_KEY_LEN	32
#define SUBKEY_LEN	32
#define HASH_LEN	32
#define HASH_VERSION	1	/* bump when the master key is rotated */

#define PWLESSD_VERSION	"pwlessd " PACKAGE_VERSION

struct store;
struct conn;
struct outbox;
struct user_row;
struct send_row;
struct audit_row;
struct token_row;

/* Subkeys derived from the master key, one per use (secret.c). */
struct secrets {
	uint8_t		keys[SUBKEY_LEN];	/* API key hashes */
	uint8_t		tokens[SUBKEY_LEN];	/* session token hashes */
	uint8_t		codes[SUBKEY_LEN];	/* one-time code hashes */
	uint8_t		audit[SUBKEY_LEN];	/* audit chain */
};

/* audit.c: the group commit of one event loop pass. */
struct audit_pass {
	int		 open;		/* the pass's transaction is open */
	int		 lost;		/* SQLite ended it after an error */
	int64_t		 prune_at;	/* next prune (audit_admin.c) */
	int64_t		 changes0;	/* store_changes when it opened */
	int		 head_ok;	/* the chain's head is known: */
	int64_t		 head_id;	/*   the newest row, written or */
	uint8_t		 head_hash[HASH_LEN];	/* in this pass's batch */
	int64_t		 pass_id;	/* the head when the pass opened */
	uint8_t		 pass_hash[HASH_LEN];
	uint8_t		*pbuf;		/* the pass's rows, encoded */
	size_t		 plen;
	size_t		 pcap;
	/* audit_journal.c: rows on their way to the table */
	int		 jfd;		/* <database>-audit, or -1 */
	char		 jpath[4200];
	int64_t		 jsize;		/* bytes in it */
	int64_t		 jimported;	/* of which in the table */
	int		 db_writable;	/* the last write to SQLite worked */
	int		 jstop;		/* a torn write stuck: until emptied */
};

struct daemon {
	struct config	 cfg;		/* live config; SIGHUP swaps it */
	const char	*cfg_path;
	int		 cfg_must_exist;	/* -c given */
	struct secrets	 sec;
	struct store	*st;
	int		 listen_fd;
	int		 epfd;
	int		 sigfd;
	int		 foreground;
	int		 stopping;
	struct conn	**conns;	/* indexed by fd */
	int		 maxfd;		/* size of conns */
	int		 nconns;
	int		 reserve_fd;	/* spare fd for EMFILE */
	int64_t		 token_sweep_at; /* tokens.c: next sweep, 0 = now */
	struct outbox	*outbox;	/* outbox.c: queue and sender child */
	struct audit_pass audit;	/* audit.c */
};

/* One request being answered. */
struct req {
	struct daemon		*d;
	uid_t			 uid;	/* SO_PEERCRED, read at accept */
	gid_t			 gid;
	pid_t			 pid;
	uint16_t		 type;
	const struct pwl_msg	*msg;
	time_t			 now;
	char			 caller[PWL_USER_MAX + 1]; /* name of uid */
	char			 message[PWL_STR_MAX + 1]; /* for the user */
	uint64_t		 retry_after;	/* seconds, 0 = none */
	int32_t			 attempts_left;	/* -1 = none */
	int			 savepoint;	/* audit.c: request's own */
	int			 audit_failed;	/* a row could not be written */
};

typedef uint16_t (*handler_fn)(struct req *, struct pwl_wbuf *);

/* main.c */
int	daemon_reload(struct daemon *);

/* listen.c */
int	listen_open(struct daemon *);
int	listen_loop(struct daemon *);
void	listen_close(struct daemon *);

/* dispatch.c */
void	dispatch(struct daemon *, uid_t, gid_t, pid_t, uint16_t type,
	    const uint8_t *body, size_t len, struct pwl_wbuf *out);
int	req_caller(struct req *);	/* resolves r->caller; 0 or -1 */
int	req_may_auth(struct req *, const char *user);
int	req_is_admin(struct req *);
int	req_in_group(struct req *, const char *group);
void	req_message(struct req *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	req_str(struct req *, uint16_t tag, char *, size_t, int required);
uint16_t req_lifetime(struct req *, uint64_t dflt, uint64_t max,
	    const char *what, uint64_t *);

/* secret.c */
int	secret_init(struct secrets *, const char *path, uid_t owner,
	    gid_t group);
int	secret_master(const char *path, uid_t owner, gid_t group,
	    uint8_t master[MASTER_KEY_LEN]);
void	secret_hash(const uint8_t subkey[SUBKEY_LEN], const void *, size_t,
	    uint8_t out[HASH_LEN]);
void	secret_random_b62(char *, size_t);
int	secret_new(int kind, char out[PWL_KEY_LEN + 1],
	    char id[PWL_ID_LEN + 1]);

/* keys.c */
struct key_row;
/* Checks key for user; a NULL service skips the key's service scope. */
uint16_t key_check(struct req *, const char *user, const char *service,
	    const char *key, struct key_row *, const char **why);
uint16_t h_auth_key(struct req *, struct pwl_wbuf *);
uint16_t h_key_create(struct req *, struct pwl_wbuf *);
uint16_t h_key_list(struct req *, struct pwl_wbuf *);
uint16_t h_key_revoke(struct req *, struct pwl_wbuf *);
uint16_t h_key_rotate(struct req *, struct pwl_wbuf *);
uint16_t h_admin_key_list(struct req *, struct pwl_wbuf *);
uint16_t h_admin_key_revoke_all(struct req *, struct pwl_wbuf *);

/* tokens.c */
/* Who and what a login token is for; see token_for_login. */
struct token_grant {
	const char	*user;
	int64_t		 user_id;
	const char	*service;	/* PAM service that logged in */
	const char	*rhost;		/* "" or NULL when local */
	const char	*tty;		/* may be NULL */
	const char	*scope;		/* the key's services, "" = any */
	int64_t		 key_ref;	/* keys.id of the key, 0 for a code */
	int64_t		 not_after;	/* the credential's expiry, 0 = none */
};
/* 1 when the request carries WANT_TOKEN = 1. */
int	req_wants_token(struct req *);
/*
 * Mints a session token after a successful login and writes TOKEN,
 * KEY_ID and EXPIRES into w.  Called by h_auth_key (keys.c) and, at the
 * merge, by h_code_answer (codes.c) with scope "" and key_ref 0.  A
 * failure is logged and returned; the login itself stands.
 */
uint16_t token_for_login(struct req *, const struct token_grant *,
	    struct pwl_wbuf *);
uint16_t h_token_verify(struct req *, struct pwl_wbuf *);
uint16_t h_session_close(struct req *, struct pwl_wbuf *);
uint16_t h_token_issue(struct req *, struct pwl_wbuf *);
uint16_t h_token_list(struct req *, struct pwl_wbuf *);
uint16_t h_token_revoke(struct req *, struct pwl_wbuf *);
/* The caller's own live token tok (contacts.c: proof of a fresh login). */
uint16_t token_owned(struct req *, const char *tok, struct token_row *,
	    const char **why);
/* Deletes expired tokens; cheap when none is due (listen.c's tick). */
void	tokens_sweep(struct daemon *, int64_t now);

/* users.c */
uint16_t h_hello(struct req *, struct pwl_wbuf *);
uint16_t h_acct_check(struct req *, struct pwl_wbuf *);
uint16_t h_admin_user_add(struct req *, struct pwl_wbuf *);
uint16_t h_admin_user_list(struct req *, struct pwl_wbuf *);
uint16_t h_admin_user_show(struct req *, struct pwl_wbuf *);
uint16_t h_admin_user_set(struct req *, struct pwl_wbuf *);
uint16_t h_admin_user_remove(struct req *, struct pwl_wbuf *);
uint16_t status_from_store(struct req *, int);
const char *store_failure_text(int);
uint16_t req_store_gate(struct req *);	/* UNAVAILABLE once the db is bad */
uint16_t req_self(struct req *, struct user_row *, int may_be_off);

/* sources.c: where a request comes from, for the per-source limits */
enum src_kind {
	SRC_NONE = 0,	/* a trusted caller naming nobody: not limited */
	SRC_RHOST,	/* remote host named by a trusted caller */
	SRC_UID,	/* any caller that is not trusted: its uid */
	SRC_RUSER,	/* remote (invoking) user named by a trusted caller */
	SRC_TTY,	/* terminal named by a trusted caller */
};

struct src {
	int		 kind;		/* enum src_kind */
	char		 value[PWL_RHOST_MAX + 1];
};

/* limits.c: the failure budget of one name, enrolled or not */
struct budget {
	const char	*name;
	int		 known;		/* enrolled: kept in users */
	uint32_t	 failures;	/* consecutive */
	int64_t		 locked_until;	/* delay or lockout end */
	struct src	 src;		/* who is asking (sources.c) */
};

int	limits_load(struct req *, const char *, const struct user_row *,
	    struct budget *);
uint16_t limits_check(struct req *, const struct budget *);
int64_t	limits_backoff(uint32_t n, uint32_t grace, uint32_t lock,
	    uint64_t cap);
int	limits_fail(struct req *, struct budget *);
int	limits_success(struct req *, struct budget *);
uint16_t limits_send(struct req *, const struct send_row *);
uint16_t limits_auth_begin(struct req *, const char *, struct budget *);
uint16_t limits_auth_end(struct req *, struct budget *, uint16_t,
	    const char *why);
void	limits_prune(struct daemon *, int64_t now);
uint16_t h_admin_unlock(struct req *, struct pwl_wbuf *);

/* sendtest.c: 'pwless doctor --send-test' */
uint16_t h_admin_send_test(struct req *, struct pwl_wbuf *);
uint16_t h_admin_outbox_state(struct req *, struct pwl_wbuf *);
/* sources.c: per-source failure and send limits, in memory */
void	source_of(struct req *, struct src *);
uint16_t source_check(struct req *, const struct src *);
/* One failure of src; extra: seconds of delay the account asks for. */
void	source_fail(struct req *, const struct src *, int64_t extra);
uint16_t source_send(struct req *, const struct src *);
const char *source_name(const struct src *, char *, size_t);
uint16_t h_admin_limits(struct req *, struct pwl_wbuf *);
uint16_t h_admin_limits_clear(struct req *, struct pwl_wbuf *);

/* codes.c */
uint16_t h_code_start(struct req *, struct pwl_wbuf *);
uint16_t h_code_answer(struct req *, struct pwl_wbuf *);
/* A new code of len digits; its hash bound to a challenge id (contacts). */
void	code_new(uint32_t len, char *out);
void	code_hash(struct req *, const char *cid, const char *code,
	    uint8_t out[HASH_LEN]);

/* outbox.c: what a queued message is made of */
struct outbox_msg {
	int64_t		 challenge;
	const char	*user;
	int		 channel;
	const char	*dest;
	const char	*code;
	const char	*service;
	const char	*rhost;
	const char	*tty;
	int64_t		 expires;
	int		 decoy;		/* stored alike, never sent */
};

int	outbox_init(struct daemon *);
void	outbox_reload(struct daemon *);
void	outbox_stop(struct daemon *);
int	outbox_queue(struct req *, const struct outbox_msg *);
void	outbox_wake(struct daemon *);
void	outbox_run(struct daemon *);
int	outbox_event(struct daemon *, int fd, uint32_t events);

/* A message rendered by its caller (notify.c): notices, contact codes. */
struct outbox_text {
	const char	*user;
	int		 channel;
	const char	*dest;
	const char	*subject;	/* email only */
	const char	*body;
	const char	*code;		/* NULL for a notice */
	int64_t		 expires;	/* dropped, not sent, after this */
};
/* Sets *idp (may be NULL) to the new outbox row. */
int	outbox_queue_text(struct req *, const struct outbox_text *,
	    int64_t *idp);

/* audit.c: the audit trail and the group commit of a loop pass */
/*
 * Records an event of the request: at its end (audit_request_end) it is
 * chained onto the trail in the pass's batch and logged as log_event
 * would, with its row id.  Pairs named user, service, rhost, method and
 * result fill those columns; the others form the detail.  A batch that
 * cannot be written makes the pass's answers UNAVAILABLE.
 */
int	audit_event(struct req *, int prio, const char *event, ...)
	    __attribute__((sentinel));
void	audit_hash(const struct secrets *, const struct audit_row *,
	    uint8_t out[HASH_LEN]);
void	audit_fallback(struct req *, uint16_t st, int admin);
void	audit_request_begin(struct req *);
uint16_t audit_request_end(struct req *, uint16_t);
int	audit_pass_open(const struct daemon *);
int	audit_pass_end(struct daemon *);

int	audit_open(struct daemon *);
void	audit_gap(struct daemon *, int64_t offset, int64_t bytes);
void	audit_close(struct daemon *);

/* audit_journal.c: the journal that batches audit rows into the table */
int	audit_journal_open(struct daemon *);
void	audit_journal_close(struct daemon *);
int	audit_journal_add(struct audit_pass *, const struct audit_row *);
int	audit_journal_each(const struct audit_pass *,
	    int (*)(void *, const struct audit_row *), void *);
int	audit_journal_usable(const struct audit_pass *);
int	audit_journal_write(struct audit_pass *);
int	audit_journal_catch_up(struct daemon *);
int	audit_journal_import(struct daemon *);

/* audit_admin.c: reading, verifying and pruning the trail */
uint16_t h_audit_list(struct req *, struct pwl_wbuf *);
uint16_t h_admin_audit(struct req *, struct pwl_wbuf *);
uint16_t h_admin_audit_verify(struct req *, struct pwl_wbuf *);
void	audit_anchor_mac(const struct secrets *, int64_t id,
	    const uint8_t hash[HASH_LEN], int64_t time, uint8_t out[HASH_LEN]);
void	audit_prune(struct daemon *, int64_t now);

/* contacts.c: self-service contact changes */
uint16_t h_contact_show(struct req *, struct pwl_wbuf *);
uint16_t h_contact_set(struct req *, struct pwl_wbuf *);
uint16_t h_contact_confirm(struct req *, struct pwl_wbuf *);
uint16_t h_contact_cancel(struct req *, struct pwl_wbuf *);
uint16_t h_contact_remove(struct req *, struct pwl_wbuf *);
uint16_t h_admin_contact_approve(struct req *, struct pwl_wbuf *);
/* 1 while channel's address of u is in its cooling-off period. */
int	contact_cooling(struct req *, const struct user_row *, int channel);

/* notify.c: security notices and contact codes, through the outbox */
void	notify_key_created(struct req *, const char *user,
	    const char *key_id, const char *label);
void	notify_key_used(struct req *, const char *user, int64_t key_ref,
	    const char *key_id, const char *service, const char *rhost);
void	notify_lockout(struct req *, const char *user, uint32_t failures);
void	notify_contact_changed(struct req *, const char *user,
	    const char *kind, const char *dest, const char *what,
	    const char *rhost);
int	notify_contact_code(struct req *, const char *user, const char *kind,
	    const char *dest, const char *code, const char *masked_new,
	    int64_t expires);
void	notify_prune(struct daemon *, int64_t now);

#endif /* PWLESSD_H */
