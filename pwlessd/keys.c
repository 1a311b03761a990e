/*
 * keys.c: API keys.  AUTH_KEY checks one (one indexed read, one keyed
 * BLAKE2b, a constant-time compare); KEY_CREATE, LIST, REVOKE and ROTATE
 * serve the caller's own keys; ADMIN_KEY_* serve an admin.
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

#define TOUCH_INTERVAL	60	/* last_used written at most once a minute */

static void
key_hash(struct req *r, const char *key, uint8_t out[HASH_LEN])
{
	secret_hash(r->d->sec.keys, key, strlen(key), out);
}

/* 1 when service is in the comma-separated list (empty list = any). */
static int
service_allowed(const char *list, const char *service)
{
	return *list == '\0' || pwl_list_has(list, service);
}

static const char *
key_state(const struct key_row *k, int64_t now)
{
	if (k->revoked != 0)
		return "revoked";
	if (k->expires <= now)
		return "expired";
	if (k->rotated_to[0] != '\0')
		return "rotated";
	return "active";
}

struct auth_in {
	char	user[PWL_USER_MAX + 1];
	char	service[PWL_SERVICE_MAX + 1];
	char	rhost[PWL_RHOST_MAX + 1];
	char	tty[PWL_TTY_MAX + 1];
	char	key[PWL_SECRET_MAX + 1];
};

/*
 * Decides one key for user.  Every path computes one hash, so an unknown
 * key id costs what a known one does.  A NULL service skips the scope
 * check (TOKEN_ISSUE: the token keeps the key's scope).  Returns the
 * status and a reason to log.
 */
uint16_t
key_check(struct req *r, const char *user, const char *service,
    const char *key, struct key_row *k, const char **why)
{
	uint8_t h[HASH_LEN];
	char id[PWL_ID_LEN + 1];
	struct user_row u;
	int kind, sr, match;

	*why = "bad_format";
	if (pwl_secret_parse(key, &kind, id) != 0 || kind != PWL_KIND_KEY)
		id[0] = '\0';
	key_hash(r, key, h);
	sr = id[0] != '\0' ? store_key_get(r->d->st, id, k) : STORE_NOTFOUND;
	if (sr < 0)
		return status_from_store(r, sr);
	match = sr == STORE_OK && sodium_memcmp(h, k->hash, HASH_LEN) == 0;
	sodium_memzero(h, sizeof(h));
	if (sr != STORE_OK || strcmp(k->user, user) != 0) {
		sr = store_user_get(r->d->st, user, &u);
		if (sr < 0)
			return status_from_store(r, sr);
		*why = sr == STORE_NOTFOUND ? "unknown_user" :
		    id[0] != '\0' ? "unknown_key" : "bad_format";
		return sr == STORE_NOTFOUND ? PWL_ST_UNKNOWN_USER :
		    PWL_ST_DENIED;
	}
	*why = !match ? "wrong_secret" : k->revoked ? "revoked" :
	    k->expires <= r->now ? "expired" :
	    service != NULL && !service_allowed(k->services, service) ?
	    "service_scope" :
	    k->user_disabled ? "disabled" : NULL;
	return *why == NULL ? PWL_ST_OK : PWL_ST_DENIED;
}

/* A session token for this login; failing to make one is only logged. */
static void
login_token(struct req *r, const struct auth_in *in,
    const struct key_row *k, struct pwl_wbuf *w)
{
	struct token_grant g = { in->user, k->user_id, in->service, in->rhost,
	    in->tty, k->services, k->id, k->expires };

	(void)token_for_login(r, &g, w);
}

