/*
 * store.c: the SQLite backend of store.h.  WAL with synchronous=FULL so a
 * write that returned survives a crash; schema migrations by user_version;
 * every statement prepared once at open and reused.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "util.h"

enum stmt_id {
	Q_USER_GET,
	Q_USER_ADD,
	Q_USER_LIST,
	Q_USER_DISABLE,
	Q_USER_CONTACT,
	Q_USER_REMOVE,
	Q_USER_NKEYS,
	Q_KEY_GET,
	Q_KEY_INSERT,
	Q_KEY_LIST,
	Q_KEY_REVOKE,
	Q_KEY_REVOKE_ALL,
	Q_KEY_END,
	Q_KEY_TOUCH,
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q__MAX
};

#define KEY_COLS "k.id, k.key_id, k.user_id, u.name, u.disabled, k.hash, " \
	"k.hash_version, k.label, k.services, k.created, k.expires, " \
	"k.revoked, k.rotated_to, k.last_used, k.last_service, k.last_rhost"
#define USER_COLS "id, name, disabled, email, phone, created, failures, " \
	"locked_until"
#define USABLE "k.revoked = 0 AND k.expires > ?"

static const char *const sql[Q__MAX] = {
	[Q_USER_GET] = "SELECT " USER_COLS " FROM users WHERE name = ?",
	[Q_USER_ADD] = "INSERT INTO users (name, email, phone, created) "
	    "VALUES (?, ?, ?, ?)",
	[Q_USER_LIST] = "SELECT " USER_COLS ", (SELECT count(*) FROM keys k "
	    "WHERE k.user_id = users.id AND " USABLE ") FROM users "
	    "ORDER BY name",
	[Q_USER_DISABLE] = "UPDATE users SET disabled = ? WHERE name = ?",
	[Q_USER_CONTACT] = "UPDATE users SET email = coalesce(?, email), "
	    "phone = coalesce(?, phone) WHERE name = ?",
	[Q_USER_REMOVE] = "DELETE FROM users WHERE name = ?",
	[Q_USER_NKEYS] = "SELECT count(*) FROM keys k WHERE k.user_id = ? "
	    "AND " USABLE " AND k.rotated_to IS NULL",
	[Q_KEY_GET] = "SELECT " KEY_COLS " FROM keys k JOIN users u "
	    "ON u.id = k.user_id WHERE k.key_id = ?",
	[Q_KEY_INSERT] = "INSERT INTO keys (key_id, user_id, hash, "
	    "hash_version, label, services, created, expires) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[Q_KEY_LIST] = "SELECT " KEY_COLS " FROM keys k JOIN users u "
	    "ON u.id = k.user_id WHERE k.user_id = ? ORDER BY k.created, k.id",
	[Q_KEY_REVOKE] = "UPDATE keys SET revoked = ? WHERE user_id = ? "
	    "AND key_id = ? AND revoked = 0",
	[Q_KEY_REVOKE_ALL] = "UPDATE keys SET revoked = ? WHERE user_id = ? "
	    "AND revoked = 0 AND expires > ?",
	[Q_KEY_END] = "UPDATE keys SET expires = min(expires, ?), "
	    "rotated_to = ? WHERE id = ? AND revoked = 0",
	[Q_KEY_TOUCH] = "UPDATE keys SET last_used = ?, last_service = ?, "
	    "last_rhost = ? WHERE id = ?",
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
};

static const char schema_v1[] =
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  email TEXT,"
    "  phone TEXT,"
    "  created INTEGER NOT NULL,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  locked_until INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE keys ("
    "  id INTEGER PRIMARY KEY,"
    "  key_id TEXT NOT NULL UNIQUE,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  hash BLOB NOT NULL,"
    "  hash_version INTEGER NOT NULL,"
    "  label TEXT,"
    "  services TEXT,"
    "  created INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0,"
    "  rotated_to TEXT,"
    "  last_used INTEGER NOT NULL DEFAULT 0,"
    "  last_service TEXT,"
    "  last_rhost TEXT"
    ");"
    "CREATE INDEX keys_user ON keys(user_id);";

/* Schema steps; schema[i] takes user_version i to i + 1. */
static const char *const migrations[] = {
	schema_v1,
};
#define SCHEMA_VERSION	((int)(sizeof(migrations) / sizeof(migrations[0])))

struct store {
	sqlite3		*db;
	char		 path[4096];
	sqlite3_stmt	*q[Q__MAX];
};

static int
map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_FULL:
		return STORE_FULL;
	case SQLITE_READONLY:
		return STORE_READONLY;
	case SQLITE_CONSTRAINT:
		return STORE_EXISTS;
	}
	return STORE_ERR;
}

