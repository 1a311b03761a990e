/*
 * notify.c: security notices (a key created, a key used from a new
 * remote host, a contact changed, an account locked out) and the codes
 * of a contact change.  All go through the outbox like login codes; a
 * notice never holds a secret, and each kind can be turned off in
 * [notify].  Notices are rate limited per user so that nobody can use
 * them to flood someone's mailbox.
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codefmt.h"
#include "log.h"
#include "outbox_int.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

#define HOUR		3600
#define NOTICE_LIFE	86400	/* a notice not delivered in a day is dropped */
#define BODY_MAX	2048

/* Where a notice for u goes: email if it can, else SMS.  0 or -1. */
static int
dest_of(struct req *r, const struct user_row *u, int *ch, const char **dest)
{
	const struct config *c = &r->d->cfg;

	if (u->email[0] != '\0' && c->email_transport != TR_NONE) {
		*ch = PWL_CH_EMAIL;
		*dest = u->email;
	} else if (u->phone[0] != '\0' && c->sms_transport != TR_NONE &&
	    codefmt_prefix_allowed(c->sms_allowed_prefixes, u->phone)) {
		*ch = PWL_CH_SMS;
		*dest = u->phone;
	} else
		return -1;
	return 0;
}

static void
utc(int64_t t, char *out, size_t sz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, sz, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, sz, "%lld", (long long)t);
}

static const char *
host(struct req *r)
{
	return r->d->outbox != NULL ? r->d->outbox->host : "localhost";
}

static void
mask(int ch, const char *dest, char *out, size_t sz)
{
	if (ch == PWL_CH_SMS)
		codefmt_mask_phone(dest, out, sz);
	else
		codefmt_mask_email(dest, out, sz);
}

/* A message for the outbox; a store failure fails the request. */
static void
queue(struct req *r, const char *user, int ch, const char *dest,
    const char *subject, const char *body, const char *code,
    int64_t expires)
{
	struct outbox_text t = { user, ch, dest, subject, body, code,
	    expires };

	if (outbox_queue_text(r, &t, NULL) != STORE_OK) {
		r->audit_failed = 1;
		log_msg(LOG_ERR, "cannot queue a message for %s: %s", user,
		    store_errmsg(r->d->st));
	}
}

/*
 * Sends the notice kind to user unless turned off, unreachable or over
 * the rate limit ([notify] max_per_hour a user; a lockout notice at most
 * once an hour).  email and sms are its two texts.
 */
static void
notice(struct req *r, const char *user, const char *kind, int on,
    const struct user_row *to, const char *subject, const char *email,
    const char *sms)
{
	const char *dest = NULL, *why = NULL;
	char masked[PWL_EMAIL_MAX + 1] = "";
	uint32_t n = 0;
	int64_t last = 0;
	int ch = PWL_CH_EMAIL, sr;

	if (!on)
		why = "turned_off";
	else if (dest_of(r, to, &ch, &dest) != 0)
		why = "no_contact";
	else if ((sr = store_notice_stats(r->d->st, user, kind,
	    r->now - HOUR, &n, &last)) != STORE_OK) {
		r->audit_failed = 1;
		why = "store_error";
	} else if (n >= r->d->cfg.notify_max_per_hour)
		why = "max_per_hour";
	else if (strcmp(kind, "lockout") == 0 && last > 0)
		why = "repeat";
	if (why == NULL) {
		mask(ch, dest, masked, sizeof(masked));
		queue(r, user, ch, dest, subject, ch == PWL_CH_SMS ? sms :
		    email, NULL, r->now + NOTICE_LIFE);
		if (store_notice_add(r->d->st, user, kind, r->now) != STORE_OK)
			r->audit_failed = 1;
	}
	audit_event(r, why == NULL ? LOG_INFO : LOG_NOTICE, "notice",
	    "user", user, "kind", kind, "to", why == NULL ? masked : NULL,
	    "result", why == NULL ? "queued" : "skipped", "reason", why,
	    NULL);
}