uint16_t
h_auth_key(struct req *r, struct pwl_wbuf *w)
{
	struct auth_in in;
	struct key_row k;
	struct budget b;
	const char *why = NULL;
	uint16_t st = PWL_ST_BAD_REQUEST;

	memset(&in, 0, sizeof(in));
	memset(&k, 0, sizeof(k));
	if (req_str(r, PWL_T_USER, in.user, sizeof(in.user), 1) != 0 ||
	    req_str(r, PWL_T_SERVICE, in.service, sizeof(in.service), 1) ||
	    req_str(r, PWL_T_RHOST, in.rhost, sizeof(in.rhost), 0) != 0 ||
	    req_str(r, PWL_T_TTY, in.tty, sizeof(in.tty), 0) != 0 ||
	    req_str(r, PWL_T_KEY, in.key, sizeof(in.key), 1) != 0)
		goto out;
	if (!req_may_auth(r, in.user)) {
		req_message(r, "uid %u may only authenticate its own user",
		    (unsigned)r->uid);
		why = "not_permitted";
		st = PWL_ST_NOT_PERMITTED;
		goto out;
	}
	if ((st = limits_auth_begin(r, in.user, &b)) != PWL_ST_OK) {
		why = "locked";
		goto out;
	}
	st = key_check(r, in.user, in.service, in.key, &k, &why);
	st = limits_auth_end(r, &b, st, why);	/* the failure budget */
	if (st == PWL_ST_OK && r->now - k.last_used >= TOUCH_INTERVAL)
		store_key_touch(r->d->st, k.id, r->now, in.service, in.rhost);
	if (st == PWL_ST_OK)
		notify_key_used(r, in.user, k.id, k.key_id, in.service,
		    in.rhost);
	if (st == PWL_ST_OK && req_wants_token(r))
		login_token(r, &in, &k, w);
 out:
	audit_event(r, st == PWL_ST_OK ? LOG_INFO : LOG_NOTICE, "auth",
	    "method", "key", "user", in.user, "service", in.service,
	    "rhost", in.rhost, "tty", in.tty,
	    "key_id", k.key_id,
	    "result", st == PWL_ST_OK ? "ok" : pwl_status_name(st),
	    "reason", why, NULL);
	sodium_memzero(&in.key, sizeof(in.key));
	return st;
}

/* --- self-service ------------------------------------------------------ */

/* Mints a key for user u into k and out; the secret is shown once. */
static uint16_t
mint(struct req *r, const struct user_row *u, uint64_t lifetime,
    struct key_row *k, char out[PWL_KEY_LEN + 1])
{
	memset(k, 0, sizeof(*k));
	if (secret_new(PWL_KIND_KEY, out, k->key_id) != 0)
		return PWL_ST_INTERNAL;
	key_hash(r, out, k->hash);
	k->hash_version = HASH_VERSION;
	k->user_id = u->id;
	k->created = r->now;
	k->expires = r->now + (int64_t)lifetime;
	return PWL_ST_OK;
}

static uint16_t
room_for_key(struct req *r, const struct user_row *u)
{
	uint32_t n;
	int sr;

	if ((sr = store_user_count_keys(r->d->st, u->id, r->now, &n)) != 0)
		return status_from_store(r, sr);
	if (n >= r->d->cfg.key_max_per_user) {
		req_message(r, "you have %u keys, the most allowed; revoke one "
		    "first ('pwless key revoke ID')", n);
		return PWL_ST_LIMIT;
	}
	return PWL_ST_OK;
}

static void
write_new_key(struct pwl_wbuf *w, const struct key_row *k, const char *key)
{
	pwl_w_str(w, PWL_T_KEY, key);
	pwl_w_str(w, PWL_T_KEY_ID, k->key_id);
	pwl_w_u64(w, PWL_T_EXPIRES, (uint64_t)k->expires);
}

