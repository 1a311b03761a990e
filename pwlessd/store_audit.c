/*
 * store_audit.c: the audit trail (rows chained by keyed hashes, the
 * anchor left by pruning, and which rows are each user's), the notices
 * sent (for their rate limit) and the remote hosts each key was used
 * from.  The schema step here also
 * brings in contact_changes, whose SQL lives in store_contacts.c.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
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

/*
 * Schema step 5: each user's rows by id without an index on audit(user),
 * whose inserts land all over the index (one page written per row).  A
 * batch of rows from the audit journal adds one entry per user holding
 * all that user's ids; a row written alone adds an entry of its own.
 */
const char store_schema_audit_users[] =
    "CREATE TABLE audit_user_ids ("
    "  user TEXT NOT NULL,"
    "  first_id INTEGER NOT NULL,"
    "  last_id INTEGER NOT NULL,"
    "  ids BLOB,"		/* after first_id: id deltas, LEB128; or NULL */
    "  PRIMARY KEY (user, first_id)"
    ") WITHOUT ROWID;"
    "INSERT INTO audit_user_ids (user, first_id, last_id) "
    "  SELECT user, id, id FROM audit WHERE user <> '';"
    "DROP INDEX audit_user;";

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

static const char Q_AUDIT_ROW[] =
    "SELECT " AUDIT_COLS " FROM audit WHERE id = ?";

static const char Q_USER_IDS_ADD[] =
    "INSERT OR REPLACE INTO audit_user_ids (user, first_id, last_id, ids) "
    "VALUES (?, ?, ?, ?)";

static const char Q_USER_IDS_PAGE[] =
    "SELECT first_id, ids FROM audit_user_ids WHERE user = ?1 AND "
    "last_id > ?2 ORDER BY first_id";

static const char Q_USER_IDS_DELETE[] =
    "DELETE FROM audit_user_ids WHERE last_id <= ?";

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

/*
 * The row and its audit_user_ids entry, both or neither: inside the
 * caller's transaction (a pass's, undone whole on failure), or in one of
 * their own.
 */
int
store_audit_insert(struct store *s, const struct audit_row *a)
{
	int own = s->depth == 0, r;

	if (own && (r = store_begin(s)) != STORE_OK)
		return r;
	if ((r = audit_write(s, Q_AUDIT_INSERT, a)) == STORE_OK &&
	    a->user[0] != '\0')
		r = store_audit_user_ids(s, a->user, &a->id, 1);
	if (!own)
		return r;
	if (r == STORE_OK && (r = store_commit(s)) == STORE_OK)
		return STORE_OK;
	store_rollback(s);
	return r;
}

