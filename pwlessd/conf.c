/*
 * conf.c: pwlessd.conf (INI, libinih).  Each key has a row in one table
 * saying its section, name, type and where it lands in struct config, so
 * parsing, validation and the man page check all read from one place.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <ini.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pwless/proto.h"
#include "util.h"
#include "conf.h"

enum cfg_type {
	CT_STR,		/* string into a char array */
	CT_DUR,		/* duration into uint64_t */
	CT_U32,		/* number into uint32_t */
	CT_TRANSPORT_EMAIL,
	CT_TRANSPORT_SMS,
	CT_UIDS,	/* list of uids or user names */
	CT_BOOL,	/* yes/no into int */
	CT_LINES,	/* repeatable: each value appended as a line */
	CT_PRESET,	/* [sms] preset */
};

struct cfg_key {
	const char	*section;
	const char	*name;
	enum cfg_type	 type;
	size_t		 off;		/* offsetof(struct config, x) */
	size_t		 size;		/* for strings */
	uint64_t	 min, max;	/* for numbers and durations */
};

#define S(sec, name, field) { sec, name, CT_STR, \
	offsetof(struct config, field), sizeof(((struct config *)0)->field), \
	0, 0 }
#define D(sec, name, field, lo, hi) { sec, name, CT_DUR, \
	offsetof(struct config, field), 0, lo, hi }
#define N(sec, name, field, lo, hi) { sec, name, CT_U32, \
	offsetof(struct config, field), 0, lo, hi }
#define B(sec, name, field) { sec, name, CT_BOOL, \
	offsetof(struct config, field), 0, 0, 0 }
#define L(sec, name, field) { sec, name, CT_LINES, \
	offsetof(struct config, field), sizeof(((struct config *)0)->field), \
	0, 0 }

#define DAY	86400ULL
static const struct cfg_key keys[] = {
	S("daemon", "socket", socket),
	S("daemon", "database", database),
	S("daemon", "master_key", master_key),
	S("daemon", "pidfile", pidfile),
	{ "daemon", "trusted_uids", CT_UIDS, 0, 0, 0, 0 },
	S("daemon", "admin_group", admin_group),
	S("daemon", "user", user),
	D("keys", "default_lifetime", key_default_lifetime, 60, 3650 * DAY),
	D("keys", "max_lifetime", key_max_lifetime, 60, 3650 * DAY),
	N("keys", "max_per_user", key_max_per_user, 1, 32),
	N("codes", "length", code_length, 6, 10),
	D("codes", "lifetime", code_lifetime, 5, 3600),
	N("codes", "max_attempts", code_max_attempts, 1, 20),
	D("codes", "resend_interval", code_resend_interval, 0, 3600),
	D("tokens", "lifetime", token_lifetime, 10, 7 * DAY),
	D("tokens", "max_lifetime", token_max_lifetime, 10, 30 * DAY),
	S("tokens", "verify_group", verify_group),
	S("tokens", "services", token_services),
	N("tokens", "max_per_user", token_max_per_user, 1, 64),
	N("limits", "failures_before_delay", failures_before_delay, 0, 100000),
	N("limits", "max_failures", max_failures, 1, 100000),
	D("limits", "lockout", lockout, 0, 30 * DAY),
	N("limits", "sends_per_hour", sends_per_hour, 1, 100000),
	N("limits", "sends_per_destination", sends_per_destination, 1, 100000),
	N("limits", "source_max_failures", source_max_failures, 0, 100000),
	D("limits", "source_lockout", source_lockout, 1, 30 * DAY),
	N("limits", "source_sends_per_hour", source_sends_per_hour, 0, 100000),
	{ "email", "transport", CT_TRANSPORT_EMAIL, 0, 0, 0, 0 },
	S("email", "url", email_url),
	S("email", "from", email_from),
	S("email", "username", email_username),
	S("email", "password_file", email_password_file),
	S("email", "spool", email_spool),
	B("email", "starttls", email_starttls),
	S("email", "from_name", email_from_name),
	S("email", "subject", email_subject),
	S("email", "template", email_template),
	S("email", "ca_file", email_ca_file),
	{ "sms", "transport", CT_TRANSPORT_SMS, 0, 0, 0, 0 },
	S("sms", "url", sms_url),
	S("sms", "method", sms_method),
	S("sms", "auth", sms_auth),
	S("sms", "body_template", sms_body_template),
	S("sms", "success_match", sms_success_match),
	S("sms", "allowed_prefixes", sms_allowed_prefixes),
	S("sms", "spool", sms_spool),
	{ "sms", "preset", CT_PRESET, 0, 0, 0, 0 },
	S("sms", "account", sms_account),
	S("sms", "from", sms_from),
	S("sms", "text", sms_text),
	L("sms", "headers", sms_headers),
	S("sms", "ca_file", sms_ca_file),
	N("sms", "daily_budget", sms_daily_budget, 1, 1000000),
	N("sms", "sends_per_prefix", sms_sends_per_prefix, 1, 100000),
	S("outbox", "sender", sender),
	N("outbox", "max_tries", outbox_max_tries, 1, 100),
	D("outbox", "retry_min", outbox_retry_min, 1, 3600),
	D("outbox", "retry_max", outbox_retry_max, 1, 3600),
	N("outbox", "concurrency", outbox_concurrency, 1, 64),
	D("outbox", "connect_timeout", outbox_connect_timeout, 1, 300),
	D("outbox", "timeout", outbox_timeout, 1, 600),
	D("contacts", "fresh_login", contact_fresh_login, 1, DAY),
	D("contacts", "pending_lifetime", contact_pending_lifetime, 60,
	    7 * DAY),
	D("contacts", "cooling_off", contact_cooling_off, 0, 30 * DAY),
	B("notify", "key_created", notify_key_created),
	B("notify", "key_new_host", notify_key_new_host),
	B("notify", "contact_changed", notify_contact_changed),
	B("notify", "lockout", notify_lockout),
	N("notify", "max_per_hour", notify_max_per_hour, 1, 1000),
	D("audit", "keep", audit_keep, 0, 36500 * DAY),
};

