/*
 * codes.c: one-time codes.  CODE_START picks where a code goes, applies
 * the limits, stores the challenge (the code only as a keyed hash bound
 * to the challenge id) and queues the message in the same transaction;
 * CODE_ANSWER checks, consumes and counts failures in one transaction.
 * Unknown, disabled and contact-less users get a stored decoy challenge
 * that looks the same, costs the same, sends nothing and never succeeds.
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

static const char *const channel_names[] = { "default", "email", "sms" };

/* Who asks, and what CODE_START decided. */
struct start {
	struct chal_row	 want;		/* user, uid, service, rhost */
	char		 tty[PWL_TTY_MAX + 1];
	uint8_t		 asked;		/* channel in the request */
	struct user_row	 u;
	int		 known;		/* enrolled */
	struct budget	 b;
	int		 channel;	/* where it goes (or seems to) */
	const char	*dest;		/* NULL: decoy, nothing sent */
	const char	*why;		/* decoy reason, for the log */
	char		 masked[PWL_EMAIL_MAX + 1];
	char		 prefix[PWL_PHONE_MAX + 1];
	char		 code[PWL_CODE_MAX + 1];
	struct chal_row	 c;		/* the challenge, new or renewed */
	int		 renewed;
};

void
code_hash(struct req *r, const char *cid, const char *code,
    uint8_t out[HASH_LEN])
{
	char buf[PWL_CHALLENGE_MAX + PWL_CODE_MAX + 2];
	int n;

	n = snprintf(buf, sizeof(buf), "%s:%s", cid, code);
	secret_hash(r->d->sec.codes, buf, n > 0 ? (size_t)n : 0, out);
	sodium_memzero(buf, sizeof(buf));
}

void
code_new(uint32_t len, char *out)
{
	uint32_t i;

	for (i = 0; i < len && i < PWL_CODE_MAX; i++)
		out[i] = (char)('0' + randombytes_uniform(10));
	out[i] = '\0';
}

/* A stable, plausible mask for a name that has no real destination. */
static void
decoy_mask(struct req *r, struct start *s)
{
	const struct config *c = &r->d->cfg;
	const char *at = strchr(c->email_from, '@');
	char addr[PWL_EMAIL_MAX + 1], phone[PWL_PHONE_MAX + 1];
	uint8_t h[HASH_LEN];
	size_t cc;

	secret_hash(r->d->sec.codes, s->want.user, strlen(s->want.user), h);
	if (s->channel == PWL_CH_SMS) {
		cc = strcspn(c->sms_allowed_prefixes, ", ");
		snprintf(phone, sizeof(phone), "%.*s%09u%u",
		    cc > 0 && cc < 5 ? (int)cc : 2,
		    cc > 0 && cc < 5 ? c->sms_allowed_prefixes : "+1",
		    (unsigned)(h[0] % 100), (unsigned)(h[1] % 10));
		codefmt_mask_phone(phone, s->masked, sizeof(s->masked));
	} else {
		snprintf(addr, sizeof(addr), "%.4s@%s", s->want.user,
		    at != NULL && at[1] != '\0' ? at + 1 : "mail.invalid");
		codefmt_mask_email(addr, s->masked, sizeof(s->masked));
	}
	sodium_memzero(h, sizeof(h));
}

static int
email_ok(const struct config *c, const struct user_row *u)
{
	return u->email[0] != '\0' && c->email_transport != TR_NONE;
}

static int
sms_ok(const struct config *c, const struct user_row *u)
{
	return u->phone[0] != '\0' && c->sms_transport != TR_NONE &&
	    codefmt_prefix_allowed(c->sms_allowed_prefixes, u->phone);
}

/* Why a known user's code cannot go by channel ch, for the log. */
static const char *
no_route(const struct config *c, const struct user_row *u, int ch)
{
	if (ch == PWL_CH_SMS)
		return u->phone[0] == '\0' ? "no_phone" :
		    c->sms_transport == TR_NONE ? "sms_off" :
		    "prefix_not_allowed";
	return u->email[0] == '\0' ? "no_email" : "email_off";
}

