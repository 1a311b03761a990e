/*
 * store_audit.c: the audit trail (rows chained by keyed hashes, and the
 * anchor left by pruning), the notices sent (for their rate limit) and
 * the remote hosts each key was used from.  The schema step here also
 * brings in contact_changes, whose SQL lives in store_contacts.c.
 */
#include "config.h"

#include <string.h>

#include "store_int.h"

const char store_schema_audit[] =
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"	/* assigned by pwlessd: never reused */
    "  time INTEGER NOT NULL,"
    "  event TEXT NOT NULL,"
    "  user TEXT,"
    "  caller_uid INTEGER NOT NULL,"
    "  service TEXT,"
    "  rhost TEXT,"
    "  method TEXT,"
    "  result TEXT,"
    "  detail TEXT,"
    "  prev_hash BLOB NOT NULL,"
    "  hash BLOB NOT NULL"
    ");"
    "CREATE INDEX audit_user ON audit(user, id);"
    "CREATE INDEX audit_time ON audit(time);"
    "CREATE TABLE audit_anchor ("	/* the last pruned row */
    "  one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  id INTEGER NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  mac BLOB NOT NULL"
    ");"
    "CREATE TABLE contact_changes ("
    "  id INTEGER PRIMARY KEY,"
    "  cid TEXT NOT NULL UNIQUE,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  uid INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"		/* email phone */
    "  new_value TEXT NOT NULL,"
    "  old_kind TEXT,"
    "  old_value TEXT,"		/* the second code's address, or NULL */
    "  state TEXT NOT NULL,"	/* pending applied cancelled expired burnt */
    "  new_hash BLOB NOT NULL,"
    "  old_hash BLOB,"		/* NULL: no code could go to old_value */
    "  hash_version INTEGER NOT NULL,"
    "  new_ok INTEGER NOT NULL DEFAULT 0,"
    "  old_ok INTEGER NOT NULL DEFAULT 0,"	/* 2: waived by an admin */
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  service TEXT,"		/* the fresh login that asked */
    "  rhost TEXT,"
    "  created INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  done INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX contact_changes_user ON contact_changes(user_id, state);"
    "CREATE TABLE key_rhosts ("
    "  key_ref INTEGER NOT NULL REFERENCES keys(id) ON DELETE CASCADE,"
    "  rhost TEXT NOT NULL,"
    "  first_seen INTEGER NOT NULL,"
    "  PRIMARY KEY (key_ref, rhost)"
    ") WITHOUT ROWID;"
    "CREATE TABLE notices ("
    "  id INTEGER PRIMARY KEY,"
    "  user TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  time INTEGER NOT NULL"
    ");"
    "CREATE INDEX notices_user ON notices(user, time);";

#define AUDIT_COLS "id, time, event, user, caller_uid, service, rhost, " \
	"method, result, detail, prev_hash, hash"

static const char Q_AUDIT_INSERT[] =
    "INSERT INTO audit (" AUDIT_COLS ") "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* A row from the audit journal (audit_journal.c): once is enough. */
static const char Q_AUDIT_IMPORT[] =
    "INSERT OR IGNORE INTO audit (" AUDIT_COLS ") "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static const char Q_AUDIT_HEAD[] =
    "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1";

static const char Q_AUDIT_PAGE[] =
    "SELECT " AUDIT_COLS " FROM audit WHERE id > ?1 AND time >= ?2 "
    "ORDER BY id LIMIT ?3";

static const char Q_AUDIT_PAGE_USER[] =
    "SELECT " AUDIT_COLS " FROM audit WHERE user = ?4 AND id > ?1 "
    "AND time >= ?2 ORDER BY user, id LIMIT ?3";

static const char Q_AUDIT_FIRST_SINCE[] =
    "SELECT min(id) FROM audit WHERE time >= ?";

static const char Q_AUDIT_MIN[] =
    "SELECT min(id) FROM audit";

static const char Q_AUDIT_HASH_OF[] =
    "SELECT id, hash FROM audit WHERE id = ?";

static const char Q_AUDIT_DELETE[] =
    "DELETE FROM audit WHERE id <= ?";

static const char Q_ANCHOR_GET[] =
    "SELECT id, hash, time, mac FROM audit_anchor WHERE one = 1";

static const char Q_ANCHOR_SET[] =
    "INSERT OR REPLACE INTO audit_anchor (one, id, hash, time, mac) "
    "VALUES (1, ?, ?, ?, ?)";

