/*
 * store_contacts.c: pending contact changes (a small state machine:
 * pending, then applied, cancelled, expired or burnt) and the removal of
 * a user's email or phone.  The table is created by store_audit.c's
 * schema step.
 */
#include "config.h"

#include <string.h>

#include "store_int.h"

#define CC_COLS "id, cid, user_id, uid, kind, new_value, old_kind, " \
	"old_value, state, new_hash, old_hash, hash_version, new_ok, " \
	"old_ok, attempts, service, rhost, created, expires, done"

static const char Q_CC_INSERT[] =
    "INSERT INTO contact_changes (cid, user_id, uid, kind, new_value, "
    "old_kind, old_value, state, new_hash, old_hash, hash_version, "
    "service, rhost, created, expires) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)";

static const char Q_CC_PENDING[] =
    "SELECT " CC_COLS " FROM contact_changes WHERE user_id = ? "
    "AND state = 'pending' ORDER BY id DESC LIMIT 1";

static const char Q_CC_SET[] =
    "UPDATE contact_changes SET state = ?, new_ok = ?, old_ok = ?, "
    "attempts = ?, done = ? WHERE id = ?";

static const char Q_CC_CANCEL[] =
    "UPDATE contact_changes SET state = 'cancelled', done = ? "
    "WHERE user_id = ? AND state = 'pending'";

static const char Q_CC_APPLIED[] =
    "SELECT max(done) FROM contact_changes WHERE user_id = ? AND kind = ? "
    "AND new_value = ? AND state = 'applied'";

static const char Q_CC_PRUNE[] =
    "DELETE FROM contact_changes WHERE state != 'pending' AND done < ?";

static const char Q_USER_NO_EMAIL[] =
    "UPDATE users SET email = NULL WHERE id = ? AND email IS NOT NULL";

static const char Q_USER_NO_PHONE[] =
    "UPDATE users SET phone = NULL WHERE id = ? AND phone IS NOT NULL";

static void
blob32(sqlite3_stmt *q, int i, uint8_t out[32], int *has)
{
	const void *h = sqlite3_column_blob(q, i);

	memset(out, 0, 32);
	*has = h != NULL && sqlite3_column_bytes(q, i) == 32;
	if (*has)
		memcpy(out, h, 32);
}

static void
cc_from_row(sqlite3_stmt *q, struct contact_row *c)
{
	int has;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(q, 0);
	store_col_text(q, 1, c->cid, sizeof(c->cid));
	c->user_id = sqlite3_column_int64(q, 2);
	c->uid = (uint32_t)sqlite3_column_int64(q, 3);
	store_col_text(q, 4, c->kind, sizeof(c->kind));
	store_col_text(q, 5, c->new_value, sizeof(c->new_value));
	store_col_text(q, 6, c->old_kind, sizeof(c->old_kind));
	store_col_text(q, 7, c->old_value, sizeof(c->old_value));
	store_col_text(q, 8, c->state, sizeof(c->state));
	blob32(q, 9, c->new_hash, &has);
	blob32(q, 10, c->old_hash, &c->has_old_hash);
	c->hash_version = sqlite3_column_int(q, 11);
	c->new_ok = sqlite3_column_int(q, 12);
	c->old_ok = sqlite3_column_int(q, 13);
	c->attempts = (uint32_t)sqlite3_column_int64(q, 14);
	store_col_text(q, 15, c->service, sizeof(c->service));
	store_col_text(q, 16, c->rhost, sizeof(c->rhost));
	c->created = sqlite3_column_int64(q, 17);
	c->expires = sqlite3_column_int64(q, 18);
	c->done = sqlite3_column_int64(q, 19);
}

int
store_contact_insert(struct store *s, struct contact_row *c)
{
	sqlite3_stmt *q = store_q(s, Q_CC_INSERT);
	int r;

	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, c->cid);
	sqlite3_bind_int64(q, 2, c->user_id);
	sqlite3_bind_int64(q, 3, c->uid);
	store_bind_text(q, 4, c->kind);
	store_bind_text(q, 5, c->new_value);
	store_bind_text(q, 6, c->old_kind);
	store_bind_text(q, 7, c->old_value);
	sqlite3_bind_blob(q, 8, c->new_hash, 32, SQLITE_TRANSIENT);
	if (c->has_old_hash)
		sqlite3_bind_blob(q, 9, c->old_hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 10, c->hash_version);
	store_bind_text(q, 11, c->service);
	store_bind_text(q, 12, c->rhost);
	sqlite3_bind_int64(q, 13, c->created);
	sqlite3_bind_int64(q, 14, c->expires);
	if ((r = store_run_write(s, q)) == STORE_OK)
		c->id = sqlite3_last_insert_rowid(s->db);
	return r;
}

int
store_contact_pending(struct store *s, int64_t user_id, struct contact_row *c)
{
	sqlite3_stmt *q = store_q(s, Q_CC_PENDING);
	int rc;

	memset(c, 0, sizeof(*c));
	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, user_id);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc);
	cc_from_row(q, c);
	sqlite3_reset(q);
	return STORE_OK;
}

/* Writes c's state, confirmations, attempts and end time. */
int
store_contact_set(struct store *s, const struct contact_row *c)
{
	sqlite3_stmt *q = store_q(s, Q_CC_SET);

	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, c->state);
	sqlite3_bind_int(q, 2, c->new_ok);
	sqlite3_bind_int(q, 3, c->old_ok);
	sqlite3_bind_int64(q, 4, c->attempts);
	sqlite3_bind_int64(q, 5, c->done);
	sqlite3_bind_int64(q, 6, c->id);
	return store_run_write(s, q);
}

/* Cancels the pending changes of a user; STORE_NOTFOUND if none. */
int
store_contact_cancel(struct store *s, int64_t user_id, int64_t now)
{
	sqlite3_stmt *q = store_q(s, Q_CC_CANCEL);

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, user_id);
	return store_run_write(s, q);
}

/* When value became user's kind by a change; STORE_NOTFOUND if never. */
int
store_contact_applied(struct store *s, int64_t user_id, const char *kind,
    const char *value, int64_t *when)
{
	sqlite3_stmt *q = store_q(s, Q_CC_APPLIED);
	int rc;

	*when = 0;
	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, user_id);
	store_bind_text(q, 2, kind);
	store_bind_text(q, 3, value);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc) == STORE_NOTFOUND ? STORE_ERR :
		    store_map_rc(rc);
	rc = sqlite3_column_type(q, 0) == SQLITE_NULL;
	*when = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return rc ? STORE_NOTFOUND : STORE_OK;
}

int
store_contact_prune(struct store *s, int64_t before)
{
	return store_delete_before(s, Q_CC_PRUNE, before);
}

/* Clears a user's email (phone = 0) or phone; STORE_NOTFOUND if unset. */
int
store_user_clear_contact(struct store *s, int64_t user_id, int phone)
{
	sqlite3_stmt *q = store_q(s, phone ? Q_USER_NO_PHONE :
	    Q_USER_NO_EMAIL);

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, user_id);
	return store_run_write(s, q);
}
