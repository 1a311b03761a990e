/*
 * limits.c: the account-wide failure budget shared by keys and codes
 * (increasing delay, then lockout; success resets it; ADMIN_UNLOCK) and
 * the send limits that stand between CODE_START and a message: resend
 * interval, sends per user and destination, SMS per prefix and per day.
 * Unknown names get the same budget and limits, so neither tells.  The
 * per-source limits (sources.c) are checked and counted from here too:
 * the account's delays land on the source that failed, its lockout on
 * everyone.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

#define HOUR		3600
#define DAY		86400
#define LOCK_FOREVER	INT64_C(253402300799)	/* 9999-12-31: until unlock */
#define UNKNOWN_IDLE	DAY	/* unknown names forgotten after a quiet day */

/* Loads the budget of name: from users when enrolled, else unknown_names. */
int
limits_load(struct req *r, const char *name, const struct user_row *u,
    struct budget *b)
{
	int sr = STORE_OK;

	memset(b, 0, sizeof(*b));
	b->name = name;
	b->known = u != NULL;
	source_of(r, &b->src);
	if (u != NULL) {
		b->failures = u->failures;
		b->locked_until = u->locked_until;
	} else
		sr = store_unknown_get(r->d->st, name, &b->failures,
		    &b->locked_until);
	return sr == STORE_NOTFOUND ? STORE_OK : sr;
}

static void
say_wait(struct req *r, const char *what, uint64_t secs)
{
	char d[32];

	pwl_format_duration(secs > 60 ? (secs + 59) / 60 * 60 : secs, d,
	    sizeof(d));
	req_message(r, "%s; try again in %s.", what, d);
}

/* RATE_LIMITED while a delay or lockout runs; nothing is checked then. */
uint16_t
limits_check(struct req *r, const struct budget *b)
{
	uint64_t left;
	uint16_t st;

	if ((st = source_check(r, &b->src)) != PWL_ST_OK)
		return st;
	if (b->locked_until <= r->now)
		return PWL_ST_OK;
	left = (uint64_t)(b->locked_until - r->now);
	r->retry_after = left;
	if (b->locked_until >= LOCK_FOREVER)
		req_message(r, "Too many failed attempts: this account is "
		    "locked until an administrator unlocks it.");
	else if (b->failures >= r->d->cfg.max_failures)
		say_wait(r, "Too many failed attempts: this account is locked",
		    left);
	else
		say_wait(r, "Too many failed attempts", left);
	audit_event(r, LOG_NOTICE, "refused", "type", pwl_type_name(r->type),
	    "user", b->name, "reason", b->failures >= r->d->cfg.max_failures ?
	    "locked" : "delay", "result", "RATE_LIMITED", NULL);
	return PWL_ST_RATE_LIMITED;
}

/*
 * Seconds to wait after the n-th failure in a row: none for the first
 * `grace`, then 1, 2, 4 ... up to cap; -1 (locked) from `lock` on (0:
 * never).  The account's budget and each source's (sources.c) alike.
 */
int64_t
limits_backoff(uint32_t n, uint32_t grace, uint32_t lock, uint64_t cap)
{
	uint32_t k;

	if (lock > 0 && n >= lock)
		return -1;
	if (n < grace || n == 0)
		return 0;
	k = n - grace;
	if (k > 20)
		k = 20;
	return (int64_t)((UINT64_C(1) << k) < cap ? (UINT64_C(1) << k) : cap);
}

/* The account's: max_failures locks it, for lockout (an hour if 0). */
static int64_t
limits_delay(const struct config *c, uint32_t n)
{
	return limits_backoff(n, c->failures_before_delay, c->max_failures,
	    c->lockout > 0 ? c->lockout : HOUR);
}

static int
budget_write(struct req *r, const struct budget *b)
{
	if (b->known)
		return store_user_set_budget(r->d->st, b->name, b->failures,
		    b->locked_until);
	return store_unknown_set(r->d->st, b->name, b->failures,
	    b->locked_until, r->now);
}

/*
 * One more failure: the delay grows, the budget may lock the account.
 * The delay holds back only the source that failed when there is one;
 * a caller that names no source delays the whole account, as before.
 */
int
limits_fail(struct req *r, struct budget *b)
{
	const struct config *c = &r->d->cfg;
	char n[16];
	int64_t delay;

	b->failures++;
	delay = limits_delay(c, b->failures);
	source_fail(r, &b->src, delay > 0 ? delay : 0);
	if (delay < 0) {
		b->locked_until = c->lockout > 0 ?
		    r->now + (int64_t)c->lockout : LOCK_FOREVER;
		snprintf(n, sizeof(n), "%u", b->failures);
		audit_event(r, LOG_WARNING, "lockout", "user", b->name,
		    "failures", n, "enrolled", b->known ? "yes" : "no", NULL);
		if (b->known)
			notify_lockout(r, b->name, b->failures);
	} else if (delay > 0 && b->src.kind == SRC_NONE)
		b->locked_until = r->now + delay;
	return budget_write(r, b);
}

/* Success resets the budget (one write only when there was something). */
int
limits_success(struct req *r, struct budget *b)
{
	if (b->failures == 0 && b->locked_until == 0)
		return STORE_OK;
	b->failures = 0;
	b->locked_until = 0;
	return budget_write(r, b);
}

/*
 * For AUTH_KEY: loads user's budget and refuses while it is locked.
 * Returns OK, RATE_LIMITED or a store failure.
 */
