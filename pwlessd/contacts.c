/*
 * contacts.c: self-service changes of the email address and phone that
 * one-time codes go to.  A change needs a fresh login (a recent token or
 * a key), a code to the new address and, when the account has an
 * address already, a code to that old address too; it applies only when
 * both are confirmed (or an admin waived the old one), and the old
 * address is then told.  A configurable cooling-off keeps login codes
 * away from a new address for a while (codes.c asks contact_cooling).
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "codefmt.h"
#include "log.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

#define CID_LEN		22	/* base62: 131 bits */

static int
is_phone(const char *kind)
{
	return strcmp(kind, "phone") == 0;
}

static const char *
kind_words(const char *kind)
{
	return is_phone(kind) ? "phone number" : "email address";
}

/* Could a code or notice reach addr of kind now? */
static int
reachable(const struct config *c, const char *kind, const char *addr)
{
	if (is_phone(kind))
		return c->sms_transport != TR_NONE &&
		    codefmt_prefix_allowed(c->sms_allowed_prefixes, addr);
	return c->email_transport != TR_NONE;
}

static void
mask(const char *kind, const char *v, char *out, size_t sz)
{
	if (v[0] == '\0')
		out[0] = '\0';
	else if (is_phone(kind))
		codefmt_mask_phone(v, out, sz);
	else
		codefmt_mask_email(v, out, sz);
}

/* What is still to confirm: "new", "old", "admin", joined by commas. */
static void
need(const struct contact_row *c, char *out, size_t sz)
{
	int old = c->old_value[0] != '\0' && c->old_ok == 0;

	snprintf(out, sz, "%s%s%s", c->new_ok ? "" : "new",
	    !c->new_ok && old ? "," : "",
	    !old ? "" : c->has_old_hash ? "old" : "admin");
}

int
contact_cooling(struct req *r, const struct user_row *u, int channel)
{
	const char *kind = channel == PWL_CH_SMS ? "phone" : "email";
	const char *v = channel == PWL_CH_SMS ? u->phone : u->email;
	int64_t when;

	if (r->d->cfg.contact_cooling_off == 0 || v[0] == '\0' ||
	    store_contact_applied(r->d->st, u->id, kind, v, &when) != STORE_OK)
		return 0;
	return when + (int64_t)r->d->cfg.contact_cooling_off > r->now;
}

/*
 * The proof of a fresh login in the request: one of the caller's live
 * tokens made within [contacts] fresh_login, or one of their keys.  The
 * token's service and rhost go into c: where the change came from.
 */
static uint16_t
fresh_login(struct req *r, struct contact_row *c, const char **why)
{
	char secret[PWL_SECRET_MAX + 1], w[32];
	struct token_row t;
	struct key_row k;
	uint16_t st = PWL_ST_NOT_PERMITTED;

	*why = "no_proof";
	if (pwl_msg_str(r->msg, PWL_T_TOKEN, secret, sizeof(secret)) == 0) {
		st = token_owned(r, secret, &t, why);
		if (st == PWL_ST_OK && t.created + (int64_t)r->d->cfg.
		    contact_fresh_login < r->now) {
			*why = "not_fresh";
			st = PWL_ST_NOT_PERMITTED;
		}
		pwl_strlcpy(c->service, t.service, sizeof(c->service));
		pwl_strlcpy(c->rhost, t.rhost, sizeof(c->rhost));
	} else if (pwl_msg_str(r->msg, PWL_T_KEY, secret, sizeof(secret)) == 0)
		st = key_check(r, r->caller, NULL, secret, &k, why);
	sodium_memzero(secret, sizeof(secret));
	if (st == PWL_ST_OK || st == PWL_ST_UNAVAILABLE)
		return st;
	pwl_format_duration(r->d->cfg.contact_fresh_login, w, sizeof(w));
	req_message(r, "changing a contact needs a fresh login: a session "
	    "token (PWLESS_TOKEN) from a login in the last %s, or one of "
	    "your API keys", w);
	return PWL_ST_NOT_PERMITTED;
}

/* --- starting a change -------------------------------------------------- */