struct parse_state {
	struct config	*cfg;
	FILE		*fp;
	FILE		*errs;
	int		 line;		/* counted by our reader */
	int		 nerr;
};

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	pwl_strlcpy(c->socket, PWL_DEFAULT_SOCKET, sizeof(c->socket));
	pwl_strlcpy(c->database, CFG_DEFAULT_DB, sizeof(c->database));
	pwl_strlcpy(c->master_key, CFG_DEFAULT_MASTER, sizeof(c->master_key));
	c->key_default_lifetime = 90 * DAY;
	c->key_max_lifetime = 365 * DAY;
	c->key_max_per_user = 32;
	c->code_length = 8;
	c->code_lifetime = 300;
	c->code_max_attempts = 5;
	c->code_resend_interval = 60;
	c->token_lifetime = 900;
	c->token_max_lifetime = 12 * 3600;
	pwl_strlcpy(c->token_services, "sudo", sizeof(c->token_services));
	c->token_max_per_user = 32;
	c->failures_before_delay = 3;
	c->max_failures = 10;
	c->lockout = 900;
	c->sends_per_hour = 5;
	c->sends_per_destination = 10;
	c->source_max_failures = 5;
	c->source_lockout = 900;
	c->source_sends_per_hour = 20;
	c->email_transport = TR_NONE;
	c->email_starttls = 1;
	pwl_strlcpy(c->email_subject, DEFAULT_SUBJECT,
	    sizeof(c->email_subject));
	c->sms_transport = TR_NONE;
	pwl_strlcpy(c->sms_method, "POST", sizeof(c->sms_method));
	pwl_strlcpy(c->sms_text, DEFAULT_SMS_TEXT, sizeof(c->sms_text));
	c->sms_daily_budget = 200;
	c->sms_sends_per_prefix = 20;
	pwl_strlcpy(c->sender, CFG_DEFAULT_SENDER, sizeof(c->sender));
	c->outbox_max_tries = 6;
	c->outbox_retry_min = 5;
	c->outbox_retry_max = 60;
	c->outbox_concurrency = 4;
	c->outbox_connect_timeout = 10;
	c->outbox_timeout = 30;
	c->contact_fresh_login = 20 * 60;
	c->contact_pending_lifetime = 3600;
	c->contact_cooling_off = 0;
	c->notify_key_created = 1;
	c->notify_key_new_host = 1;
	c->notify_contact_changed = 1;
	c->notify_lockout = 1;
	c->notify_max_per_hour = 10;
	c->audit_keep = 365 * DAY;
}

