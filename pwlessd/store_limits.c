/*
 * store_limits.c: what the limits count: the sends log (per user, per
 * destination, per SMS prefix, SMS per day) and the failure budget, kept
 * in users for enrolled names and in unknown_names for all others.
 */
#include "config.h"

#include <string.h>

#include "store_int.h"

#define HOUR	3600
#define DAY	86400

static const char Q_SEND_ADD[] =
    "INSERT INTO sends (user, channel, dest, prefix, time, decoy) "
    "VALUES (?, ?, ?, ?, ?, ?)";

/* ?1 user, ?2 an hour ago, ?3 dest, ?4 prefix, ?5 a day ago */
static const char Q_SEND_STATS[] =
    "SELECT "
    "(SELECT max(time) FROM sends WHERE user = ?1), "
    "(SELECT count(*) FROM sends WHERE user = ?1 AND time > ?2), "
    "(SELECT min(time) FROM sends WHERE user = ?1 AND time > ?2), "
    "(SELECT count(*) FROM sends WHERE dest = ?3 AND time > ?2), "
    "(SELECT min(time) FROM sends WHERE dest = ?3 AND time > ?2), "
    "(SELECT count(*) FROM sends WHERE prefix = ?4 AND time > ?2), "
    "(SELECT min(time) FROM sends WHERE prefix = ?4 AND time > ?2), "
    "(SELECT count(*) FROM sends WHERE channel = 2 AND decoy = 0 "
    "  AND time > ?5), "
    "(SELECT min(time) FROM sends WHERE channel = 2 AND decoy = 0 "
    "  AND time > ?5)";

static const char Q_SEND_PRUNE[] =
    "DELETE FROM sends WHERE time < ?";

static const char Q_UNKNOWN_GET[] =
    "SELECT failures, locked_until FROM unknown_names WHERE name = ?";

static const char Q_UNKNOWN_SET[] =
    "INSERT INTO unknown_names (name, failures, locked_until, updated) "
    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(name) DO UPDATE SET "
    "failures = ?2, locked_until = ?3, updated = ?4";

static const char Q_UNKNOWN_PRUNE[] =
    "DELETE FROM unknown_names WHERE updated < ?1 AND locked_until < ?2";

static const char Q_USER_BUDGET[] =
    "UPDATE users SET failures = ?, locked_until = ? WHERE name = ?";

int
store_send_add(struct store *s, const struct send_row *sr)
{
	sqlite3_stmt *q = store_q(s, Q_SEND_ADD);

	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, sr->user);
	sqlite3_bind_int(q, 2, sr->channel);
	store_bind_text(q, 3, sr->dest);
	store_bind_text(q, 4, sr->prefix);
	sqlite3_bind_int64(q, 5, sr->time);
	sqlite3_bind_int(q, 6, sr->decoy);
	return store_run_write(s, q);
}

int
store_send_stats(struct store *s, const struct send_row *sr, int64_t now,
    struct send_stats *st)
{
	sqlite3_stmt *q = store_q(s, Q_SEND_STATS);
	int rc;

	memset(st, 0, sizeof(*st));
	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, sr->user);
	sqlite3_bind_int64(q, 2, now - HOUR);
	store_bind_text(q, 3, sr->dest);
	store_bind_text(q, 4, sr->prefix);
	sqlite3_bind_int64(q, 5, now - DAY);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc) == STORE_NOTFOUND ?
		    STORE_ERR : store_map_rc(rc);
	st->last_user = sqlite3_column_int64(q, 0);
	st->n_user = (uint32_t)sqlite3_column_int64(q, 1);
	st->first_user = sqlite3_column_int64(q, 2);
	st->n_dest = (uint32_t)sqlite3_column_int64(q, 3);
	st->first_dest = sqlite3_column_int64(q, 4);
	st->n_prefix = (uint32_t)sqlite3_column_int64(q, 5);
	st->first_prefix = sqlite3_column_int64(q, 6);
	st->n_sms_day = (uint32_t)sqlite3_column_int64(q, 7);
	st->first_sms_day = sqlite3_column_int64(q, 8);
	sqlite3_reset(q);
	return STORE_OK;
}

int
store_unknown_get(struct store *s, const char *name, uint32_t *failures,
    int64_t *locked_until)
{
	sqlite3_stmt *q = store_q(s, Q_UNKNOWN_GET);
	int rc;

	*failures = 0;
	*locked_until = 0;
	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, name);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc);
	*failures = (uint32_t)sqlite3_column_int64(q, 0);
	*locked_until = sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	return STORE_OK;
}

int
store_unknown_set(struct store *s, const char *name, uint32_t failures,
    int64_t locked_until, int64_t now)
{
	sqlite3_stmt *q = store_q(s, Q_UNKNOWN_SET);

	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, name);
	sqlite3_bind_int64(q, 2, failures);
	sqlite3_bind_int64(q, 3, locked_until);
	sqlite3_bind_int64(q, 4, now);
	return store_run_write(s, q);
}

int
store_user_set_budget(struct store *s, const char *name, uint32_t failures,
    int64_t locked_until)
{
	sqlite3_stmt *q = store_q(s, Q_USER_BUDGET);

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, failures);
	sqlite3_bind_int64(q, 2, locked_until);
	store_bind_text(q, 3, name);
	return store_run_write(s, q);
}

static int
prune_one(struct store *s, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *q = store_q(s, sql);
	int r;

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, a);
	if (b != 0)
		sqlite3_bind_int64(q, 2, b);
	r = store_run_write(s, q);
	return r == STORE_NOTFOUND ? STORE_OK : r;
}

/*
 * Forgets sends older than two days and unknown names idle for `idle`
 * seconds and not locked.
 */
int
store_limits_prune(struct store *s, int64_t now, int64_t idle)
{
	int r;

	if ((r = prune_one(s, Q_SEND_PRUNE, now - 2 * DAY, 0)) != STORE_OK)
		return r;
	return prune_one(s, Q_UNKNOWN_PRUNE, now - idle, now);
}
