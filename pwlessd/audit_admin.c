/*
 * audit_admin.c: the audit trail's reading side: pages of rows for an
 * admin (ADMIN_AUDIT) or for a user's own events (AUDIT_LIST), the chain
 * check (ADMIN_AUDIT_VERIFY), and pruning by age behind a keyed anchor
 * so the rest of the chain stays verifiable.
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

#define PAGE_ROWS	100	/* at most: a reply holds 128 TLVs */
#define ITEM_ROOM	(PWL_USER_MAX + PWL_SERVICE_MAX + PWL_RHOST_MAX + \
	AUDIT_DETAIL_MAX + 4 * AUDIT_WORD_MAX + 128)
#define VERIFY_ROWS	20000	/* rows checked by one request */
#define PRUNE_BATCH	10000	/* rows deleted by one prune */
#define PRUNE_EVERY	3600
#define KEEP_NOTICES	86400
#define KEEP_CHANGES	(31 * 86400)	/* beyond the longest cooling-off */
#define ANCHOR_DOMAIN	"pwless audit anchor v1"

/* --- pages --------------------------------------------------------------- */

struct page {
	struct pwl_wbuf	*w;
	int64_t		 last;		/* id of the last row written */
	uint32_t	 n;
	int		 full;		/* the reply has no room for more */
};

/* A field if set; one edited into something unprintable is marked. */
static void
put_opt(struct pwl_wbuf *w, uint16_t tag, const char *s)
{
	if (s[0] != '\0')
		pwl_w_str(w, tag, pwl_printable(s, strlen(s)) ? s :
		    "<unprintable>");
}

static int
page_row(void *arg, const struct audit_row *a)
{
	struct page *p = arg;
	size_t mark;

	if (p->w->cap - p->w->len < ITEM_ROOM) {
		p->full = 1;
		return 1;
	}
	mark = pwl_w_begin(p->w, PWL_T_ITEM);
	pwl_w_u64(p->w, PWL_T_AUDIT_ID, (uint64_t)a->id);
	pwl_w_u64(p->w, PWL_T_TIME, (uint64_t)a->time);
	pwl_w_str(p->w, PWL_T_EVENT, a->event[0] != '\0' &&
	    pwl_printable(a->event, strlen(a->event)) ? a->event : "?");
	pwl_w_u32(p->w, PWL_T_UID, (uint32_t)a->caller_uid);
	put_opt(p->w, PWL_T_USER, a->user);
	put_opt(p->w, PWL_T_SERVICE, a->service);
	put_opt(p->w, PWL_T_RHOST, a->rhost);
	put_opt(p->w, PWL_T_METHOD, a->method);
	put_opt(p->w, PWL_T_RESULT, a->result);
	put_opt(p->w, PWL_T_DETAIL, a->detail);
	pwl_w_end(p->w, mark);
	p->last = a->id;
	p->n++;
	return p->w->err != 0;
}

/* NEXT of the request: the id after which the page starts. */
static uint16_t
read_cursor(struct req *r, int64_t *after)
{
	char next[PWL_STR_MAX + 1] = "";
	uint64_t v;

	*after = 0;
	if (req_str(r, PWL_T_NEXT, next, sizeof(next), 0) != 0)
		return PWL_ST_BAD_REQUEST;
	if (next[0] != '\0' && pwl_parse_uint(next, INT64_MAX, &v) != 0) {
		req_message(r, "malformed page cursor");
		return PWL_ST_BAD_REQUEST;
	}
	*after = (int64_t)v * (next[0] != '\0');
	return PWL_ST_OK;
}

/* One page of user's rows (all users when NULL) since SINCE. */
static uint16_t
audit_page(struct req *r, const char *user, struct pwl_wbuf *w)
{
	struct page p = { w, 0, 0, 0 };
	int64_t after, first_new, first;
	uint64_t since = 0;
	char next[24];
	uint16_t st;
	int sr;

	if ((st = read_cursor(r, &after)) != PWL_ST_OK)
		return st;
	if ((sr = audit_journal_catch_up(r->d)) != STORE_OK)
		return status_from_store(r, sr);
	(void)pwl_msg_u64(r->msg, PWL_T_SINCE, &since);
	if (since > INT64_MAX)
		since = INT64_MAX;
	if (since > 0 && (sr = store_audit_bounds(r->d->st, (int64_t)since,
	    &first_new, &first)) != STORE_OK)
		return sr == STORE_NOTFOUND ? PWL_ST_OK :
		    status_from_store(r, sr);
	if (since > 0 && first_new == 0)
		return PWL_ST_OK;		/* nothing that recent */
	if (since > 0 && first_new - 1 > after)
		after = first_new - 1;
	sr = store_audit_page(r->d->st, user, after, (int64_t)since,
	    PAGE_ROWS, page_row, &p);
	if (sr < 0)
		return status_from_store(r, sr);
	if (w->err != 0) {
		req_message(r, "a page of the audit trail did not fit a reply");
		return PWL_ST_INTERNAL;
	}
	if (p.full || p.n == PAGE_ROWS) {
		snprintf(next, sizeof(next), "%lld", (long long)p.last);
		pwl_w_str(w, PWL_T_NEXT, next);
	}
	return PWL_ST_OK;
}

