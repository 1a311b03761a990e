/*
 * store_outbox.c: the outbox table.  A message is committed here before
 * the CODE_START reply; the sender's results move it to sent, dead or
 * dropped, and from then on its body and code are gone (secure_delete).
 */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "store_int.h"

static const char Q_OUT_INSERT[] =
    "INSERT INTO outbox (challenge, user, channel, dest, subject, body, "
    "code, msgid, created, expires, next_try) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* The same write for a decoy, so a decoy costs what a real send does. */
static const char Q_OUT_INSERT_DECOY[] =
    "INSERT INTO outbox (challenge, user, channel, dest, subject, body, "
    "code, msgid, created, expires, next_try, state, done) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'dropped', ?9)";

static const char Q_OUT_DUE[] =
    "SELECT id, challenge, user, channel, dest, subject, body, code, "
    "msgid, created, expires, tries, next_try FROM outbox "
    "WHERE state = 'queued' AND next_try <= ? ORDER BY next_try, id "
    "LIMIT ?";

static const char Q_OUT_RETRY[] =
    "UPDATE outbox SET tries = ?, next_try = ?, last_error = ? "
    "WHERE id = ? AND state = 'queued'";

static const char Q_OUT_FINISH[] =
    "UPDATE outbox SET state = ?, tries = ?, done = ?, last_error = ?, "
    "body = NULL, code = NULL WHERE id = ? AND state = 'queued'";

static const char Q_OUT_DROP_CHAL[] =
    "UPDATE outbox SET state = 'dropped', done = ?, body = NULL, "
    "code = NULL, last_error = 'replaced by a newer code' "
    "WHERE challenge = ? AND state = 'queued'";

static const char Q_OUT_EXPIRE[] =
    "UPDATE outbox SET state = 'dropped', done = ?, body = NULL, "
    "code = NULL, last_error = 'older than its code' "
    "WHERE state = 'queued' AND expires <= ?";

static const char Q_OUT_PRUNE[] =
    "DELETE FROM outbox WHERE state != 'queued' AND done < ?";

static const char Q_CHECKPOINT[] = "PRAGMA wal_checkpoint(TRUNCATE)";

int
store_outbox_insert(struct store *s, struct outbox_row *o)
{
	sqlite3_stmt *q = store_q(s, o->decoy ? Q_OUT_INSERT_DECOY :
	    Q_OUT_INSERT);
	int r;

	if (q == NULL)
		return STORE_ERR;
	if (o->challenge != 0)
		sqlite3_bind_int64(q, 1, o->challenge);
	store_bind_text(q, 2, o->user);
	sqlite3_bind_int(q, 3, o->channel);
	store_bind_text(q, 4, o->dest);
	store_bind_text(q, 5, o->subject);
	store_bind_text(q, 6, o->body);
	store_bind_text(q, 7, o->code);
	store_bind_text(q, 8, o->msgid);
	sqlite3_bind_int64(q, 9, o->created);
	sqlite3_bind_int64(q, 10, o->expires);
	sqlite3_bind_int64(q, 11, o->next_try);
	if ((r = store_run_write(s, q)) == STORE_OK)
		o->id = sqlite3_last_insert_rowid(s->db);
	return r;
}

static void
outbox_from_row(sqlite3_stmt *q, struct outbox_row *o)
{
	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(q, 0);
	o->challenge = sqlite3_column_int64(q, 1);
	store_col_text(q, 2, o->user, sizeof(o->user));
	o->channel = sqlite3_column_int(q, 3);
	store_col_text(q, 4, o->dest, sizeof(o->dest));
	store_col_text(q, 5, o->subject, sizeof(o->subject));
	store_col_text(q, 6, o->body, sizeof(o->body));
	store_col_text(q, 7, o->code, sizeof(o->code));
	store_col_text(q, 8, o->msgid, sizeof(o->msgid));
	o->created = sqlite3_column_int64(q, 9);
	o->expires = sqlite3_column_int64(q, 10);
	o->tries = (uint32_t)sqlite3_column_int64(q, 11);
	o->next_try = sqlite3_column_int64(q, 12);
}