static const char Q_NOTICE_STATS[] =
    "SELECT count(*), coalesce(max(CASE WHEN kind = ?2 THEN time END), 0) "
    "FROM notices WHERE user = ?1 AND time > ?3";

static const char Q_NOTICE_ADD[] =
    "INSERT INTO notices (user, kind, time) VALUES (?, ?, ?)";

static const char Q_NOTICE_PRUNE[] =
    "DELETE FROM notices WHERE time < ?";

static const char Q_RHOST_SEEN[] =
    "INSERT OR IGNORE INTO key_rhosts (key_ref, rhost, first_seen) "
    "VALUES (?, ?, ?)";

/* Copies column i; sets *over when it did not fit (a hand edit). */
static void
col_text(sqlite3_stmt *q, int i, char *out, size_t sz, int *over)
{
	if ((size_t)sqlite3_column_bytes(q, i) >= sz)
		*over = 1;
	store_col_text(q, i, out, sz);
}

static void
col_hash(sqlite3_stmt *q, int i, uint8_t out[32], int *over)
{
	const void *h = sqlite3_column_blob(q, i);

	memset(out, 0, 32);
	if (h != NULL && sqlite3_column_bytes(q, i) == 32)
		memcpy(out, h, 32);
	else
		*over = 1;
}

static void
audit_from_row(sqlite3_stmt *q, struct audit_row *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(q, 0);
	a->time = sqlite3_column_int64(q, 1);
	col_text(q, 2, a->event, sizeof(a->event), &a->oversize);
	col_text(q, 3, a->user, sizeof(a->user), &a->oversize);
	a->caller_uid = sqlite3_column_int64(q, 4);
	col_text(q, 5, a->service, sizeof(a->service), &a->oversize);
	col_text(q, 6, a->rhost, sizeof(a->rhost), &a->oversize);
	col_text(q, 7, a->method, sizeof(a->method), &a->oversize);
	col_text(q, 8, a->result, sizeof(a->result), &a->oversize);
	col_text(q, 9, a->detail, sizeof(a->detail), &a->oversize);
	col_hash(q, 10, a->prev_hash, &a->oversize);
	col_hash(q, 11, a->hash, &a->oversize);
}

static int
audit_write(struct store *s, const char *sql, const struct audit_row *a)
{
	sqlite3_stmt *q = store_q(s, sql);
	int r;

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, a->id);
	sqlite3_bind_int64(q, 2, a->time);
	store_bind_text(q, 3, a->event);
	store_bind_text(q, 4, a->user);
	sqlite3_bind_int64(q, 5, a->caller_uid);
	store_bind_text(q, 6, a->service);
	store_bind_text(q, 7, a->rhost);
	store_bind_text(q, 8, a->method);
	store_bind_text(q, 9, a->result);
	store_bind_text(q, 10, a->detail);
	sqlite3_bind_blob(q, 11, a->prev_hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 12, a->hash, 32, SQLITE_TRANSIENT);
	r = store_write_unsynced(s, q);
	return r == STORE_NOTFOUND ? STORE_OK : r;	/* ignored: there */
}

int
store_audit_insert(struct store *s, const struct audit_row *a)
{
	return audit_write(s, Q_AUDIT_INSERT, a);
}

int
store_audit_import(struct store *s, const struct audit_row *a)
{
	return audit_write(s, Q_AUDIT_IMPORT, a);
}

/* One (id, hash) row of q; STORE_NOTFOUND when there is none. */
static int
id_hash(struct store *s, sqlite3_stmt *q, int64_t *id, uint8_t h[32])
{
	int rc, over = 0;

	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc);
	*id = sqlite3_column_int64(q, 0);
	col_hash(q, 1, h, &over);
	sqlite3_reset(q);
	return STORE_OK;
}

int
store_audit_head(struct store *s, int64_t *id, uint8_t hash[32])
{
	sqlite3_stmt *q = store_q(s, Q_AUDIT_HEAD);

	*id = 0;
	memset(hash, 0, 32);
	if (q == NULL)
		return STORE_ERR;
	return id_hash(s, q, id, hash);
}

int
store_audit_hash_of(struct store *s, int64_t id, uint8_t hash[32])
{
	sqlite3_stmt *q = store_q(s, Q_AUDIT_HASH_OF);
	int64_t got;

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, id);
	return id_hash(s, q, &got, hash);
}

/*
 * Rows after id `after` (and at or after since, of user when not NULL),
 * oldest first, at most limit; cb returns non-zero to stop.
 */
