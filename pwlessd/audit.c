/*
 * audit.c: the audit trail's writing side and the group commit it rides
 * on.  audit_event records an event; when the request ends it is chained
 * onto the trail as a row whose hash is a keyed BLAKE2b over the previous
 * row's hash and this row's fields, and logged with the row's id.
 *
 * Group commit: the first request of an event loop pass opens one
 * transaction (BEGIN IMMEDIATE); every request runs in a savepoint inside
 * it, and its rows join the pass's batch.  listen.c holds the replies of
 * the pass and sends them only after audit_pass_end has written the
 * batch, so an answered action always has its row, and a pass costs at
 * most one fsync, not one per request.  When the write fails, the held
 * replies become UNAVAILABLE.  Where the batch goes:
 *  - a pass that changed anything else (a key, a failure counter, a
 *    consumed code): into the table, in the same commit as the change;
 *  - a pass whose only writes are rows (successful key and token checks,
 *    lists): appended to the journal beside the database with one write
 *    (audit_journal.c), which moves them into the table in batches.
 * Either way a row survives a crash of pwlessd at once, and a power cut
 * from the sync on the next second's tick at the latest (audit_prune), so
 * a login never waits for an fsync just to be recorded.  The chain's head
 * is kept here, in memory, from start on.
 */
#include "config.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

#define AUDIT_PAIRS	24	/* name/value pairs an event may carry */
#define HASH_DOMAIN	"pwless audit v1"

static void
put_u64(crypto_generichash_state *st, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
	crypto_generichash_update(st, b, sizeof(b));
}

/* A string as its length and bytes: no two rows encode alike. */
static void
put_str(crypto_generichash_state *st, const char *s)
{
	size_t n = strlen(s);

	put_u64(st, n);
	crypto_generichash_update(st, (const uint8_t *)s, n);
}

/* The row's hash: its canonical encoding after the previous hash. */
void
audit_hash(const struct secrets *sec, const struct audit_row *a,
    uint8_t out[HASH_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, sec->audit, SUBKEY_LEN, HASH_LEN);
	put_str(&st, HASH_DOMAIN);
	crypto_generichash_update(&st, a->prev_hash, HASH_LEN);
	put_u64(&st, (uint64_t)a->id);
	put_u64(&st, (uint64_t)a->time);
	put_u64(&st, (uint64_t)a->caller_uid);
	put_str(&st, a->event);
	put_str(&st, a->user);
	put_str(&st, a->service);
	put_str(&st, a->rhost);
	put_str(&st, a->method);
	put_str(&st, a->result);
	put_str(&st, a->detail);
	crypto_generichash_final(&st, out, HASH_LEN);
	sodium_memzero(&st, sizeof(st));
}

/*
 * The id and hash the next row chains to, from the table: the newest
 * row, or the anchor.  Read once; pwlessd keeps the head from then on.
 */
static int
chain_head(struct store *st, int64_t *id, uint8_t hash[HASH_LEN])
{
	struct audit_anchor an;
	int sr;

	if ((sr = store_audit_head(st, id, hash)) != STORE_NOTFOUND)
		return sr;
	if ((sr = store_audit_anchor_get(st, &an)) == STORE_NOTFOUND)
		return STORE_OK;	/* an empty trail: id 0, zero hash */
	if (sr != STORE_OK)
		return sr;
	*id = an.id;
	memcpy(hash, an.hash, HASH_LEN);
	return STORE_OK;
}

/*
 * Chains a onto the head and stages it: into the pass's batch, which
 * audit_pass_end writes to the journal or the table, or, when no pass is
 * open, straight into the table.  The head moves only once a is staged;
 * a pass that fails puts it back (audit_pass_end).
 */
static int
append(struct daemon *d, struct audit_row *a)
{
	struct audit_pass *p = &d->audit;
	int sr;

	if (!p->head_ok) {
		if ((sr = chain_head(d->st, &p->head_id, p->head_hash)) !=
		    STORE_OK)
			return sr;
		p->head_ok = 1;
	}
	a->id = p->head_id + 1;
	memcpy(a->prev_hash, p->head_hash, HASH_LEN);
	audit_hash(&d->sec, a, a->hash);
	if (p->open)
		sr = audit_journal_add(p, a) == 0 ? STORE_OK : STORE_ERR;
	else
		sr = store_audit_insert(d->st, a);
	if (sr != STORE_OK)
		return sr;
	p->head_id = a->id;
	memcpy(p->head_hash, a->hash, HASH_LEN);
	return STORE_OK;
}

static void
copy_word(char *out, size_t sz, const char *v)
{
	if (v != NULL)
		pwl_strlcpy(out, v, sz);
}

/* Cuts a UTF-8 sequence that truncation left incomplete at the end. */
static void
utf8_trim(char *s)
{
	size_t n = strlen(s), i = n, want;
	unsigned char c;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80 && n - i < 3)
		i--;
	if (i == 0 || ((c = (unsigned char)s[i - 1]) & 0x80) == 0)
		return;
	want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (n - (i - 1) < want)
		s[i - 1] = '\0';
}