uint16_t
h_key_create(struct req *r, struct pwl_wbuf *w)
{
	char key[PWL_KEY_LEN + 1] = "";
	struct user_row u;
	struct key_row k;
	uint64_t life;
	uint16_t st;
	int sr;

	if ((st = req_self(r, &u, 0)) != PWL_ST_OK ||
	    (st = req_lifetime(r, r->d->cfg.key_default_lifetime,
	    r->d->cfg.key_max_lifetime, "key", &life)) != PWL_ST_OK ||
	    (st = room_for_key(r, &u)) != PWL_ST_OK ||
	    (st = mint(r, &u, life, &k, key)) != PWL_ST_OK)
		goto out;
	if (req_str(r, PWL_T_LABEL, k.label, sizeof(k.label), 0) != 0 ||
	    req_str(r, PWL_T_SERVICES, k.services, sizeof(k.services), 0)) {
		st = PWL_ST_BAD_REQUEST;
		goto out;
	}
	if ((sr = store_key_insert(r->d->st, &k)) != STORE_OK) {
		st = status_from_store(r, sr);
		goto out;
	}
	write_new_key(w, &k, key);
	audit_event(r, LOG_NOTICE, "key_create", "user", u.name, "key_id",
	    k.key_id, "label", k.label, "services", k.services, "result",
	    "ok", NULL);
	notify_key_created(r, u.name, k.key_id, k.label);
 out:
	sodium_memzero(key, sizeof(key));
	return st;
}

struct klist {
	struct pwl_wbuf	*w;
	int64_t		 now;
};

static int
list_key(void *arg, const struct key_row *k)
{
	struct klist *c = arg;
	size_t mark = pwl_w_begin(c->w, PWL_T_ITEM);

	pwl_w_str(c->w, PWL_T_KEY_ID, k->key_id);
	if (k->label[0] != '\0')
		pwl_w_str(c->w, PWL_T_LABEL, k->label);
	pwl_w_str(c->w, PWL_T_STATE, key_state(k, c->now));
	pwl_w_u64(c->w, PWL_T_CREATED, (uint64_t)k->created);
	pwl_w_u64(c->w, PWL_T_EXPIRES, (uint64_t)k->expires);
	pwl_w_u64(c->w, PWL_T_LAST_USED, (uint64_t)k->last_used);
	if (k->last_service[0] != '\0')
		pwl_w_str(c->w, PWL_T_LAST_SERVICE, k->last_service);
	if (k->last_rhost[0] != '\0')
		pwl_w_str(c->w, PWL_T_LAST_RHOST, k->last_rhost);
	if (k->services[0] != '\0')
		pwl_w_str(c->w, PWL_T_SERVICES, k->services);
	pwl_w_end(c->w, mark);
	return c->w->err != 0;
}

static uint16_t
list_keys(struct req *r, int64_t user_id, struct pwl_wbuf *w)
{
	struct klist c = { w, r->now };
	int sr;

	if ((sr = store_key_list(r->d->st, user_id, r->now, list_key,
	    &c)) < 0)
		return status_from_store(r, sr);
	if (w->err != 0) {
		req_message(r, "too many keys to list in one reply");
		return PWL_ST_LIMIT;
	}
	return PWL_ST_OK;
}

uint16_t
h_key_list(struct req *r, struct pwl_wbuf *w)
{
	struct user_row u;
	uint16_t st;

	if ((st = req_self(r, &u, 1)) != PWL_ST_OK)
		return st;
	return list_keys(r, u.id, w);
}

uint16_t
h_key_revoke(struct req *r, struct pwl_wbuf *w)
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
	sr = store_key_revoke(r->d->st, u.id, id, r->now);
	if (sr == STORE_NOTFOUND)
		req_message(r, "no active key %s among your keys; see 'pwless "
		    "key list'", id);
	if (sr == STORE_OK)
		audit_event(r, LOG_NOTICE, "key_revoke", "user", u.name,
		    "key_id", id, "result", "ok", NULL);
	return status_from_store(r, sr);
}

