/*
 * sources.c: limits per source, kept in memory.  A source is the remote
 * host a trusted caller (sshd, sudo...) names, else the remote user or
 * terminal it names, or the uid of any caller that is not trusted.  Its
 * failures leak away one per source_lockout / source_max_failures; at
 * source_max_failures it is locked for source_lockout; the account's own
 * delays land on the failing source, so one source cannot slow others.
 * A restart forgets all of it: the durable account budget is limits.c's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pwlessd.h"
#include "util.h"

#define SRC_MAX		4096	/* entries; the least recently used goes */
#define SRC_BUCKETS	8192
#define HOUR		3600
#define LIST_MAX	200	/* entries in one ADMIN_LIMITS reply */
#define SAY_EVERY	10	/* seconds between refusals logged per source */

struct entry {
	struct src	 s;
	uint32_t	 hash;
	int		 next;		/* chain in the bucket, -1 = end */
	int		 used;		/* slot holds an entry */
	uint32_t	 level;		/* failures not yet forgiven */
	int64_t		 leaked_at;	/* level last brought up to date */
	int64_t		 last_fail;
	int64_t		 locked_until;	/* delay or lockout end */
	uint32_t	 sends;		/* codes asked since sends_since */
	int64_t		 sends_since;
	int64_t		 touched;	/* for eviction */
	int64_t		 said_at;	/* last refusal logged */
	uint32_t	 hushed;	/* refusals not logged since */
};

struct table {
	int		 bucket[SRC_BUCKETS];
	int		 free_head;
	int		 n;
	struct entry	 e[SRC_MAX];
};

static struct table *tab;	/* the daemon has one event loop */

static const char *const kind_names[] = { "", "rhost", "uid", "ruser",
    "tty" };

static int
table_init(void)
{
	int i;

	if (tab != NULL)
		return 0;
	if ((tab = calloc(1, sizeof(*tab))) == NULL) {
		log_msg(LOG_ERR, "out of memory for per-source limits");
		return -1;
	}
	for (i = 0; i < SRC_BUCKETS; i++)
		tab->bucket[i] = -1;
	for (i = 0; i < SRC_MAX; i++)
		tab->e[i].next = i + 1 < SRC_MAX ? i + 1 : -1;
	tab->free_head = 0;
	return 0;
}