uint16_t
limits_auth_begin(struct req *r, const char *user, struct budget *b)
{
	struct user_row u;
	struct src src;
	uint16_t st;
	int sr;

	source_of(r, &src);		/* a locked source costs no read */
	if ((st = source_check(r, &src)) != PWL_ST_OK)
		return st;
	if ((sr = store_user_get(r->d->st, user, &u)) < 0 ||
	    (sr = limits_load(r, user, sr == STORE_OK ? &u : NULL, b)) != 0)
		return status_from_store(r, sr);
	return limits_check(r, b);
}

/*
 * For AUTH_KEY: success resets the budget; a wrong, unknown, revoked or
 * expired key (or an unknown user) counts.  A key used outside its scope
 * or by a disabled user does not: that is policy, not guessing.  A
 * failure that cannot be recorded turns into UNAVAILABLE (the budget
 * must hold); a success whose reset cannot be written still stands.
 */
uint16_t
limits_auth_end(struct req *r, struct budget *b, uint16_t st,
    const char *why)
{
	int sr = STORE_OK;

	if (st == PWL_ST_OK)
		sr = limits_success(r, b);
	else if ((st == PWL_ST_DENIED || st == PWL_ST_UNKNOWN_USER) &&
	    why != NULL && strcmp(why, "service_scope") != 0 &&
	    strcmp(why, "disabled") != 0)
		sr = limits_fail(r, b);
	if (sr == STORE_OK)
		return st;
	log_msg(LOG_ERR, "cannot record the failure count of %s: %s", b->name,
	    store_errmsg(r->d->st));
	return st == PWL_ST_OK ? st : status_from_store(r, sr);
}

/* --- send limits ----------------------------------------------------- */

static uint16_t
refuse(struct req *r, const char *user, const char *reason, int64_t retry,
    const char *what)
{
	char secs[24];

	if (retry < 1)
		retry = 1;
	r->retry_after = (uint64_t)retry;
	say_wait(r, what, (uint64_t)retry);
	snprintf(secs, sizeof(secs), "%lld", (long long)retry);
	audit_event(r, LOG_WARNING, "refused", "type", pwl_type_name(r->type),
	    "user", user, "reason", reason, "retry_after", secs, "result",
	    "RATE_LIMITED", NULL);
	return PWL_ST_RATE_LIMITED;
}

/*
 * May one more message go as described by s (a decoy send has no
 * destination)?  RATE_LIMITED with RETRY_AFTER and MESSAGE if not.
 */
static uint16_t
account_send(struct req *r, const struct send_row *s)
{
	const struct config *c = &r->d->cfg;
	struct send_stats st;
	int sr;

	if ((sr = store_send_stats(r->d->st, s, r->now, &st)) != STORE_OK)
		return status_from_store(r, sr);
	if (st.last_user > 0 &&
	    r->now - st.last_user < (int64_t)c->code_resend_interval)
		return refuse(r, s->user, "resend_interval", st.last_user +
		    (int64_t)c->code_resend_interval - r->now,
		    "A code was sent moments ago: use it, or ask for a new one "
		    "later");
	if (st.n_user >= c->sends_per_hour)
		return refuse(r, s->user, "sends_per_hour", st.first_user +
		    HOUR - r->now, "Too many codes were sent for this account");
	if (s->dest != NULL && st.n_dest >= c->sends_per_destination)
		return refuse(r, s->user, "sends_per_destination",
		    st.first_dest + HOUR - r->now,
		    "Too many codes were sent to this address");
	if (s->channel != PWL_CH_SMS)
		return PWL_ST_OK;
	if (s->prefix != NULL && st.n_prefix >= c->sms_sends_per_prefix)
		return refuse(r, s->user, "sends_per_prefix", st.first_prefix +
		    HOUR - r->now, "Too many codes were sent to these numbers");
	if (st.n_sms_day >= c->sms_daily_budget)
		return refuse(r, s->user, "sms_daily_budget", st.first_sms_day +
		    DAY - r->now, "This host has sent all the SMS it may send "
		    "today; use email or an API key");
	return PWL_ST_OK;
}

/* The account's send limits, then the codes one source may ask for. */
uint16_t
limits_send(struct req *r, const struct send_row *s)
{
	struct src src;
	uint16_t st;

	if ((st = account_send(r, s)) != PWL_ST_OK)
		return st;
	source_of(r, &src);
	return source_send(r, &src);
}

/* Housekeeping: old sends and quiet unknown names go. */
void
limits_prune(struct daemon *d, int64_t now)
{
	int64_t idle = (int64_t)d->cfg.lockout + UNKNOWN_IDLE;

	if (store_limits_prune(d->st, now, idle) != STORE_OK)
		log_msg(LOG_WARNING, "cannot prune old sends and unknown "
		    "names: %s", store_errmsg(d->st));
}

/* --- admin ----------------------------------------------------------- */

uint16_t
h_admin_unlock(struct req *r, struct pwl_wbuf *w)
{
	char user[PWL_USER_MAX + 1], n[16];
	struct user_row u;
	int sr;

	(void)w;
	if (req_str(r, PWL_T_USER, user, sizeof(user), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	if ((sr = store_user_get(r->d->st, user, &u)) == STORE_OK)
		sr = store_user_set_budget(r->d->st, user, 0, 0);
	if (sr == STORE_NOTFOUND)
		req_message(r, "user '%s' is not enrolled", user);
	if (sr == STORE_OK) {
		snprintf(n, sizeof(n), "%u", u.failures);
		audit_event(r, LOG_NOTICE, "user_unlock", "user", user, "by",
		    r->caller, "failures", n, "result", "ok", NULL);
	}
	return status_from_store(r, sr);
}