/* The new key keeps the old one's label, scope and lifetime. */
static uint16_t
rotate(struct req *r, const struct user_row *u, const struct key_row *old,
    uint64_t grace, struct pwl_wbuf *w)
{
	char key[PWL_KEY_LEN + 1] = "";
	struct key_row nk;
	uint64_t life = (uint64_t)(old->expires - old->created);
	int64_t old_end = r->now + (int64_t)grace;
	size_t mark;
	uint16_t st;
	int sr;

	if (life > r->d->cfg.key_max_lifetime)
		life = r->d->cfg.key_max_lifetime;
	if ((st = mint(r, u, life, &nk, key)) != PWL_ST_OK)
		goto out;
	memcpy(nk.label, old->label, sizeof(nk.label));
	memcpy(nk.services, old->services, sizeof(nk.services));
	if (old_end > old->expires)
		old_end = old->expires;
	if ((sr = store_key_rotate(r->d->st, old, old_end, &nk)) != 0) {
		st = status_from_store(r, sr);
		goto out;
	}
	write_new_key(w, &nk, key);
	mark = pwl_w_begin(w, PWL_T_ITEM);
	pwl_w_str(w, PWL_T_KEY_ID, old->key_id);
	pwl_w_u64(w, PWL_T_EXPIRES, (uint64_t)old_end);
	pwl_w_end(w, mark);
	audit_event(r, LOG_NOTICE, "key_rotate", "user", u->name, "key_id",
	    old->key_id, "new_key_id", nk.key_id, "result", "ok", NULL);
	notify_key_created(r, u->name, nk.key_id, nk.label);
 out:
	sodium_memzero(key, sizeof(key));
	return st;
}

uint16_t
h_key_rotate(struct req *r, struct pwl_wbuf *w)
{
	char id[PWL_KEYID_MAX + 1];
	struct user_row u;
	struct key_row old;
	uint64_t grace = 0;
	uint16_t st;
	int sr;

	if (req_str(r, PWL_T_KEY_ID, id, sizeof(id), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	(void)pwl_msg_u64(r->msg, PWL_T_GRACE, &grace);
	if ((st = req_self(r, &u, 0)) != PWL_ST_OK)
		return st;
	sr = store_key_get(r->d->st, id, &old);
	if (sr == STORE_OK && (old.user_id != u.id ||
	    strcmp(key_state(&old, r->now), "active") != 0))
		sr = STORE_NOTFOUND;
	if (sr == STORE_NOTFOUND)
		req_message(r, "no active key %s among your keys; see 'pwless "
		    "key list'", id);
	if (sr != STORE_OK)
		return status_from_store(r, sr);
	return rotate(r, &u, &old, grace, w);
}

/* --- admin ------------------------------------------------------------- */

static uint16_t
named_user(struct req *r, struct user_row *u)
{
	char user[PWL_USER_MAX + 1];
	int sr;

	if (req_str(r, PWL_T_USER, user, sizeof(user), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	sr = store_user_get(r->d->st, user, u);
	if (sr == STORE_NOTFOUND)
		req_message(r, "user '%s' is not enrolled", user);
	return status_from_store(r, sr);
}

uint16_t
h_admin_key_list(struct req *r, struct pwl_wbuf *w)
{
	struct user_row u;
	uint16_t st;

	if ((st = named_user(r, &u)) != PWL_ST_OK)
		return st;
	return list_keys(r, u.id, w);
}

uint16_t
h_admin_key_revoke_all(struct req *r, struct pwl_wbuf *w)
{
	struct user_row u;
	char count[16];
	uint32_t n;
	uint16_t st;
	int sr;

	if ((st = named_user(r, &u)) != PWL_ST_OK)
		return st;
	if ((sr = store_key_revoke_all(r->d->st, u.id, r->now, &n)) != 0)
		return status_from_store(r, sr);
	pwl_w_u32(w, PWL_T_COUNT, n);
	snprintf(count, sizeof(count), "%u", n);
	audit_event(r, LOG_NOTICE, "key_revoke_all", "user", u.name, "by",
	    r->caller, "count", count, "result", "ok", NULL);
	return PWL_ST_OK;
}