void
notify_key_created(struct req *r, const char *user, const char *key_id,
    const char *label)
{
	char subject[PWL_STR_MAX + 1], email[BODY_MAX], sms[320], when[48];
	struct user_row u;

	if (store_user_get(r->d->st, user, &u) != STORE_OK)
		return;
	utc(r->now, when, sizeof(when));
	snprintf(subject, sizeof(subject), "pwless: a new API key for %s on "
	    "%s", user, host(r));
	snprintf(email, sizeof(email), "A new API key was created for the "
	    "pwless account %s on %s.\n\nKey id:  %s\nLabel:   %s\nWhen:    "
	    "%s\n\nIf you did not create it, revoke it at once with\n'pwless "
	    "key revoke %s' and tell your administrator.\n", user, host(r),
	    key_id, label[0] != '\0' ? label : "-", when, key_id);
	snprintf(sms, sizeof(sms), "pwless: a new API key %s was created for "
	    "%s on %s at %s. Not you? Revoke it and tell your "
	    "administrator.", key_id, user, host(r), when);
	notice(r, user, "key_created", r->d->cfg.notify_key_created, &u,
	    subject, email, sms);
}

/* Records rhost for the key; the first use from it brings a notice. */
void
notify_key_used(struct req *r, const char *user, int64_t key_ref,
    const char *key_id, const char *service, const char *rhost)
{
	char subject[PWL_STR_MAX + 1], email[BODY_MAX], sms[320], when[48];
	struct user_row u;
	int sr;

	if (rhost == NULL || rhost[0] == '\0')
		return;
	if ((sr = store_key_rhost(r->d->st, key_ref, rhost, r->now)) < 0)
		r->audit_failed = 1;
	if (sr != STORE_OK ||
	    store_user_get(r->d->st, user, &u) != STORE_OK)
		return;
	utc(r->now, when, sizeof(when));
	snprintf(subject, sizeof(subject), "pwless: your key %s was used from "
	    "a new host", key_id);
	snprintf(email, sizeof(email), "Your API key %s logged in to %s on %s "
	    "from %s,\na remote host it had not been used from before.\n\n"
	    "When:    %s\n\nIf this was not you, revoke the key at once with\n"
	    "'pwless key revoke %s' and tell your administrator.\n", key_id,
	    service, host(r), rhost, when, key_id);
	snprintf(sms, sizeof(sms), "pwless: your key %s logged in to %s on %s "
	    "from the new host %s at %s. Not you? Revoke it.", key_id,
	    service, host(r), rhost, when);
	notice(r, user, "key_new_host", r->d->cfg.notify_key_new_host, &u,
	    subject, email, sms);
}

void
notify_lockout(struct req *r, const char *user, uint32_t failures)
{
	char subject[PWL_STR_MAX + 1], email[BODY_MAX], sms[320], when[48];
	char service[PWL_SERVICE_MAX + 1] = "", rhost[PWL_RHOST_MAX + 1] = "";
	struct user_row u;

	if (store_user_get(r->d->st, user, &u) != STORE_OK)
		return;
	(void)pwl_msg_str(r->msg, PWL_T_SERVICE, service, sizeof(service));
	(void)pwl_msg_str(r->msg, PWL_T_RHOST, rhost, sizeof(rhost));
	utc(r->now, when, sizeof(when));
	snprintf(subject, sizeof(subject), "pwless: %s on %s is locked after "
	    "failed logins", user, host(r));
	snprintf(email, sizeof(email), "The pwless account %s on %s was "
	    "locked after %u failed login\nattempts in a row.\n\nWhen:    %s\n"
	    "Last:    %s from %s\n\nIf these were not you, someone is "
	    "guessing; tell your administrator.\nAn administrator can unlock it with "
	    "'pwless admin user unlock %s'.\n", user, host(r), failures, when,
	    service[0] != '\0' ? service : "-",
	    rhost[0] != '\0' ? rhost : "this machine", user);
	snprintf(sms, sizeof(sms), "pwless: %s on %s was locked after %u "
	    "failed logins (%s). Not you? Tell your administrator.", user,
	    host(r), failures, when);
	notice(r, user, "lockout", r->d->cfg.notify_lockout, &u, subject,
	    email, sms);
}

/*
 * Tells an address that is no longer (or no longer the only) contact of
 * user what changed; what reads "the email address is now j***@e***.com".
 * dest is of kind "email" or "phone"; rhost is where the change came from.
 */
