/*
 * outbox.c: pwlessd's side of message delivery.  CODE_START commits a
 * rendered message to the outbox table; the event loop hands due rows to
 * the sender child (sender_proc.c) over a socketpair and records what it
 * reports: sent, retried with backoff, dead after max_tries, or dropped
 * once older than its code.  Body and code are scrubbed when a row ends.
 *
 * Crash window: a row is marked sent only after the sender reports, so a
 * crash between the provider's acceptance and that mark delivers it again
 * after restart (at least once).  Every try of a row carries the same
 * Message-ID, the file transport names its file after it, and the code
 * in a repeat is the same code, so a repeat is recognisable and harmless;
 * losing a message instead would leave the user waiting for nothing.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codefmt.h"
#include "log.h"
#include "outbox_int.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

#define EXPIRE_EVERY	5	/* seconds between drops of stale rows */
#define HOUSE_EVERY	60	/* seconds between prunes */
#define KEEP_DONE	(7 * 86400)	/* ended rows kept for diagnosis */
#define KEEP_CHAL	86400	/* challenges kept after they end */
#define MAX_RESULTS	64	/* results applied per transaction */

static const char default_body[] =
    "Your one-time code for {service} on {host} is:\n"
    "\n"
    "    {code}\n"
    "\n"
    "It expires in {minutes} min and works only once.\n"
    "Asked for by {user} from {rhost}.\n"
    "\n"
    "If you did not ask for this code, someone who knows your user name\n"
    "is trying to log in: do not pass it on, and tell your administrator.\n";

/* Reads the [email] template file; 0, or -1 with the reason logged. */
static int
load_template(const char *path, char *out, size_t sz)
{
	ssize_t n;
	size_t i, o = 0;
	int fd;

	if (path[0] == '\0') {
		pwl_strlcpy(out, default_body, sz);
		return 0;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		log_msg(LOG_ERR, "[email] template %s: %s", path,
		    strerror(errno));
		return -1;
	}
	n = read(fd, out, sz - 1);
	close(fd);
	if (n < 0 || (size_t)n >= sz - 1) {
		log_msg(LOG_ERR, "[email] template %s: unreadable or longer "
		    "than %zu bytes", path, sz / 2);
		return -1;
	}
	for (i = 0; i < (size_t)n; i++)
		if (out[i] != '\r')
			out[o++] = out[i];
	out[o] = '\0';
	return 0;
}

int
outbox_init(struct daemon *d)
{
	struct outbox *ob;

	if ((ob = calloc(1, sizeof(*ob))) == NULL)
		return -1;
	ob->fd = -1;
	ob->pid = -1;
	ob->reap = -1;
	if (gethostname(ob->host, sizeof(ob->host)) != 0 ||
	    ob->host[0] == '\0' || !pwl_printable(ob->host, strlen(ob->host)) ||
	    strchr(ob->host, ' ') != NULL)
		pwl_strlcpy(ob->host, "localhost", sizeof(ob->host));
	ob->host[sizeof(ob->host) - 1] = '\0';
	if (load_template(d->cfg.email_template, ob->tmpl,
	    sizeof(ob->tmpl)) != 0) {
		free(ob);
		return -1;
	}
	d->outbox = ob;
	if (d->cfg.email_transport == TR_NONE &&
	    d->cfg.sms_transport == TR_NONE)
		log_msg(LOG_INFO, "[email] and [sms] transport are none: "
		    "one-time codes are answered but never sent");
	else if (access(d->cfg.sender, X_OK) != 0)
		log_msg(LOG_ERR, "[outbox] sender %s: %s; codes will be queued "
		    "but not sent until it is installed there", d->cfg.sender,
		    strerror(errno));
	if (d->cfg.sms_transport != TR_NONE &&
	    d->cfg.sms_allowed_prefixes[0] == '\0')
		log_msg(LOG_WARNING, "[sms] allowed_prefixes is empty: SMS "
		    "may go to any country; list yours (e.g. +41, +49)");
	return 0;
}

/* SIGHUP: new template now, new sender once its deliveries are done. */
void
outbox_reload(struct daemon *d)
{
	struct outbox *ob = d->outbox;
	char t[sizeof(ob->tmpl)];

	if (ob == NULL)
		return;
	if (load_template(d->cfg.email_template, t, sizeof(t)) == 0)
		memcpy(ob->tmpl, t, sizeof(t));
	else
		log_msg(LOG_ERR, "reload: keeping the old [email] template");
	ob->stale = 1;
	ob->respawn_at = 0;
	ob->respawn_delay = 0;
}