uint16_t
h_audit_list(struct req *r, struct pwl_wbuf *w)
{
	return audit_page(r, r->caller, w);
}

uint16_t
h_admin_audit(struct req *r, struct pwl_wbuf *w)
{
	char user[PWL_USER_MAX + 1] = "";

	if (req_str(r, PWL_T_USER, user, sizeof(user), 0) != 0)
		return PWL_ST_BAD_REQUEST;
	return audit_page(r, user[0] != '\0' ? user : NULL, w);
}

/* --- verify -------------------------------------------------------------- */

void
audit_anchor_mac(const struct secrets *sec, int64_t id,
    const uint8_t hash[HASH_LEN], int64_t time, uint8_t out[HASH_LEN])
{
	char buf[sizeof(ANCHOR_DOMAIN) + 2 * 24 + 2 * HASH_LEN + 4];
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "%s:%lld:%lld:", ANCHOR_DOMAIN,
	    (long long)id, (long long)time);
	sodium_bin2hex(buf + n, sizeof(buf) - n, hash, HASH_LEN);
	secret_hash(sec->audit, buf, strlen(buf), out);
}

struct verify {
	const struct secrets *sec;
	int64_t		 prev_id;
	uint8_t		 prev[HASH_LEN];
	uint32_t	 n;
	int64_t		 broken;	/* first bad row, 0 = none yet */
	char		 why[PWL_STR_MAX + 1];
};

static int
bad(struct verify *v, int64_t id, const char *why)
{
	v->broken = id;
	snprintf(v->why, sizeof(v->why), "row %lld %s", (long long)id, why);
	return 1;
}

static int
verify_row(void *arg, const struct audit_row *a)
{
	struct verify *v = arg;
	uint8_t h[HASH_LEN];
	int ok;

	if (a->id != v->prev_id + 1)
		return bad(v, v->prev_id + 1, "is missing: the chain jumps "
		    "to the next row present");
	if (a->oversize)
		return bad(v, a->id, "holds a value pwlessd never writes: it "
		    "was edited by hand");
	audit_hash(v->sec, a, h);
	ok = sodium_memcmp(h, a->hash, HASH_LEN) == 0;
	sodium_memzero(h, sizeof(h));
	if (!ok)
		return bad(v, a->id, "was changed after it was written: its "
		    "hash does not match its fields");
	if (sodium_memcmp(a->prev_hash, v->prev, HASH_LEN) != 0)
		return bad(v, a->id, "does not follow the row before it: the "
		    "chain was cut or rows were replaced");
	v->prev_id = a->id;
	memcpy(v->prev, a->hash, HASH_LEN);
	v->n++;
	return 0;
}

/* Where checking starts: the request's cursor, the anchor, or row 1. */
static uint16_t
verify_start(struct req *r, struct verify *v)
{
	char next[PWL_STR_MAX + 1] = "", *colon;
	struct audit_anchor an;
	uint8_t mac[HASH_LEN];
	uint64_t id;
	size_t n;
	int sr;

	if (req_str(r, PWL_T_NEXT, next, sizeof(next), 0) != 0)
		return PWL_ST_BAD_REQUEST;
	if (next[0] != '\0') {
		if ((colon = strchr(next, ':')) != NULL)
			*colon++ = '\0';
		if (colon == NULL ||
		    pwl_parse_uint(next, INT64_MAX, &id) != 0 ||
		    sodium_hex2bin(v->prev, HASH_LEN, colon, strlen(colon),
		    NULL, &n, NULL) != 0 || n != HASH_LEN) {
			req_message(r, "malformed verify cursor");
			return PWL_ST_BAD_REQUEST;
		}
		v->prev_id = (int64_t)id;
		return PWL_ST_OK;
	}
	if ((sr = store_audit_anchor_get(r->d->st, &an)) == STORE_NOTFOUND)
		return PWL_ST_OK;
	if (sr != STORE_OK)
		return status_from_store(r, sr);
	audit_anchor_mac(&r->d->sec, an.id, an.hash, an.time, mac);
	if (sodium_memcmp(mac, an.mac, HASH_LEN) != 0) {
		v->broken = an.id > 0 ? an.id : 1;
		snprintf(v->why, sizeof(v->why), "the prune anchor (row %lld) "
		    "was changed: the rows before the first present cannot be "
		    "vouched for", (long long)an.id);
	}
	v->prev_id = an.id;
	memcpy(v->prev, an.hash, HASH_LEN);
	return PWL_ST_OK;
}