static uint32_t
src_hash(const struct src *s)
{
	const unsigned char *p = (const unsigned char *)s->value;
	uint32_t h = 2166136261u ^ (uint32_t)s->kind;

	for (; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

static void
unlink_entry(int i)
{
	struct entry *e = &tab->e[i];
	int *pp = &tab->bucket[e->hash % SRC_BUCKETS];

	while (*pp != i)
		pp = &tab->e[*pp].next;
	*pp = e->next;
	memset(e, 0, sizeof(*e));
	e->next = tab->free_head;
	tab->free_head = i;
	tab->n--;
}

/* Frees the least recently touched entry; says so if it was locked. */
static void
evict(int64_t now)
{
	char name[PWL_RHOST_MAX + 8];
	int i, old = -1;

	for (i = 0; i < SRC_MAX; i++)
		if (tab->e[i].used && (old < 0 ||
		    tab->e[i].touched < tab->e[old].touched))
			old = i;
	if (old < 0)
		return;
	if (tab->e[old].locked_until > now)
		log_msg(LOG_WARNING, "per-source table full (%d sources): "
		    "forgot the limit on %s early", SRC_MAX,
		    source_name(&tab->e[old].s, name, sizeof(name)));
	unlink_entry(old);
}

static struct entry *
lookup(const struct src *s, int create, int64_t now)
{
	uint32_t h = src_hash(s);
	struct entry *e;
	int i;

	if (table_init() != 0)
		return NULL;
	for (i = tab->bucket[h % SRC_BUCKETS]; i >= 0; i = tab->e[i].next) {
		e = &tab->e[i];
		if (e->hash == h && e->s.kind == s->kind &&
		    strcmp(e->s.value, s->value) == 0)
			return e;
	}
	if (!create)
		return NULL;
	if (tab->free_head < 0)
		evict(now);
	i = tab->free_head;
	e = &tab->e[i];
	tab->free_head = e->next;
	memset(e, 0, sizeof(*e));
	e->s = *s;
	e->hash = h;
	e->used = 1;
	e->leaked_at = now;
	e->touched = now;
	e->next = tab->bucket[h % SRC_BUCKETS];
	tab->bucket[h % SRC_BUCKETS] = i;
	tab->n++;
	return e;
}

/* Seconds after which one failure is forgiven. */
static int64_t
leak_every(const struct config *c)
{
	uint64_t n = c->source_max_failures > 0 ? c->source_max_failures : 1;
	uint64_t t = c->source_lockout / n;

	return t > 0 ? (int64_t)t : 1;
}

static void
leak(const struct config *c, struct entry *e, int64_t now)
{
	int64_t every = leak_every(c), n;

	if (e->level == 0 || now < e->leaked_at) {
		e->leaked_at = now;
		return;
	}
	n = (now - e->leaked_at) / every;
	if (n >= (int64_t)e->level) {
		e->level = 0;
		e->leaked_at = now;
	} else {
		e->level -= (uint32_t)n;
		e->leaked_at += n * every;
	}
}

const char *
source_name(const struct src *s, char *out, size_t sz)
{
	if (s->kind <= SRC_NONE || s->kind > SRC_TTY)
		snprintf(out, sz, "local");
	else
		snprintf(out, sz, "%s:%s", kind_names[s->kind], s->value);
	return out;
}

/* Copies tag of the request into out when it is there and usable. */
static int
req_opt(struct req *r, uint16_t tag, char *out, size_t sz)
{
	out[0] = '\0';
	return pwl_msg_str(r->msg, tag, out, sz) == 0 && out[0] != '\0';
}

/*
 * Who asks: a caller that is not trusted is its uid, whatever it says;
 * a trusted one is the remote host, remote user or terminal it names,
 * or nobody in particular (SRC_NONE: only the account budget applies).
 */
void
source_of(struct req *r, struct src *s)
{
	memset(s, 0, sizeof(*s));
	if (r->msg == NULL)
		return;
	if (!config_trusted(&r->d->cfg, r->uid)) {
		s->kind = SRC_UID;
		snprintf(s->value, sizeof(s->value), "%u", (unsigned)r->uid);
	} else if (req_opt(r, PWL_T_RHOST, s->value, sizeof(s->value)))
		s->kind = SRC_RHOST;
	else if (req_opt(r, PWL_T_RUSER, s->value, sizeof(s->value)))
		s->kind = SRC_RUSER;
	else if (req_opt(r, PWL_T_TTY, s->value, sizeof(s->value)))
		s->kind = SRC_TTY;
	else
		s->value[0] = '\0';
}

static void
say_wait(struct req *r, const char *what, const struct src *s,
    uint64_t secs)
{
	static const char *const from[] = { "", "from your address",
	    "by this user", "by this user", "on this terminal" };
	char d[32];

	pwl_format_duration(secs > 60 ? (secs + 59) / 60 * 60 : secs, d,
	    sizeof(d));
	req_message(r, "%s %s; try again in %s.", what, from[s->kind], d);
}

/*
 * Refuses with a message and RETRY_AFTER.  One refusal per source every
 * SAY_EVERY seconds is logged, with the count of those that were not;
 * the others are hushed, the handler's own line included.
 */
static uint16_t
refuse(struct req *r, struct entry *e, const char *reason, int64_t until,
    const char *what)
{
	char name[PWL_RHOST_MAX + 8], secs[24], hushed[16] = "";
	int64_t left = until - r->now;

	if (left < 1)
		left = 1;
	r->retry_after = (uint64_t)left;
	say_wait(r, what, &e->s, (uint64_t)left);
	if (r->now - e->said_at < SAY_EVERY) {
		e->hushed++;
		log_quiet(1);
		return PWL_ST_RATE_LIMITED;
	}
	if (e->hushed > 0)
		snprintf(hushed, sizeof(hushed), "%u", e->hushed);
	e->said_at = r->now;
	e->hushed = 0;
	snprintf(secs, sizeof(secs), "%lld", (long long)left);
	log_event(LOG_NOTICE, "refused", "type", pwl_type_name(r->type),
	    "source", source_name(&e->s, name, sizeof(name)), "reason", reason,
	    "retry_after", secs, "not_logged", hushed, NULL);
	return PWL_ST_RATE_LIMITED;
}

/* RATE_LIMITED while the source waits out a delay or lockout. */
uint16_t
source_check(struct req *r, const struct src *s)
{
	const struct config *c = &r->d->cfg;
	struct entry *e;

	if (s->kind == SRC_NONE || (e = lookup(s, 0, r->now)) == NULL ||
	    e->locked_until <= r->now)
		return PWL_ST_OK;
	e->touched = r->now;
	return refuse(r, e, c->source_max_failures > 0 &&
	    e->level >= c->source_max_failures ? "source_locked" :
	    "source_delay", e->locked_until, "Too many failed attempts");
}

/* Seconds to wait after the source's n-th failure; -1 = lock. */
static int64_t
src_delay(const struct config *c, uint32_t n)
{
	return limits_backoff(n, c->failures_before_delay,
	    c->source_max_failures, c->source_lockout);
}

void
source_fail(struct req *r, const struct src *s, int64_t extra)
{
	const struct config *c = &r->d->cfg;
	char name[PWL_RHOST_MAX + 8], n[16];
	struct entry *e;
	int64_t delay, until;

	if (s->kind == SRC_NONE || (e = lookup(s, 1, r->now)) == NULL)
		return;
	leak(c, e, r->now);
	e->level++;
	e->last_fail = r->now;
	e->touched = r->now;
	if ((delay = src_delay(c, e->level)) < 0) {
		e->locked_until = r->now + (int64_t)c->source_lockout;
		snprintf(n, sizeof(n), "%u", e->level);
		log_event(LOG_WARNING, "source_lockout", "source",
		    source_name(s, name, sizeof(name)), "failures", n, NULL);
		return;
	}
	until = r->now + (delay > extra ? delay : extra);
	if (until > e->locked_until && (delay > 0 || extra > 0))
		e->locked_until = until;
}

/* CODE_START: source_sends_per_hour codes asked for by one source. */
uint16_t
source_send(struct req *r, const struct src *s)
{
	const struct config *c = &r->d->cfg;
	struct entry *e;

	if (s->kind == SRC_NONE || c->source_sends_per_hour == 0 ||
	    (e = lookup(s, 1, r->now)) == NULL)
		return PWL_ST_OK;
	e->touched = r->now;
	if (r->now - e->sends_since >= HOUR) {
		e->sends = 0;
		e->sends_since = r->now;
	}
	if (e->sends >= c->source_sends_per_hour)
		return refuse(r, e, "source_sends_per_hour",
		    e->sends_since + HOUR, "Too many codes were asked for");
	e->sends++;
	return PWL_ST_OK;
}

/* --- admin ----------------------------------------------------------- */

static int
active(const struct config *c, struct entry *e, int64_t now)
{
	leak(c, e, now);
	return e->level > 0 || e->locked_until > now ||
	    (e->sends > 0 && now - e->sends_since < HOUR);
}

static void
write_src(struct pwl_wbuf *w, const struct src *s)
{
	uint64_t uid = 0;

	pwl_w_str(w, PWL_T_KIND, kind_names[s->kind]);
	if (s->kind == SRC_UID) {
		(void)pwl_parse_uint(s->value, UINT32_MAX, &uid);
		pwl_w_u32(w, PWL_T_UID, (uint32_t)uid);
	} else
		pwl_w_str(w, s->kind == SRC_RHOST ? PWL_T_RHOST :
		    s->kind == SRC_RUSER ? PWL_T_RUSER : PWL_T_TTY, s->value);
}

static void
write_entry(struct pwl_wbuf *w, const struct entry *e, int64_t now)
{
	size_t mark = pwl_w_begin(w, PWL_T_ITEM);

	write_src(w, &e->s);
	pwl_w_u32(w, PWL_T_FAILURES, e->level);
	pwl_w_u64(w, PWL_T_LOCKED_UNTIL, e->locked_until > now ?
	    (uint64_t)e->locked_until : 0);
	pwl_w_u64(w, PWL_T_TIME, (uint64_t)e->last_fail);
	pwl_w_u32(w, PWL_T_COUNT, now - e->sends_since < HOUR ? e->sends : 0);
	pwl_w_end(w, mark);
}

/* Locked sources first, then the others, as many as fit. */
uint16_t
h_admin_limits(struct req *r, struct pwl_wbuf *w)
{
	const struct config *c = &r->d->cfg;
	uint32_t total = 0, shown = 0;
	size_t len;
	int i, pass;

	if (table_init() != 0)
		return PWL_ST_INTERNAL;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < SRC_MAX; i++) {
			struct entry *e = &tab->e[i];

			if (!e->used || !active(c, e, r->now) ||
			    (e->locked_until > r->now) != (pass == 0))
				continue;
			total++;
			if (shown >= LIST_MAX || w->err != 0)
				continue;
			len = w->len;
			write_entry(w, e, r->now);
			if (w->err != 0 || w->len > w->cap - 64) {
				w->len = len;
				w->err = 0;
				shown = LIST_MAX;
			} else
				shown++;
		}
	}
	pwl_w_u32(w, PWL_T_COUNT, total);
	return PWL_ST_OK;
}

