/*
 * store_codes.c: the challenges table (one-time code challenges as a small
 * state machine) and the schema step that brings in challenges, outbox,
 * sends and unknown_names.  SQL for the outbox and limits lives in
 * store_outbox.c and store_limits.c.
 */
#include "config.h"

#include <string.h>

#include "store_int.h"

const char store_schema_codes[] =
    "CREATE TABLE challenges ("
    "  id INTEGER PRIMARY KEY,"
    "  cid TEXT NOT NULL UNIQUE,"
    "  user TEXT NOT NULL,"
    "  uid INTEGER NOT NULL,"
    "  service TEXT NOT NULL,"
    "  rhost TEXT,"
    "  channel INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"	/* pending approved used expired burnt */
    "  decoy INTEGER NOT NULL DEFAULT 0,"
    "  hash BLOB NOT NULL,"
    "  hash_version INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  sent INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL"
    ");"
    "CREATE INDEX challenges_bind ON challenges(user, uid, service)"
    "  WHERE state = 'pending';"
    "CREATE INDEX challenges_expires ON challenges(expires);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  challenge INTEGER REFERENCES challenges(id) ON DELETE SET NULL,"
    "  user TEXT NOT NULL,"
    "  channel INTEGER NOT NULL,"
    "  dest TEXT NOT NULL,"
    "  subject TEXT,"
    "  body TEXT,"		/* NULL once delivered or dropped */
    "  code TEXT,"		/* likewise */
    "  msgid TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'queued'," /* queued sent dead dropped */
    "  tries INTEGER NOT NULL DEFAULT 0,"
    "  next_try INTEGER NOT NULL,"
    "  done INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT"
    ");"
    "CREATE INDEX outbox_due ON outbox(next_try) WHERE state = 'queued';"
    "CREATE INDEX outbox_challenge ON outbox(challenge);"
    "CREATE TABLE sends ("
    "  id INTEGER PRIMARY KEY,"
    "  user TEXT NOT NULL,"
    "  channel INTEGER NOT NULL,"
    "  dest TEXT,"
    "  prefix TEXT,"
    "  time INTEGER NOT NULL,"
    "  decoy INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX sends_user ON sends(user, time);"
    "CREATE INDEX sends_dest ON sends(dest, time);"
    "CREATE INDEX sends_prefix ON sends(prefix, time);"
    "CREATE INDEX sends_channel ON sends(channel, time);"
    "CREATE TABLE unknown_names ("
    "  name TEXT PRIMARY KEY,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  locked_until INTEGER NOT NULL DEFAULT 0,"
    "  updated INTEGER NOT NULL"
    ") WITHOUT ROWID;";

#define CHAL_COLS "id, cid, user, uid, service, rhost, channel, state, " \
	"decoy, hash, hash_version, attempts, created, sent, expires"

static const char Q_CHAL_GET[] =
    "SELECT " CHAL_COLS " FROM challenges WHERE cid = ?";

static const char Q_CHAL_PENDING[] =
    "SELECT " CHAL_COLS " FROM challenges WHERE user = ? AND uid = ? "
    "AND service = ? AND rhost IS ? AND state = 'pending' "
    "AND expires > ? ORDER BY id DESC LIMIT 1";

static const char Q_CHAL_INSERT[] =
    "INSERT INTO challenges (cid, user, uid, service, rhost, channel, "
    "state, decoy, hash, hash_version, attempts, created, sent, expires) "
    "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, 0, ?, ?, ?)";

static const char Q_CHAL_RENEW[] =
    "UPDATE challenges SET channel = ?, decoy = ?, hash = ?, "
    "hash_version = ?, sent = ?, expires = ? "
    "WHERE id = ? AND state = 'pending'";

static const char Q_CHAL_SET[] =
    "UPDATE challenges SET state = ?, attempts = ? WHERE id = ?";

static const char Q_CHAL_PRUNE[] =
    "DELETE FROM challenges WHERE expires < ?";