uint16_t
h_admin_audit_verify(struct req *r, struct pwl_wbuf *w)
{
	struct verify v;
	char hex[2 * HASH_LEN + 1], next[24 + 2 * HASH_LEN + 2];
	uint16_t st;
	int sr;

	memset(&v, 0, sizeof(v));
	v.sec = &r->d->sec;
	if ((sr = audit_journal_catch_up(r->d)) != STORE_OK)
		return status_from_store(r, sr);
	if ((st = verify_start(r, &v)) != PWL_ST_OK)
		return st;
	if (v.broken == 0 && (sr = store_audit_page(r->d->st, NULL, v.prev_id,
	    0, VERIFY_ROWS, verify_row, &v)) < 0)
		return status_from_store(r, sr);
	pwl_w_u32(w, PWL_T_COUNT, v.n);
	sodium_bin2hex(hex, sizeof(hex), v.prev, HASH_LEN);
	if (v.broken != 0) {
		pwl_w_u64(w, PWL_T_BROKEN, (uint64_t)v.broken);
		req_message(r, "%s", v.why);
	} else if (v.n == VERIFY_ROWS) {
		snprintf(next, sizeof(next), "%lld:%s", (long long)v.prev_id,
		    hex);
		pwl_w_str(w, PWL_T_NEXT, next);
	} else {
		pwl_w_u64(w, PWL_T_AUDIT_ID, (uint64_t)v.prev_id);
		pwl_w_str(w, PWL_T_HEAD, hex);
	}
	audit_event(r, v.broken ? LOG_WARNING : LOG_INFO, "audit_verify",
	    "by", r->caller, "result", v.broken ? "broken" : "ok",
	    "reason", v.broken ? v.why : NULL, NULL);
	return PWL_ST_OK;
}

/* --- pruning ------------------------------------------------------------- */

/* The last row to prune: every row up to it is older than cutoff. */
static int
prune_point(struct store *st, int64_t cutoff, int64_t *upto)
{
	uint8_t h[HASH_LEN];
	int64_t first_new, first;
	int sr;

	*upto = 0;
	if ((sr = store_audit_bounds(st, cutoff, &first_new, &first)) < 0)
		return sr;
	if (first == 0)
		return STORE_NOTFOUND;		/* an empty trail */
	if (first_new != 0)
		*upto = first_new - 1;
	else if ((sr = store_audit_head(st, upto, h)) != STORE_OK)
		return sr;
	if (*upto > first + PRUNE_BATCH - 1)
		*upto = first + PRUNE_BATCH - 1;
	return *upto >= first ? STORE_OK : STORE_NOTFOUND;
}

/* Deletes rows up to upto and anchors the chain at it, in one step. */
static int
prune_to(struct daemon *d, int64_t upto, int64_t now)
{
	struct audit_anchor an;
	int sr;

	memset(&an, 0, sizeof(an));
	an.id = upto;
	an.time = now;
	if ((sr = store_begin(d->st)) != STORE_OK)
		return sr;
	if ((sr = store_audit_hash_of(d->st, upto, an.hash)) != STORE_OK ||
	    (sr = store_audit_delete(d->st, upto)) != STORE_OK)
		goto fail;
	audit_anchor_mac(&d->sec, an.id, an.hash, an.time, an.mac);
	if ((sr = store_audit_anchor_set(d->st, &an)) != STORE_OK ||
	    (sr = store_commit(d->st)) != STORE_OK)
		goto fail;
	return STORE_OK;
 fail:
	store_rollback(d->st);
	return sr < 0 ? sr : STORE_ERR;
}

/*
 * Housekeeping on the loop's one-second tick: makes the last second's
 * unsynced audit rows durable; prunes once an hour.
 */
void
audit_prune(struct daemon *d, int64_t now)
{
	char upto_s[24];
	int64_t upto = 0;
	int sr = STORE_NOTFOUND;

	/* the journal's rows into the table, and the last second's on disk */
	(void)audit_journal_import(d);
	store_sync_pending(d->st);
	if (now < d->audit.prune_at)
		return;
	d->audit.prune_at = now + PRUNE_EVERY;
	notify_prune(d, now - KEEP_NOTICES);
	if (store_contact_prune(d->st, now - KEEP_CHANGES) != STORE_OK)
		log_msg(LOG_WARNING, "cannot prune old contact changes: %s",
		    store_errmsg(d->st));
	if (d->cfg.audit_keep > 0)
		sr = prune_point(d->st, now - (int64_t)d->cfg.audit_keep,
		    &upto);
	if (sr == STORE_OK)
		sr = prune_to(d, upto, now);
	if (sr < 0) {
		log_msg(LOG_WARNING, "cannot prune the audit trail: %s; "
		    "trying again in an hour", store_errmsg(d->st));
		return;
	}
	if (sr != STORE_OK)
		return;
	snprintf(upto_s, sizeof(upto_s), "%lld", (long long)upto);
	log_event(LOG_INFO, "audit_prune", "upto", upto_s, NULL);
	d->audit.prune_at = now + 1;	/* more may be due: next tick */
}