static void
perr(struct parse_state *ps, const char *section, const char *name,
    const char *what)
{
	if (ps->errs == NULL)
		;
	else if (ps->line > 0)
		fprintf(ps->errs, "%s:%d: [%s] %s: %s\n", ps->cfg->file,
		    ps->line, section, name, what);
	else
		fprintf(ps->errs, "%s: [%s] %s: %s\n", ps->cfg->file,
		    section, name, what);
	ps->nerr++;
}

static int
parse_uids(struct config *c, const char *v)
{
	char buf[CFG_STR], *p, *save = NULL;
	struct passwd *pw;
	uint64_t n;

	if (pwl_strlcpy(buf, v, sizeof(buf)) >= sizeof(buf))
		return -1;
	c->ntrusted = 0;
	for (p = strtok_r(buf, ", ", &save); p != NULL;
	    p = strtok_r(NULL, ", ", &save)) {
		if (c->ntrusted == CFG_MAX_TRUSTED)
			return -1;
		if (pwl_parse_uint(p, UINT32_MAX - 1, &n) == 0) {
			c->trusted_uids[c->ntrusted++] = (uid_t)n;
			continue;
		}
		if ((pw = getpwnam(p)) == NULL)
			return -1;
		c->trusted_uids[c->ntrusted++] = pw->pw_uid;
	}
	return 0;
}

static int
parse_transport(const char *v, int sms, int *out)
{
	if (strcmp(v, "none") == 0)
		*out = TR_NONE;
	else if (strcmp(v, "file") == 0)
		*out = TR_FILE;
	else if (!sms && strcmp(v, "smtp") == 0)
		*out = TR_SMTP;
	else if (sms && strcmp(v, "http") == 0)
		*out = TR_HTTP;
	else
		return -1;
	return 0;
}

static int
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "on") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "off") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* Appends v as one more line of a repeatable key. */
static int
append_line(char *buf, size_t sz, const char *v)
{
	size_t n = strlen(buf), m = strlen(v);

	if (m == 0)
		return 0;
	if (n + m + 2 > sz)
		return -1;
	if (n > 0)
		buf[n++] = '\n';
	memcpy(buf + n, v, m + 1);
	return 0;
}

static const char *
set_value(struct config *c, const struct cfg_key *k, const char *v)
{
	char *base = (char *)c;
	uint64_t n;

	switch (k->type) {
	case CT_STR:
		if (pwl_strlcpy(base + k->off, v, k->size) >= k->size)
			return "value too long";
		return NULL;
	case CT_DUR:
		if (pwl_parse_duration(v, &n) != 0)
			return "not a duration (use 90s, 15m, 12h or 90d)";
		if (n < k->min || n > k->max)
			return "duration out of range";
		memcpy(base + k->off, &n, sizeof(n));
		return NULL;
	case CT_U32:
		if (pwl_parse_uint(v, k->max, &n) != 0 || n < k->min)
			return "number out of range";
		*(uint32_t *)(void *)(base + k->off) = (uint32_t)n;
		return NULL;
	case CT_TRANSPORT_EMAIL:
		return parse_transport(v, 0, &c->email_transport) == 0 ? NULL :
		    "transport must be smtp, file or none";
	case CT_TRANSPORT_SMS:
		return parse_transport(v, 1, &c->sms_transport) == 0 ? NULL :
		    "transport must be http, file or none";
	case CT_UIDS:
		return parse_uids(c, v) == 0 ? NULL :
		    "not a list of uids or user names (at most 32)";
	case CT_BOOL:
		return parse_bool(v, (int *)(void *)(base + k->off)) == 0 ?
		    NULL : "use yes or no";
	case CT_LINES:
		return append_line(base + k->off, k->size, v) == 0 ? NULL :
		    "too many or too long values";
	case CT_PRESET:
		if (strcmp(v, "twilio") == 0)
			c->sms_preset = SMS_PRESET_TWILIO;
		else if (strcmp(v, "none") == 0)
			c->sms_preset = SMS_PRESET_NONE;
		else
			return "preset must be twilio or none";
		return NULL;
	}
	return "internal error";
}