/* Sets channel, dest (NULL for a decoy) and the mask shown to the user. */
static void
pick_target(struct req *r, struct start *s)
{
	const struct config *c = &r->d->cfg;
	int ch = s->asked;

	if (ch == PWL_CH_DEFAULT && s->known)
		ch = (!email_ok(c, &s->u) ||
		    contact_cooling(r, &s->u, PWL_CH_EMAIL)) &&
		    sms_ok(c, &s->u) && !contact_cooling(r, &s->u, PWL_CH_SMS) ?
		    PWL_CH_SMS : PWL_CH_EMAIL;
	else if (ch == PWL_CH_DEFAULT)
		ch = c->email_transport == TR_NONE &&
		    c->sms_transport != TR_NONE ? PWL_CH_SMS : PWL_CH_EMAIL;
	s->channel = ch;
	s->dest = NULL;
	if (!s->known)
		s->why = "unknown_user";
	else if (s->u.disabled)
		s->why = "disabled";
	else if (ch == PWL_CH_EMAIL && email_ok(c, &s->u))
		s->dest = s->u.email;
	else if (ch == PWL_CH_SMS && sms_ok(c, &s->u))
		s->dest = s->u.phone;
	else
		s->why = no_route(c, &s->u, ch);
	if (s->dest != NULL && contact_cooling(r, &s->u, ch)) {
		s->dest = NULL;		/* a new address, not yet trusted */
		s->why = "cooling_off";
	}
	if (s->dest == NULL)
		decoy_mask(r, s);
	else if (ch == PWL_CH_SMS)
		codefmt_mask_phone(s->dest, s->masked, sizeof(s->masked));
	else
		codefmt_mask_email(s->dest, s->masked, sizeof(s->masked));
	if (s->dest != NULL && ch == PWL_CH_SMS)
		codefmt_prefix(s->dest, s->prefix, sizeof(s->prefix));
}

/* A new challenge, or a new code for the pending one (a resend). */
static int
store_challenge(struct req *r, struct start *s)
{
	const struct config *c = &r->d->cfg;
	struct chal_row *ch = &s->c;
	uint32_t dropped;
	int sr;

	sr = store_chal_pending(r->d->st, &s->want, r->now, ch);
	if (sr < 0)
		return sr;
	s->renewed = sr == STORE_OK;
	if (!s->renewed) {
		*ch = s->want;
		secret_random_b62(ch->cid, CID_LEN);
		ch->created = r->now;
	}
	ch->channel = s->channel;
	ch->decoy = s->dest == NULL;
	ch->hash_version = HASH_VERSION;
	ch->sent = r->now;
	ch->expires = r->now + (int64_t)c->code_lifetime;
	code_new(c->code_length, s->code);
	code_hash(r, ch->cid, s->code, ch->hash);
	if (!s->renewed)
		return store_chal_insert(r->d->st, ch);
	if ((sr = store_chal_renew(r->d->st, ch)) != STORE_OK)
		return sr;
	return store_outbox_drop_challenge(r->d->st, ch->id, r->now,
	    &dropped);
}

/* Everything CODE_START decides and writes; runs inside a transaction. */
static uint16_t
start_steps(struct req *r, struct start *s)
{
	struct send_row sr;
	struct outbox_msg m;
	uint16_t st;
	int x;

	x = store_user_get(r->d->st, s->want.user, &s->u);
	if (x < 0)
		return status_from_store(r, x);
	s->known = x == STORE_OK;
	if ((x = limits_load(r, s->want.user, s->known ? &s->u : NULL,
	    &s->b)) != STORE_OK)
		return status_from_store(r, x);
	if ((st = limits_check(r, &s->b)) != PWL_ST_OK)
		return st;
	pick_target(r, s);
	memset(&sr, 0, sizeof(sr));
	sr.user = s->want.user;
	sr.channel = s->channel;
	sr.dest = s->dest;
	sr.prefix = s->prefix[0] != '\0' ? s->prefix : NULL;
	sr.time = r->now;
	sr.decoy = s->dest == NULL;
	if ((st = limits_send(r, &sr)) != PWL_ST_OK)
		return st;
	if ((x = store_challenge(r, s)) != STORE_OK ||
	    (x = store_send_add(r->d->st, &sr)) != STORE_OK)
		return status_from_store(r, x);
	memset(&m, 0, sizeof(m));	/* a decoy is rendered and stored too */
	m.decoy = s->dest == NULL;
	m.challenge = s->c.id;
	m.user = s->want.user;
	m.channel = s->channel;
	m.dest = s->dest != NULL ? s->dest : s->masked;
	m.code = s->code;
	m.service = s->want.service;
	m.rhost = s->want.rhost;
	m.tty = s->tty;
	m.expires = s->c.expires;
	if ((x = outbox_queue(r, &m)) != STORE_OK)
		return status_from_store(r, x);
	return PWL_ST_OK;
}