/* Moves the known names into columns and the rest into detail. */
static void
fill_row(struct req *r, const char *event, const char *const *kv, size_t n,
    struct audit_row *a)
{
	size_t i, off = 0;
	const char *k, *v;

	memset(a, 0, sizeof(*a));
	a->time = (int64_t)r->now;
	a->caller_uid = (int64_t)r->uid;
	copy_word(a->event, sizeof(a->event), event);
	for (i = 0; i < n; i++) {
		k = kv[2 * i];
		v = kv[2 * i + 1];
		if (strcmp(k, "user") == 0)
			copy_word(a->user, sizeof(a->user), v);
		else if (strcmp(k, "service") == 0)
			copy_word(a->service, sizeof(a->service), v);
		else if (strcmp(k, "rhost") == 0)
			copy_word(a->rhost, sizeof(a->rhost), v);
		else if (strcmp(k, "method") == 0)
			copy_word(a->method, sizeof(a->method), v);
		else if (strcmp(k, "result") == 0)
			copy_word(a->result, sizeof(a->result), v);
		else
			off = log_kv_append(a->detail, sizeof(a->detail), off,
			    k, v);
	}
	utf8_trim(a->detail);	/* the wire wants whole characters */
}

/*
 * A request's events wait here until it ends: a handler that rolls back
 * its own savepoint (a refusal inside codes.c's transaction) must not
 * take the row of that refusal with it.  Rows are written, and logged
 * with their id, by audit_request_end, inside the request's savepoint.
 */
#define QUEUE_MAX	16
static struct queued {
	int		 prio;
	struct audit_row row;
	char		 line[1024];	/* the log line, without its id */
} queue[QUEUE_MAX];
static int nqueue;

/* Writes and logs the queued rows; sets audit_failed if one fails. */
static void
flush(struct req *r)
{
	struct queued *q;
	char id[24];
	size_t off;
	int i;

	for (i = 0; i < nqueue; i++) {
		q = &queue[i];
		if (!r->audit_failed && append(r->d, &q->row) == STORE_OK) {
			snprintf(id, sizeof(id), "%lld", (long long)q->row.id);
			off = strlen(q->line);
			log_kv_append(q->line, sizeof(q->line), off, "audit",
			    id);
		} else if (!r->audit_failed) {
			r->audit_failed = 1;
			log_msg(LOG_ERR, "cannot append event %s to the audit "
			    "trail: %s; the request is refused",
			    q->row.event, store_errmsg(r->d->st));
		}
		log_line(q->prio, q->line);
		sodium_memzero(q, sizeof(*q));
	}
	nqueue = 0;
}

