/*
 * store_tokens.c: the tokens table.  One indexed read per check (joined
 * with the user and the key the token came from); revoking deletes the
 * row, and a sweep deletes rows past their expiry.
 */
#include "config.h"

#include <string.h>

#include "store_int.h"

const char store_schema_tokens[] =
    "CREATE TABLE tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  token_id TEXT NOT NULL UNIQUE,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  key_ref INTEGER REFERENCES keys(id) ON DELETE CASCADE,"
    "  hash BLOB NOT NULL,"
    "  hash_version INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  services TEXT,"
    "  service TEXT,"
    "  rhost TEXT,"
    "  tty TEXT,"
    "  created INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL"
    ");"
    "CREATE INDEX tokens_user ON tokens(user_id);"
    "CREATE INDEX tokens_expires ON tokens(expires);"
    "CREATE INDEX tokens_key ON tokens(key_ref);";

#define TOKEN_COLS "t.id, t.token_id, t.user_id, u.name, u.disabled, " \
	"t.key_ref, coalesce(k.revoked, 0), coalesce(k.expires, 0), t.hash, " \
	"t.hash_version, t.kind, t.services, t.service, t.rhost, t.tty, " \
	"t.created, t.expires"
#define TOKEN_FROM " FROM tokens t JOIN users u ON u.id = t.user_id " \
	"LEFT JOIN keys k ON k.id = t.key_ref "

static const char Q_TOKEN_GET[] =
    "SELECT " TOKEN_COLS TOKEN_FROM "WHERE t.token_id = ?";

static const char Q_TOKEN_INSERT[] =
    "INSERT INTO tokens (token_id, user_id, key_ref, hash, hash_version, "
    "kind, services, service, rhost, tty, created, expires) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static const char Q_TOKEN_COUNT[] =
    "SELECT count(*) FROM tokens WHERE user_id = ? AND expires > ?";

static const char Q_TOKEN_LIST[] =
    "SELECT " TOKEN_COLS TOKEN_FROM "WHERE t.user_id = ? AND t.expires > ? "
    "ORDER BY t.created, t.id";

static const char Q_TOKEN_REVOKE[] =
    "DELETE FROM tokens WHERE user_id = ? AND token_id = ?";

static const char Q_TOKEN_DELETE[] =
    "DELETE FROM tokens WHERE id = ?";

static const char Q_TOKEN_SWEEP[] =
    "DELETE FROM tokens WHERE expires <= ?";

static const char Q_TOKEN_NEXT[] =
    "SELECT min(expires) FROM tokens";

static void
token_from_row(sqlite3_stmt *q, struct token_row *t)
{
	const void *h;

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(q, 0);
	store_col_text(q, 1, t->token_id, sizeof(t->token_id));
	t->user_id = sqlite3_column_int64(q, 2);
	store_col_text(q, 3, t->user, sizeof(t->user));
	t->user_disabled = sqlite3_column_int(q, 4);
	t->key_ref = sqlite3_column_int64(q, 5);
	t->key_revoked = sqlite3_column_int64(q, 6);
	t->key_expires = sqlite3_column_int64(q, 7);
	h = sqlite3_column_blob(q, 8);
	if (h != NULL && sqlite3_column_bytes(q, 8) == sizeof(t->hash))
		memcpy(t->hash, h, sizeof(t->hash));
	t->hash_version = sqlite3_column_int(q, 9);
	store_col_text(q, 10, t->kind, sizeof(t->kind));
	store_col_text(q, 11, t->services, sizeof(t->services));
	store_col_text(q, 12, t->service, sizeof(t->service));
	store_col_text(q, 13, t->rhost, sizeof(t->rhost));
	store_col_text(q, 14, t->tty, sizeof(t->tty));
	t->created = sqlite3_column_int64(q, 15);
	t->expires = sqlite3_column_int64(q, 16);
}

int
store_token_get(struct store *s, const char *token_id, struct token_row *t)
{
	sqlite3_stmt *q = store_q(s, Q_TOKEN_GET);
	int rc;

	memset(t, 0, sizeof(*t));
	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, token_id);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc);
	token_from_row(q, t);
	sqlite3_reset(q);
	return STORE_OK;
}

int
store_token_insert(struct store *s, const struct token_row *t)
{
	sqlite3_stmt *q = store_q(s, Q_TOKEN_INSERT);

	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, t->token_id);
	sqlite3_bind_int64(q, 2, t->user_id);
	if (t->key_ref != 0)
		sqlite3_bind_int64(q, 3, t->key_ref);
	sqlite3_bind_blob(q, 4, t->hash, sizeof(t->hash), SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 5, t->hash_version);
	store_bind_text(q, 6, t->kind);
	store_bind_text(q, 7, t->services);
	store_bind_text(q, 8, t->service);
	store_bind_text(q, 9, t->rhost);
	store_bind_text(q, 10, t->tty);
	sqlite3_bind_int64(q, 11, t->created);
	sqlite3_bind_int64(q, 12, t->expires);
	/*
	 * A login's token need not wait for the disk: a crash of pwlessd
	 * keeps it (it is committed), a power cut may lose it and its user
	 * logs in again.  Revocations, below, are synced.
	 */
	return store_run_write_lazy(s, q);
}

int
store_token_count(struct store *s, int64_t user_id, int64_t now,
    uint32_t *n)
{
	sqlite3_stmt *q = store_q(s, Q_TOKEN_COUNT);
	int rc;

	*n = 0;
	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, now);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc) == STORE_NOTFOUND ? STORE_ERR :
		    store_map_rc(rc);
	*n = (uint32_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return STORE_OK;
}

int
store_token_list(struct store *s, int64_t user_id, int64_t now,
    store_token_cb cb, void *arg)
{
	sqlite3_stmt *q = store_q(s, Q_TOKEN_LIST);
	struct token_row t;
	int rc, r = STORE_OK;

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, now);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		token_from_row(q, &t);
		if ((r = cb(arg, &t)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_step_done(s, q, rc);
	sqlite3_reset(q);
	return r;
}

int
store_token_revoke(struct store *s, int64_t user_id, const char *token_id)
{
	sqlite3_stmt *q = store_q(s, Q_TOKEN_REVOKE);

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, user_id);
	store_bind_text(q, 2, token_id);
	return store_run_write(s, q);
}

int
store_token_delete(struct store *s, int64_t id)
{
	sqlite3_stmt *q = store_q(s, Q_TOKEN_DELETE);

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, id);
	return store_run_write(s, q);
}

int
store_token_sweep(struct store *s, int64_t now, uint32_t *count)
{
	int r = store_delete_before(s, Q_TOKEN_SWEEP, now);

	*count = r == STORE_OK ? (uint32_t)sqlite3_changes(s->db) : 0;
	return r;
}

int
store_token_next_expiry(struct store *s, int64_t *t)
{
	sqlite3_stmt *q = store_q(s, Q_TOKEN_NEXT);
	int rc, r = STORE_OK;

	*t = 0;
	if (q == NULL)
		return STORE_ERR;
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc) == STORE_NOTFOUND ? STORE_ERR :
		    store_map_rc(rc);
	if (sqlite3_column_type(q, 0) == SQLITE_NULL)
		r = STORE_NOTFOUND;
	else
		*t = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return r;
}