static int
on_value(void *user, const char *section, const char *name,
    const char *value)
{
	struct parse_state *ps = user;
	const char *err;
	size_t i;

	if (name == NULL)
		return 1;	/* a bare [section] line */
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) != 0 ||
		    strcmp(keys[i].name, name) != 0)
			continue;
		if ((err = set_value(ps->cfg, &keys[i], value)) != NULL)
			perr(ps, section, name, err);
		return 1;
	}
	perr(ps, section, name, "unknown key (see pwlessd.conf(5))");
	return 1;
}

/* inih's reader hook: lets us count lines for file:line messages. */
static char *
read_line(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	char *r = fgets(str, num, ps->fp);

	if (r != NULL)
		ps->line++;
	return r;
}

/* PAM service names separated by commas or spaces; empty is fine. */
static int
service_list_ok(const char *s)
{
	size_t n;

	while (*s != '\0') {
		s += strspn(s, ", ");
		n = strcspn(s, ", ");
		if (n > PWL_SERVICE_MAX || !pwl_printable(s, n))
			return 0;
		s += n;
	}
	return 1;
}

/* 1 when url's host is 127.0.0.1, [::1] or localhost. */
static int
url_loopback(const char *url)
{
	const char *h = strstr(url, "://");
	size_t n;

	if (h == NULL)
		return 0;
	h += 3;
	n = strcspn(h, ":/?#");
	if (h[0] == '[')
		return strncmp(h, "[::1]", 5) == 0;
	return (n == 9 && strncmp(h, "localhost", 9) == 0) ||
	    (n == 9 && strncmp(h, "127.0.0.1", 9) == 0);
}

static int
abs_or_empty(const char *p)
{
	return p[0] == '\0' || p[0] == '/';
}

static void
check_email(struct parse_state *ps)
{
	struct config *c = ps->cfg;
	const char *u = c->email_url;

	if (c->email_transport == TR_SMTP) {
		if (strncmp(u, "smtp://", 7) != 0 &&
		    strncmp(u, "smtps://", 8) != 0)
			perr(ps, "email", "url", "transport smtp needs a url "
			    "smtp://host:587 (STARTTLS) or smtps://host:465");
		if (!pwl_valid_email(c->email_from))
			perr(ps, "email", "from", "transport smtp needs a from "
			    "address such as pwless@example.com");
		if (c->email_username[0] != '\0' &&
		    c->email_password_file[0] == '\0')
			perr(ps, "email", "password_file", "username needs a "
			    "password_file (the password is never written in "
			    "this file)");
	}
	if (c->email_transport == TR_FILE && c->email_spool[0] != '/')
		perr(ps, "email", "spool", "transport file needs an absolute spool");
	if (!abs_or_empty(c->email_password_file))
		perr(ps, "email", "password_file", "must be an absolute path");
	if (!abs_or_empty(c->email_template))
		perr(ps, "email", "template", "must be an absolute path");
	if (!abs_or_empty(c->email_ca_file))
		perr(ps, "email", "ca_file", "must be an absolute path");
}

static int
prefixes_ok(const char *list)
{
	char buf[CFG_STR], *p, *save = NULL;

	if (pwl_strlcpy(buf, list, sizeof(buf)) >= sizeof(buf))
		return 0;
	for (p = strtok_r(buf, ", ", &save); p != NULL;
	    p = strtok_r(NULL, ", ", &save))
		if (p[0] != '+' || p[1] == '\0' || strlen(p) > 16 ||
		    p[1 + strspn(p + 1, "0123456789")] != '\0')
			return 0;
	return 1;
}

/* Each line "Name: value", the name a token. */
static int
headers_ok(const char *h)
{
	size_t n, name;

	while (*h != '\0') {
		n = strcspn(h, "\n");
		name = strcspn(h, ": \t\n");
		if (name == 0 || name >= n || h[name] != ':')
			return 0;
		h += n;
		if (*h == '\n')
			h++;
	}
	return 1;
}

