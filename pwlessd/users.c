/*
 * users.c: enrolment and account state: HELLO, ACCT_CHECK and the
 * ADMIN_USER_* requests (add, list, show, set, remove).
 */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "codefmt.h"
#include "log.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

/* Turns a store failure into a status and a message for the caller. */
uint16_t
status_from_store(struct req *r, int sr)
{
	switch (sr) {
	case STORE_OK:
		return PWL_ST_OK;
	case STORE_NOTFOUND:
		return PWL_ST_NOT_FOUND;
	case STORE_EXISTS:
		return PWL_ST_EXISTS;
	}
	req_message(r, "%s", store_failure_text(sr));
	return PWL_ST_UNAVAILABLE;
}

/* What to tell a caller whose request the store could not carry out. */
const char *
store_failure_text(int sr)
{
	switch (sr) {
	case STORE_FULL:
		return "pwlessd cannot record this: its disk or database is "
		    "full; nothing was changed";
	case STORE_READONLY:
		return "pwlessd cannot record this: its database is "
		    "read-only; nothing was changed";
	}
	return "pwlessd could not read or write its database; nothing was "
	    "changed; see its log";
}

/*
 * Before every request but HELLO: a database that was deleted, replaced
 * or damaged under us answers nothing (store_health.c logs what to do).
 */
uint16_t
req_store_gate(struct req *r)
{
	int bad = store_health(r->d->st);

	if (bad == STORE_GOOD)
		return PWL_ST_OK;
	req_message(r, bad == STORE_BAD_DAMAGED ? "pwlessd's database is "
	    "damaged; an administrator must restore it (see pwlessd's log)" :
	    "pwlessd's database was deleted or replaced while it ran; an "
	    "administrator must restart pwlessd (see its log)");
	return PWL_ST_UNAVAILABLE;
}

/* The caller's enrolled account; a disabled one only when may_be_off. */
uint16_t
req_self(struct req *r, struct user_row *u, int may_be_off)
{
	int sr = store_user_get(r->d->st, r->caller, u);

	if (sr == STORE_NOTFOUND) {
		req_message(r, "user '%s' is not enrolled in pwless; ask an "
		    "administrator to run 'pwless admin user add %s'",
		    r->caller, r->caller);
		return PWL_ST_NOT_PERMITTED;
	}
	if (sr != STORE_OK)
		return status_from_store(r, sr);
	if (u->disabled && !may_be_off) {
		req_message(r, "user '%s' is disabled in pwless", r->caller);
		return PWL_ST_DISABLED;
	}
	return PWL_ST_OK;
}

uint16_t
h_hello(struct req *r, struct pwl_wbuf *w)
{
	(void)r;
	pwl_w_str(w, PWL_T_VERSION, PWLESSD_VERSION);
	return PWL_ST_OK;
}

