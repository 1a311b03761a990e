/*
 * store.c: the SQLite backend of store.h: opening, schema migrations by
 * user_version, the statement cache and the helpers every store_*.c uses.
 * WAL with synchronous=NORMAL and an fsync of the WAL after each commit
 * that must last (sync_wal), so a write that returned survives a crash.
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
	store_schema_tokens,	/* tokens */
	store_schema_codes,	/* challenges, outbox, sends, unknown_names */
	store_schema_audit,	/* audit, contact changes, key rhosts... */
	store_schema_audit_users, /* audit_user_ids for audit(user) */
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

/*
 * A failed step of what: logs it with the errno behind it and what to
 * do, and maps it; an I/O error from a full or read-only filesystem
 * counts as STORE_FULL or STORE_READONLY.
 */
int
store_fail(struct store *s, int rc, const char *what)
{
	int e = sqlite3_system_errno(s->db), r = store_map_rc(rc);
	const char *hint = "";

	if ((rc & 0xff) == SQLITE_IOERR && e == 0)
		e = store_probe(s);

	if ((rc & 0xff) == SQLITE_IOERR && (e == ENOSPC || e == EDQUOT))
		r = STORE_FULL;
	else if ((rc & 0xff) == SQLITE_IOERR && (e == EROFS || e == EPERM))
		r = STORE_READONLY;
	if (r == STORE_EXISTS)
		return r;
	if (r == STORE_FULL)
		hint = "; free space on its filesystem";
	else if (r == STORE_READONLY)
		hint = "; make it writable again (a filesystem turns read-only "
		    "after a disk error: check dmesg)";
	log_msg(LOG_ERR, "database %s: %s failed: %s%s%s%s%s", s->path, what,
	    sqlite3_errmsg(s->db), e != 0 ? " (" : "", e != 0 ? strerror(e) :
	    "", e != 0 ? ")" : "", hint);
	return r;
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
	    (r = exec(s, "PRAGMA synchronous = NORMAL")) != STORE_OK ||
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
	(void)store_health_open(NULL);	/* SQLite's error log, first */
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
	    (r = store_health_open(s)) != STORE_OK)
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
	/* never checkpoint into a file that went bad under us */
	if (s->bad != STORE_GOOD && s->db != NULL)
		sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
		    NULL);
	sqlite3_close(s->db);
	free(s);
}

int
store_chown(struct store *s, uid_t uid, gid_t gid)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-audit" };
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

static int sync_wal(struct store *);

/*
 * A write that must be durable before its caller answers: outside a
 * transaction it is synced at once, inside one at its commit.
 */
int
store_run_write(struct store *s, sqlite3_stmt *q)
{
	int r;

	s->must_sync = 1;
	r = store_write_unsynced(s, q);
	if (s->depth == 0 && (r == STORE_OK || r == STORE_NOTFOUND) &&
	    !s->lazy) {
		s->must_sync = 0;
		if (sync_wal(s) != STORE_OK)
			return STORE_ERR;
	}
	return r;
}

/* A write that alone does not make a commit wait for the disk. */
int
store_write_unsynced(struct store *s, sqlite3_stmt *q)
{
	int rc;

	if (q == NULL)
		return STORE_ERR;
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_fail(s, rc, "write");
	s->unsynced = 1;
	return sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_NOTFOUND;
}

/*
 * A write whose loss in a power cut costs nothing that matters (a key's
 * last-used stamp).  Inside a loop pass it does not make the group commit
 * wait for the disk, so a key check never waits for an fsync; the next
 * durable commit or store_sync_pending makes it durable too.  Outside a
 * group it is an ordinary write.
 */
int
store_run_write_lazy(struct store *s, sqlite3_stmt *q)
{
	if (s->depth != 0)
		return store_write_unsynced(s, q);
	return store_run_write(s, q);
}

/* A delete whose one parameter is a time; deleting nothing is fine. */
int
store_delete_before(struct store *s, const char *sql, int64_t t)
{
	sqlite3_stmt *q = store_q(s, sql);
	int r;

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, t);
	r = store_run_write(s, q);
	return r == STORE_NOTFOUND ? STORE_OK : r;
}

int
store_step_done(struct store *s, sqlite3_stmt *q, int rc)
{
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	return store_fail(s, rc, "read");
}

static const char Q_BEGIN[] = "BEGIN IMMEDIATE";
static const char Q_COMMIT[] = "COMMIT";
static const char Q_ROLLBACK[] = "ROLLBACK";
static const char Q_SAVEPOINT[] = "SAVEPOINT pwl";
static const char Q_RELEASE[] = "RELEASE pwl";
static const char Q_ROLLBACK_TO[] = "ROLLBACK TO pwl";