static uint16_t
read_start(struct req *r, struct start *s)
{
	memset(s, 0, sizeof(*s));
	if (req_str(r, PWL_T_USER, s->want.user, sizeof(s->want.user), 1) ||
	    req_str(r, PWL_T_SERVICE, s->want.service,
	    sizeof(s->want.service), 1) ||
	    req_str(r, PWL_T_RHOST, s->want.rhost, sizeof(s->want.rhost), 0) ||
	    req_str(r, PWL_T_TTY, s->tty, sizeof(s->tty), 0))
		return PWL_ST_BAD_REQUEST;
	if (pwl_msg_u8(r->msg, PWL_T_CHANNEL, &s->asked) != 0)
		s->asked = PWL_CH_DEFAULT;
	if (s->asked > PWL_CH_SMS) {
		req_message(r, "unknown channel %u", s->asked);
		return PWL_ST_BAD_REQUEST;
	}
	s->want.uid = (uint32_t)r->uid;
	if (!req_may_auth(r, s->want.user)) {
		req_message(r, "uid %u may only ask codes for its own user",
		    (unsigned)r->uid);
		return PWL_ST_NOT_PERMITTED;
	}
	return PWL_ST_OK;
}

static void
log_start(struct req *r, const struct start *s, uint16_t st)
{
	audit_event(r, st == PWL_ST_OK ? LOG_INFO : LOG_NOTICE, "code_start",
	    "method", "code", "user", s->want.user, "service",
	    s->want.service,
	    "rhost", s->want.rhost, "tty", s->tty,
	    "channel", st == PWL_ST_OK ? channel_names[s->channel] : NULL,
	    "challenge", st == PWL_ST_OK ? s->c.cid : NULL,
	    "to", st == PWL_ST_OK && s->dest != NULL ? s->masked : NULL,
	    "sent", st != PWL_ST_OK ? NULL : s->dest != NULL ? "queued" :
	    "no", "reason", st == PWL_ST_OK ? s->why : NULL,
	    "resend", s->renewed ? "yes" : NULL,
	    "result", st == PWL_ST_OK ? "ok" : pwl_status_name(st), NULL);
}

uint16_t
h_code_start(struct req *r, struct pwl_wbuf *w)
{
	struct start s;
	uint16_t st;
	int x;

	if ((st = read_start(r, &s)) != PWL_ST_OK)
		goto out;
	if ((x = store_begin(r->d->st)) != STORE_OK) {
		st = status_from_store(r, x);
		goto out;
	}
	if ((st = start_steps(r, &s)) != PWL_ST_OK)
		store_rollback(r->d->st);
	else if ((x = store_commit(r->d->st)) != STORE_OK) {
		store_rollback(r->d->st);
		st = status_from_store(r, x);
	}
	if (st != PWL_ST_OK)
		goto out;
	if (s.dest != NULL)
		outbox_wake(r->d);
	pwl_w_str(w, PWL_T_CHALLENGE, s.c.cid);
	pwl_w_u64(w, PWL_T_TTL, (uint64_t)(s.c.expires - r->now));
	pwl_w_str(w, PWL_T_MASKED, s.masked);
	pwl_w_u32(w, PWL_T_CODE_LEN, r->d->cfg.code_length);
 out:
	log_start(r, &s, st);
	sodium_memzero(s.code, sizeof(s.code));
	sodium_memzero(&s.c.hash, sizeof(s.c.hash));
	return st;
}

/* --- CODE_ANSWER ------------------------------------------------------ */

struct answer {
	struct chal_row	 want;		/* user, uid, service, rhost */
	char		 cid[PWL_CHALLENGE_MAX + 1];
	char		 code[PWL_CODE_MAX + 1];
	struct user_row	 u;
	int		 known;
	struct budget	 b;
	struct chal_row	 c;
	const char	*why;		/* reason for the log */
};

static int
same_binding(const struct chal_row *c, const struct chal_row *w)
{
	return strcmp(c->user, w->user) == 0 && c->uid == w->uid &&
	    strcmp(c->service, w->service) == 0 &&
	    strcmp(c->rhost, w->rhost) == 0;
}

/* A wrong answer: one attempt of the code and one of the account. */
static uint16_t
wrong(struct req *r, struct answer *a, int found)
{
	uint32_t max = r->d->cfg.code_max_attempts;
	int x = STORE_OK;

	if (found && strcmp(a->c.state, "pending") == 0) {
		a->c.attempts++;
		x = store_chal_set(r->d->st, a->c.id, a->c.attempts >= max ?
		    "burnt" : "pending", a->c.attempts);
		if (a->c.attempts >= max)
			a->why = "burnt";
	}
	if (x == STORE_OK)
		x = limits_fail(r, &a->b);
	if (x != STORE_OK)
		return status_from_store(r, x);
	r->attempts_left = found && strcmp(a->c.state, "pending") == 0 &&
	    a->c.attempts < max ? (int32_t)(max - a->c.attempts) : 0;
	return PWL_ST_DENIED;
}