/* ids (ascending) of user's rows: first, then LEB128 deltas. */
int
store_audit_user_ids(struct store *s, const char *user, const int64_t *ids,
    size_t n)
{
	sqlite3_stmt *q = store_q(s, Q_USER_IDS_ADD);
	uint8_t *blob = NULL;
	uint64_t d;
	size_t i, len = 0;
	int r;

	if (q == NULL || n == 0)
		return n == 0 ? STORE_OK : STORE_ERR;
	if (n > 1 && (blob = malloc(10 * (n - 1))) == NULL)
		return STORE_ERR;
	for (i = 1; i < n; i++) {
		for (d = (uint64_t)(ids[i] - ids[i - 1]); d >= 0x80; d >>= 7)
			blob[len++] = (uint8_t)(d | 0x80);
		blob[len++] = (uint8_t)d;
	}
	sqlite3_bind_text(q, 1, user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, ids[0]);
	sqlite3_bind_int64(q, 3, ids[n - 1]);
	if (blob != NULL)
		sqlite3_bind_blob(q, 4, blob, (int)len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q, 4);
	r = store_write_unsynced(s, q);
	free(blob);
	return r == STORE_NOTFOUND ? STORE_OK : r;
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

/* A growing set of candidate ids: sorted and cut to the smallest. */
struct cands {
	int64_t		*v;
	size_t		 n;
	size_t		 cap;
};

static int
cands_add(struct cands *c, int64_t id)
{
	int64_t *nv;
	size_t cap;

	if (c->n == c->cap) {
		cap = c->cap == 0 ? 256 : 2 * c->cap;
		if ((nv = realloc(c->v, cap * sizeof(*nv))) == NULL)
			return -1;
		c->v = nv;
		c->cap = cap;
	}
	c->v[c->n++] = id;
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Sorts, drops repeats (a batch moved in twice) and keeps limit ids. */
static void
cands_cut(struct cands *c, size_t limit)
{
	size_t i, k = 0;

	qsort(c->v, c->n, sizeof(*c->v), cmp_id);
	for (i = 0; i < c->n; i++)
		if (k == 0 || c->v[i] != c->v[k - 1])
			c->v[k++] = c->v[i];
	c->n = k < limit ? k : limit;
}

/* One entry of audit_user_ids: its ids above after. */
static int
cands_entry(struct cands *c, int64_t first, const uint8_t *b, size_t len,
    int64_t after)
{
	uint64_t d;
	int64_t id = first;
	size_t i = 0;
	int shift;

	if (id > after && cands_add(c, id) != 0)
		return -1;
	while (i < len) {
		for (d = 0, shift = 0; i < len && shift < 64; shift += 7) {
			d |= (uint64_t)(b[i] & 0x7f) << shift;
			if ((b[i++] & 0x80) == 0)
				break;
		}
		if (d == 0 || d > (uint64_t)(INT64_MAX - id))
			return 0;	/* edited by hand: stop here */
		id += (int64_t)d;
		if (id > after && cands_add(c, id) != 0)
			return -1;
	}
	return 0;
}

/*
 * The smallest limit ids of user's rows above after.  Entries come in
 * order of their first id, so once limit candidates are below the next
 * entry's first id, no later entry can have a smaller one.
 */
static int
user_cands(struct store *s, const char *user, int64_t after, size_t limit,
    struct cands *c)
{
	sqlite3_stmt *q = store_q(s, Q_USER_IDS_PAGE);
	int64_t first;
	int rc;

	c->n = 0;
	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_text(q, 1, user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, after);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		first = sqlite3_column_int64(q, 0);
		if (c->n >= limit) {
			cands_cut(c, limit);
			if (c->n == limit && first > c->v[limit - 1])
				break;
		}
		if (cands_entry(c, first, sqlite3_column_blob(q, 1),
		    (size_t)sqlite3_column_bytes(q, 1), after) != 0) {
			sqlite3_reset(q);
			return STORE_ERR;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_step_done(s, q, rc);
	sqlite3_reset(q);
	cands_cut(c, limit);
	return STORE_OK;
}

/* The row with this id; STORE_NOTFOUND when there is none. */
static int
audit_row_get(struct store *s, int64_t id, struct audit_row *a)
{
	sqlite3_stmt *q = store_q(s, Q_AUDIT_ROW);
	int rc;

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, id);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc);
	audit_from_row(q, a);
	sqlite3_reset(q);
	return STORE_OK;
}

/*
 * A page of user's rows: ids from audit_user_ids, rows by id.  A row
 * pruned, or whose user was edited by hand, is skipped, and the page is
 * filled from the next ids.
 */
static int
user_page(struct store *s, const char *user, int64_t after, int64_t since,
    uint32_t limit, store_audit_cb cb, void *arg)
{
	struct cands c = { NULL, 0, 0 };
	struct audit_row a;
	uint32_t sent = 0, want;
	size_t i;
	int r = STORE_OK;

	while (sent < limit && r == STORE_OK) {
		want = limit - sent;
		if ((r = user_cands(s, user, after, want, &c)) != STORE_OK ||
		    c.n == 0)
			break;
		for (i = 0; i < c.n && r == STORE_OK; i++) {
			after = c.v[i];
			if ((r = audit_row_get(s, c.v[i], &a)) == STORE_NOTFOUND) {
				r = STORE_OK;
				continue;
			}
			if (r != STORE_OK || strcmp(a.user, user) != 0 ||
			    a.time < since)
				continue;
			sent++;
			r = cb(arg, &a);
		}
		if (c.n < want)
			break;		/* no more of user's ids */
	}
	free(c.v);
	return r;
}

/*
 * Rows after id `after` (and at or after since, of user when not NULL),
 * oldest first, at most limit; cb returns non-zero to stop.
 */
int
store_audit_page(struct store *s, const char *user, int64_t after,
    int64_t since, uint32_t limit, store_audit_cb cb, void *arg)
{
	sqlite3_stmt *q;
	struct audit_row a;
	int rc, r = STORE_OK;

	if (user != NULL)
		return user_page(s, user, after, since, limit, cb, arg);
	if ((q = store_q(s, Q_AUDIT_PAGE)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, after);
	sqlite3_bind_int64(q, 2, since);
	sqlite3_bind_int64(q, 3, limit);
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
	int r = store_delete_before(s, Q_AUDIT_DELETE, upto);

	return r != STORE_OK ? r :
	    store_delete_before(s, Q_USER_IDS_DELETE, upto);
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