static void
chal_from_row(sqlite3_stmt *q, struct chal_row *c)
{
	const void *h;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(q, 0);
	store_col_text(q, 1, c->cid, sizeof(c->cid));
	store_col_text(q, 2, c->user, sizeof(c->user));
	c->uid = (uint32_t)sqlite3_column_int64(q, 3);
	store_col_text(q, 4, c->service, sizeof(c->service));
	store_col_text(q, 5, c->rhost, sizeof(c->rhost));
	c->channel = sqlite3_column_int(q, 6);
	store_col_text(q, 7, c->state, sizeof(c->state));
	c->decoy = sqlite3_column_int(q, 8);
	h = sqlite3_column_blob(q, 9);
	if (h != NULL && sqlite3_column_bytes(q, 9) == sizeof(c->hash))
		memcpy(c->hash, h, sizeof(c->hash));
	c->hash_version = sqlite3_column_int(q, 10);
	c->attempts = (uint32_t)sqlite3_column_int64(q, 11);
	c->created = sqlite3_column_int64(q, 12);
	c->sent = sqlite3_column_int64(q, 13);
	c->expires = sqlite3_column_int64(q, 14);
}

static int
chal_one(struct store *s, sqlite3_stmt *q, struct chal_row *c)
{
	int rc;

	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return store_step_done(s, q, rc);
	chal_from_row(q, c);
	sqlite3_reset(q);
	return STORE_OK;
}

int
store_chal_get(struct store *s, const char *cid, struct chal_row *c)
{
	sqlite3_stmt *q = store_q(s, Q_CHAL_GET);

	memset(c, 0, sizeof(*c));
	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, cid);
	return chal_one(s, q, c);
}

int
store_chal_pending(struct store *s, const struct chal_row *want,
    int64_t now, struct chal_row *c)
{
	sqlite3_stmt *q = store_q(s, Q_CHAL_PENDING);

	memset(c, 0, sizeof(*c));
	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, want->user);
	sqlite3_bind_int64(q, 2, want->uid);
	store_bind_text(q, 3, want->service);
	store_bind_text(q, 4, want->rhost);
	sqlite3_bind_int64(q, 5, now);
	return chal_one(s, q, c);
}

int
store_chal_insert(struct store *s, struct chal_row *c)
{
	sqlite3_stmt *q = store_q(s, Q_CHAL_INSERT);
	int r;

	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, c->cid);
	store_bind_text(q, 2, c->user);
	sqlite3_bind_int64(q, 3, c->uid);
	store_bind_text(q, 4, c->service);
	store_bind_text(q, 5, c->rhost);
	sqlite3_bind_int(q, 6, c->channel);
	sqlite3_bind_int(q, 7, c->decoy);
	sqlite3_bind_blob(q, 8, c->hash, sizeof(c->hash), SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 9, c->hash_version);
	sqlite3_bind_int64(q, 10, c->created);
	sqlite3_bind_int64(q, 11, c->sent);
	sqlite3_bind_int64(q, 12, c->expires);
	if ((r = store_run_write(s, q)) == STORE_OK)
		c->id = sqlite3_last_insert_rowid(s->db);
	return r;
}

/* A resend: the challenge keeps its id and attempts, gets a new code. */
int
store_chal_renew(struct store *s, const struct chal_row *c)
{
	sqlite3_stmt *q = store_q(s, Q_CHAL_RENEW);

	if (q == NULL)
		return STORE_ERR;
	sqlite3_bind_int(q, 1, c->channel);
	sqlite3_bind_int(q, 2, c->decoy);
	sqlite3_bind_blob(q, 3, c->hash, sizeof(c->hash), SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 4, c->hash_version);
	sqlite3_bind_int64(q, 5, c->sent);
	sqlite3_bind_int64(q, 6, c->expires);
	sqlite3_bind_int64(q, 7, c->id);
	return store_run_write(s, q);
}

int
store_chal_set(struct store *s, int64_t id, const char *state,
    uint32_t attempts)
{
	sqlite3_stmt *q = store_q(s, Q_CHAL_SET);

	if (q == NULL)
		return STORE_ERR;
	store_bind_text(q, 1, state);
	sqlite3_bind_int64(q, 2, attempts);
	sqlite3_bind_int64(q, 3, id);
	return store_run_write(s, q);
}

/* Forgets challenges that ended before `before`. */
int
store_chal_prune(struct store *s, int64_t before)
{
	return store_delete_before(s, Q_CHAL_PRUNE, before);
}
