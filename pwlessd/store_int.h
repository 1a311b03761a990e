/*
 * store_int.h: what the store_*.c files share and nothing else sees: the
 * store struct, the statement cache and small SQLite helpers.  Each
 * store_*.c file keeps its own SQL as static strings next to its code.
 */
#ifndef PWLESSD_STORE_INT_H
#define PWLESSD_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

#define STORE_MAX_STMTS	160

struct store {
	sqlite3		*db;
	char		 path[4096];
	dev_t		 dev;		/* the file opened (store_health.c) */
	ino_t		 ino;
	uint32_t	 page_size;
	int		 bad;		/* STORE_BAD_*: refuse everything */
	int		 rescue_tried;	/* a copy of a deleted file was tried */
	int		 good_this_pass;	/* store_health: checked, good */
	size_t		 nstmts;
	const char	*sql[STORE_MAX_STMTS];	/* static strings, by address */
	sqlite3_stmt	*stmt[STORE_MAX_STMTS];
	int		 depth;		/* open transactions and savepoints */
	int		 must_sync;	/* the group wrote what must be durable */
	int		 unsynced;	/* commits not yet on disk */
	int		 lazy;		/* store_lazy: commits need no fsync */
};

/*
 * The prepared statement for sql, reset and unbound; prepared on first
 * use and kept.  sql must be a static string: it is looked up by address.
 * NULL (logged) if it cannot be prepared.
 */
sqlite3_stmt *store_q(struct store *, const char *sql);

int	store_map_rc(int);
/* Logs a failed step with its errno and what to do; maps it. */
int	store_fail(struct store *, int rc, const char *what);
void	store_bind_text(sqlite3_stmt *, int, const char *);
void	store_col_text(sqlite3_stmt *, int, char *, size_t);
/* Steps a write; STORE_NOTFOUND when it changed no row. */
int	store_run_write(struct store *, sqlite3_stmt *);
/* The same for a write that may wait for the next sync (audit rows). */
int	store_write_unsynced(struct store *, sqlite3_stmt *);
/* The same for a write that may be lost in a crash; no fsync wait. */
int	store_run_write_lazy(struct store *, sqlite3_stmt *);
/* Runs sql, a delete with one time parameter; no row deleted is fine. */
int	store_delete_before(struct store *, const char *sql, int64_t);
/* After a step that gave no row: STORE_NOTFOUND or the error. */
int	store_step_done(struct store *, sqlite3_stmt *, int rc);

/* store_health.c: remembers the file opened; checks it at open. */
int	store_health_open(struct store *);
/* errno of a trial write beside the database, 0 if it works. */
int	store_probe(const struct store *);

/* Schema steps, one per feature file, applied in order (store.c). */
extern const char store_schema_core[];
extern const char store_schema_tokens[];
extern const char store_schema_codes[];	/* store_codes.c */
extern const char store_schema_audit[];	/* store_audit.c */
extern const char store_schema_audit_users[];

#endif /* PWLESSD_STORE_INT_H */