void
outbox_stop(struct daemon *d)
{
	if (d->outbox == NULL)
		return;
	sender_stop(d, 1);
	sodium_memzero(d->outbox, sizeof(*d->outbox));
	free(d->outbox);
	d->outbox = NULL;
}

void
outbox_wake(struct daemon *d)
{
	if (d->outbox != NULL)
		d->outbox->woken = 1;
}

static void
new_msgid(const struct outbox *ob, char *out, size_t sz)
{
	char rnd[21];

	secret_random_b62(rnd, 20);
	snprintf(out, sz, "pwless.%s@%s", rnd, ob->host);
}

/* Renders the message for m and commits it to the outbox table. */
int
outbox_queue(struct req *r, const struct outbox_msg *m)
{
	const struct config *c = &r->d->cfg;
	struct outbox *ob = r->d->outbox;
	struct codefmt_vars v;
	struct outbox_row o;
	char minutes[24];
	int sr = STORE_ERR;

	memset(&o, 0, sizeof(o));
	snprintf(minutes, sizeof(minutes), "%llu",
	    (unsigned long long)((c->code_lifetime + 59) / 60));
	memset(&v, 0, sizeof(v));
	v.code = m->code;
	v.host = ob->host;
	v.service = m->service;
	v.rhost = m->rhost;
	v.user = m->user;
	v.minutes = minutes;
	v.tty = m->tty;
	if (m->channel == PWL_CH_EMAIL ? codefmt_render(ob->tmpl, &v, o.body,
	    sizeof(o.body)) != 0 || codefmt_render(c->email_subject, &v,
	    o.subject, sizeof(o.subject)) != 0 :
	    codefmt_render(c->sms_text, &v, o.body, sizeof(o.body)) != 0) {
		log_msg(LOG_ERR, "the message template makes a message longer "
		    "than %d bytes; shorten it", PWL_BODY_MAX);
		goto out;
	}
	if (m->decoy) {			/* the same work, nothing kept */
		sodium_memzero(o.body, sizeof(o.body));
		sodium_memzero(o.subject, sizeof(o.subject));
		o.decoy = 1;
	}
	o.challenge = m->challenge;
	pwl_strlcpy(o.user, m->user, sizeof(o.user));
	o.channel = m->channel;
	pwl_strlcpy(o.dest, m->dest, sizeof(o.dest));
	pwl_strlcpy(o.code, m->decoy ? "" : m->code, sizeof(o.code));
	new_msgid(ob, o.msgid, sizeof(o.msgid));
	o.created = r->now;
	o.expires = m->expires;
	o.next_try = r->now;
	sr = store_outbox_insert(r->d->st, &o);
 out:
	sodium_memzero(&o, sizeof(o));
	return sr;
}

/*
 * Commits a message its caller rendered (a notice or a contact code) to
 * the outbox: the same Message-ID and retry discipline as codes.
 */
int
outbox_queue_text(struct req *r, const struct outbox_text *t, int64_t *idp)
{
	struct outbox_row o;
	int sr = STORE_ERR;

	memset(&o, 0, sizeof(o));
	if (r->d->outbox == NULL ||
	    pwl_strlcpy(o.body, t->body, sizeof(o.body)) >= sizeof(o.body) ||
	    pwl_strlcpy(o.subject, t->subject != NULL ? t->subject : "",
	    sizeof(o.subject)) >= sizeof(o.subject))
		goto out;
	pwl_strlcpy(o.user, t->user, sizeof(o.user));
	o.channel = t->channel;
	pwl_strlcpy(o.dest, t->dest, sizeof(o.dest));
	pwl_strlcpy(o.code, t->code != NULL ? t->code : "", sizeof(o.code));
	new_msgid(r->d->outbox, o.msgid, sizeof(o.msgid));
	o.created = r->now;
	o.expires = t->expires;
	o.next_try = r->now;
	if ((sr = store_outbox_insert(r->d->st, &o)) == STORE_OK) {
		if (idp != NULL)
			*idp = o.id;
		outbox_wake(r->d);
	}
 out:
	sodium_memzero(&o, sizeof(o));
	return sr;
}

/* --- results ------------------------------------------------------------ */

static int64_t
backoff(const struct config *c, uint32_t tries)
{
	uint64_t s = c->outbox_retry_min;

	while (tries-- > 1 && s < c->outbox_retry_max)
		s *= 2;
	return (int64_t)(s < c->outbox_retry_max ? s : c->outbox_retry_max);
}