const char *
store_errmsg(struct store *s)
{
	return s != NULL && s->db != NULL ? sqlite3_errmsg(s->db) :
	    "no database";
}

static int
exec(struct store *s, const char *text)
{
	char *err = NULL;
	int rc;

	rc = sqlite3_exec(s->db, text, NULL, NULL, &err);
	if (rc != SQLITE_OK) {
		log_msg(LOG_ERR, "database %s: %s", s->path,
		    err != NULL ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
	}
	return map_rc(rc);
}

static int
user_version(struct store *s, int *v)
{
	sqlite3_stmt *q;
	int rc;

	*v = 0;
	rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return map_rc(rc);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? STORE_OK : map_rc(rc);
}

static int
migrate(struct store *s)
{
	char set[64];
	int v, r;

	if ((r = user_version(s, &v)) != STORE_OK)
		return r;
	if (v > SCHEMA_VERSION) {
		log_msg(LOG_ERR, "database %s has schema %d, newer than this "
		    "pwlessd (%d): run the newer pwlessd", s->path, v,
		    SCHEMA_VERSION);
		return STORE_ERR;
	}
	for (; v < SCHEMA_VERSION; v++) {
		snprintf(set, sizeof(set), "PRAGMA user_version = %d", v + 1);
		if ((r = exec(s, "BEGIN IMMEDIATE")) != STORE_OK)
			return r;
		if ((r = exec(s, migrations[v])) != STORE_OK ||
		    (r = exec(s, set)) != STORE_OK ||
		    (r = exec(s, "COMMIT")) != STORE_OK) {
			exec(s, "ROLLBACK");
			return r;
		}
		log_msg(LOG_INFO, "database %s: schema now at version %d",
		    s->path, v + 1);
	}
	return STORE_OK;
}

static int
make_parent(const char *path)
{
	char dir[4096];
	struct stat st;

	pwl_strlcpy(dir, path, sizeof(dir));
	dirname(dir);
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -1;
	if (mkdir(dir, 0700) != 0) {
		log_msg(LOG_ERR, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
configure_db(struct store *s)
{
	int r;

	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_busy_timeout(s->db, 5000);
	if ((r = exec(s, "PRAGMA journal_mode = WAL")) != STORE_OK ||
	    (r = exec(s, "PRAGMA synchronous = FULL")) != STORE_OK ||
	    (r = exec(s, "PRAGMA secure_delete = ON")) != STORE_OK ||
	    (r = exec(s, "PRAGMA foreign_keys = ON")) != STORE_OK)
		return r;
	return STORE_OK;
}

static int
prepare_all(struct store *s)
{
	int i, rc;

	for (i = 0; i < Q__MAX; i++) {
		rc = sqlite3_prepare_v3(s->db, sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL);
		if (rc != SQLITE_OK) {
			log_msg(LOG_ERR, "database %s: cannot prepare "
			    "statement %d: %s", s->path, i,
			    sqlite3_errmsg(s->db));
			return map_rc(rc);
		}
	}
	return STORE_OK;
}

int
store_open(const char *path, struct store **sp)
{
	struct store *s;
	int rc, r = STORE_ERR;

	*sp = NULL;
	if (make_parent(path) != 0)
		return STORE_ERR;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return STORE_ERR;
	pwl_strlcpy(s->path, path, sizeof(s->path));
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
	    NULL);
	if (rc != SQLITE_OK) {
		log_msg(LOG_ERR, "cannot open database %s: %s", path,
		    s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail;
	}
	if ((r = configure_db(s)) != STORE_OK || (r = migrate(s)) != STORE_OK ||
	    (r = prepare_all(s)) != STORE_OK)
		goto fail;
	*sp = s;
	return STORE_OK;
 fail:
	store_close(s);
	return r < 0 ? r : STORE_ERR;
}

void
store_close(struct store *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < Q__MAX; i++)
		sqlite3_finalize(s->q[i]);
	sqlite3_close(s->db);
	free(s);
}

int
store_chown(struct store *s, uid_t uid, gid_t gid)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char p[4200], dir[4096];
	size_t i;

	pwl_strlcpy(dir, s->path, sizeof(dir));
	if (chown(dirname(dir), uid, gid) != 0)
		return STORE_ERR;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", s->path, sfx[i]);
		if (chown(p, uid, gid) != 0 && errno != ENOENT)
			return STORE_ERR;
	}
	return STORE_OK;
}

/* --- small statement helpers ------------------------------------------- */

static sqlite3_stmt *
q_get(struct store *s, enum stmt_id id)
{
	sqlite3_reset(s->q[id]);
	sqlite3_clear_bindings(s->q[id]);
	return s->q[id];
}

static void
bind_text(sqlite3_stmt *q, int i, const char *v)
{
	if (v == NULL || *v == '\0')
		sqlite3_bind_null(q, i);
	else
		sqlite3_bind_text(q, i, v, -1, SQLITE_TRANSIENT);
}

static void
col_text(sqlite3_stmt *q, int i, char *out, size_t sz)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	pwl_strlcpy(out, t != NULL ? (const char *)t : "", sz);
}