int
audit_event(struct req *r, int prio, const char *event, ...)
{
	const char *kv[2 * AUDIT_PAIRS];
	struct queued *q;
	const char *k;
	size_t n = 0;
	va_list ap;

	if (nqueue == QUEUE_MAX)
		flush(r);	/* never in practice: a handful a request */
	q = &queue[nqueue++];
	va_start(ap, event);
	while (n < AUDIT_PAIRS && (k = va_arg(ap, const char *)) != NULL) {
		kv[2 * n] = k;
		kv[2 * n + 1] = va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	q->prio = prio;
	fill_row(r, event, kv, n, &q->row);
	log_event_format(q->line, sizeof(q->line), event, kv, n);
	return 0;
}

/*
 * After a self-service or admin handler (dispatch.c): a request that
 * recorded nothing itself (an admin's read, a refused change) still
 * leaves a row saying who asked what about whom and how it ended.
 * Successful self-service reads are left out (a user's own lists), and
 * so are the later pages of a list: one row a listing.
 */
void
audit_fallback(struct req *r, uint16_t st, int admin)
{
	char user[PWL_USER_MAX + 1] = "";

	if (nqueue > 0 || (!admin && st == PWL_ST_OK) ||
	    pwl_msg_get(r->msg, PWL_T_NEXT) != NULL)	/* a later page */
		return;
	(void)pwl_msg_str(r->msg, PWL_T_USER, user, sizeof(user));
	audit_event(r, st == PWL_ST_OK ? LOG_INFO : LOG_NOTICE,
	    admin ? "admin" : "self", "type", pwl_type_name(r->type),
	    "user", admin ? user : r->caller, "by", r->caller,
	    "result", st == PWL_ST_OK ? "ok" : pwl_status_name(st), NULL);
}

/* --- group commit ------------------------------------------------------ */

/* The pass's rows are not written: the chain goes on from before it. */
static void
forget_pass(struct audit_pass *p)
{
	if (p->plen > 0)
		explicit_bzero(p->pbuf, p->plen);
	p->plen = 0;
	p->head_id = p->pass_id;
	memcpy(p->head_hash, p->pass_hash, HASH_LEN);
}

static int
insert_row(void *arg, const struct audit_row *a)
{
	return store_audit_insert(arg, a);
}

/*
 * Before a request runs: the pass's transaction (unless an error ended
 * it in this pass), then the request's savepoint.  If either cannot be
 * had, the request runs as before, its writes committing on their own.
 */
void
audit_request_begin(struct req *r)
{
	struct audit_pass *p = &r->d->audit;

	r->savepoint = 0;
	if (!p->open && !p->lost) {
		if (store_begin_group(r->d->st) != STORE_OK) {
			log_msg(LOG_WARNING, "cannot open a transaction for "
			    "this pass: %s", store_errmsg(r->d->st));
			return;
		}
		p->open = 1;
		p->changes0 = store_changes(r->d->st);
		p->pass_id = p->head_id;
		memcpy(p->pass_hash, p->head_hash, HASH_LEN);
	}
	if (p->open && store_begin(r->d->st) == STORE_OK)
		r->savepoint = 1;
}

/* After a request: its rows; keeps its writes, or undoes them all. */
uint16_t
audit_request_end(struct req *r, uint16_t st)
{
	struct audit_pass *p = &r->d->audit;

	flush(r);
	if (r->savepoint) {
		if (r->audit_failed || store_commit(r->d->st) != STORE_OK)
			store_rollback(r->d->st);
		r->savepoint = 0;
	}
	if (p->open && store_tx_lost(r->d->st)) {
		log_msg(LOG_ERR, "the database ended this pass's transaction "
		    "(%s); its answers become 'unavailable'",
		    store_errmsg(r->d->st));
		store_end_group(r->d->st);
		p->open = 0;
		p->lost = 1;
		forget_pass(p);
	}
	if (!r->audit_failed)
		return st;
	req_message(r, "pwlessd could not record this in its audit trail, "
	    "so nothing was done; see its log");
	return PWL_ST_UNAVAILABLE;
}

int
audit_pass_open(const struct daemon *d)
{
	return d->audit.open;
}

/*
 * End of a loop pass: commits the group.  Returns STORE_OK, or the
 * store's failure when the replies held for this pass must say
 * UNAVAILABLE instead.
 */
int
audit_pass_end(struct daemon *d)
{
	struct audit_pass *p = &d->audit;
	int r = 0, journal;

	if (p->open) {
		p->open = 0;
		/*
		 * Rows alone (successful checks) go to the journal: one
		 * write.  With any other change they join it in the table,
		 * in the same commit, so a row never tells of a change that
		 * was rolled back.
		 */
		journal = p->plen > 0 && audit_journal_usable(p) &&
		    store_changes(d->st) == p->changes0;
		if (p->plen > 0 && !journal)
			r = audit_journal_each(p, insert_row, d->st);
		if (r == STORE_OK)
			r = store_commit_group(d->st);
		if (r != STORE_OK) {
			log_msg(LOG_ERR, "cannot commit this pass's changes: "
			    "%s; its requests are answered 'unavailable'",
			    store_errmsg(d->st));
			store_rollback(d->st);
			store_end_group(d->st);
			p->db_writable = 0;
		} else if (journal) {
			r = audit_journal_write(p);
		} else if (!journal && store_changes(d->st) != p->changes0) {
			p->db_writable = 1;	/* the table takes writes */
		}
		if (r != STORE_OK)
			forget_pass(p);
		p->plen = 0;
	}
	if (p->lost) {
		p->lost = 0;
		if (r == STORE_OK)
			r = STORE_ERR;
	}
	return r;
}

/* At start: the journal, what a crash left in it, the chain's head. */
int
audit_open(struct daemon *d)
{
	struct audit_pass *p = &d->audit;
	int sr;

	p->jfd = -1;
	if (audit_journal_open(d) != 0)
		return -1;
	if ((sr = chain_head(d->st, &p->head_id, p->head_hash)) != STORE_OK) {
		log_msg(LOG_ERR, "cannot read the audit trail's newest row: %s",
		    store_errmsg(d->st));
		return -1;
	}
	p->head_ok = 1;
	return 0;
}

/*
 * A row for what pwlessd found itself, outside any request: journal
 * records that did not hold and were dropped.
 */
void
audit_gap(struct daemon *d, int64_t offset, int64_t bytes)
{
	struct audit_row a;
	char detail[64];

	memset(&a, 0, sizeof(a));
	a.time = (int64_t)time(NULL);
	a.caller_uid = (int64_t)getuid();
	pwl_strlcpy(a.event, "audit_gap", sizeof(a.event));
	pwl_strlcpy(a.result, "dropped", sizeof(a.result));
	snprintf(detail, sizeof(detail), "journal_offset=%lld bytes=%lld",
	    (long long)offset, (long long)bytes);
	pwl_strlcpy(a.detail, detail, sizeof(a.detail));
	if (append(d, &a) != STORE_OK)
		log_msg(LOG_ERR, "cannot record the dropped journal records "
		    "in the audit trail: %s", store_errmsg(d->st));
	log_msg(LOG_WARNING, "event=audit_gap journal_offset=%lld bytes=%lld "
	    "audit=%lld", (long long)offset, (long long)bytes,
	    (long long)a.id);
}

/* At exit: every row into the table, on disk. */
void
audit_close(struct daemon *d)
{
	audit_journal_close(d);
}