/*
 * Calls cb for up to limit queued rows due by now, oldest first; the row
 * passed to cb is wiped after the call.  A non-zero cb result stops.
 */
int
store_outbox_due(struct store *s, int64_t now, uint32_t limit,
    store_outbox_cb cb, void *arg)
{
	sqlite3_stmt *q = store_q(s, Q_OUT_DUE);
	struct outbox_row o;
	int rc, r = STORE_OK;

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		outbox_from_row(q, &o);
		r = cb(arg, &o);
		sodium_memzero(&o, sizeof(o));
		if (r != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_step_done(s, q, rc);
	sqlite3_reset(q);
	return r;
}

int
store_outbox_retry(struct store *s, int64_t id, uint32_t tries,
    int64_t next_try, const char *error)
{
	sqlite3_stmt *q = store_q(s, Q_OUT_RETRY);

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, tries);
	sqlite3_bind_int64(q, 2, next_try);
	store_bind_text(q, 3, error);
	sqlite3_bind_int64(q, 4, id);
	return store_run_write(s, q);
}

/* Ends a row as sent, dead or dropped and scrubs its body and code. */
int
store_outbox_finish(struct store *s, int64_t id, const char *state,
    uint32_t tries, int64_t now, const char *error)
{
	sqlite3_stmt *q = store_q(s, Q_OUT_FINISH);

	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, state);
	sqlite3_bind_int64(q, 2, tries);
	sqlite3_bind_int64(q, 3, now);
	store_bind_text(q, 4, error);
	sqlite3_bind_int64(q, 5, id);
	return store_run_write(s, q);
}

static int
changes_of(struct store *s, sqlite3_stmt *q, uint32_t *n)
{
	int r = store_run_write(s, q);

	*n = r == STORE_OK ? (uint32_t)sqlite3_changes(s->db) : 0;
	return r == STORE_NOTFOUND ? STORE_OK : r;
}

/* A resend replaced the code: its older queued messages must not go. */
int
store_outbox_drop_challenge(struct store *s, int64_t challenge, int64_t now,
    uint32_t *n)
{
	sqlite3_stmt *q = store_q(s, Q_OUT_DROP_CHAL);

	*n = 0;
	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, challenge);
	return changes_of(s, q, n);
}

/* Drops queued messages whose code has expired: never sent late. */
int
store_outbox_expire(struct store *s, int64_t now, uint32_t *n)
{
	sqlite3_stmt *q = store_q(s, Q_OUT_EXPIRE);

	*n = 0;
	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, now);
	return changes_of(s, q, n);
}

int
store_outbox_prune(struct store *s, int64_t before)
{
	sqlite3_stmt *q = store_q(s, Q_OUT_PRUNE);
	uint32_t n;

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, before);
	return changes_of(s, q, &n);
}

/*
 * Folds the WAL back into the database and truncates it, so scrubbed
 * bodies do not linger in old WAL frames.
 */
void
store_checkpoint(struct store *s)
{
	sqlite3_stmt *q = store_q(s, Q_CHECKPOINT);

	if (q == NULL)
		return;
	while (sqlite3_step(q) == SQLITE_ROW)
		;
	sqlite3_reset(q);
}

static const char Q_OUT_STATE[] =
    "SELECT state, tries, last_error FROM outbox WHERE id = ?";

int
store_outbox_state(struct store *s, int64_t id, char state[16],
    uint32_t *tries, char error[PWL_STR_MAX + 1])
{
	sqlite3_stmt *q = store_q(s, Q_OUT_STATE);
	int rc;

	state[0] = error[0] = '\0';
	*tries = 0;
	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, id);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc);
	store_col_text(q, 0, state, 16);
	*tries = (uint32_t)sqlite3_column_int64(q, 1);
	store_col_text(q, 2, error, PWL_STR_MAX + 1);
	sqlite3_reset(q);
	return STORE_OK;
}
