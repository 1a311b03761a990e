/*
 * tokens.c: short-lived pwt_ tokens.  Minted after a login (session
 * tokens) or in exchange for the caller's own key (TOKEN_ISSUE, API
 * tokens); checked by TOKEN_VERIFY; revoked at logout, by their owner, or
 * by their key's revocation; swept from the database once expired.
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

#define KIND_SESSION	"session"	/* made by a login, ends with it */
#define KIND_API	"api"		/* exchanged for a key */
#define SWEEP_RETRY	60		/* seconds after a failed sweep */
#define ISSUER		"pwless-login"	/* service name of TOKEN_ISSUE */

static void
token_hash(struct req *r, const char *tok, uint8_t out[HASH_LEN])
{
	secret_hash(r->d->sec.tokens, tok, strlen(tok), out);
}

int
req_wants_token(struct req *r)
{
	uint8_t v;

	return pwl_msg_u8(r->msg, PWL_T_WANT_TOKEN, &v) == 0 && v == 1;
}

/* Appends name to the list in out (size sz) unless present or too long. */
static void
list_add(char *out, size_t sz, const char *name, size_t n)
{
	size_t len = strlen(out);
	char item[PWL_SERVICE_MAX + 1];

	if (n == 0 || n > PWL_SERVICE_MAX)
		return;
	memcpy(item, name, n);
	item[n] = '\0';
	if (pwl_list_has(out, item) || len + (len > 0) + n >= sz)
		return;
	if (len > 0)
		out[len++] = ',';
	memcpy(out + len, item, n + 1);
}

/*
 * The services a login token works for: the one that logged in plus
 * [tokens] services, narrowed to the credential's own scope so a token
 * never reaches further than the key it came from.
 */
static void
login_services(struct req *r, const struct token_grant *g, char *out,
    size_t sz)
{
	const char *p = r->d->cfg.token_services;
	size_t len;
	char cand[PWL_STR_MAX + 1] = "";

	list_add(cand, sizeof(cand), g->service, strlen(g->service));
	while (*p != '\0') {
		len = strcspn(p, ", ");
		list_add(cand, sizeof(cand), p, len);
		p += len;
		p += strspn(p, ", ");
	}
	out[0] = '\0';
	for (p = cand; *p != '\0'; p += *p == ',') {
		char one[PWL_SERVICE_MAX + 1];

		len = strcspn(p, ",");
		memcpy(one, p, len);
		one[len] = '\0';
		if (g->scope == NULL || g->scope[0] == '\0' ||
		    pwl_list_has(g->scope, one))
			list_add(out, sz, p, len);
		p += len;
	}
}

static uint16_t
room_for_token(struct req *r, int64_t user_id)
{
	uint32_t n;
	int sr;

	if ((sr = store_token_count(r->d->st, user_id, r->now, &n)) != 0)
		return status_from_store(r, sr);
	if (n >= r->d->cfg.token_max_per_user) {
		req_message(r, "you hold %u live tokens, the most allowed; "
		    "revoke some ('pwless token list', 'pwless token revoke "
		    "ID') or wait until they expire", n);
		return PWL_ST_LIMIT;
	}
	return PWL_ST_OK;
}

/*
 * Makes the token described by t (user, kind, scope, binding, expiry):
 * fills in id, hash and creation time, stores it, and writes TOKEN,
 * KEY_ID and EXPIRES to w.  The secret is wiped here.
 */