static void
check_http_sms(struct parse_state *ps)
{
	struct config *c = ps->cfg;
	const char *u = c->sms_url;

	if (c->sms_preset == SMS_PRESET_TWILIO) {
		if (c->sms_account[0] == '\0' || c->sms_from[0] == '\0')
			perr(ps, "sms", "preset", "twilio needs account (the "
			    "account SID) and from (a number or sender id)");
		if (c->sms_auth[0] == '\0')
			perr(ps, "sms", "auth", "twilio needs a file holding "
			    "API_KEY_SID:API_KEY_SECRET");
		if (u[0] == '\0')
			u = TWILIO_URL;
	} else if (u[0] == '\0')
		perr(ps, "sms", "url", "transport http needs a url "
		    "(or preset = twilio)");
	else if (strcmp(c->sms_method, "GET") != 0 &&
	    c->sms_body_template[0] == '\0')
		perr(ps, "sms", "body_template", "needed for POST and PUT; "
		    "use {phone} {code} {text}");
	if (u[0] != '\0' && strncmp(u, "https://", 8) != 0 &&
	    !(strncmp(u, "http://", 7) == 0 && url_loopback(u)))
		perr(ps, "sms", "url", "must be https:// (plain http only "
		    "to 127.0.0.1 or localhost)");
	if (strcmp(c->sms_method, "POST") != 0 &&
	    strcmp(c->sms_method, "PUT") != 0 &&
	    strcmp(c->sms_method, "GET") != 0)
		perr(ps, "sms", "method", "must be POST, PUT or GET");
}

static void
check_sms(struct parse_state *ps)
{
	struct config *c = ps->cfg;

	if (c->sms_transport == TR_HTTP)
		check_http_sms(ps);
	if (c->sms_transport == TR_FILE && c->sms_spool[0] != '/')
		perr(ps, "sms", "spool", "transport file needs an absolute spool");
	if (!prefixes_ok(c->sms_allowed_prefixes))
		perr(ps, "sms", "allowed_prefixes", "a list of E.164 "
		    "prefixes such as +41, +49, +1");
	if (!abs_or_empty(c->sms_auth))
		perr(ps, "sms", "auth", "must be an absolute path");
	if (!abs_or_empty(c->sms_ca_file))
		perr(ps, "sms", "ca_file", "must be an absolute path");
	if (!headers_ok(c->sms_headers))
		perr(ps, "sms", "headers", "each value must read "
		    "\"Name: value\"");
}

static void
check_values(struct parse_state *ps)
{
	struct config *c = ps->cfg;

	ps->line = 0;
	if (c->key_default_lifetime > c->key_max_lifetime)
		perr(ps, "keys", "default_lifetime", "longer than max_lifetime");
	if (c->token_lifetime > c->token_max_lifetime)
		perr(ps, "tokens", "lifetime", "longer than max_lifetime");
	if (!service_list_ok(c->token_services))
		perr(ps, "tokens", "services", "not a list of PAM service "
		    "names (at most 64 bytes each, separated by commas)");
	if (c->socket[0] != '/')
		perr(ps, "daemon", "socket", "must be an absolute path");
	if (c->database[0] != '/')
		perr(ps, "daemon", "database", "must be an absolute path");
	if (c->master_key[0] != '/')
		perr(ps, "daemon", "master_key", "must be an absolute path");
	if (c->outbox_retry_min > c->outbox_retry_max)
		perr(ps, "outbox", "retry_min", "longer than retry_max");
	if (c->sender[0] != '/')
		perr(ps, "outbox", "sender", "must be an absolute path");
	check_email(ps);
	check_sms(ps);
}

int
config_load(struct config *c, const char *path, int must_exist, FILE *errs)
{
	struct parse_state ps;
	int r;

	pwl_strlcpy(c->file, path, sizeof(c->file));
	memset(&ps, 0, sizeof(ps));
	ps.cfg = c;
	ps.errs = errs;
	if ((ps.fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		if (errs != NULL)
			fprintf(errs, "%s: cannot read: %s\n", path,
			    strerror(errno));
		return -1;
	}
	r = ini_parse_stream(read_line, &ps, on_value, &ps);
	fclose(ps.fp);
	if (r > 0) {
		ps.line = r;
		perr(&ps, "-", "-", "syntax error (expected [section] or "
		    "key = value)");
	}
	check_values(&ps);
	return ps.nerr;
}

int
config_trusted(const struct config *c, uid_t uid)
{
	size_t i;

	if (uid == 0)
		return 1;
	for (i = 0; i < c->ntrusted; i++)
		if (c->trusted_uids[i] == uid)
			return 1;
	return 0;
}