static int
tx(struct store *s, const char *sql)
{
	sqlite3_stmt *q = store_q(s, sql);
	int rc;

	if (q == NULL)
		return STORE_ERR;
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	return sql == Q_ROLLBACK ? store_map_rc(rc) : store_fail(s, rc, sql);
}

/*
 * Transactions nest: the outermost is BEGIN IMMEDIATE, inner ones are
 * savepoints, so a handler's read-decide-write step can run inside the
 * event loop pass's group commit (audit.c) and still undo only itself.
 */
int
store_begin(struct store *s)
{
	int r = tx(s, s->depth == 0 ? Q_BEGIN : Q_SAVEPOINT);

	if (r == STORE_OK && s->depth++ == 0)
		s->must_sync = 0;
	return r;
}

/* On failure the transaction stays open: the caller rolls it back. */
int
store_commit(struct store *s)
{
	int r;

	if (s->depth == 0)
		return STORE_ERR;
	if ((r = tx(s, s->depth == 1 ? Q_COMMIT : Q_RELEASE)) != STORE_OK)
		return r;
	if (--s->depth == 0 && s->must_sync && !s->lazy) {
		s->must_sync = 0;
		r = sync_wal(s);
	}
	return r;
}

void
store_rollback(struct store *s)
{
	if (s->depth == 0)
		return;
	if (s->depth-- == 1) {
		(void)tx(s, Q_ROLLBACK);
		return;
	}
	(void)tx(s, Q_ROLLBACK_TO);
	(void)tx(s, Q_RELEASE);
}

/*
 * SQLite ends a transaction by itself on some errors (disk full, I/O).
 * Returns 1, and forgets the nesting, when that happened to ours.
 */
int
store_tx_lost(struct store *s)
{
	if (s->depth == 0 || !sqlite3_get_autocommit(s->db))
		return 0;
	s->depth = 0;
	return 1;
}

int
store_in_tx(const struct store *s)
{
	return s->depth > 0;
}

/* --- group commit (audit.c) --------------------------------------------- */

/*
 * The connection runs with synchronous = NORMAL: a commit writes the WAL
 * without waiting for the disk.  Durability comes from sync_wal, called
 * after a commit that wrote anything that must last (store_run_write),
 * which is what synchronous = FULL would do; writes that may be lost in a
 * power cut (audit rows of a read-only pass, last-used stamps) ride on
 * the next sync, or store_sync_pending within a second.
 */
static int
sync_wal(struct store *s)
{
	sqlite3_file *f = NULL;
	int rc;

	rc = sqlite3_file_control(s->db, "main",
	    SQLITE_FCNTL_JOURNAL_POINTER, &f);
	if (rc != SQLITE_OK)
		return store_map_rc(rc);
	if (f != NULL && f->pMethods != NULL &&
	    (rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL)) != SQLITE_OK) {
		log_msg(LOG_ERR, "database %s: cannot sync its log: %s",
		    s->path, sqlite3_errstr(rc));
		return store_map_rc(rc);
	}
	s->unsynced = 0;
	return STORE_OK;
}

/* A loop pass's transaction: one commit, at most one fsync, per pass. */
int
store_begin_group(struct store *s)
{
	if (s->depth != 0)
		return STORE_ERR;
	return store_begin(s);
}

/*
 * Commits a group: durable on disk (one fsync) when it wrote anything
 * that must be, else committed and synced by the next durable commit,
 * checkpoint or store_sync_pending.  On failure it stays open.
 */
int
store_commit_group(struct store *s)
{
	return store_commit(s);
}

/* After a group that was rolled back: nothing to restore. */
void
store_end_group(struct store *s)
{
	(void)s;
}

/* Makes unsynced commits durable; cheap when there are none. */
void
store_sync_pending(struct store *s)
{
	(void)store_sync_now(s);
}

int
store_sync_now(struct store *s)
{
	if (s->depth != 0)
		return STORE_ERR;
	return s->unsynced ? sync_wal(s) : STORE_OK;
}

int64_t
store_changes(struct store *s)
{
	return (int64_t)sqlite3_total_changes64(s->db);
}

/*
 * Between store_lazy(s, 1) and store_lazy(s, 0), commits do not wait for
 * the disk: the WAL is synced by the next durable commit, a checkpoint or
 * store_sync_pending.  For writes that may be lost on a power cut and done
 * again (delivery results: at least once).  Inside a loop pass's group
 * the group decides.
 */
void
store_lazy(struct store *s, int on)
{
	if (s->depth == 0)
		s->lazy = on;
}