static uint16_t
mint(struct req *r, struct token_row *t, struct pwl_wbuf *w)
{
	char tok[PWL_KEY_LEN + 1] = "";
	uint16_t st = PWL_ST_INTERNAL;
	int sr;

	if (secret_new(PWL_KIND_TOKEN, tok, t->token_id) != 0)
		goto out;
	token_hash(r, tok, t->hash);
	t->hash_version = HASH_VERSION;
	t->created = r->now;
	if ((sr = store_token_insert(r->d->st, t)) != STORE_OK) {
		st = status_from_store(r, sr);
		goto out;
	}
	if (t->expires < r->d->token_sweep_at)	/* 0: sweep due anyway */
		r->d->token_sweep_at = t->expires;
	pwl_w_str(w, PWL_T_TOKEN, tok);
	pwl_w_str(w, PWL_T_KEY_ID, t->token_id);
	pwl_w_u64(w, PWL_T_EXPIRES, (uint64_t)t->expires);
	st = PWL_ST_OK;
 out:
	sodium_memzero(tok, sizeof(tok));
	sodium_memzero(t->hash, sizeof(t->hash));
	return st;
}

static void
log_issue(struct req *r, const struct token_row *t, uint16_t st,
    const char *why)
{
	char ttl[32] = "";

	if (st == PWL_ST_OK)
		pwl_format_duration((uint64_t)(t->expires - t->created), ttl,
		    sizeof(ttl));
	audit_event(r, st == PWL_ST_OK ? LOG_INFO : LOG_NOTICE, "token_issue",
	    "user", t->user, "kind", t->kind, "token_id", st == PWL_ST_OK ?
	    t->token_id : NULL, "services", t->services, "service",
	    t->service, "rhost", t->rhost, "ttl", ttl,
	    "result", st == PWL_ST_OK ? "ok" : pwl_status_name(st),
	    "reason", why, NULL);
}

uint16_t
token_for_login(struct req *r, const struct token_grant *g,
    struct pwl_wbuf *w)
{
	struct token_row t;
	int64_t end = r->now + (int64_t)r->d->cfg.token_lifetime;
	uint16_t st;

	memset(&t, 0, sizeof(t));
	pwl_strlcpy(t.user, g->user, sizeof(t.user));
	pwl_strlcpy(t.kind, KIND_SESSION, sizeof(t.kind));
	pwl_strlcpy(t.service, g->service, sizeof(t.service));
	pwl_strlcpy(t.rhost, g->rhost != NULL ? g->rhost : "",
	    sizeof(t.rhost));
	pwl_strlcpy(t.tty, g->tty != NULL ? g->tty : "", sizeof(t.tty));
	login_services(r, g, t.services, sizeof(t.services));
	t.user_id = g->user_id;
	t.key_ref = g->key_ref;
	t.expires = g->not_after != 0 && g->not_after < end ? g->not_after :
	    end;
	if ((st = room_for_token(r, g->user_id)) == PWL_ST_OK)
		st = mint(r, &t, w);
	log_issue(r, &t, st, st == PWL_ST_LIMIT ? "too_many_tokens" : NULL);
	r->message[0] = '\0';	/* the login's reply, not the token's */
	return st;
}

/* --- checks -------------------------------------------------------------- */

/* What a token must match; NULL fields are not checked. */
struct want {
	const char	*user;
	const char	*service;
	const char	*rhost;		/* NULL or "": a local caller */
};

/* Its real end: its own expiry, or its key's when that comes first. */
static int64_t
token_end(const struct token_row *t)
{
	if (t->key_ref != 0 && t->key_expires < t->expires)
		return t->key_expires;
	return t->expires;
}

/*
 * Finds tok by its id and compares its secret.  Every path computes one
 * hash, so an unknown id costs what a known one does.  Returns 1 when
 * the secret matched (t holds the row), 0 when not (*why says how), or
 * a negative store error.
 */
static int
token_find(struct req *r, const char *tok, struct token_row *t,
    const char **why)
{
	uint8_t h[HASH_LEN];
	char id[PWL_ID_LEN + 1];
	int kind, sr, match;

	*why = "bad_format";
	if (pwl_secret_parse(tok, &kind, id) != 0 || kind != PWL_KIND_TOKEN)
		id[0] = '\0';
	token_hash(r, tok, h);
	sr = id[0] != '\0' ? store_token_get(r->d->st, id, t) :
	    STORE_NOTFOUND;
	match = sr == STORE_OK && sodium_memcmp(h, t->hash, HASH_LEN) == 0;
	sodium_memzero(h, sizeof(h));
	if (sr < 0)
		return sr;
	if (id[0] != '\0')
		*why = sr != STORE_OK ? "unknown_token" : !match ?
		    "wrong_secret" : NULL;
	return match;
}