/* Runs a write statement; STORE_NOTFOUND when it changed no row. */
static int
run_write(struct store *s, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		if (map_rc(rc) != STORE_EXISTS)
			log_msg(LOG_ERR, "database %s: write failed: %s",
			    s->path, sqlite3_errmsg(s->db));
		return map_rc(rc);
	}
	return sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_NOTFOUND;
}

static int
step_done(struct store *s, sqlite3_stmt *q, int rc)
{
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	log_msg(LOG_ERR, "database %s: read failed: %s", s->path,
	    sqlite3_errmsg(s->db));
	return map_rc(rc);
}

/* --- users ------------------------------------------------------------- */

static void
user_from_row(sqlite3_stmt *q, struct user_row *u)
{
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(q, 0);
	col_text(q, 1, u->name, sizeof(u->name));
	u->disabled = sqlite3_column_int(q, 2);
	col_text(q, 3, u->email, sizeof(u->email));
	col_text(q, 4, u->phone, sizeof(u->phone));
	u->created = sqlite3_column_int64(q, 5);
	u->failures = (uint32_t)sqlite3_column_int64(q, 6);
	u->locked_until = sqlite3_column_int64(q, 7);
}

int
store_user_get(struct store *s, const char *name, struct user_row *u)
{
	sqlite3_stmt *q = q_get(s, Q_USER_GET);
	int rc;

	memset(u, 0, sizeof(*u));
	bind_text(q, 1, name);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return step_done(s, q, rc);
	user_from_row(q, u);
	sqlite3_reset(q);
	return STORE_OK;
}

int
store_user_add(struct store *s, const struct user_row *u)
{
	sqlite3_stmt *q = q_get(s, Q_USER_ADD);

	bind_text(q, 1, u->name);
	bind_text(q, 2, u->email);
	bind_text(q, 3, u->phone);
	sqlite3_bind_int64(q, 4, u->created);
	return run_write(s, q);
}