/* Reads the source an admin names: KIND and its value tag. */
static uint16_t
read_src(struct req *r, struct src *s)
{
	char kind[17];
	uint32_t uid;
	int k;

	memset(s, 0, sizeof(*s));
	if (req_str(r, PWL_T_KIND, kind, sizeof(kind), 1) != 0)
		return PWL_ST_BAD_REQUEST;
	for (k = SRC_RHOST; k <= SRC_TTY; k++)
		if (strcmp(kind, kind_names[k]) == 0)
			s->kind = k;
	if (s->kind == SRC_UID && pwl_msg_u32(r->msg, PWL_T_UID, &uid) == 0) {
		snprintf(s->value, sizeof(s->value), "%u", uid);
		return PWL_ST_OK;
	}
	if (s->kind != SRC_NONE && s->kind != SRC_UID &&
	    req_str(r, s->kind == SRC_RHOST ? PWL_T_RHOST : s->kind ==
	    SRC_RUSER ? PWL_T_RUSER : PWL_T_TTY, s->value, sizeof(s->value),
	    1) == 0)
		return PWL_ST_OK;
	req_message(r, "name a source as rhost:HOST, uid:N, ruser:USER or "
	    "tty:TTY");
	return PWL_ST_BAD_REQUEST;
}

uint16_t
h_admin_limits_clear(struct req *r, struct pwl_wbuf *w)
{
	char name[PWL_RHOST_MAX + 8], n[16];
	struct entry *e;
	struct src s;
	uint32_t count = 0;
	uint16_t st;
	int i;

	if (table_init() != 0)
		return PWL_ST_INTERNAL;
	if (pwl_msg_get(r->msg, PWL_T_KIND) == NULL) {
		for (i = 0; i < SRC_MAX; i++)
			if (tab->e[i].used) {
				unlink_entry(i);
				count++;
			}
		pwl_strlcpy(name, "all", sizeof(name));
	} else {
		if ((st = read_src(r, &s)) != PWL_ST_OK)
			return st;
		if ((e = lookup(&s, 0, r->now)) != NULL) {
			unlink_entry((int)(e - tab->e));
			count++;
		}
		source_name(&s, name, sizeof(name));
	}
	snprintf(n, sizeof(n), "%u", count);
	log_event(LOG_NOTICE, "source_clear", "source", name, "by", r->caller,
	    "count", n, NULL);
	pwl_w_u32(w, PWL_T_COUNT, count);
	return PWL_ST_OK;
}