/*
 * Checks tok against wt: its owner, expiry, key, account, service set
 * and remote host.  Returns the status and a reason to log.
 */
static uint16_t
token_check(struct req *r, const char *tok, const struct want *wt,
    struct token_row *t, const char **why)
{
	struct user_row u;
	int sr;

	if ((sr = token_find(r, tok, t, why)) < 0)
		return status_from_store(r, sr);
	if (sr == 1 && wt->user != NULL && strcmp(t->user, wt->user) != 0)
		*why = "other_user";
	if (*why != NULL && wt->user != NULL) {
		if ((sr = store_user_get(r->d->st, wt->user, &u)) < 0)
			return status_from_store(r, sr);
		if (sr == STORE_NOTFOUND)
			*why = "unknown_user";
		return sr == STORE_NOTFOUND ? PWL_ST_UNKNOWN_USER :
		    PWL_ST_DENIED;
	}
	if (*why != NULL)
		return PWL_ST_DENIED;
	if (token_end(t) <= r->now) {
		*why = "expired";
		return PWL_ST_EXPIRED;
	}
	*why = t->key_revoked != 0 ? "key_revoked" :
	    t->user_disabled ? "disabled" :
	    wt->service != NULL && t->services[0] != '\0' &&
	    !pwl_list_has(t->services, wt->service) ? "service_scope" :
	    wt->rhost != NULL && wt->rhost[0] != '\0' &&
	    strcmp(wt->rhost, t->rhost) != 0 ? "rhost" : NULL;
	return *why == NULL ? PWL_ST_OK : PWL_ST_DENIED;
}

/* The caller's own live token: a proof of a recent login (contacts.c). */
uint16_t
token_owned(struct req *r, const char *tok, struct token_row *t,
    const char **why)
{
	struct want wt = { r->caller, NULL, NULL };

	memset(t, 0, sizeof(*t));
	return token_check(r, tok, &wt, t, why);
}

/*
 * Failures that count against the source (never against the account: a
 * stale PWLESS_TOKEN must not lock anyone out): a token that does not
 * exist, a wrong secret, another user's token.  Expiry, scope, rhost,
 * a revoked key or a disabled user are policy, not guessing.
 */
static int
guessing(uint16_t st, const char *why)
{
	static const char *const counted[] = { "bad_format", "unknown_token",
	    "wrong_secret", "other_user", "unknown_user" };
	size_t i;

	if (st != PWL_ST_DENIED && st != PWL_ST_UNKNOWN_USER)
		return 0;
	for (i = 0; why != NULL && i < sizeof(counted) / sizeof(counted[0]);
	    i++)
		if (strcmp(why, counted[i]) == 0)
			return 1;
	return 0;
}

/* May the caller check tokens of users other than its own? */
static int
may_verify_any(struct req *r)
{
	return config_trusted(&r->d->cfg, r->uid) ||
	    req_in_group(r, r->d->cfg.verify_group);
}

struct verify_in {
	char	user[PWL_USER_MAX + 1];
	char	service[PWL_SERVICE_MAX + 1];
	char	rhost[PWL_RHOST_MAX + 1];
	char	tok[PWL_SECRET_MAX + 1];
};