int
store_audit_page(struct store *s, const char *user, int64_t after,
    int64_t since, uint32_t limit, store_audit_cb cb, void *arg)
{
	sqlite3_stmt *q = store_q(s, user != NULL ? Q_AUDIT_PAGE_USER :
	    Q_AUDIT_PAGE);
	struct audit_row a;
	int rc, r = STORE_OK;

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, after);
	sqlite3_bind_int64(q, 2, since);
	sqlite3_bind_int64(q, 3, limit);
	if (user != NULL)
		sqlite3_bind_text(q, 4, user, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		audit_from_row(q, &a);
		if ((r = cb(arg, &a)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_step_done(s, q, rc);
	sqlite3_reset(q);
	return r;
}

/* min(id) of q's answer; STORE_NOTFOUND when there are no rows. */
static int
min_id(struct store *s, sqlite3_stmt *q, int64_t *id)
{
	int rc;

	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc) == STORE_NOTFOUND ? STORE_ERR :
		    store_map_rc(rc);
	rc = sqlite3_column_type(q, 0) == SQLITE_NULL;
	*id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return rc ? STORE_NOTFOUND : STORE_OK;
}

/* The first row at or after since, and the first row of all. */
int
store_audit_bounds(struct store *s, int64_t since, int64_t *first_new,
    int64_t *first)
{
	sqlite3_stmt *q = store_q(s, Q_AUDIT_FIRST_SINCE);
	int r;

	*first_new = *first = 0;
	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, since);
	if ((r = min_id(s, q, first_new)) < 0)
		return r;
	if ((q = store_q(s, Q_AUDIT_MIN)) == NULL)
		return STORE_ERR;
	return min_id(s, q, first);
}

int
store_audit_delete(struct store *s, int64_t upto)
{
	return store_delete_before(s, Q_AUDIT_DELETE, upto);
}

int
store_audit_anchor_get(struct store *s, struct audit_anchor *a)
{
	sqlite3_stmt *q = store_q(s, Q_ANCHOR_GET);
	const void *m;
	int rc, over = 0;

	memset(a, 0, sizeof(*a));
	if (q == NULL)
		return STORE_ERR;
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc);
	a->id = sqlite3_column_int64(q, 0);
	col_hash(q, 1, a->hash, &over);
	a->time = sqlite3_column_int64(q, 2);
	m = sqlite3_column_blob(q, 3);
	if (m != NULL && sqlite3_column_bytes(q, 3) == sizeof(a->mac))
		memcpy(a->mac, m, sizeof(a->mac));
	sqlite3_reset(q);
	return STORE_OK;
}

int
store_audit_anchor_set(struct store *s, const struct audit_anchor *a)
{
	sqlite3_stmt *q = store_q(s, Q_ANCHOR_SET);

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, a->id);
	sqlite3_bind_blob(q, 2, a->hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, a->time);
	sqlite3_bind_blob(q, 4, a->mac, sizeof(a->mac), SQLITE_TRANSIENT);
	return store_run_write(s, q);
}

/* Notices to user since `since`: all kinds, and the newest of kind. */
int
store_notice_stats(struct store *s, const char *user, const char *kind,
    int64_t since, uint32_t *count, int64_t *last_kind)
{
	sqlite3_stmt *q = store_q(s, Q_NOTICE_STATS);
	int rc;

	*count = 0;
	*last_kind = 0;
	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, user);
	store_bind_text(q, 2, kind);
	sqlite3_bind_int64(q, 3, since);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc) == STORE_NOTFOUND ? STORE_ERR :
		    store_map_rc(rc);
	*count = (uint32_t)sqlite3_column_int64(q, 0);
	*last_kind = sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	return STORE_OK;
}

int
store_notice_add(struct store *s, const char *user, const char *kind,
    int64_t now)
{
	sqlite3_stmt *q = store_q(s, Q_NOTICE_ADD);

	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, user);
	store_bind_text(q, 2, kind);
	sqlite3_bind_int64(q, 3, now);
	return store_run_write(s, q);
}

int
store_notice_prune(struct store *s, int64_t before)
{
	return store_delete_before(s, Q_NOTICE_PRUNE, before);
}

/* Records rhost for key; STORE_OK when new, STORE_EXISTS when seen. */
int
store_key_rhost(struct store *s, int64_t key_ref, const char *rhost,
    int64_t now)
{
	sqlite3_stmt *q = store_q(s, Q_RHOST_SEEN);
	int r;

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, key_ref);
	store_bind_text(q, 2, rhost);
	sqlite3_bind_int64(q, 3, now);
	r = store_run_write(s, q);
	return r == STORE_NOTFOUND ? STORE_EXISTS : r;
}