struct change {
	struct user_row	 u;
	struct contact_row c;
	char		 code_new[PWL_CODE_MAX + 1];
	char		 code_old[PWL_CODE_MAX + 1];
	char		 masked_new[PWL_EMAIL_MAX + 1];
	char		 masked_old[PWL_EMAIL_MAX + 1];
	const char	*why;
};

/* The new address of the request, checked as the admin commands do. */
static uint16_t
read_address(struct req *r, struct contact_row *c)
{
	const struct config *cfg = &r->d->cfg;
	int email = pwl_msg_get(r->msg, PWL_T_EMAIL) != NULL;
	int phone = pwl_msg_get(r->msg, PWL_T_PHONE) != NULL;

	if (email == phone) {
		req_message(r, "give an email address or a phone number");
		return PWL_ST_BAD_REQUEST;
	}
	pwl_strlcpy(c->kind, email ? "email" : "phone", sizeof(c->kind));
	if (req_str(r, email ? PWL_T_EMAIL : PWL_T_PHONE, c->new_value,
	    sizeof(c->new_value), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	if (email && !pwl_valid_email(c->new_value)) {
		req_message(r, "'%s' is not a usable email address",
		    c->new_value);
		return PWL_ST_BAD_REQUEST;
	}
	if (phone && (!pwl_valid_phone(c->new_value) ||
	    !codefmt_prefix_allowed(cfg->sms_allowed_prefixes,
	    c->new_value))) {
		req_message(r, "%s is not an E.164 number inside [sms] "
		    "allowed_prefixes (%s)", c->new_value,
		    cfg->sms_allowed_prefixes);
		return PWL_ST_BAD_REQUEST;
	}
	return PWL_ST_OK;
}

/*
 * Who must confirm besides the new address: the address it replaces,
 * or, when the account has none of that kind, its other contact (so a
 * stolen session cannot add a second way in unseen).
 */
static void
pick_old(struct req *r, struct change *ch)
{
	struct contact_row *c = &ch->c;
	const char *same = is_phone(c->kind) ? ch->u.phone : ch->u.email;
	const char *other = is_phone(c->kind) ? ch->u.email : ch->u.phone;

	if (same[0] != '\0') {
		pwl_strlcpy(c->old_kind, c->kind, sizeof(c->old_kind));
		pwl_strlcpy(c->old_value, same, sizeof(c->old_value));
	} else if (other[0] != '\0') {
		pwl_strlcpy(c->old_kind, is_phone(c->kind) ? "email" : "phone",
		    sizeof(c->old_kind));
		pwl_strlcpy(c->old_value, other, sizeof(c->old_value));
	}
	c->has_old_hash = c->old_value[0] != '\0' &&
	    reachable(&r->d->cfg, c->old_kind, c->old_value);
	mask(c->kind, c->new_value, ch->masked_new, sizeof(ch->masked_new));
	mask(c->old_kind, c->old_value, ch->masked_old,
	    sizeof(ch->masked_old));
}

static void
send_row_for(struct req *r, const char *user, const char *kind,
    const char *dest, char *prefix, struct send_row *s)
{
	memset(s, 0, sizeof(*s));
	s->user = user;
	s->channel = is_phone(kind) ? PWL_CH_SMS : PWL_CH_EMAIL;
	s->dest = dest;
	s->time = r->now;
	if (is_phone(kind)) {
		codefmt_prefix(dest, prefix, PWL_PHONE_MAX + 1);
		s->prefix = prefix;
	}
}

/* The send limits of codes, for both messages before either is counted. */
static uint16_t
limit_sends(struct req *r, struct change *ch)
{
	struct contact_row *c = &ch->c;
	char p1[PWL_PHONE_MAX + 1], p2[PWL_PHONE_MAX + 1];
	struct send_row a, b;
	uint16_t st;
	int sr;

	send_row_for(r, ch->u.name, c->kind, c->new_value, p1, &a);
	send_row_for(r, ch->u.name, c->old_kind, c->old_value, p2, &b);
	if ((st = limits_send(r, &a)) != PWL_ST_OK ||
	    (c->has_old_hash && (st = limits_send(r, &b)) != PWL_ST_OK)) {
		ch->why = "send_limit";
		return st;
	}
	if ((sr = store_send_add(r->d->st, &a)) != STORE_OK ||
	    (c->has_old_hash && (sr = store_send_add(r->d->st, &b)) !=
	    STORE_OK))
		return status_from_store(r, sr);
	return PWL_ST_OK;
}

/* Two codes, bound to the change and to their side. */
static void
make_codes(struct req *r, struct change *ch)
{
	struct contact_row *c = &ch->c;
	char side[PWL_CHALLENGE_MAX + 1];

	secret_random_b62(c->cid, CID_LEN);
	code_new(r->d->cfg.code_length, ch->code_new);
	snprintf(side, sizeof(side), "%.24s.n", c->cid);
	code_hash(r, side, ch->code_new, c->new_hash);
	if (c->has_old_hash) {
		code_new(r->d->cfg.code_length, ch->code_old);
		snprintf(side, sizeof(side), "%.24s.o", c->cid);
		code_hash(r, side, ch->code_old, c->old_hash);
	}
	c->hash_version = HASH_VERSION;
}

static uint16_t
start_steps(struct req *r, struct change *ch)
{
	struct contact_row *c = &ch->c;
	const char *cur = is_phone(c->kind) ? ch->u.phone : ch->u.email;
	uint16_t st;
	int sr;

	if (strcmp(cur, c->new_value) == 0) {
		req_message(r, "%s is already your %s", c->new_value,
		    kind_words(c->kind));
		ch->why = "unchanged";
		return PWL_ST_EXISTS;
	}
	if (!reachable(&r->d->cfg, c->kind, c->new_value)) {
		req_message(r, "pwlessd sends no %s ([%s] transport is none), "
		    "so it cannot confirm %s", is_phone(c->kind) ? "SMS" :
		    "email", is_phone(c->kind) ? "sms" : "email",
		    c->new_value);
		ch->why = "transport_off";
		return PWL_ST_NO_FACTOR;
	}
	pick_old(r, ch);
	if ((st = limit_sends(r, ch)) != PWL_ST_OK)
		return st;
	if ((sr = store_contact_cancel(r->d->st, ch->u.id, r->now)) < 0)
		return status_from_store(r, sr);
	make_codes(r, ch);
	c->user_id = ch->u.id;
	c->uid = (uint32_t)r->uid;
	c->created = r->now;
	c->expires = r->now + (int64_t)r->d->cfg.contact_pending_lifetime;
	if ((sr = store_contact_insert(r->d->st, c)) != STORE_OK)
		return status_from_store(r, sr);
	if (notify_contact_code(r, ch->u.name, c->kind, c->new_value,
	    ch->code_new, NULL, c->expires) != 0 || (c->has_old_hash &&
	    notify_contact_code(r, ch->u.name, c->old_kind, c->old_value,
	    ch->code_old, ch->masked_new, c->expires) != 0))
		return PWL_ST_UNAVAILABLE;
	return PWL_ST_OK;
}

uint16_t
h_contact_set(struct req *r, struct pwl_wbuf *w)
{
	struct change ch;
	char n[16] = "";
	uint16_t st;

	memset(&ch, 0, sizeof(ch));
	if ((st = req_self(r, &ch.u, 0)) == PWL_ST_OK &&
	    (st = read_address(r, &ch.c)) == PWL_ST_OK &&
	    (st = fresh_login(r, &ch.c, &ch.why)) == PWL_ST_OK)
		st = start_steps(r, &ch);
	if (st == PWL_ST_OK) {
		need(&ch.c, n, sizeof(n));
		pwl_w_str(w, PWL_T_MASKED, ch.masked_new);
		if (ch.c.has_old_hash)
			pwl_w_str(w, PWL_T_MASKED_OLD, ch.masked_old);
		pwl_w_str(w, PWL_T_NEED, n);
		pwl_w_u64(w, PWL_T_EXPIRES, (uint64_t)ch.c.expires);
	}
	audit_event(r, LOG_NOTICE, "contact_change", "user", r->caller,
	    "step", "start", "kind", ch.c.kind, "to", ch.masked_new,
	    "old", ch.c.has_old_hash ? ch.masked_old : NULL,
	    "service", ch.c.service, "rhost", ch.c.rhost, "need", n,
	    "result", st == PWL_ST_OK ? "ok" : pwl_status_name(st),
	    "reason", ch.why, NULL);
	sodium_memzero(ch.code_new, sizeof(ch.code_new));
	sodium_memzero(ch.code_old, sizeof(ch.code_old));
	sodium_memzero(&ch.c, sizeof(ch.c));
	return st;
}

/* --- confirming, approving, applying ------------------------------------- */

/* Writes the new address and tells the old one; the change is done. */
static uint16_t
apply(struct req *r, const struct user_row *u, struct contact_row *c)
{
	const char *cur = is_phone(c->kind) ? u->phone : u->email;
	char what[PWL_STR_MAX + 1], masked[PWL_EMAIL_MAX + 1];
	int sr;

	mask(c->kind, c->new_value, masked, sizeof(masked));
	snprintf(what, sizeof(what), cur[0] != '\0' ? "the %s is now %s" :
	    "the %s %s was added", kind_words(c->kind), masked);
	sr = store_user_set_contact(r->d->st, u->name, is_phone(c->kind) ?
	    NULL : c->new_value, is_phone(c->kind) ? c->new_value : NULL);
	if (sr != STORE_OK)
		return status_from_store(r, sr);
	pwl_strlcpy(c->state, "applied", sizeof(c->state));
	c->done = r->now;
	audit_event(r, LOG_NOTICE, "contact_change", "user", u->name,
	    "step", "applied", "kind", c->kind, "to", masked, "service",
	    c->service, "rhost", c->rhost, "by", r->caller, "result", "ok",
	    NULL);
	if (c->old_value[0] != '\0')
		notify_contact_changed(r, u->name, c->old_kind, c->old_value,
		    what, c->rhost);
	return PWL_ST_OK;
}

/* Applies c when every side that must confirm has; stores its state. */
static uint16_t
settle(struct req *r, const struct user_row *u, struct contact_row *c,
    struct pwl_wbuf *w)
{
	char n[16];
	uint16_t st = PWL_ST_OK;
	int sr;

	need(c, n, sizeof(n));
	if (n[0] == '\0' && (st = apply(r, u, c)) != PWL_ST_OK)
		return st;
	if ((sr = store_contact_set(r->d->st, c)) != STORE_OK)
		return status_from_store(r, sr);
	pwl_w_str(w, PWL_T_NEED, n);
	pwl_w_str(w, PWL_T_STATE, c->state);
	return PWL_ST_OK;
}

/* The pending change of u, or NOT_FOUND / EXPIRED with a message. */
static uint16_t
pending(struct req *r, const struct user_row *u, struct contact_row *c)
{
	int sr = store_contact_pending(r->d->st, u->id, c);

	if (sr == STORE_NOTFOUND) {
		req_message(r, "no contact change of %s is pending", u->name);
		return PWL_ST_NOT_FOUND;
	}
	if (sr != STORE_OK)
		return status_from_store(r, sr);
	if (r->now < c->expires)
		return PWL_ST_OK;
	pwl_strlcpy(c->state, "expired", sizeof(c->state));
	c->done = r->now;
	if ((sr = store_contact_set(r->d->st, c)) != STORE_OK)
		return status_from_store(r, sr);
	req_message(r, "the contact change has expired; start it again");
	return PWL_ST_EXPIRED;
}

/* Which side code confirms: 'n', 'o', or 0 for neither. */
static int
match_side(struct req *r, const struct contact_row *c, const char *code)
{
	char side[PWL_CHALLENGE_MAX + 1];
	uint8_t h[HASH_LEN];
	int n, o;

	snprintf(side, sizeof(side), "%.24s.n", c->cid);
	code_hash(r, side, code, h);
	n = sodium_memcmp(h, c->new_hash, HASH_LEN) == 0;
	snprintf(side, sizeof(side), "%.24s.o", c->cid);
	code_hash(r, side, code, h);
	o = c->has_old_hash && sodium_memcmp(h, c->old_hash, HASH_LEN) == 0;
	sodium_memzero(h, sizeof(h));
	return n ? 'n' : o ? 'o' : 0;
}

/* A wrong code: one attempt; the last one burns the change. */
static uint16_t
wrong(struct req *r, struct contact_row *c, const char **why)
{
	uint32_t max = r->d->cfg.code_max_attempts;
	int sr;

	c->attempts++;
	*why = "wrong_code";
	if (c->attempts >= max) {
		pwl_strlcpy(c->state, "burnt", sizeof(c->state));
		c->done = r->now;
		*why = "burnt";
	}
	if ((sr = store_contact_set(r->d->st, c)) != STORE_OK)
		return status_from_store(r, sr);
	r->attempts_left = c->attempts < max ? (int32_t)(max - c->attempts) :
	    0;
	if (c->attempts < max)
		req_message(r, "wrong code; %u attempt%s left",
		    max - c->attempts, max - c->attempts == 1 ? "" : "s");
	else
		req_message(r, "wrong code; the change is cancelled, start "
		    "it again");
	return PWL_ST_DENIED;
}

uint16_t
h_contact_confirm(struct req *r, struct pwl_wbuf *w)
{
	char code[PWL_CODE_MAX + 1] = "", left[16] = "";
	const char *why = NULL, *side = NULL;
	struct contact_row c;
	struct user_row u;
	uint16_t st;
	int m;

	memset(&c, 0, sizeof(c));
	if (req_str(r, PWL_T_CODE, code, sizeof(code), 1) != 0)
		st = PWL_ST_BAD_REQUEST;
	else if ((st = req_self(r, &u, 0)) == PWL_ST_OK &&
	    (st = pending(r, &u, &c)) == PWL_ST_OK) {
		m = match_side(r, &c, code);
		side = m == 'n' ? "new" : m == 'o' ? "old" : NULL;
		if (m == 'n')
			c.new_ok = 1;
		else if (m == 'o' && c.old_ok == 0)
			c.old_ok = 1;
		st = m == 0 ? wrong(r, &c, &why) : settle(r, &u, &c, w);
	}
	if (r->attempts_left >= 0)
		snprintf(left, sizeof(left), "%d", (int)r->attempts_left);
	audit_event(r, LOG_NOTICE, "contact_change", "user", r->caller,
	    "step", "confirm", "kind", c.kind, "side", side,
	    "attempts_left", left, "result", st == PWL_ST_OK ? "ok" :
	    pwl_status_name(st), "reason", why, NULL);
	sodium_memzero(code, sizeof(code));
	return st;
}

uint16_t
h_admin_contact_approve(struct req *r, struct pwl_wbuf *w)
{
	char user[PWL_USER_MAX + 1] = "";
	struct contact_row c;
	struct user_row u;
	uint16_t st;
	int sr;

	memset(&c, 0, sizeof(c));
	if (req_str(r, PWL_T_USER, user, sizeof(user), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	if ((sr = store_user_get(r->d->st, user, &u)) != STORE_OK) {
		if (sr == STORE_NOTFOUND)
			req_message(r, "user '%s' is not enrolled", user);
		st = status_from_store(r, sr);
	} else if ((st = pending(r, &u, &c)) == PWL_ST_OK) {
		if (c.old_ok == 0)
			c.old_ok = 2;
		st = settle(r, &u, &c, w);
	}
	audit_event(r, LOG_NOTICE, "contact_change", "user", user,
	    "step", "approve", "kind", c.kind, "by", r->caller,
	    "result", st == PWL_ST_OK ? "ok" : pwl_status_name(st), NULL);
	return st;
}

/* --- show, cancel, remove ------------------------------------------------ */

static void
show_cooling(struct req *r, const struct user_row *u, int ch,
    struct pwl_wbuf *w)
{
	const char *v = ch == PWL_CH_SMS ? u->phone : u->email;
	int64_t when;
	size_t mark;

	if (r->d->cfg.contact_cooling_off == 0 || v[0] == '\0' ||
	    store_contact_applied(r->d->st, u->id, ch == PWL_CH_SMS ?
	    "phone" : "email", v, &when) != STORE_OK ||
	    when + (int64_t)r->d->cfg.contact_cooling_off <= r->now)
		return;
	mark = pwl_w_begin(w, PWL_T_ITEM);
	pwl_w_str(w, PWL_T_KIND, ch == PWL_CH_SMS ? "phone" : "email");
	pwl_w_u64(w, PWL_T_COOLING, (uint64_t)(when +
	    (int64_t)r->d->cfg.contact_cooling_off));
	pwl_w_end(w, mark);
}

uint16_t
h_contact_show(struct req *r, struct pwl_wbuf *w)
{
	char n[16], masked[PWL_EMAIL_MAX + 1];
	struct contact_row c;
	struct user_row u;
	uint16_t st;
	int sr;

	if ((st = req_self(r, &u, 1)) != PWL_ST_OK)
		return st;
	if (u.email[0] != '\0')
		pwl_w_str(w, PWL_T_EMAIL, u.email);
	if (u.phone[0] != '\0')
		pwl_w_str(w, PWL_T_PHONE, u.phone);
	show_cooling(r, &u, PWL_CH_EMAIL, w);
	show_cooling(r, &u, PWL_CH_SMS, w);
	if ((sr = store_contact_pending(r->d->st, u.id, &c)) < 0)
		return status_from_store(r, sr);
	if (sr == STORE_OK && c.expires > r->now) {
		need(&c, n, sizeof(n));
		mask(c.old_kind, c.old_value, masked, sizeof(masked));
		pwl_w_str(w, PWL_T_KIND, c.kind);
		pwl_w_str(w, PWL_T_PENDING, c.new_value);
		pwl_w_str(w, PWL_T_NEED, n);
		pwl_w_u64(w, PWL_T_EXPIRES, (uint64_t)c.expires);
		if (c.has_old_hash)
			pwl_w_str(w, PWL_T_MASKED_OLD, masked);
	}
	return PWL_ST_OK;
}

uint16_t
h_contact_cancel(struct req *r, struct pwl_wbuf *w)
{
	struct user_row u;
	uint16_t st;
	int sr;

	(void)w;
	if ((st = req_self(r, &u, 1)) == PWL_ST_OK) {
		sr = store_contact_cancel(r->d->st, u.id, r->now);
		if (sr == STORE_NOTFOUND)
			req_message(r, "no contact change is pending");
		st = status_from_store(r, sr);
	}
	audit_event(r, LOG_NOTICE, "contact_change", "user", r->caller,
	    "step", "cancel", "result", st == PWL_ST_OK ? "ok" :
	    pwl_status_name(st), NULL);
	return st;
}

static uint16_t
remove_steps(struct req *r, const struct user_row *u, const char *kind,
    struct contact_row *c, const char **why)
{
	const char *cur = is_phone(kind) ? u->phone : u->email;
	char what[PWL_STR_MAX + 1], masked[PWL_EMAIL_MAX + 1];
	uint16_t st;
	int sr;

	if (cur[0] == '\0') {
		req_message(r, "you have no %s on file", kind_words(kind));
		return PWL_ST_NOT_FOUND;
	}
	if ((st = fresh_login(r, c, why)) != PWL_ST_OK)
		return st;
	if ((sr = store_user_clear_contact(r->d->st, u->id,
	    is_phone(kind))) != STORE_OK ||
	    (sr = store_contact_cancel(r->d->st, u->id, r->now)) < 0)
		return status_from_store(r, sr);
	mask(kind, cur, masked, sizeof(masked));
	snprintf(what, sizeof(what), "the %s %s was removed", kind_words(kind),
	    masked);
	notify_contact_changed(r, u->name, kind, cur, what, c->rhost);
	return PWL_ST_OK;
}

uint16_t
h_contact_remove(struct req *r, struct pwl_wbuf *w)
{
	char kind[PWL_STR_MAX + 1] = "";
	const char *why = NULL;
	struct contact_row c;
	struct user_row u;
	uint16_t st;

	(void)w;
	memset(&c, 0, sizeof(c));
	if (req_str(r, PWL_T_KIND, kind, sizeof(kind), 1) != 0)
		st = PWL_ST_BAD_REQUEST;
	else if (strcmp(kind, "email") != 0 && strcmp(kind, "phone") != 0) {
		req_message(r, "remove 'email' or 'phone'");
		st = PWL_ST_BAD_REQUEST;
	} else if ((st = req_self(r, &u, 0)) == PWL_ST_OK)
		st = remove_steps(r, &u, kind, &c, &why);
	audit_event(r, LOG_NOTICE, "contact_change", "user", r->caller,
	    "step", "remove", "kind", kind, "service", c.service, "rhost",
	    c.rhost, "result", st == PWL_ST_OK ? "ok" : pwl_status_name(st),
	    "reason", why, NULL);
	return st;
}
