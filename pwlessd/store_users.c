/*
 * store_users.c: the users table: enrolment, state and contacts.
 */
#include "config.h"

#include <string.h>

#include "store_int.h"

#define USER_COLS "id, name, disabled, email, phone, created, failures, " \
	"locked_until"
#define USABLE "k.revoked = 0 AND k.expires > ?"

static const char Q_USER_GET[] =
    "SELECT " USER_COLS " FROM users WHERE name = ?";

static const char Q_USER_ADD[] =
    "INSERT INTO users (name, email, phone, created) "
    "VALUES (?, ?, ?, ?)";

static const char Q_USER_LIST[] =
    "SELECT " USER_COLS ", (SELECT count(*) FROM keys k "
    "WHERE k.user_id = users.id AND " USABLE ") FROM users "
    "WHERE name > ?2 ORDER BY name LIMIT ?3";

static const char Q_USER_DISABLE[] =
    "UPDATE users SET disabled = ? WHERE name = ?";

static const char Q_USER_CONTACT[] =
    "UPDATE users SET email = coalesce(?, email), "
    "phone = coalesce(?, phone) WHERE name = ?";

static const char Q_USER_REMOVE[] =
    "DELETE FROM users WHERE name = ?";

static const char Q_USER_NKEYS[] =
    "SELECT count(*) FROM keys k WHERE k.user_id = ? "
    "AND " USABLE " AND k.rotated_to IS NULL";

static void
user_from_row(sqlite3_stmt *q, struct user_row *u)
{
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(q, 0);
	store_col_text(q, 1, u->name, sizeof(u->name));
	u->disabled = sqlite3_column_int(q, 2);
	store_col_text(q, 3, u->email, sizeof(u->email));
	store_col_text(q, 4, u->phone, sizeof(u->phone));
	u->created = sqlite3_column_int64(q, 5);
	u->failures = (uint32_t)sqlite3_column_int64(q, 6);
	u->locked_until = sqlite3_column_int64(q, 7);
}

int
store_user_get(struct store *s, const char *name, struct user_row *u)
{
	sqlite3_stmt *q = store_q(s, Q_USER_GET);
	int rc;

	memset(u, 0, sizeof(*u));
	store_bind_text(q, 1, name);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc);
	user_from_row(q, u);
	sqlite3_reset(q);
	return STORE_OK;
}

int
store_user_add(struct store *s, const struct user_row *u)
{
	sqlite3_stmt *q = store_q(s, Q_USER_ADD);

	store_bind_text(q, 1, u->name);
	store_bind_text(q, 2, u->email);
	store_bind_text(q, 3, u->phone);
	sqlite3_bind_int64(q, 4, u->created);
	return store_run_write(s, q);
}

int
store_user_list(struct store *s, int64_t now, const char *after,
    uint32_t limit, store_user_cb cb, void *arg)
{
	sqlite3_stmt *q = store_q(s, Q_USER_LIST);
	struct user_row u;
	int rc, r = STORE_OK;

	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_text(q, 2, after, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		user_from_row(q, &u);
		u.nkeys = (uint32_t)sqlite3_column_int64(q, 8);
		if ((r = cb(arg, &u)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_step_done(s, q, rc);
	sqlite3_reset(q);
	return r;
}

int
store_user_set_disabled(struct store *s, const char *name, int disabled)
{
	sqlite3_stmt *q = store_q(s, Q_USER_DISABLE);

	sqlite3_bind_int(q, 1, disabled);
	store_bind_text(q, 2, name);
	return store_run_write(s, q);
}

int
store_user_set_contact(struct store *s, const char *name, const char *email,
    const char *phone)
{
	sqlite3_stmt *q = store_q(s, Q_USER_CONTACT);

	store_bind_text(q, 1, email);
	store_bind_text(q, 2, phone);
	store_bind_text(q, 3, name);
	return store_run_write(s, q);
}

int
store_user_remove(struct store *s, const char *name)
{
	sqlite3_stmt *q = store_q(s, Q_USER_REMOVE);

	store_bind_text(q, 1, name);
	return store_run_write(s, q);
}

int
store_user_count_keys(struct store *s, int64_t user_id, int64_t now,
    uint32_t *n)
{
	sqlite3_stmt *q = store_q(s, Q_USER_NKEYS);
	int rc;

	*n = 0;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, now);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc) == STORE_NOTFOUND ? STORE_ERR :
		    store_map_rc(rc);
	*n = (uint32_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return STORE_OK;
}