static void
log_result(const struct flight *f, const char *result, uint32_t tries,
    const char *error)
{
	char n[16];

	snprintf(n, sizeof(n), "%u", tries);
	log_event(strcmp(result, "sent") == 0 ? LOG_INFO : LOG_WARNING,
	    "delivery", "id", f->idstr, "user", f->user, "channel",
	    f->channel == PWL_CH_SMS ? "sms" : "email", "msgid", f->msgid,
	    "tries", n, "result", result, "error", error, NULL);
}

/*
 * Records one outcome: st is OK, UNAVAILABLE (try again) or anything
 * else (never works).  Runs inside the caller's transaction.
 */
static int
apply(struct daemon *d, const struct flight *f, uint16_t st,
    const char *error, int64_t now)
{
	const struct config *c = &d->cfg;
	uint32_t tries = f->tries + 1;
	const char *end = NULL;
	int sr;

	if (st == PWL_ST_OK)
		end = "sent";
	else if (st != PWL_ST_UNAVAILABLE || tries >= c->outbox_max_tries)
		end = "dead";
	if (end != NULL)
		sr = store_outbox_finish(d->st, f->id, end, tries, now, error);
	else
		sr = store_outbox_retry(d->st, f->id, tries,
		    now + backoff(c, tries), error);
	if (sr == STORE_OK || sr == STORE_NOTFOUND)
		log_result(f, end != NULL ? end : "retry", tries, error);
	if (end != NULL)
		d->outbox->scrubbed = 1;
	return sr == STORE_NOTFOUND ? STORE_OK : sr;
}

static struct flight *
flight_find(struct outbox *ob, int64_t id)
{
	int i;

	for (i = 0; i < ob->nfl; i++)
		if (ob->fl[i].id == id)
			return &ob->fl[i];
	return NULL;
}

static void
flight_remove(struct outbox *ob, struct flight *f)
{
	*f = ob->fl[--ob->nfl];
	memset(&ob->fl[ob->nfl], 0, sizeof(ob->fl[0]));
}

/* Applies n outcomes in one transaction: one fsync for the batch. */
void
outbox_results(struct daemon *d, const struct result *res, int n)
{
	struct outbox *ob = d->outbox;
	struct flight *f;
	int64_t now = time(NULL);
	int i, sr;

	store_lazy(d->st, 1);		/* a lost mark only means a resend */
	sr = store_begin(d->st);
	for (i = 0; i < n && sr == STORE_OK; i++) {
		if ((f = flight_find(ob, res[i].id)) == NULL) {
			log_msg(LOG_WARNING, "sender reported on message %lld, "
			    "which it was not given", (long long)res[i].id);
			continue;
		}
		sr = apply(d, f, res[i].status, res[i].error, now);
		flight_remove(ob, f);
	}
	if (sr == STORE_OK)
		sr = store_commit(d->st);
	if (sr != STORE_OK) {
		store_rollback(d->st);
		log_msg(LOG_ERR, "cannot record delivery results: %s; the "
		    "messages are tried again", store_errmsg(d->st));
	}
	store_lazy(d->st, 0);
	ob->woken = 1;		/* slots are free again */
}

/* The sender is gone: what it had in hand counts as a failed try. */
void
outbox_lost(struct daemon *d, const char *why)
{
	struct outbox *ob = d->outbox;
	struct result res[MAX_FLIGHT];
	int i, n = ob->nfl;

	for (i = 0; i < n; i++) {
		res[i].id = ob->fl[i].id;
		res[i].status = PWL_ST_UNAVAILABLE;
		pwl_strlcpy(res[i].error, why, sizeof(res[i].error));
	}
	if (n > 0)
		outbox_results(d, res, n);
}

/* --- dispatch ----------------------------------------------------------- */

static int
frame_row(const struct outbox_row *o, uint8_t *buf, size_t sz, size_t *len)
{
	struct pwl_hdr h;
	struct pwl_wbuf w;

	pwl_w_init(&w, buf + PWL_HDR_LEN, sz - PWL_HDR_LEN);
	pwl_w_u64(&w, PWL_T_OUTBOX_ID, (uint64_t)o->id);
	pwl_w_u8(&w, PWL_T_CHANNEL, (uint8_t)o->channel);
	pwl_w_str(&w, o->channel == PWL_CH_SMS ? PWL_T_PHONE : PWL_T_EMAIL,
	    o->dest);
	if (o->subject[0] != '\0')
		pwl_w_str(&w, PWL_T_SUBJECT, o->subject);
	pwl_w_str(&w, PWL_T_BODY, o->body);
	pwl_w_str(&w, PWL_T_CODE, o->code);
	pwl_w_str(&w, PWL_T_MSGID, o->msgid);
	if (w.err != 0)
		return -1;
	memset(&h, 0, sizeof(h));
	h.body_len = (uint32_t)w.len;
	h.major = PWL_PROTO_MAJOR;
	h.minor = PWL_PROTO_MINOR;
	h.type = PWL_MSG_SEND;
	h.req_id = (uint32_t)o->id;
	pwl_hdr_encode(&h, buf);
	*len = PWL_HDR_LEN + w.len;
	return 0;
}