/* Reads the request; fills wt with what the caller may ask about. */
static uint16_t
verify_read(struct req *r, struct verify_in *in, struct want *wt)
{
	int any;

	if (req_str(r, PWL_T_USER, in->user, sizeof(in->user), 0) != 0 ||
	    req_str(r, PWL_T_SERVICE, in->service, sizeof(in->service), 0) ||
	    req_str(r, PWL_T_RHOST, in->rhost, sizeof(in->rhost), 0) != 0 ||
	    req_str(r, PWL_T_TOKEN, in->tok, sizeof(in->tok), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	wt->user = pwl_msg_get(r->msg, PWL_T_USER) != NULL ? in->user : NULL;
	wt->service = pwl_msg_get(r->msg, PWL_T_SERVICE) != NULL ?
	    in->service : NULL;
	wt->rhost = in->rhost;
	any = may_verify_any(r);
	if (any || (wt->user != NULL && req_may_auth(r, wt->user)))
		return PWL_ST_OK;
	if (wt->user != NULL) {
		req_message(r, "uid %u may check only its own tokens; "
		    "checking others' needs root, trusted_uids or "
		    "verify_group", (unsigned)r->uid);
		return PWL_ST_NOT_PERMITTED;
	}
	if (req_caller(r) != 0) {
		req_message(r, "uid %u has no user name", (unsigned)r->uid);
		return PWL_ST_NOT_PERMITTED;
	}
	wt->user = r->caller;	/* another user's token looks unknown */
	return PWL_ST_OK;
}

uint16_t
h_token_verify(struct req *r, struct pwl_wbuf *w)
{
	struct verify_in in;
	struct want wt = { NULL, NULL, NULL };
	struct token_row t;
	struct src src;
	const char *why = NULL;
	uint16_t st;

	memset(&in, 0, sizeof(in));
	memset(&t, 0, sizeof(t));
	if ((st = verify_read(r, &in, &wt)) != PWL_ST_OK) {
		why = st == PWL_ST_NOT_PERMITTED ? "not_permitted" : NULL;
		goto out;
	}
	source_of(r, &src);
	if ((st = source_check(r, &src)) != PWL_ST_OK) {
		why = "source_limit";
		goto out;
	}
	if ((st = token_check(r, in.tok, &wt, &t, &why)) != PWL_ST_OK) {
		if (guessing(st, why))
			source_fail(r, &src, 0);
		goto out;
	}
	pwl_w_str(w, PWL_T_USER, t.user);
	pwl_w_u64(w, PWL_T_EXPIRES, (uint64_t)token_end(&t));
	pwl_w_str(w, PWL_T_KEY_ID, t.token_id);
	pwl_w_str(w, PWL_T_KIND, t.kind);
	if (t.services[0] != '\0')
		pwl_w_str(w, PWL_T_SERVICES, t.services);
 out:
	audit_event(r, st == PWL_ST_OK ? LOG_INFO : LOG_NOTICE, "auth",
	    "method", "token", "user", wt.user != NULL ? wt.user : t.user,
	    "service", in.service, "rhost", in.rhost, "token_id",
	    t.token_id, "result", st == PWL_ST_OK ? "ok" :
	    pwl_status_name(st), "reason", why, NULL);
	sodium_memzero(in.tok, sizeof(in.tok));
	return st;
}

uint16_t
h_session_close(struct req *r, struct pwl_wbuf *w)
{
	char tok[PWL_SECRET_MAX + 1];
	struct token_row t;
	const char *why = NULL;
	int sr;

	(void)w;
	memset(&t, 0, sizeof(t));
	if (req_str(r, PWL_T_TOKEN, tok, sizeof(tok), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	sr = token_find(r, tok, &t, &why);
	sodium_memzero(tok, sizeof(tok));
	if (sr < 0)
		return status_from_store(r, sr);
	if (sr == 0) {
		req_message(r, "no such token; it has expired or was revoked "
		    "already");
		return PWL_ST_NOT_FOUND;
	}
	if (!req_may_auth(r, t.user)) {
		req_message(r, "uid %u may only end its own sessions",
		    (unsigned)r->uid);
		return PWL_ST_NOT_PERMITTED;
	}
	if ((sr = store_token_delete(r->d->st, t.id)) < 0)
		return status_from_store(r, sr);
	audit_event(r, LOG_INFO, "token_revoke", "user", t.user, "token_id",
	    t.token_id, "by", "session_close", "result", "ok", NULL);
	return PWL_ST_OK;
}

/* --- self-service -------------------------------------------------------- */

/* SERVICES of the request, which must lie within the key's scope. */
static uint16_t
issue_services(struct req *r, const struct key_row *k, char *out,
    size_t sz)
{
	char one[PWL_SERVICE_MAX + 1];
	const char *p;
	size_t len;

	if (req_str(r, PWL_T_SERVICES, out, sz, 0) != 0)
		return PWL_ST_BAD_REQUEST;
	if (out[0] == '\0') {
		pwl_strlcpy(out, k->services, sz);
		return PWL_ST_OK;
	}
	for (p = out; *p != '\0'; p += *p == ',') {
		len = strcspn(p, ",");
		if (len == 0 || len > PWL_SERVICE_MAX) {
			req_message(r, "services must be names separated by "
			    "commas");
			return PWL_ST_BAD_REQUEST;
		}
		memcpy(one, p, len);
		one[len] = '\0';
		if (k->services[0] != '\0' && !pwl_list_has(k->services, one)) {
			req_message(r, "key %s works only for %s; a token made "
			    "from it cannot add %s", k->key_id, k->services,
			    one);
			return PWL_ST_NOT_PERMITTED;
		}
		p += len;
	}
	return PWL_ST_OK;
}

/* The caller's own key, checked without a service (its scope is kept). */
static uint16_t
issue_key(struct req *r, struct key_row *k)
{
	char key[PWL_SECRET_MAX + 1];
	const char *why = NULL;
	struct src src;
	uint16_t st;

	if (req_str(r, PWL_T_KEY, key, sizeof(key), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	source_of(r, &src);
	if ((st = source_check(r, &src)) != PWL_ST_OK) {
		sodium_memzero(key, sizeof(key));
		return st;
	}
	st = key_check(r, r->caller, NULL, key, k, &why);
	sodium_memzero(key, sizeof(key));
	if (st == PWL_ST_DENIED || st == PWL_ST_UNKNOWN_USER)
		source_fail(r, &src, 0);
	if (st == PWL_ST_OK)
		(void)store_key_touch(r->d->st, k->id, r->now, ISSUER, NULL);
	audit_event(r, st == PWL_ST_OK ? LOG_INFO : LOG_NOTICE, "auth",
	    "method", "key", "user", r->caller, "service", ISSUER,
	    "key_id", k->key_id, "result", st == PWL_ST_OK ? "ok" :
	    pwl_status_name(st), "reason", why, NULL);
	if (st == PWL_ST_DENIED || st == PWL_ST_UNKNOWN_USER) {
		req_message(r, "that is not a valid, live key of user '%s'",
		    r->caller);
		return PWL_ST_DENIED;
	}
	return st;
}

uint16_t
h_token_issue(struct req *r, struct pwl_wbuf *w)
{
	struct user_row u;
	struct key_row k;
	struct token_row t;
	uint64_t life;
	uint16_t st;

	memset(&k, 0, sizeof(k));
	memset(&t, 0, sizeof(t));
	if ((st = req_self(r, &u, 0)) != PWL_ST_OK ||
	    (st = req_lifetime(r, r->d->cfg.token_lifetime,
	    r->d->cfg.token_max_lifetime, "token", &life)) != PWL_ST_OK ||
	    (st = issue_key(r, &k)) != PWL_ST_OK ||
	    (st = issue_services(r, &k, t.services, sizeof(t.services))) !=
	    PWL_ST_OK || (st = room_for_token(r, u.id)) != PWL_ST_OK)
		goto out;
	pwl_strlcpy(t.user, u.name, sizeof(t.user));
	pwl_strlcpy(t.kind, KIND_API, sizeof(t.kind));
	t.user_id = u.id;
	t.key_ref = k.id;
	t.expires = r->now + (int64_t)life;
	if (k.expires < t.expires)
		t.expires = k.expires;
	if ((st = mint(r, &t, w)) == PWL_ST_OK && t.services[0] != '\0')
		pwl_w_str(w, PWL_T_SERVICES, t.services);
	log_issue(r, &t, st, NULL);
 out:
	return st;
}

struct tlist {
	struct pwl_wbuf	*w;
};

static int
list_token(void *arg, const struct token_row *t)
{
	struct tlist *c = arg;
	size_t mark = pwl_w_begin(c->w, PWL_T_ITEM);

	pwl_w_str(c->w, PWL_T_KEY_ID, t->token_id);
	pwl_w_str(c->w, PWL_T_KIND, t->kind);
	pwl_w_u64(c->w, PWL_T_CREATED, (uint64_t)t->created);
	pwl_w_u64(c->w, PWL_T_EXPIRES, (uint64_t)token_end(t));
	if (t->services[0] != '\0')
		pwl_w_str(c->w, PWL_T_SERVICES, t->services);
	if (t->service[0] != '\0')
		pwl_w_str(c->w, PWL_T_SERVICE, t->service);
	if (t->rhost[0] != '\0')
		pwl_w_str(c->w, PWL_T_RHOST, t->rhost);
	if (t->tty[0] != '\0')
		pwl_w_str(c->w, PWL_T_TTY, t->tty);
	pwl_w_end(c->w, mark);
	return c->w->err != 0;
}

uint16_t
h_token_list(struct req *r, struct pwl_wbuf *w)
{
	struct tlist c = { w };
	struct user_row u;
	uint16_t st;
	int sr;

	if ((st = req_self(r, &u, 1)) != PWL_ST_OK)
		return st;
	sr = store_token_list(r->d->st, u.id, r->now, list_token, &c);
	if (sr < 0)
		return status_from_store(r, sr);
	if (w->err != 0) {
		req_message(r, "too many tokens to list in one reply");
		return PWL_ST_LIMIT;
	}
	return PWL_ST_OK;
}

uint16_t
h_token_revoke(struct req *r, struct pwl_wbuf *w)
{
	char id[PWL_KEYID_MAX + 1];
	struct user_row u;
	uint16_t st;
	int sr;

	(void)w;
	if (req_str(r, PWL_T_KEY_ID, id, sizeof(id), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	if ((st = req_self(r, &u, 1)) != PWL_ST_OK)
		return st;
	sr = store_token_revoke(r->d->st, u.id, id);
	if (sr == STORE_NOTFOUND)
		req_message(r, "no live token %s among your tokens; see "
		    "'pwless token list'", id);
	if (sr == STORE_OK)
		audit_event(r, LOG_NOTICE, "token_revoke", "user", u.name,
		    "token_id", id, "by", "owner", "result", "ok", NULL);
	return status_from_store(r, sr);
}

/* --- sweep --------------------------------------------------------------- */

void
tokens_sweep(struct daemon *d, int64_t now)
{
	char count[16];
	int64_t next;
	uint32_t n;
	int sr;

	if (d->token_sweep_at != 0 && now < d->token_sweep_at)
		return;
	if (store_token_sweep(d->st, now, &n) != STORE_OK) {
		log_msg(LOG_WARNING, "cannot delete expired tokens; trying "
		    "again in %d s", SWEEP_RETRY);
		d->token_sweep_at = now + SWEEP_RETRY;
		return;
	}
	if (n > 0) {
		snprintf(count, sizeof(count), "%u", n);
		log_event(LOG_INFO, "token_sweep", "count", count, NULL);
	}
	sr = store_token_next_expiry(d->st, &next);
	d->token_sweep_at = sr == STORE_OK ? next : sr == STORE_NOTFOUND ?
	    INT64_MAX : now + SWEEP_RETRY;
}
