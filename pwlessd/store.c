/*
 * store.c: the SQLite backend of store.h: opening, schema migrations by
 * user_version, the statement cache and the helpers every store_*.c uses.
 * WAL with synchronous=FULL, so a write that returned survives a crash.
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
#include "store_int.h"
#include "util.h"

const char store_schema_core[] =
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

/*
 * Reads of the main database file through mmap: a key check in a large
 * database (a million keys is ~120 MB) then costs no pread per page that
 * SQLite's own 2 MB cache misses.  Writes still go through the WAL.
 */
#define STORE_MMAP_SIZE	"268435456"

/* Schema steps; schema[i] takes user_version i to i + 1. */
static const char *const migrations[] = {
	store_schema_core,	/* users, keys */
};
#define SCHEMA_VERSION	((int)(sizeof(migrations) / sizeof(migrations[0])))

int
store_map_rc(int rc)
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
	return store_map_rc(rc);
}

static int
user_version(struct store *s, int *v)
{
	sqlite3_stmt *q;
	int rc;

	*v = 0;
	rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_map_rc(rc);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? STORE_OK : store_map_rc(rc);
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
	    (r = exec(s, "PRAGMA mmap_size = " STORE_MMAP_SIZE)) != STORE_OK ||
	    (r = exec(s, "PRAGMA foreign_keys = ON")) != STORE_OK)
		return r;
	return STORE_OK;
}

int
store_open(const char *path, struct store **sp)
{
	struct store *s;
	int rc, r = STORE_ERR;

	*sp = NULL;
	/*
	 * One thread owns the database (DESIGN 9): no SQLite mutexes and no
	 * memory statistics.  Refused (harmlessly) once SQLite is running.
	 */
	(void)sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
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
	if ((r = configure_db(s)) != STORE_OK || (r = migrate(s)) != STORE_OK)
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
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nstmts; i++)
		sqlite3_finalize(s->stmt[i]);
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

/* --- statement cache and helpers ---------------------------------------- */

sqlite3_stmt *
store_q(struct store *s, const char *sql)
{
	sqlite3_stmt *q;
	size_t i;
	int rc;

	for (i = 0; i < s->nstmts; i++) {
		if (s->sql[i] == sql) {
			sqlite3_reset(s->stmt[i]);
			sqlite3_clear_bindings(s->stmt[i]);
			return s->stmt[i];
		}
	}
	if (s->nstmts == STORE_MAX_STMTS) {
		log_msg(LOG_ERR, "store: statement cache full; raise "
		    "STORE_MAX_STMTS");
		return NULL;
	}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &q, NULL);
	if (rc != SQLITE_OK) {
		log_msg(LOG_ERR, "database %s: cannot prepare \"%s\": %s",
		    s->path, sql, sqlite3_errmsg(s->db));
		return NULL;
	}
	s->sql[s->nstmts] = sql;
	s->stmt[s->nstmts++] = q;
	return q;
}

void
store_bind_text(sqlite3_stmt *q, int i, const char *v)
{
	if (v == NULL || *v == '\0')
		sqlite3_bind_null(q, i);
	else
		sqlite3_bind_text(q, i, v, -1, SQLITE_TRANSIENT);
}

void
store_col_text(sqlite3_stmt *q, int i, char *out, size_t sz)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	pwl_strlcpy(out, t != NULL ? (const char *)t : "", sz);
}

int
store_run_write(struct store *s, sqlite3_stmt *q)
{
	int rc;

	if (q == NULL)
		return STORE_ERR;
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		if (store_map_rc(rc) != STORE_EXISTS)
			log_msg(LOG_ERR, "database %s: write failed: %s",
			    s->path, sqlite3_errmsg(s->db));
		return store_map_rc(rc);
	}
	return sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_NOTFOUND;
}

static const char Q_SYNC_NORMAL[] = "PRAGMA synchronous = NORMAL";
static const char Q_SYNC_FULL[] = "PRAGMA synchronous = FULL";

static int
step_once(struct store *s, const char *sql)
{
	sqlite3_stmt *q = store_q(s, sql);
	int rc;

	if (q == NULL)
		return STORE_ERR;
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? STORE_OK : store_map_rc(rc);
}

/*
 * A write whose loss in a power cut costs nothing that matters (a key's
 * last-used stamp): committed to the WAL without waiting for the disk
 * (synchronous = NORMAL for this statement only).  The database stays
 * consistent; the next FULL commit makes it durable too.  A key check
 * then never waits for an fsync.  (SQLite applies a PRAGMA when it
 * prepares it, so it re-prepares both on every run: ~10,000 instructions,
 * nothing beside the fsync saved.)
 */
int
store_run_write_lazy(struct store *s, sqlite3_stmt *q)
{
	int r;

	if (step_once(s, Q_SYNC_NORMAL) != STORE_OK)
		return store_run_write(s, q);	/* in a transaction: FULL */
	r = store_run_write(s, q);
	if (step_once(s, Q_SYNC_FULL) != STORE_OK) {
		log_msg(LOG_ERR, "database %s: cannot restore synchronous = "
		    "FULL: %s", s->path, sqlite3_errmsg(s->db));
		return STORE_ERR;
	}
	return r;
}

int
store_step_done(struct store *s, sqlite3_stmt *q, int rc)
{
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	log_msg(LOG_ERR, "database %s: read failed: %s", s->path,
	    sqlite3_errmsg(s->db));
	return store_map_rc(rc);
}

static const char Q_BEGIN[] = "BEGIN IMMEDIATE";
static const char Q_COMMIT[] = "COMMIT";
static const char Q_ROLLBACK[] = "ROLLBACK";

static int
tx(struct store *s, const char *sql)
{
	sqlite3_stmt *q = store_q(s, sql);
	int rc;

	if (q == NULL)
		return STORE_ERR;
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? STORE_OK : store_map_rc(rc);
}

int
store_begin(struct store *s)
{
	return tx(s, Q_BEGIN);
}

int
store_commit(struct store *s)
{
	return tx(s, Q_COMMIT);
}

void
store_rollback(struct store *s)
{
	(void)tx(s, Q_ROLLBACK);
}
