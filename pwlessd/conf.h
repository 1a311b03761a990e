/*
 * conf.h: pwlessd.conf, parsed with libinih into one struct.  Defaults
 * work with no file at all; every error is reported with file:line.
 */
#ifndef PWLESSD_CONF_H
#define PWLESSD_CONF_H

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_MAX_TRUSTED	32
#define CFG_STR		256
#define CFG_LINES	1024		/* repeatable keys, LF-joined */

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/etc"
#endif
#define CFG_DEFAULT_FILE	SYSCONFDIR "/pwless/pwlessd.conf"
#define CFG_DEFAULT_DB		"/var/lib/pwless/pwless.db"
#define CFG_DEFAULT_MASTER	SYSCONFDIR "/pwless/master.key"
#ifndef PKGLIBEXECDIR
#define PKGLIBEXECDIR	"/usr/local/libexec/pwless"
#endif
#define CFG_DEFAULT_SENDER	PKGLIBEXECDIR "/pwlessd-sender"

enum cfg_transport {
	TR_NONE = 0,
	TR_SMTP,	/* email */
	TR_HTTP,	/* sms */
	TR_FILE,	/* both: spool directory */
};

struct config {
	char		file[PATH_MAX];		/* where it was read from */

	/* [daemon] */
	char		socket[108];		/* sun_path size */
	char		database[PATH_MAX];
	char		master_key[PATH_MAX];
	char		pidfile[PATH_MAX];
	uid_t		trusted_uids[CFG_MAX_TRUSTED];
	size_t		ntrusted;
	char		admin_group[CFG_STR];
	char		user[CFG_STR];		/* drop privileges to */

	/* [keys] */
	uint64_t	key_default_lifetime;	/* seconds */
	uint64_t	key_max_lifetime;
	uint32_t	key_max_per_user;

	/* [codes] */
	uint32_t	code_length;		/* digits, 6..10 */
	uint64_t	code_lifetime;
	uint32_t	code_max_attempts;
	uint64_t	code_resend_interval;

	/* [tokens] */
	uint64_t	token_lifetime;
	uint64_t	token_max_lifetime;
	char		verify_group[CFG_STR];	/* may check others' tokens */
	char		token_services[CFG_STR]; /* login tokens work for */
	uint32_t	token_max_per_user;	/* live tokens */

	/* [limits] */
	uint32_t	failures_before_delay;
	uint32_t	max_failures;
	uint64_t	lockout;
	uint32_t	sends_per_hour;		/* per user */
	uint32_t	sends_per_destination;	/* per address, hour */
	uint32_t	source_max_failures;	/* per host or uid, 0 = off */
	uint64_t	source_lockout;
	uint32_t	source_sends_per_hour;	/* codes asked, 0 = off */

	/* [email] */
	int		email_transport;
	char		email_url[CFG_STR];
	char		email_from[CFG_STR];
	char		email_username[CFG_STR];
	char		email_password_file[PATH_MAX];
	char		email_spool[PATH_MAX];
	int		email_starttls;		/* smtp://: require STARTTLS */
	char		email_from_name[CFG_STR];
	char		email_subject[CFG_STR];	/* {code} {host} ... */
	char		email_template[PATH_MAX]; /* body template file */
	char		email_ca_file[PATH_MAX];

	/* [sms] */
	int		sms_transport;
	char		sms_url[CFG_STR];
	char		sms_method[16];
	char		sms_auth[PATH_MAX];	/* file with user:secret */
	char		sms_body_template[CFG_STR];
	char		sms_success_match[CFG_STR];
	char		sms_allowed_prefixes[CFG_STR];
	char		sms_spool[PATH_MAX];
	int		sms_preset;		/* SMS_PRESET_* */
	char		sms_account[CFG_STR];	/* Twilio account SID */
	char		sms_from[CFG_STR];	/* sender number or id */
	char		sms_text[CFG_STR];	/* text template */
	char		sms_headers[CFG_LINES];	/* "Name: value" lines */
	char		sms_ca_file[PATH_MAX];
	uint32_t	sms_daily_budget;	/* SMS a day, whole host */
	uint32_t	sms_sends_per_prefix;	/* per number-minus-4, hour */

	/* [outbox] */
	char		sender[PATH_MAX];	/* pwlessd-sender program */
	uint32_t	outbox_max_tries;
	uint64_t	outbox_retry_min;	/* first backoff, doubles */
	uint64_t	outbox_retry_max;
	uint32_t	outbox_concurrency;	/* deliveries in flight */
	uint64_t	outbox_connect_timeout;
	uint64_t	outbox_timeout;		/* whole delivery */

	/* [contacts] */
	uint64_t	contact_fresh_login;	/* a login proof's greatest age */
	uint64_t	contact_pending_lifetime;
	uint64_t	contact_cooling_off;	/* no login codes to a new one */

	/* [notify] */
	int		notify_key_created;
	int		notify_key_new_host;
	int		notify_contact_changed;
	int		notify_lockout;
	uint32_t	notify_max_per_hour;	/* per user, all kinds */

	/* [audit] */
	uint64_t	audit_keep;		/* rows older are pruned; 0 never */
};

enum sms_preset {
	SMS_PRESET_NONE = 0,	/* generic: method, url, headers, template */
	SMS_PRESET_TWILIO,	/* Messages API: form To, From, Body */
};

#define TWILIO_URL	"https://api.twilio.com/2010-04-01/Accounts/" \
	"{account}/Messages.json"
#define DEFAULT_SUBJECT	"Your login code for {host}"
#define DEFAULT_SMS_TEXT "{code} is your login code for {service} on " \
	"{host}. It expires in {minutes} min."


/* Fills in the defaults. */
void	config_defaults(struct config *);

/*
 * Reads path into cfg (after the defaults).  A missing file is fine when
 * must_exist is 0.  Each error is printed to errs as "file:line: text";
 * returns the number of errors, or -1 if the file cannot be read.
 */
int	config_load(struct config *, const char *path, int must_exist,
	    FILE *errs);

int	config_trusted(const struct config *, uid_t);

#endif /* PWLESSD_CONF_H */