/* Decides one answer; runs inside a transaction. */
static uint16_t
answer_steps(struct req *r, struct answer *a)
{
	uint8_t h[HASH_LEN];
	uint16_t st;
	int x, found, match;

	if ((x = store_user_get(r->d->st, a->want.user, &a->u)) < 0)
		return status_from_store(r, x);
	a->known = x == STORE_OK;
	if ((x = limits_load(r, a->want.user, a->known ? &a->u : NULL,
	    &a->b)) != STORE_OK)
		return status_from_store(r, x);
	if ((st = limits_check(r, &a->b)) != PWL_ST_OK)
		return st;
	if ((x = store_chal_get(r->d->st, a->cid, &a->c)) < 0)
		return status_from_store(r, x);
	found = x == STORE_OK && same_binding(&a->c, &a->want);
	code_hash(r, a->cid, a->code, h);
	match = found && sodium_memcmp(h, a->c.hash, HASH_LEN) == 0;
	sodium_memzero(h, sizeof(h));
	if (!found) {
		a->why = x == STORE_OK ? "other_binding" : "no_challenge";
		return wrong(r, a, 0);
	}
	if (strcmp(a->c.state, "expired") == 0 ||
	    (strcmp(a->c.state, "pending") == 0 && r->now >= a->c.expires)) {
		a->why = "expired";
		if ((x = store_chal_set(r->d->st, a->c.id, "expired",
		    a->c.attempts)) != STORE_OK)
			return status_from_store(r, x);
		return PWL_ST_EXPIRED;
	}
	if (strcmp(a->c.state, "pending") != 0) {
		a->why = a->c.state;	/* used or burnt: a replay */
		return wrong(r, a, 1);
	}
	if (!match || a->c.decoy || !a->known || a->u.disabled) {
		a->why = !match ? "wrong_code" : a->c.decoy ? "decoy" :
		    "disabled";
		return wrong(r, a, 1);
	}
	if ((x = store_chal_set(r->d->st, a->c.id, "used",
	    a->c.attempts)) != STORE_OK ||
	    (x = limits_success(r, &a->b)) != STORE_OK)
		return status_from_store(r, x);
	return PWL_ST_OK;
}

/* A session token for this login, any service scope; failure is logged. */
static void
login_token(struct req *r, const struct answer *a, struct pwl_wbuf *w)
{
	struct token_grant g = { a->want.user, a->u.id, a->want.service,
	    a->want.rhost, "", "", 0, 0 };

	(void)token_for_login(r, &g, w);
}

/* Answers that were decided are kept; a failed store step is undone. */
static int
decided(uint16_t st)
{
	return st == PWL_ST_OK || st == PWL_ST_DENIED ||
	    st == PWL_ST_EXPIRED || st == PWL_ST_RATE_LIMITED;
}

static uint16_t
read_answer(struct req *r, struct answer *a)
{
	memset(a, 0, sizeof(*a));
	if (req_str(r, PWL_T_USER, a->want.user, sizeof(a->want.user), 1) ||
	    req_str(r, PWL_T_SERVICE, a->want.service,
	    sizeof(a->want.service), 1) ||
	    req_str(r, PWL_T_RHOST, a->want.rhost, sizeof(a->want.rhost), 0) ||
	    req_str(r, PWL_T_CHALLENGE, a->cid, sizeof(a->cid), 1) ||
	    req_str(r, PWL_T_CODE, a->code, sizeof(a->code), 1))
		return PWL_ST_BAD_REQUEST;
	a->want.uid = (uint32_t)r->uid;
	if (!req_may_auth(r, a->want.user)) {
		req_message(r, "uid %u may only answer codes for its own user",
		    (unsigned)r->uid);
		a->why = "not_permitted";
		return PWL_ST_NOT_PERMITTED;
	}
	return PWL_ST_OK;
}

uint16_t
h_code_answer(struct req *r, struct pwl_wbuf *w)
{
	struct answer a;
	char left[16] = "";
	uint16_t st;
	int x;

	if ((st = read_answer(r, &a)) != PWL_ST_OK)
		goto out;
	if ((x = store_begin(r->d->st)) != STORE_OK) {
		st = status_from_store(r, x);
		goto out;
	}
	st = answer_steps(r, &a);
	if (!decided(st))
		store_rollback(r->d->st);
	else if ((x = store_commit(r->d->st)) != STORE_OK) {
		store_rollback(r->d->st);
		r->attempts_left = -1;
		st = status_from_store(r, x);
	}
	if (st == PWL_ST_OK && req_wants_token(r))
		login_token(r, &a, w);
 out:
	if (r->attempts_left >= 0)
		snprintf(left, sizeof(left), "%d", (int)r->attempts_left);
	audit_event(r, st == PWL_ST_OK ? LOG_INFO : LOG_NOTICE, "auth",
	    "method", "code", "user", a.want.user, "service", a.want.service,
	    "rhost", a.want.rhost, "challenge", a.cid,
	    "result", st == PWL_ST_OK ? "ok" : pwl_status_name(st),
	    "reason", a.why, "attempts_left", left, NULL);
	sodium_memzero(a.code, sizeof(a.code));
	return st;
}
