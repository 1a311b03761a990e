/*
 * store_keys.c: the keys table: one indexed read per key check; create,
 * list, revoke, rotate and the coarse last-used stamp (written without an
 * fsync wait: a key check never waits for the disk).
 */
#include "config.h"

#include <string.h>

#include "store_int.h"

#define KEY_COLS "k.id, k.key_id, k.user_id, u.name, u.disabled, k.hash, " \
	"k.hash_version, k.label, k.services, k.created, k.expires, " \
	"k.revoked, k.rotated_to, k.last_used, k.last_service, k.last_rhost"
#define USABLE "k.revoked = 0 AND k.expires > ?"

static const char Q_KEY_GET[] =
    "SELECT " KEY_COLS " FROM keys k JOIN users u "
    "ON u.id = k.user_id WHERE k.key_id = ?";

static const char Q_KEY_INSERT[] =
    "INSERT INTO keys (key_id, user_id, hash, "
    "hash_version, label, services, created, expires) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

/* Live keys, and dead ones for 30 days after they ended: a bounded list. */
static const char Q_KEY_LIST[] =
    "SELECT " KEY_COLS " FROM keys k JOIN users u "
    "ON u.id = k.user_id WHERE k.user_id = ?1 AND "
    "(k.revoked = 0 OR k.revoked > ?2 - 2592000) AND k.expires > ?2 - "
    "2592000 ORDER BY k.created DESC, k.id DESC LIMIT 100";

static const char Q_KEY_REVOKE[] =
    "UPDATE keys SET revoked = ? WHERE user_id = ? "
    "AND key_id = ? AND revoked = 0";

static const char Q_KEY_REVOKE_ALL[] =
    "UPDATE keys SET revoked = ? WHERE user_id = ? "
    "AND revoked = 0 AND expires > ?";

static const char Q_KEY_END[] =
    "UPDATE keys SET expires = min(expires, ?), "
    "rotated_to = ? WHERE id = ? AND revoked = 0";

static const char Q_KEY_TOUCH[] =
    "UPDATE keys SET last_used = ?, last_service = ?, "
    "last_rhost = ? WHERE id = ?";

static void
key_from_row(sqlite3_stmt *q, struct key_row *k)
{
	const void *h;

	memset(k, 0, sizeof(*k));
	k->id = sqlite3_column_int64(q, 0);
	store_col_text(q, 1, k->key_id, sizeof(k->key_id));
	k->user_id = sqlite3_column_int64(q, 2);
	store_col_text(q, 3, k->user, sizeof(k->user));
	k->user_disabled = sqlite3_column_int(q, 4);
	h = sqlite3_column_blob(q, 5);
	if (h != NULL && sqlite3_column_bytes(q, 5) == sizeof(k->hash))
		memcpy(k->hash, h, sizeof(k->hash));
	k->hash_version = sqlite3_column_int(q, 6);
	store_col_text(q, 7, k->label, sizeof(k->label));
	store_col_text(q, 8, k->services, sizeof(k->services));
	k->created = sqlite3_column_int64(q, 9);
	k->expires = sqlite3_column_int64(q, 10);
	k->revoked = sqlite3_column_int64(q, 11);
	store_col_text(q, 12, k->rotated_to, sizeof(k->rotated_to));
	k->last_used = sqlite3_column_int64(q, 13);
	store_col_text(q, 14, k->last_service, sizeof(k->last_service));
	store_col_text(q, 15, k->last_rhost, sizeof(k->last_rhost));
}

int
store_key_get(struct store *s, const char *key_id, struct key_row *k)
{
	sqlite3_stmt *q = store_q(s, Q_KEY_GET);
	int rc;

	memset(k, 0, sizeof(*k));
	store_bind_text(q, 1, key_id);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc);
	key_from_row(q, k);
	sqlite3_reset(q);
	return STORE_OK;
}

int
store_key_insert(struct store *s, const struct key_row *k)
{
	sqlite3_stmt *q = store_q(s, Q_KEY_INSERT);

	store_bind_text(q, 1, k->key_id);
	sqlite3_bind_int64(q, 2, k->user_id);
	sqlite3_bind_blob(q, 3, k->hash, sizeof(k->hash), SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 4, k->hash_version);
	store_bind_text(q, 5, k->label);
	store_bind_text(q, 6, k->services);
	sqlite3_bind_int64(q, 7, k->created);
	sqlite3_bind_int64(q, 8, k->expires);
	return store_run_write(s, q);
}

int
store_key_list(struct store *s, int64_t user_id, int64_t now,
    store_key_cb cb, void *arg)
{
	sqlite3_stmt *q = store_q(s, Q_KEY_LIST);
	struct key_row k;
	int rc, r = STORE_OK;

	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, now);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		key_from_row(q, &k);
		if ((r = cb(arg, &k)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_step_done(s, q, rc);
	sqlite3_reset(q);
	return r;
}

int
store_key_revoke(struct store *s, int64_t user_id, const char *key_id,
    int64_t now)
{
	sqlite3_stmt *q = store_q(s, Q_KEY_REVOKE);

	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, user_id);
	store_bind_text(q, 3, key_id);
	return store_run_write(s, q);
}

int
store_key_revoke_all(struct store *s, int64_t user_id, int64_t now,
    uint32_t *count)
{
	sqlite3_stmt *q = store_q(s, Q_KEY_REVOKE_ALL);
	int r;

	*count = 0;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, user_id);
	sqlite3_bind_int64(q, 3, now);
	r = store_run_write(s, q);
	if (r == STORE_OK)
		*count = (uint32_t)sqlite3_changes(s->db);
	return r == STORE_NOTFOUND ? STORE_OK : r;
}

int
store_key_rotate(struct store *s, const struct key_row *old,
    int64_t old_expires, const struct key_row *nk)
{
	sqlite3_stmt *q;
	int r;

	if ((r = store_begin(s)) != STORE_OK)
		return r;
	if ((r = store_key_insert(s, nk)) != STORE_OK)
		goto fail;
	q = store_q(s, Q_KEY_END);
	sqlite3_bind_int64(q, 1, old_expires);
	store_bind_text(q, 2, nk->key_id);
	sqlite3_bind_int64(q, 3, old->id);
	if ((r = store_run_write(s, q)) != STORE_OK)
		goto fail;
	if ((r = store_commit(s)) != STORE_OK)
		goto fail;
	return STORE_OK;
 fail:
	store_rollback(s);
	return r;
}

int
store_key_touch(struct store *s, int64_t id, int64_t now,
    const char *service, const char *rhost)
{
	sqlite3_stmt *q = store_q(s, Q_KEY_TOUCH);

	sqlite3_bind_int64(q, 1, now);
	store_bind_text(q, 2, service);
	store_bind_text(q, 3, rhost);
	sqlite3_bind_int64(q, 4, id);
	return store_run_write_lazy(s, q);
}