void
notify_contact_changed(struct req *r, const char *user, const char *kind,
    const char *dest, const char *what, const char *rhost)
{
	char subject[PWL_STR_MAX + 1], email[BODY_MAX], sms[320], when[48];
	const char *from = rhost != NULL && rhost[0] != '\0' ? rhost :
	    "this machine";
	struct user_row to;

	memset(&to, 0, sizeof(to));
	if (strcmp(kind, "phone") == 0)
		pwl_strlcpy(to.phone, dest, sizeof(to.phone));
	else
		pwl_strlcpy(to.email, dest, sizeof(to.email));
	utc(r->now, when, sizeof(when));
	snprintf(subject, sizeof(subject), "pwless: the contacts of %s on %s "
	    "were changed", user, host(r));
	snprintf(email, sizeof(email), "The contacts of the pwless account %s "
	    "on %s were changed:\n%s.\n\nWhen:    %s\nFrom:    %s\nHost:    "
	    "%s\n\nIf you did not ask for this, tell your administrator at "
	    "once.\n", user, host(r), what, when, from, host(r));
	snprintf(sms, sizeof(sms), "pwless: contacts of %s on %s changed at "
	    "%s from %s: %s. Not you? Tell your administrator.", user,
	    host(r), when, from, what);
	notice(r, user, "contact_changed", r->d->cfg.notify_contact_changed,
	    &to, subject, email, sms);
}

/*
 * A contact change's code to dest: the new address (masked_new NULL)
 * or the old one, told where the change would go.  0, or -1 when the
 * address cannot be reached.
 */
int
notify_contact_code(struct req *r, const char *user, const char *kind,
    const char *dest, const char *code, const char *masked_new,
    int64_t expires)
{
	char subject[PWL_STR_MAX + 1], email[BODY_MAX], sms[320];
	int ch = strcmp(kind, "phone") == 0 ? PWL_CH_SMS : PWL_CH_EMAIL;
	unsigned min = (unsigned)((expires - r->now + 59) / 60);
	const char *what = ch == PWL_CH_SMS ? "phone" : "email address";

	if (masked_new == NULL) {
		snprintf(subject, sizeof(subject), "pwless: confirm your new "
		    "%s for %s", what, host(r));
		snprintf(email, sizeof(email), "Someone asked to make this "
		    "address the %s of the pwless account\n%s on %s. The "
		    "confirmation code is:\n\n    %s\n\nConfirm with 'pwless "
		    "contact confirm CODE'. It expires in %u min.\nIf you did "
		    "not ask for this, ignore this message: nothing changes\n"
		    "without the code.\n", what, user, host(r), code, min);
		snprintf(sms, sizeof(sms), "%s is the code that makes this "
		    "number the phone of %s on %s in pwless. Expires in %u "
		    "min.", code, user, host(r), min);
	} else {
		snprintf(subject, sizeof(subject), "pwless: allow a change of "
		    "the contacts of %s on %s", user, host(r));
		snprintf(email, sizeof(email), "Someone logged in as %s on %s "
		    "asked to change the account's\ncontact to %s. To allow "
		    "it, confirm with this code:\n\n    %s\n\nwith 'pwless "
		    "contact confirm CODE'. It expires in %u min.\nIf this was "
		    "not you, do not pass the code on: the change cannot\n"
		    "happen without it. Tell your administrator.\n", user,
		    host(r), masked_new, code, min);
		snprintf(sms, sizeof(sms), "%s allows changing the contact of "
		    "%s on %s to %s. Expires in %u min. Not you? Do not share "
		    "it.", code, user, host(r), masked_new, min);
	}
	queue(r, user, ch, dest, ch == PWL_CH_EMAIL ? subject : NULL,
	    ch == PWL_CH_SMS ? sms : email, code, expires);
	sodium_memzero(email, sizeof(email));
	sodium_memzero(sms, sizeof(sms));
	return r->audit_failed ? -1 : 0;
}

void
notify_prune(struct daemon *d, int64_t before)
{
	if (store_notice_prune(d->st, before) != STORE_OK)
		log_msg(LOG_WARNING, "cannot prune old notices: %s",
		    store_errmsg(d->st));
}