uint16_t
h_acct_check(struct req *r, struct pwl_wbuf *w)
{
	char user[PWL_USER_MAX + 1];
	struct user_row u;
	int sr;

	(void)w;
	if (req_str(r, PWL_T_USER, user, sizeof(user), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	if (!req_may_auth(r, user))
		return PWL_ST_NOT_PERMITTED;
	sr = store_user_get(r->d->st, user, &u);
	if (sr == STORE_NOTFOUND)
		return PWL_ST_UNKNOWN_USER;
	if (sr != STORE_OK)
		return status_from_store(r, sr);
	return u.disabled ? PWL_ST_DISABLED : PWL_ST_OK;
}

/* Reads optional EMAIL and PHONE and checks their shape. */
static uint16_t
read_contact(struct req *r, char *email, char *phone)
{
	if (req_str(r, PWL_T_EMAIL, email, PWL_EMAIL_MAX + 1, 0) != 0 ||
	    req_str(r, PWL_T_PHONE, phone, PWL_PHONE_MAX + 1, 0) != 0)
		return PWL_ST_BAD_REQUEST;
	if (email[0] != '\0' && !pwl_valid_email(email)) {
		req_message(r, "'%s' is not a usable email address", email);
		return PWL_ST_BAD_REQUEST;
	}
	if (phone[0] != '\0' && !pwl_valid_phone(phone)) {
		req_message(r, "'%s' is not a phone number in E.164 form "
		    "(+ country code and number, digits only)", phone);
		return PWL_ST_BAD_REQUEST;
	}
	if (phone[0] != '\0' && !codefmt_prefix_allowed(
	    r->d->cfg.sms_allowed_prefixes, phone)) {
		req_message(r, "%s is outside [sms] allowed_prefixes (%s): "
		    "no code would be sent to it", phone,
		    r->d->cfg.sms_allowed_prefixes);
		return PWL_ST_BAD_REQUEST;
	}
	return PWL_ST_OK;
}

uint16_t
h_admin_user_add(struct req *r, struct pwl_wbuf *w)
{
	struct user_row u;
	struct passwd pw, *res = NULL;
	char buf[4096];
	uint16_t st;
	int sr;

	(void)w;
	memset(&u, 0, sizeof(u));
	if (req_str(r, PWL_T_USER, u.name, sizeof(u.name), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	if ((st = read_contact(r, u.email, u.phone)) != PWL_ST_OK)
		return st;
	if (getpwnam_r(u.name, &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL) {
		req_message(r, "no system account named '%s'; create it first "
		    "(useradd) or check the spelling", u.name);
		return PWL_ST_NOT_FOUND;
	}
	u.created = r->now;
	sr = store_user_add(r->d->st, &u);
	if (sr == STORE_EXISTS) {
		req_message(r, "user '%s' is already enrolled", u.name);
		return PWL_ST_EXISTS;
	}
	if (sr != STORE_OK)
		return status_from_store(r, sr);
	audit_event(r, LOG_NOTICE, "user_add", "user", u.name, "by",
	    r->caller, "email", u.email[0] ? "set" : NULL,
	    "phone", u.phone[0] ? "set" : NULL, "result", "ok", NULL);
	return PWL_ST_OK;
}

static void
write_user(struct pwl_wbuf *w, const struct user_row *u, int64_t now)
{
	pwl_w_str(w, PWL_T_USER, u->name);
	pwl_w_u8(w, PWL_T_DISABLED, (uint8_t)(u->disabled != 0));
	pwl_w_u64(w, PWL_T_CREATED, (uint64_t)u->created);
	pwl_w_u32(w, PWL_T_COUNT, u->nkeys);
	if (u->email[0] != '\0')
		pwl_w_str(w, PWL_T_EMAIL, u->email);
	if (u->phone[0] != '\0')
		pwl_w_str(w, PWL_T_PHONE, u->phone);
	pwl_w_u32(w, PWL_T_FAILURES, u->failures);
	pwl_w_u64(w, PWL_T_LOCKED_UNTIL, u->locked_until > now ?
	    (uint64_t)u->locked_until : 0);
}

#define USERS_PER_PAGE	100	/* a page fits PWL_RESP_MAX at the caps */

struct list_ctx {
	struct pwl_wbuf	*w;
	int64_t		 now;
	uint32_t	 n;
	char		 last[PWL_USER_MAX + 1];
};

static int
list_one(void *arg, const struct user_row *u)
{
	struct list_ctx *c = arg;
	size_t mark = pwl_w_begin(c->w, PWL_T_ITEM);

	write_user(c->w, u, c->now);
	pwl_w_end(c->w, mark);
	c->n++;
	pwl_strlcpy(c->last, u->name, sizeof(c->last));
	return c->w->err != 0;
}

/* One page of users; NEXT tells the caller where the next one starts. */
uint16_t
h_admin_user_list(struct req *r, struct pwl_wbuf *w)
{
	struct list_ctx c;
	char after[PWL_STR_MAX + 1];
	int sr;

	memset(&c, 0, sizeof(c));
	c.w = w;
	c.now = r->now;
	if (req_str(r, PWL_T_NEXT, after, sizeof(after), 0) != 0)
		return PWL_ST_BAD_REQUEST;
	sr = store_user_list(r->d->st, r->now, after, USERS_PER_PAGE,
	    list_one, &c);
	if (sr < 0)
		return status_from_store(r, sr);
	if (w->err != 0) {
		req_message(r, "a page of users did not fit in one reply");
		return PWL_ST_INTERNAL;
	}
	if (c.n == USERS_PER_PAGE)
		pwl_w_str(w, PWL_T_NEXT, c.last);
	return PWL_ST_OK;
}

uint16_t
h_admin_user_show(struct req *r, struct pwl_wbuf *w)
{
	char user[PWL_USER_MAX + 1];
	struct user_row u;
	int sr;

	if (req_str(r, PWL_T_USER, user, sizeof(user), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	if ((sr = store_user_get(r->d->st, user, &u)) != STORE_OK) {
		if (sr == STORE_NOTFOUND)
			req_message(r, "user '%s' is not enrolled", user);
		return status_from_store(r, sr);
	}
	if ((sr = store_user_count_keys(r->d->st, u.id, r->now,
	    &u.nkeys)) != STORE_OK)
		return status_from_store(r, sr);
	write_user(w, &u, r->now);
	return PWL_ST_OK;
}

/* Tells an address an admin replaced that it no longer gets codes. */
static void
tell_old(struct req *r, const char *user, const char *kind,
    const char *old, const char *now_is)
{
	char what[PWL_STR_MAX + PWL_EMAIL_MAX + 1], m[PWL_EMAIL_MAX + 1];

	if (old[0] == '\0' || now_is[0] == '\0' || strcmp(old, now_is) == 0)
		return;
	if (strcmp(kind, "phone") == 0)
		codefmt_mask_phone(now_is, m, sizeof(m));
	else
		codefmt_mask_email(now_is, m, sizeof(m));
	snprintf(what, sizeof(what), "an administrator set the %s to %s",
	    strcmp(kind, "phone") == 0 ? "phone number" : "email address", m);
	notify_contact_changed(r, user, kind, old, what, NULL);
}

/* An admin's direct change: no codes; the old addresses are told. */
static int
admin_contact(struct req *r, const char *user, const char *email,
    const char *phone)
{
	struct user_row old;
	int sr;

	if ((sr = store_user_get(r->d->st, user, &old)) != STORE_OK ||
	    (sr = store_user_set_contact(r->d->st, user, email, phone)) !=
	    STORE_OK)
		return sr;
	audit_event(r, LOG_NOTICE, "contact_set", "user", user, "by",
	    r->caller, "email", email[0] ? "set" : NULL, "phone",
	    phone[0] ? "set" : NULL, "result", "ok", NULL);
	tell_old(r, user, "email", old.email, email);
	tell_old(r, user, "phone", old.phone, phone);
	return STORE_OK;
}

uint16_t
h_admin_user_set(struct req *r, struct pwl_wbuf *w)
{
	char user[PWL_USER_MAX + 1], email[PWL_EMAIL_MAX + 1];
	char phone[PWL_PHONE_MAX + 1];
	uint8_t dis;
	uint16_t st;
	int sr = STORE_OK;

	(void)w;
	if (req_str(r, PWL_T_USER, user, sizeof(user), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	if ((st = read_contact(r, email, phone)) != PWL_ST_OK)
		return st;
	if (pwl_msg_u8(r->msg, PWL_T_DISABLED, &dis) == 0) {
		sr = store_user_set_disabled(r->d->st, user, dis != 0);
		if (sr == STORE_OK)
			audit_event(r, LOG_NOTICE, dis ? "user_disable" :
			    "user_enable", "user", user, "by", r->caller,
			    "result", "ok", NULL);
	}
	if (sr == STORE_OK && (email[0] != '\0' || phone[0] != '\0'))
		sr = admin_contact(r, user, email, phone);
	if (sr == STORE_NOTFOUND)
		req_message(r, "user '%s' is not enrolled; enrol with 'pwless "
		    "admin user add %s'", user, user);
	return status_from_store(r, sr);
}

uint16_t
h_admin_user_remove(struct req *r, struct pwl_wbuf *w)
{
	char user[PWL_USER_MAX + 1];
	int sr;

	(void)w;
	if (req_str(r, PWL_T_USER, user, sizeof(user), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	sr = store_user_remove(r->d->st, user);
	if (sr == STORE_NOTFOUND)
		req_message(r, "user '%s' is not enrolled", user);
	if (sr == STORE_OK)
		audit_event(r, LOG_NOTICE, "user_remove", "user", user, "by",
		    r->caller, "result", "ok", NULL);
	return status_from_store(r, sr);
}