struct kick {
	struct daemon	*d;
	int64_t		 now;
	int		 full;		/* socket would block: stop */
};

static int
send_one(void *arg, const struct outbox_row *o)
{
	struct kick *k = arg;
	struct outbox *ob = k->d->outbox;
	uint8_t buf[PWL_HDR_LEN + PWL_RESP_MAX];
	struct flight *f;
	size_t len;
	ssize_t n;

	if (flight_find(ob, o->id) != NULL || o->expires <= k->now)
		return 0;
	if (ob->nfl >= (int)k->d->cfg.outbox_concurrency)
		return 1;
	if (frame_row(o, buf, sizeof(buf), &len) != 0) {
		log_msg(LOG_ERR, "outbox row %lld does not fit a frame",
		    (long long)o->id);
		return 0;
	}
	n = send(ob->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	sodium_memzero(buf, len);
	if (n != (ssize_t)len) {
		k->full = 1;
		return 1;
	}
	f = &ob->fl[ob->nfl++];
	memset(f, 0, sizeof(*f));
	f->id = o->id;
	snprintf(f->idstr, sizeof(f->idstr), "%lld", (long long)o->id);
	f->tries = o->tries;
	f->channel = o->channel;
	f->started = k->now;
	pwl_strlcpy(f->user, o->user, sizeof(f->user));
	pwl_strlcpy(f->msgid, o->msgid, sizeof(f->msgid));
	return 0;
}

static void
dispatch_due(struct daemon *d, int64_t now)
{
	struct outbox *ob = d->outbox;
	struct kick k = { d, now, 0 };
	uint32_t room;
	int sr;

	if (ob->fd < 0 || ob->stale ||
	    ob->nfl >= (int)d->cfg.outbox_concurrency)
		return;
	room = d->cfg.outbox_concurrency - (uint32_t)ob->nfl;
	sr = store_outbox_due(d->st, now, room + (uint32_t)ob->nfl, send_one,
	    &k);
	if (sr < 0)
		log_msg(LOG_ERR, "cannot read the outbox: %s",
		    store_errmsg(d->st));
}

/* --- housekeeping ------------------------------------------------------- */

static void
expire_rows(struct daemon *d, int64_t now)
{
	uint32_t n = 0;
	char count[16];

	if (store_outbox_expire(d->st, now, &n) != STORE_OK || n == 0)
		return;
	snprintf(count, sizeof(count), "%u", n);
	log_event(LOG_WARNING, "delivery", "result", "dropped", "count", count,
	    "reason", "older than its code", NULL);
	d->outbox->scrubbed = 1;
}

static void
housekeeping(struct daemon *d, int64_t now)
{
	struct outbox *ob = d->outbox;

	if (store_chal_prune(d->st, now - KEEP_CHAL) != STORE_OK ||
	    store_outbox_prune(d->st, now - KEEP_DONE) != STORE_OK)
		log_msg(LOG_WARNING, "cannot prune old challenges and "
		    "messages: %s", store_errmsg(d->st));
	limits_prune(d, now);
	if (ob->scrubbed) {
		store_checkpoint(d->st);
		ob->scrubbed = 0;
	}
}

/* Called on every pass of the event loop; cheap when there is nothing. */
void
outbox_run(struct daemon *d)
{
	struct outbox *ob = d->outbox;
	int64_t now = time(NULL);

	if (ob == NULL)
		return;
	sender_check(d, now);
	if (now >= ob->next_expire) {
		expire_rows(d, now);
		ob->next_expire = now + EXPIRE_EVERY;
	}
	if (ob->woken || now >= ob->next_due) {
		ob->woken = 0;
		ob->next_due = now + 1;
		dispatch_due(d, now);
	}
	if (now >= ob->next_house) {
		housekeeping(d, now);
		ob->next_house = now + HOUSE_EVERY;
	}
}