int
store_user_list(struct store *s, int64_t now, store_user_cb cb, void *arg)
{
	sqlite3_stmt *q = q_get(s, Q_USER_LIST);
	struct user_row u;
	int rc, r = STORE_OK;

	sqlite3_bind_int64(q, 1, now);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		user_from_row(q, &u);
		u.nkeys = (uint32_t)sqlite3_column_int64(q, 8);
		if ((r = cb(arg, &u)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return step_done(s, q, rc);
	sqlite3_reset(q);
	return r;
}

int
store_user_set_disabled(struct store *s, const char *name, int disabled)
{
	sqlite3_stmt *q = q_get(s, Q_USER_DISABLE);

	sqlite3_bind_int(q, 1, disabled);
	bind_text(q, 2, name);
	return run_write(s, q);
}

int
store_user_set_contact(struct store *s, const char *name, const char *email,
    const char *phone)
{
	sqlite3_stmt *q = q_get(s, Q_USER_CONTACT);

	bind_text(q, 1, email);
	bind_text(q, 2, phone);
	bind_text(q, 3, name);
	return run_write(s, q);
}

int
store_user_remove(struct store *s, const char *name)
{
	sqlite3_stmt *q = q_get(s, Q_USER_REMOVE);

	bind_text(q, 1, name);
	return run_write(s, q);
}

int
store_user_count_keys(struct store *s, int64_t user_id, int64_t now,
    uint32_t *n)
{
	sqlite3_stmt *q = q_get(s, Q_USER_NKEYS);
	int rc;

	*n = 0;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, now);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return step_done(s, q, rc) == STORE_NOTFOUND ? STORE_ERR :
		    map_rc(rc);
	*n = (uint32_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return STORE_OK;
}

/* --- keys -------------------------------------------------------------- */

static void
key_from_row(sqlite3_stmt *q, struct key_row *k)
{
	const void *h;

	memset(k, 0, sizeof(*k));
	k->id = sqlite3_column_int64(q, 0);
	col_text(q, 1, k->key_id, sizeof(k->key_id));
	k->user_id = sqlite3_column_int64(q, 2);
	col_text(q, 3, k->user, sizeof(k->user));
	k->user_disabled = sqlite3_column_int(q, 4);
	h = sqlite3_column_blob(q, 5);
	if (h != NULL && sqlite3_column_bytes(q, 5) == sizeof(k->hash))
		memcpy(k->hash, h, sizeof(k->hash));
	k->hash_version = sqlite3_column_int(q, 6);
	col_text(q, 7, k->label, sizeof(k->label));
	col_text(q, 8, k->services, sizeof(k->services));
	k->created = sqlite3_column_int64(q, 9);
	k->expires = sqlite3_column_int64(q, 10);
	k->revoked = sqlite3_column_int64(q, 11);
	col_text(q, 12, k->rotated_to, sizeof(k->rotated_to));
	k->last_used = sqlite3_column_int64(q, 13);
	col_text(q, 14, k->last_service, sizeof(k->last_service));
	col_text(q, 15, k->last_rhost, sizeof(k->last_rhost));
}

int
store_key_get(struct store *s, const char *key_id, struct key_row *k)
{
	sqlite3_stmt *q = q_get(s, Q_KEY_GET);
	int rc;

	memset(k, 0, sizeof(*k));
	bind_text(q, 1, key_id);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return step_done(s, q, rc);
	key_from_row(q, k);
	sqlite3_reset(q);
	return STORE_OK;
}

int
store_key_insert(struct store *s, const struct key_row *k)
{
	sqlite3_stmt *q = q_get(s, Q_KEY_INSERT);

	bind_text(q, 1, k->key_id);
	sqlite3_bind_int64(q, 2, k->user_id);
	sqlite3_bind_blob(q, 3, k->hash, sizeof(k->hash), SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 4, k->hash_version);
	bind_text(q, 5, k->label);
	bind_text(q, 6, k->services);
	sqlite3_bind_int64(q, 7, k->created);
	sqlite3_bind_int64(q, 8, k->expires);
	return run_write(s, q);
}

int
store_key_list(struct store *s, int64_t user_id, store_key_cb cb, void *arg)
{
	sqlite3_stmt *q = q_get(s, Q_KEY_LIST);
	struct key_row k;
	int rc, r = STORE_OK;

	sqlite3_bind_int64(q, 1, user_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		key_from_row(q, &k);
		if ((r = cb(arg, &k)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return step_done(s, q, rc);
	sqlite3_reset(q);
	return r;
}

int
store_key_revoke(struct store *s, int64_t user_id, const char *key_id,
    int64_t now)
{
	sqlite3_stmt *q = q_get(s, Q_KEY_REVOKE);

	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, user_id);
	bind_text(q, 3, key_id);
	return run_write(s, q);
}

int
store_key_revoke_all(struct store *s, int64_t user_id, int64_t now,
    uint32_t *count)
{
	sqlite3_stmt *q = q_get(s, Q_KEY_REVOKE_ALL);
	int r;

	*count = 0;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, user_id);
	sqlite3_bind_int64(q, 3, now);
	r = run_write(s, q);
	if (r == STORE_OK)
		*count = (uint32_t)sqlite3_changes(s->db);
	return r == STORE_NOTFOUND ? STORE_OK : r;
}

static int
tx(struct store *s, enum stmt_id id)
{
	sqlite3_stmt *q = q_get(s, id);
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	return rc == SQLITE_DONE ? STORE_OK : map_rc(rc);
}

int
store_key_rotate(struct store *s, const struct key_row *old,
    int64_t old_expires, const struct key_row *nk)
{
	sqlite3_stmt *q;
	int r;

	if ((r = tx(s, Q_BEGIN)) != STORE_OK)
		return r;
	if ((r = store_key_insert(s, nk)) != STORE_OK)
		goto fail;
	q = q_get(s, Q_KEY_END);
	sqlite3_bind_int64(q, 1, old_expires);
	bind_text(q, 2, nk->key_id);
	sqlite3_bind_int64(q, 3, old->id);
	if ((r = run_write(s, q)) != STORE_OK)
		goto fail;
	if ((r = tx(s, Q_COMMIT)) != STORE_OK)
		goto fail;
	return STORE_OK;
 fail:
	tx(s, Q_ROLLBACK);
	return r;
}

int
store_key_touch(struct store *s, int64_t id, int64_t now,
    const char *service, const char *rhost)
{
	sqlite3_stmt *q = q_get(s, Q_KEY_TOUCH);

	sqlite3_bind_int64(q, 1, now);
	bind_text(q, 2, service);
	bind_text(q, 3, rhost);
	sqlite3_bind_int64(q, 4, id);
	return run_write(s, q);
}
